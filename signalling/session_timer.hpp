// Session timers (RFC 4028) as the focus applies them to a call it answers: what to do with
// an INVITE's Session-Expires / Min-SE / Supported, and when the side that does not refresh
// gives up on a silent peer.
//
// Model: pure functions on a parsed request, no clock. The caller keeps the interval and
// the refresher in its call, arms a timer for bye_after() on every refresh it receives (or
// for refresh_after() when it refreshes itself) and hangs up when it fires.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "signalling/sip/message.hpp"

namespace tutti::sig {

enum class refresher : uint8_t { uac, uas };

// Session-Expires: delta-seconds *( ; se-params ) with refresher=uac|uas (RFC 4028 §4).
struct session_expires {
  uint32_t delta_s = 0;
  std::optional<sig::refresher> who;  // absent: not said
};
result<session_expires, header_error> parse_session_expires(std::string_view value) noexcept;

struct session_timer_policy {
  uint32_t min_se_s = 90;        // our Min-SE (§5: never below 90)
  uint32_t default_se_s = 1800;  // when the UAC supports timers but asked for no interval
};

// What the UAS answers (§9).
struct session_timer_answer {
  bool too_small = false;            // answer 422 with Min-SE: min_se_s
  uint32_t min_se_s = 0;
  bool active = false;               // a session timer runs: Session-Expires and Require in the 2xx
  uint32_t interval_s = 0;
  sig::refresher who = sig::refresher::uac;
  std::string header_value() const;  // "1800;refresher=uac"
};

// Applies §9 to a dialog-creating or refreshing INVITE/UPDATE. A Session-Expires below our
// Min-SE (and the request's own Min-SE) gives too_small. Without Supported: timer from
// the UAC no timer runs (the UAC could not be asked to refresh, and we do not refresh
// for it). A refresher the request names is kept; otherwise the UAC refreshes.
session_timer_answer answer_session_timer(const message_view& req, const session_timer_policy& p);

// §10: the side that does not refresh sends BYE when no refresh arrived by
// interval - min(32, interval / 3) seconds after the last one.
uint32_t bye_after_s(uint32_t interval_s) noexcept;
// §10: the refresher refreshes at half the interval.
uint32_t refresh_after_s(uint32_t interval_s) noexcept;

}  // namespace tutti::sig
