#include "control/conference_events.hpp"

#include <any>
#include <map>

#include "control/media_service.hpp"

namespace tutti::ctl {

namespace {

void user_xml(std::string& out, const roster_user& u, std::string_view state) {
  out.append("  <user entity=\"").append(xml_escape(u.entity)).append("\" state=\"").append(state).append("\"");
  if (state == "deleted") {
    out.append("/>\n");
    return;
  }
  out.append(">\n");
  if (!u.display_text.empty())
    out.append("   <display-text>").append(xml_escape(u.display_text)).append("</display-text>\n");
  for (const roster_endpoint& e : u.endpoints) {
    out.append("   <endpoint entity=\"").append(xml_escape(e.entity)).append("\" state=\"full\">\n");
    out.append("    <status>").append(xml_escape(e.status)).append("</status>\n");
    for (const roster_media& m : e.media) {
      out.append("    <media id=\"").append(xml_escape(m.id)).append("\">\n");
      out.append("     <type>").append(xml_escape(m.type)).append("</type>\n");
      out.append("     <status>").append(xml_escape(m.status)).append("</status>\n");
      if (m.speaking) out.append("     <tutti:speaking>true</tutti:speaking>\n");
      out.append("    </media>\n");
    }
    out.append("   </endpoint>\n");
  }
  out.append("  </user>\n");
}

// The media status of a participant as the conference sees its stream (RFC 4575): muted
// means the focus does not take its audio, deaf that it gets none.
std::string media_status(const participant_info& p) {
  if (p.muted && p.deaf) return "inactive";
  if (p.muted) return "recvonly";
  if (p.deaf) return "sendonly";
  return "sendrecv";
}

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters other than tab, CR and LF are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r')
          out += ' ';
        else
          out += c;
    }
  }
  return out;
}

std::string build_conference_info(const roster& r, uint32_t version, bool full,
                                  const std::vector<const roster_user*>& changed,
                                  const std::vector<std::string>& deleted) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<conference-info xmlns=\"urn:ietf:params:xml:ns:conference-info\" "
      "xmlns:tutti=\"urn:tutti:params:xml:ns:conference-info\" entity=\"";
  out.append(xml_escape(r.entity)).append("\" state=\"").append(full ? "full" : "partial");
  out.append("\" version=\"").append(std::to_string(version)).append("\">\n");
  out.append(" <conference-state>\n  <user-count>").append(std::to_string(r.users.size()));
  out.append("</user-count>\n  <active>").append(r.active ? "true" : "false").append("</active>\n");
  out.append(" </conference-state>\n");
  if (full) {
    if (r.users.empty()) {
      out.append(" <users/>\n");
    } else {
      out.append(" <users>\n");
      for (const roster_user& u : r.users) user_xml(out, u, "full");
      out.append(" </users>\n");
    }
  } else if (!changed.empty() || !deleted.empty()) {
    out.append(" <users state=\"partial\">\n");
    for (const roster_user* u : changed) user_xml(out, *u, "full");
    for (const std::string& entity : deleted) user_xml(out, roster_user{entity, {}, {}}, "deleted");
    out.append(" </users>\n");
  }
  out.append("</conference-info>\n");
  return out;
}

roster_diff diff_rosters(const roster& before, const roster& after) {
  std::map<std::string_view, const roster_user*> old;
  for (const roster_user& u : before.users) old.emplace(u.entity, &u);
  roster_diff d;
  for (const roster_user& u : after.users) {
    auto it = old.find(u.entity);
    if (it == old.end() || !(*it->second == u)) d.changed.push_back(&u);
    if (it != old.end()) old.erase(it);
  }
  for (const auto& [entity, u] : old) d.deleted.emplace_back(entity);
  return d;
}

