#include "signalling/subscription.hpp"

#include <algorithm>

namespace tutti::sig {

expires_outcome negotiate_expires(std::optional<uint32_t> requested, const expires_policy& p) noexcept {
  expires_outcome o;
  if (!requested) {
    o.seconds = p.default_s;
    return o;
  }
  // Expires: 0 is an unsubscribe (or a fetch): never too brief (§4.1.2.3, §4.4.3).
  if (*requested == 0) return o;
  if (*requested < p.min_s) {
    o.what = expires_outcome::kind::too_brief;
    o.seconds = p.min_s;
    return o;
  }
  o.seconds = std::min(*requested, p.max_s);
  return o;
}

std::string_view to_string(sub_state s) noexcept {
  switch (s) {
    case sub_state::pending: return "pending";
    case sub_state::active: return "active";
    case sub_state::terminated: return "terminated";
  }
  return "terminated";
}

std::string_view to_string(end_reason r) noexcept {
  switch (r) {
    case end_reason::none: return "";
    case end_reason::deactivated: return "deactivated";
    case end_reason::probation: return "probation";
    case end_reason::rejected: return "rejected";
    case end_reason::timeout: return "timeout";
    case end_reason::giveup: return "giveup";
    case end_reason::noresource: return "noresource";
    case end_reason::invariant: return "invariant";
  }
  return "";
}

std::string subscription_state_value(sub_state s, uint32_t expires_s, end_reason r) {
  std::string out(to_string(s));
  if (s == sub_state::terminated) {
    if (r != end_reason::none) out.append(";reason=").append(to_string(r));
  } else {
    out.append(";expires=").append(std::to_string(expires_s));
  }
  return out;
}

std::string event_value(std::string_view package, std::string_view id) {
  std::string out(package);
  if (!id.empty()) out.append(";id=").append(id);
  return out;
}

uint32_t subscription::expires_in_s(time_point now) const noexcept {
  if (now >= expires_at_) return 0;
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(expires_at_ - now).count());
}

void subscription::refresh(time_point now, uint32_t seconds) {
  expires_at_ = now + std::chrono::seconds(seconds);
  notify_now();  // reschedules
}

void subscription::changed() {
  owed_ = true;
  reschedule();
}

void subscription::notify_now() {
  owed_ = full_owed_ = urgent_ = true;
  reschedule();
}

void subscription::end_notify() {
  in_flight_ = false;
  reschedule();
}

time_point subscription::deadline() const noexcept {
  if (owed_ && !in_flight_) return std::min(expires_at_, notify_at());
  return expires_at_;
}

void subscription::reschedule() {
  if (!table_ || filed_at_ == deadline()) return;
  subscription_table* t = table_;
  t->unfile(*this);
  t->file(*this);
}

time_point subscription::notify_at() const noexcept {
  // The clock's epoch: before any real or test time, and safe to arm a timer on.
  if (urgent_ || !sent_any_) return time_point{};
  return last_notify_ + min_interval_;
}

uint32_t subscription::begin_notify(time_point now) {
  owed_ = full_owed_ = urgent_ = false;
  in_flight_ = true;
  sent_any_ = true;
  last_notify_ = now;
  reschedule();
  return ++notifies_;
}

std::string subscription_table::dialog_key(std::string_view call_id, std::string_view local_tag,
                                           std::string_view remote_tag, std::string_view package,
                                           std::string_view event_id) {
  // NUL cannot occur in any of these header values, so the key is unambiguous.
  std::string k;
  k.reserve(call_id.size() + local_tag.size() + remote_tag.size() + package.size() + event_id.size() + 4);
  k.append(call_id).append(1, '\0').append(local_tag).append(1, '\0').append(remote_tag).append(1, '\0');
  k.append(package).append(1, '\0').append(event_id);
  return k;
}

std::string subscription_table::resource_key(std::string_view package, std::string_view resource) {
  std::string k(package);
  k.append(1, '\0').append(resource);
  return k;
}

