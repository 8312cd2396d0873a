// SIP-specific event notification (RFC 6665) as the notifier of this box: the one SUBSCRIBE
// handler, routing by Event package to the packages registered here (conference, presence,
// ...), the subscriptions' dialogs, their NOTIFYs, expiry and rate limits.
//
// Model: a package is an object that answers four questions — may this user watch that
// resource (allow / pending / deny / not found), what its state looks like as a body (full,
// or the changes since this subscription's last NOTIFY), which bodies it can write (Accept,
// 406), and its Expires limits and NOTIFY rate. The service does the protocol: digest
// authentication through the registrar service, Expires negotiation (423), the dialog
// (signalling/dialog.hpp), refreshes, unsubscribes, the NOTIFY that answers each SUBSCRIBE,
// and the final NOTIFY (terminated;reason=...). When a resource changes the package calls
// notify(package, resource); every subscription to it then owes a NOTIFY, sent when the
// package's minimum interval allows, with the state as it is when the NOTIFY goes
// (changes in between coalesce). A NOTIFY answered 481, timed out or refused ends its
// subscription (RFC 6665 §4.2.2). State lives in signalling/subscription.hpp's table; one
// steady_timer on the control thread wakes for the next expiry or owed NOTIFY.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "control/services.hpp"
#include "signalling/subscription.hpp"

namespace tutti::sig {
class sip_stack;
}  // namespace tutti::sig

namespace tutti::ctl {

class registrar_service;

// A package's answer to "may `subscriber` watch `resource`?" (RFC 6665 §4.2.1.3).
enum class authorization : uint8_t {
  allow,      // active at once
  pending,    // accepted, state withheld until reauthorize() allows it (presence watchers)
  deny,       // 403 Forbidden
  not_found,  // 404 Not Found: no such resource
};

// A NOTIFY body; an empty body sends none (and no Content-Type).
struct event_body {
  std::string content_type;
  std::string body;
};

class event_package {
 public:
  virtual ~event_package() = default;
  // The Event package token ("conference", "presence"), case-sensitive.
  virtual std::string_view name() const = 0;
  // Bodies this package writes, the default first (a SUBSCRIBE without Accept gets it; one
  // whose Accept lists none of them gets 406 with Accept, RFC 3261 §21.4.7).
  virtual std::vector<std::string> content_types() const = 0;
  // Expires limits (min, default, max).
  virtual sig::expires_policy expires() const { return {}; }
  // The shortest time between two NOTIFYs of one subscription (RFC 6665 §7.4.11); the
  // NOTIFYs answering a SUBSCRIBE and the final one are not held back.
  virtual std::chrono::milliseconds min_notify_interval() const { return std::chrono::seconds(1); }
  // May `subscriber` (an authenticated user name) watch `resource` (the Request-URI's user
  // part)? Called for a new subscription and on reauthorize().
  virtual authorization authorize(std::string_view subscriber, std::string_view resource) = 0;
  // An option tag a new SUBSCRIBE to `resource` must list in Supported ("" when none): the
  // service answers one without it 421 with Require (RFC 3261 §21.4.15; RFC 4662 §4.1:
  // "eventlist" for a list URI). Asked after authorize() allowed the subscriber.
  virtual std::string_view required_extension(std::string_view resource) { (void)resource; return {}; }
  // The body of the NOTIFY about to go on `sub` (active; pending NOTIFYs carry no body):
  // full state when `full` (the first NOTIFY, after a refresh), else what changed since the
  // last one (or full state: the package decides). sub.notifies() is this NOTIFY's number.
  virtual event_body state(sig::subscription& sub, bool full) = 0;
  // A subscription began (after its 200) or ended (after its final NOTIFY went, or when it
  // was dropped); for packages that track watchers (RFC 3857 winfo). Default: nothing.
  virtual void on_subscription(const sig::subscription&, bool started) { (void)started; }
};

// Counters per package, since start.
struct event_package_counters {
  uint64_t subscribes = 0;        // SUBSCRIBE requests routed to the package (refreshes too)
  uint64_t accepted = 0;          // answered 200 (new, refresh, unsubscribe)
  uint64_t refused = 0;           // answered 4xx (403, 404, 406, 423, 481, 489 ...)
  uint64_t notifies_sent = 0;     // NOTIFYs handed to the transaction layer
  uint64_t notifies_failed = 0;   // answered non-2xx, timed out or not sendable
  uint64_t expired = 0;           // ended by timeout (not refreshed)
  uint64_t unsubscribed = 0;      // ended by Expires: 0
  uint64_t terminated = 0;        // ended by the notifier (noresource, rejected, NOTIFY failure, stop)
};

class event_service {
 public:
  // Registers the SUBSCRIBE handler on the stack; `users` authenticates subscribers.
  static std::unique_ptr<event_service> start(service_context& ctx, sig::sip_stack& stack,
                                              registrar_service& users);
  ~event_service();

  // Adds a package (not owned: it must outlive the service or be removed first). False
  // when one of that name exists.
  bool add_package(event_package& p);
  // Removes a package, ending its subscriptions (terminated;reason=noresource).
  void remove_package(std::string_view name);
  // "conference, presence": the Allow-Events value (RFC 6665 §8.2.2).
  std::string allow_events() const;

  // `resource` of `package` changed: each of its active subscriptions owes a NOTIFY.
  void notify(std::string_view package, std::string_view resource);
  // Authorization changed for `resource` (a watcher was allowed or blocked): authorize() is
  // asked again for each subscription; pending → active sends state, deny ends it
  // (terminated;reason=rejected), not_found ends it (reason=noresource).
  void reauthorize(std::string_view package, std::string_view resource);
  // Ends every subscription to `resource` (reason noresource: it is gone, §4.1.3).
  void terminate(std::string_view package, std::string_view resource,
                 sig::end_reason reason = sig::end_reason::noresource);

  // Subscriptions in a state, for one package.
  size_t count(std::string_view package, sig::sub_state s) const;
  // Counters of a package (zeros for an unknown one).
  event_package_counters counters(std::string_view package) const;

  // Ends every subscription (final NOTIFY, reason=deactivated), stops the timer, then `done`.
  void stop(std::function<void()> done);

  struct state;

 private:
  friend void register_event_commands(service_context& ctx, event_service& e);
  explicit event_service(std::unique_ptr<state> s);
  std::unique_ptr<state> s_;
};

// events.status: per package counters and every subscription; tutti_events_* metrics.
void register_event_commands(service_context& ctx, event_service& e);

}  // namespace tutti::ctl
