// Notifier-side SIP event subscriptions (RFC 6665) as plain logic: no sockets, no timers of
// their own, time passed in by the caller (tests use a fake clock).
//
// Model: a subscription is the dialog a SUBSCRIBE created, the Event package and id that
// name it inside that dialog (§4.1.2.2: several subscriptions may share one dialog), the
// resource watched, the authenticated subscriber, its state (pending / active /
// terminated), when it expires, and the bookkeeping of its NOTIFYs: whether one is owed,
// whether the next must carry full state, when the last went, whether one is still
// waiting for its response. Changes to the resource only mark a NOTIFY owed; the body is
// built when the NOTIFY actually goes, so changes inside one rate-limit interval coalesce
// and the latest state wins (RFC 6665 §7.4.11: each package sets the maximum rate; RFC
// 6446 in spirit). One NOTIFY per subscription is in flight at a time, so NOTIFYs never
// overtake each other on UDP (the subscriber would answer an older CSeq 500, RFC 3261
// §12.2.2). The table indexes subscriptions by id, by dialog + event, by
// (package, resource), and by deadline — the earlier of its expiry and its owed NOTIFY's
// send time — so finding what is due costs O(due · log n), not a scan of every
// subscription (a box holds up to 200,000, and the next deadline is asked after every
// NOTIFY response). A subscription tells its table when a change moves its deadline.
#pragma once

#include <any>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "signalling/dialog.hpp"
#include "signalling/transaction.hpp"

namespace tutti::sig {

// A package's limits on subscription durations, in seconds.
struct expires_policy {
  uint32_t min_s = 60;        // shorter (non-zero) requests get 423 with Min-Expires (§4.2.1.1)
  uint32_t default_s = 3600;  // a SUBSCRIBE without Expires gets this (package default, §7.4.7)
  uint32_t max_s = 3600;      // longer requests are shortened to this (§4.2.1.1)
};

struct expires_outcome {
  enum class kind : uint8_t { accept, too_brief } what = kind::accept;
  uint32_t seconds = 0;  // accept: the duration granted (0 = unsubscribe or fetch); too_brief: Min-Expires
};

// The duration to grant for a SUBSCRIBE's Expires (absent: nullopt).
expires_outcome negotiate_expires(std::optional<uint32_t> requested, const expires_policy& p) noexcept;

enum class sub_state : uint8_t { pending, active, terminated };

// Subscription-State reasons (RFC 6665 §4.1.3); none writes no reason parameter.
enum class end_reason : uint8_t { none, deactivated, probation, rejected, timeout, giveup, noresource, invariant };

std::string_view to_string(sub_state s) noexcept;   // "pending", "active", "terminated"
std::string_view to_string(end_reason r) noexcept;  // "timeout", ...; "" for none

// A Subscription-State value (RFC 6665 §8.2.3): "active;expires=N", "pending;expires=N",
// "terminated;reason=R" (expires is not written once terminated).
std::string subscription_state_value(sub_state s, uint32_t expires_s, end_reason r = end_reason::none);

// An Event value: "package" or "package;id=ID" (§8.2.1).
std::string event_value(std::string_view package, std::string_view id);

using sub_id = uint64_t;

class subscription_table;

class subscription {
 public:
  sub_id id() const noexcept { return id_; }
  const std::string& package() const noexcept { return package_; }
  const std::string& event_id() const noexcept { return event_id_; }  // "" when the SUBSCRIBE had none
  const std::string& resource() const noexcept { return resource_; }  // what the package calls it
  const std::string& subscriber() const noexcept { return subscriber_; }  // the authenticated user
  const std::string& content_type() const noexcept { return content_type_; }  // agreed by Accept
  sig::dialog& dialog() noexcept { return dialog_; }
  const sig::dialog& dialog() const noexcept { return dialog_; }

  sub_state state() const noexcept { return state_; }
  // pending → active after authorization (§4.2.1.3); terminated is set by the table's owner
  // when the final NOTIFY goes.
  void set_state(sub_state s) noexcept { state_ = s; }
  time_point expires_at() const noexcept { return expires_at_; }
  // Whole seconds left (rounded down, 0 when past).
  uint32_t expires_in_s(time_point now) const noexcept;
  bool expired(time_point now) const noexcept { return now >= expires_at_; }
  // A refreshing SUBSCRIBE granted `seconds` (§4.2.1.2); the NOTIFY it requires is owed at
  // once and carries full state.
  void refresh(time_point now, uint32_t seconds);

