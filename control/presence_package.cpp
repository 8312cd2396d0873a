#include "control/presence_package.hpp"

#include <algorithm>
#include <set>

#include "control/presence_service.hpp"
#include "signalling/pidf.hpp"
#include "signalling/rlmi.hpp"

namespace tutti::ctl {

namespace pidf = sig::pidf;
namespace rlmi = sig::rlmi;

namespace {
constexpr std::string_view list_suffix = "-buddies";
}

presence_package::presence_package(presence_service& presence, event_service& events,
                                   std::chrono::milliseconds min_notify_interval)
    : presence_(presence), events_(events), min_interval_(min_notify_interval) {
  events_.add_package(*this);
  presence_.on_change([this](const std::string& user) {
    bodies_.erase(user);
    events_.notify(name(), user);
    // RFC 4662 §5: a list subscription reports changes to any of its resources.
    for (const auto& owner : presence_.listed_by(user)) events_.notify(name(), list_resource(owner));
  });
  presence_.on_buddies_change([this](const std::string& owner, const std::vector<std::string>& old_list) {
    // Who may watch whom follows the lists: recheck the owner's watchers, the lists, and
    // every user that entered or left the owner's list.
    bodies_.clear();  // display names may have changed with the reload
    events_.reauthorize(name(), owner);
    events_.reauthorize(name(), list_resource(owner));
    events_.notify(name(), list_resource(owner));
    std::set<std::string> touched(old_list.begin(), old_list.end());
    for (const auto& b : presence_.buddies(owner)) touched.insert(b);
    for (const auto& b : touched) events_.reauthorize(name(), b);
  });
}

presence_package::~presence_package() { events_.remove_package(name()); }

std::vector<std::string> presence_package::content_types() const {
  return {std::string(pidf::content_type), "multipart/related", std::string(rlmi::content_type)};
}

std::string presence_package::list_resource(std::string_view owner) {
  std::string r(owner);
  r += list_suffix;
  return r;
}

std::string presence_package::list_owner(std::string_view resource) const {
  if (presence_.is_user(resource) || resource.size() <= list_suffix.size() ||
      resource.substr(resource.size() - list_suffix.size()) != list_suffix)
    return {};
  std::string owner(resource.substr(0, resource.size() - list_suffix.size()));
  return presence_.is_user(owner) ? owner : std::string();
}

authorization presence_package::authorize(std::string_view subscriber, std::string_view resource) {
  if (presence_.is_user(resource))
    return presence_.may_watch(subscriber, resource) ? authorization::allow : authorization::deny;
  const std::string owner = list_owner(resource);
  if (owner.empty()) return authorization::not_found;
  // A buddy list is its owner's alone.
  return owner == subscriber ? authorization::allow : authorization::deny;
}

std::string_view presence_package::required_extension(std::string_view resource) {
  return list_owner(resource).empty() ? std::string_view{} : std::string_view("eventlist");
}

const std::string& presence_package::pidf_body(const std::string& user) {
  auto it = bodies_.find(user);
  if (it == bodies_.end()) it = bodies_.emplace(user, pidf::build(presence_.composed(user))).first;
  return it->second;
}

event_body presence_package::list_body(const std::string& owner, uint32_t version) {
  const std::string& domain = presence_.domain();
  rlmi::list l;
  l.uri = "sip:" + list_resource(owner) + "@" + domain;
  l.version = version;
  l.full_state = true;
  std::vector<rlmi::part> parts(1);
  parts[0].content_id = "list." + std::to_string(++boundaries_) + "@" + domain;
  parts[0].content_type = "application/rlmi+xml;charset=\"UTF-8\"";
  for (const auto& buddy : presence_.buddies(owner)) {
    rlmi::resource r;
    r.uri = "sip:" + buddy + "@" + domain;
    rlmi::instance inst;
    inst.id = buddy;
    if (presence_.may_watch(owner, buddy)) {
      const std::string& body = pidf_body(buddy);
      const pidf::document d = presence_.composed(buddy);
      if (d.person) r.name = d.person->display_name;
      inst.state = rlmi::instance_state::active;
      inst.cid = buddy + "." + std::to_string(boundaries_) + "@" + domain;
      parts.push_back(rlmi::part{inst.cid, std::string(pidf::content_type), body});
    } else {
      inst.state = rlmi::instance_state::terminated;
      inst.reason = "rejected";
    }
    r.instances.push_back(std::move(inst));
    l.resources.push_back(std::move(r));
  }
  parts[0].body = rlmi::build(l);
  // A boundary that occurs in no part (a note could hold any text, RFC 2046 §5.1.1).
  std::string boundary;
  for (uint64_t n = boundaries_;; ++n) {
    boundary = "tutti-rlmi-" + std::to_string(n);
    const std::string delim = "--" + boundary;
    if (std::none_of(parts.begin(), parts.end(), [&](const rlmi::part& p) { return p.body.find(delim) != std::string::npos; }))
      break;
  }
  auto m = rlmi::build_related(boundary, parts);
  return {std::move(m.content_type), std::move(m.body)};
}

event_body presence_package::state(sig::subscription& sub, bool) {
  const std::string& resource = sub.resource();
  if (presence_.is_user(resource)) return {std::string(pidf::content_type), pidf_body(resource)};
  const std::string owner = list_owner(resource);
  if (owner.empty()) return {};
  // RFC 4662 §5.2: version counts this subscription's NOTIFYs from 0.
  return list_body(owner, sub.notifies() > 0 ? sub.notifies() - 1 : 0);
}

}  // namespace tutti::ctl