subscription* subscription_table::add(subscription_params p, time_point now) {
  auto dk = dialog_key(p.dialog.call_id, p.dialog.local_tag, p.dialog.remote_tag, p.package, p.event_id);
  if (by_dialog_.count(dk)) return nullptr;
  auto s = std::make_unique<subscription>();
  s->id_ = next_id_++;
  s->package_ = std::move(p.package);
  s->event_id_ = std::move(p.event_id);
  s->resource_ = std::move(p.resource);
  s->subscriber_ = std::move(p.subscriber);
  s->content_type_ = std::move(p.content_type);
  s->dialog_ = std::move(p.dialog);
  s->state_ = p.state;
  s->expires_at_ = now + std::chrono::seconds(p.expires_s);
  s->min_interval_ = p.min_notify_interval;
  s->notify_now();
  subscription* raw = s.get();
  file(*raw);
  by_dialog_.emplace(std::move(dk), raw->id_);
  by_resource_.emplace(resource_key(raw->package_, raw->resource_), raw->id_);
  ++per_subscriber_[raw->subscriber_];
  subs_.emplace(raw->id_, std::move(s));
  return raw;
}

size_t subscription_table::of_subscriber(std::string_view subscriber) const noexcept {
  auto it = per_subscriber_.find(subscriber);
  return it == per_subscriber_.end() ? 0 : it->second;
}

subscription* subscription_table::find(sub_id id) noexcept {
  auto it = subs_.find(id);
  return it == subs_.end() ? nullptr : it->second.get();
}

subscription* subscription_table::find(std::string_view call_id, std::string_view local_tag,
                                       std::string_view remote_tag, std::string_view package,
                                       std::string_view event_id) noexcept {
  auto it = by_dialog_.find(dialog_key(call_id, local_tag, remote_tag, package, event_id));
  return it == by_dialog_.end() ? nullptr : find(it->second);
}

std::vector<sub_id> subscription_table::of_resource(std::string_view package, std::string_view resource) const {
  std::vector<sub_id> out;
  auto [b, e] = by_resource_.equal_range(resource_key(package, resource));
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  std::sort(out.begin(), out.end());
  return out;
}

bool subscription_table::erase(sub_id id) {
  auto it = subs_.find(id);
  if (it == subs_.end()) return false;
  subscription& s = *it->second;
  unfile(s);
  by_dialog_.erase(dialog_key(s.dialog_.call_id, s.dialog_.local_tag, s.dialog_.remote_tag, s.package_, s.event_id_));
  auto [b, e] = by_resource_.equal_range(resource_key(s.package_, s.resource_));
  for (auto r = b; r != e; ++r) {
    if (r->second == id) {
      by_resource_.erase(r);
      break;
    }
  }
  if (auto u = per_subscriber_.find(s.subscriber_); u != per_subscriber_.end() && --u->second == 0)
    per_subscriber_.erase(u);
  subs_.erase(it);
  return true;
}

size_t subscription_table::count(std::string_view package, sub_state st) const noexcept {
  size_t n = 0;
  for (const auto& [id, s] : subs_)
    if (s->package_ == package && s->state_ == st) ++n;
  return n;
}

void subscription_table::file(subscription& s) {
  s.filed_at_ = s.deadline();
  s.table_ = this;
  deadlines_.emplace(s.filed_at_, s.id_);
}

void subscription_table::unfile(subscription& s) {
  deadlines_.erase({s.filed_at_, s.id_});
  s.table_ = nullptr;
}

std::optional<time_point> subscription_table::next_deadline() const noexcept {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

subscription_table::due_work subscription_table::due(time_point now) const {
  // Only the front of the index is due; each entry's deadline is the earliest of its
  // reasons, so the scan stops at the first one still in the future.
  due_work w;
  for (const auto& [at, id] : deadlines_) {
    if (at > now) break;
    const subscription& s = *subs_.at(id);
    if (s.expired(now))
      w.expired.push_back(id);
    else if (s.notify_due(now))
      w.notify.push_back(id);
  }
  // Id order, as before: the oldest subscription is served first.
  std::sort(w.expired.begin(), w.expired.end());
  std::sort(w.notify.begin(), w.notify.end());
  return w;
}

}  // namespace tutti::sig