  // The resource changed: a NOTIFY is owed, sent when the rate limit allows.
  void changed();
  // A NOTIFY with full state is owed now, regardless of the rate limit (the NOTIFY that
  // answers a SUBSCRIBE or a refresh, §4.2.1.2).
  void notify_now();
  bool owed() const noexcept { return owed_; }
  bool full_owed() const noexcept { return full_owed_; }
  bool in_flight() const noexcept { return in_flight_; }
  // When the owed NOTIFY may go (meaningless when none is owed or one is in flight).
  time_point notify_at() const noexcept;
  // Whether a NOTIFY should be sent at `now`.
  bool notify_due(time_point now) const noexcept { return owed_ && !in_flight_ && now >= notify_at(); }

  // A NOTIFY is being sent: clears what was owed and returns its number in this
  // subscription, from 1 (RFC 4575 §4.1 numbers conference-info versions this way).
  uint32_t begin_notify(time_point now);
  // Its final response (or timeout) arrived.
  void end_notify();
  uint32_t notifies() const noexcept { return notifies_; }
  std::chrono::milliseconds min_interval() const noexcept { return min_interval_; }

  // What a package keeps per subscription (what it last told the subscriber, for partial
  // notifications). Empty until the package sets it.
  std::any& package_data() noexcept { return package_data_; }

 private:
  friend class subscription_table;
  // The moment something is due: the expiry, or the owed NOTIFY's send time if earlier.
  time_point deadline() const noexcept;
  // Moves this subscription in its table's deadline index after a change.
  void reschedule();

  subscription_table* table_ = nullptr;  // set once filed
  time_point filed_at_{};                // the deadline it is filed under in the index
  sub_id id_ = 0;
  std::string package_, event_id_, resource_, subscriber_, content_type_;
  sig::dialog dialog_;
  sub_state state_ = sub_state::pending;
  time_point expires_at_{};
  std::chrono::milliseconds min_interval_{0};
  time_point last_notify_{};
  bool sent_any_ = false;
  bool owed_ = false, full_owed_ = false, urgent_ = false, in_flight_ = false;
  uint32_t notifies_ = 0;
  std::any package_data_;
};

// What a new subscription is made of.
struct subscription_params {
  std::string package;
  std::string event_id;
  std::string resource;
  std::string subscriber;
  std::string content_type;
  sig::dialog dialog;
  sub_state state = sub_state::pending;
  uint32_t expires_s = 0;
  std::chrono::milliseconds min_notify_interval{1000};  // the package's rate limit
};

class subscription_table {
 public:
  // Adds a subscription; its first NOTIFY (full state) is owed at once. nullptr when the
  // dialog already holds a subscription to the same package and id.
  subscription* add(subscription_params p, time_point now);
  subscription* find(sub_id id) noexcept;
  // The subscription a request in a dialog names (Call-ID, our tag, theirs, package, id).
  subscription* find(std::string_view call_id, std::string_view local_tag, std::string_view remote_tag,
                     std::string_view package, std::string_view event_id) noexcept;
  // Ids of the subscriptions to a resource of a package, oldest first.
  std::vector<sub_id> of_resource(std::string_view package, std::string_view resource) const;
  // Removes a subscription; false when there was none.
  bool erase(sub_id id);

  size_t size() const noexcept { return subs_.size(); }
  // Live subscriptions held by one subscriber (the authenticated user), for per-user limits.
  size_t of_subscriber(std::string_view subscriber) const noexcept;
  // Subscriptions of a package in a state.
  size_t count(std::string_view package, sub_state s) const noexcept;
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& [id, s] : subs_) f(*s);
  }

  // The earliest moment something is due: an expiry or an owed NOTIFY not in flight. O(1).
  std::optional<time_point> next_deadline() const noexcept;
  // What is due at `now`: subscriptions past their expiry, and those whose owed NOTIFY may
  // go (an expired one is only in `expired`).
  struct due_work {
    std::vector<sub_id> expired;
    std::vector<sub_id> notify;
  };
  due_work due(time_point now) const;

 private:
  friend class subscription;
  void file(subscription& s);    // enters s in the deadline index under s.deadline()
  void unfile(subscription& s);  // takes it out

  static std::string dialog_key(std::string_view call_id, std::string_view local_tag, std::string_view remote_tag,
                                std::string_view package, std::string_view event_id);
  static std::string resource_key(std::string_view package, std::string_view resource);
  sub_id next_id_ = 1;
  std::map<sub_id, std::unique_ptr<subscription>> subs_;
  std::map<std::string, sub_id, std::less<>> by_dialog_;
  std::multimap<std::string, sub_id, std::less<>> by_resource_;
  std::map<std::string, size_t, std::less<>> per_subscriber_;
  std::set<std::pair<time_point, sub_id>> deadlines_;  // every subscription, by deadline()
};

}  // namespace tutti::sig
