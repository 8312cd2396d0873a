#include "signalling/session_timer.hpp"

#include <algorithm>

#include "signalling/sip/text.hpp"

namespace tutti::sig {

result<session_expires, header_error> parse_session_expires(std::string_view value) noexcept {
  const size_t semi = value.find(';');
  std::string_view delta = text::trim(value.substr(0, semi));
  auto d = parse_delta_seconds(delta);
  if (!d) return fail(d.error());
  session_expires se;
  se.delta_s = *d;
  std::string_view params = semi == std::string_view::npos ? std::string_view{} : value.substr(semi + 1);
  while (!params.empty()) {
    const size_t next = params.find(';');
    std::string_view p = text::trim(params.substr(0, next));
    params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
    const size_t eq = p.find('=');
    if (eq == std::string_view::npos) continue;
    if (!text::iequals(text::trim(p.substr(0, eq)), "refresher")) continue;
    std::string_view v = text::trim(p.substr(eq + 1));
    if (text::iequals(v, "uac")) se.who = refresher::uac;
    else if (text::iequals(v, "uas")) se.who = refresher::uas;
    else return fail(header_error::malformed);
  }
  return se;
}

std::string session_timer_answer::header_value() const {
  return std::to_string(interval_s) + (who == refresher::uac ? ";refresher=uac" : ";refresher=uas");
}

namespace {

bool supports_timer(const message_view& req) {
  for (std::string_view v : req.values(header_id::supported))
    if (token_list_contains(v, "timer")) return true;
  for (std::string_view v : req.values(header_id::require))
    if (token_list_contains(v, "timer")) return true;
  return false;
}

}  // namespace

session_timer_answer answer_session_timer(const message_view& req, const session_timer_policy& p) {
  session_timer_answer a;
  const uint32_t ours = std::max<uint32_t>(p.min_se_s, 90);
  uint32_t min_se = ours;
  if (const header_field* h = req.find(header_id::min_se)) {
    // Min-SE carries delta-seconds and maybe params (§5); a bad one is ignored.
    std::string_view v = h->value.substr(0, h->value.find(';'));
    if (auto m = parse_delta_seconds(text::trim(v))) min_se = std::max(min_se, *m);
  }
  std::optional<session_expires> se;
  if (const header_field* h = req.find(header_id::session_expires))
    if (auto parsed = parse_session_expires(h->value)) se = *parsed;
  // §9: a Session-Expires below our minimum is refused with 422 and our Min-SE.
  if (se && se->delta_s < ours) {
    a.too_small = true;
    a.min_se_s = ours;
    return a;
  }
  if (!supports_timer(req)) return a;
  a.active = true;
  a.interval_s = se ? se->delta_s : std::max(p.default_se_s, min_se);
  a.interval_s = std::max(a.interval_s, min_se);
  a.who = se && se->who ? *se->who : refresher::uac;
  return a;
}

uint32_t bye_after_s(uint32_t interval_s) noexcept {
  return interval_s - std::min<uint32_t>(32, interval_s / 3);
}

uint32_t refresh_after_s(uint32_t interval_s) noexcept { return std::max<uint32_t>(1, interval_s / 2); }

}  // namespace tutti::sig
