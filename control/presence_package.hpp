// The "presence" event package (RFC 3856) on the event service (RFC 6665): one presentity
// per SUBSCRIBE to sip:USER@DOMAIN, or a user's whole buddy list (RFC 4662) per SUBSCRIBE
// to the list URI sip:USER-buddies@DOMAIN.
//
// Model: bodies come from the presence service's composed documents: application/pidf+xml
// for a presentity; for a list, multipart/related whose root is the RLMI document (each
// buddy a resource with one instance, active with a cid, or terminated;reason=rejected when
// the owner may not watch it) followed by each active buddy's PIDF. Every NOTIFY carries
// full state (RLMI fullState="true"). A change to a user's document owes a NOTIFY to its
// watchers and to the lists holding it; the event service's per-subscription minimum
// interval coalesces bursts. Watchers: a user's own list URI is theirs alone; a presentity
// follows presence_service::may_watch(); changed buddy lists reauthorize the affected
// subscriptions. A user literally named "X-buddies" shadows X's list URI.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "control/event_service.hpp"

namespace tutti::ctl {

class presence_service;

class presence_package final : public event_package {
 public:
  // Adds itself to `events` and follows `presence`'s changes.
  presence_package(presence_service& presence, event_service& events,
                   std::chrono::milliseconds min_notify_interval);
  ~presence_package() override;

  std::string_view name() const override { return "presence"; }
  std::vector<std::string> content_types() const override;
  sig::expires_policy expires() const override { return {60, 3600, 3600}; }
  std::chrono::milliseconds min_notify_interval() const override { return min_interval_; }
  authorization authorize(std::string_view subscriber, std::string_view resource) override;
  // "eventlist" for a list URI (RFC 4662 §4.1: 421 without Supported: eventlist).
  std::string_view required_extension(std::string_view resource) override;
  event_body state(sig::subscription& sub, bool full) override;

  // "alice-buddies" for alice.
  static std::string list_resource(std::string_view owner);
  // The owner when `resource` is a list URI's user part of an existing user; "" otherwise.
  std::string list_owner(std::string_view resource) const;

 private:
  const std::string& pidf_body(const std::string& user);
  event_body list_body(const std::string& owner, uint32_t version);

  presence_service& presence_;
  event_service& events_;
  std::chrono::milliseconds min_interval_;
  std::map<std::string, std::string, std::less<>> bodies_;  // built PIDF per user, until it changes
  uint64_t boundaries_ = 0;
};

}  // namespace tutti::ctl