conference_events::conference_events(event_service& events, media_service& media, std::string domain)
    : events_(events), media_(media), domain_(std::move(domain)) {
  events_.add_package(*this);
  media_.on_change([this, alive = std::weak_ptr<bool>(alive_)](const std::string& conference) {
    if (alive.lock()) changed(conference);
  });
}

conference_events::~conference_events() {
  alive_.reset();
  events_.remove_package(name());
}

void conference_events::add_roster_source(roster_source& s) { sources_.push_back(&s); }

void conference_events::remove_roster_source(roster_source& s) { std::erase(sources_, &s); }

void conference_events::changed(std::string_view conference) {
  if (exists(conference))
    events_.notify(name(), conference);
  else
    events_.terminate(name(), conference, sig::end_reason::noresource);
}

bool conference_events::exists(std::string_view conference) const {
  if (media_.find(std::string(conference))) return true;
  for (const roster_source* s : sources_)
    if (s->has(conference)) return true;
  return false;
}

roster conference_events::current(std::string_view conference) const {
  roster r;
  r.entity = "sip:" + std::string(conference) + "@" + domain_;
  std::vector<roster_user> users;
  if (auto c = media_.find(std::string(conference))) {
    // Participants grouped by label: one user per caller, one endpoint per call.
    std::map<std::string, roster_user> by_entity;
    for (const participant_info& p : c->participants) {
      const std::string label = p.label.empty() ? "participant-" + std::to_string(p.id) : p.label;
      const std::string entity = "sip:" + label + "@" + domain_;
      roster_user& u = by_entity[entity];
      u.entity = entity;
      u.display_text = label;
      roster_endpoint e;
      e.entity = entity + ";participant=" + std::to_string(p.id);
      e.media.push_back(roster_media{std::to_string(p.id), "audio", media_status(p), p.speaking});
      u.endpoints.push_back(std::move(e));
    }
    for (auto& [entity, u] : by_entity) users.push_back(std::move(u));
  }
  for (const roster_source* s : sources_)
    if (s->has(conference)) s->add_members(conference, domain_, users);
  // Sources may add a user twice (a chat member who is also in the call): merge endpoints.
  std::map<std::string, roster_user> merged;
  for (roster_user& u : users) {
    auto [it, fresh] = merged.try_emplace(u.entity, u);
    if (!fresh)
      for (roster_endpoint& e : u.endpoints) it->second.endpoints.push_back(std::move(e));
  }
  r.active = false;
  for (auto& [entity, u] : merged) {
    for (const roster_endpoint& e : u.endpoints)
      if (e.status == "connected") r.active = true;
    r.users.push_back(std::move(u));
  }
  return r;
}

authorization conference_events::authorize(std::string_view subscriber, std::string_view resource) {
  // A voice conference alone may be watched by any user of the domain. A source that
  // knows the conference (a text chat) restricts it to those it allows — for a URI that is
  // both, also to whoever is in the call (a user dialled in by REFER sees who else is).
  const auto voice = media_.find(std::string(resource));
  bool sourced = false;
  for (const roster_source* s : sources_) {
    if (!s->has(resource)) continue;
    sourced = true;
    if (s->may_watch(resource, subscriber)) return authorization::allow;
  }
  if (!sourced) return voice ? authorization::allow : authorization::not_found;
  if (voice)
    for (const participant_info& p : voice->participants)
      if (p.label == subscriber) return authorization::allow;
  return authorization::deny;
}

event_body conference_events::state(sig::subscription& sub, bool full) {
  roster now = current(sub.resource());
  const roster* last = std::any_cast<roster>(&sub.package_data());
  event_body b;
  b.content_type = "application/conference-info+xml";
  if (full || !last) {
    b.body = build_conference_info(now, sub.notifies(), true);
  } else {
    const roster_diff d = diff_rosters(*last, now);
    b.body = build_conference_info(now, sub.notifies(), false, d.changed, d.deleted);
  }
  sub.package_data() = std::move(now);
  return b;
}

}  // namespace tutti::ctl
