// The conference event package (RFC 4575) on the event service: a SUBSCRIBE to the
// conference URI sip:CONF@DOMAIN gets the roster as application/conference-info+xml and
// a NOTIFY for every change — a participant joined or left, was muted or deafened, started
// or stopped speaking.
//
// Model: the roster is read when a NOTIFY goes (never cached across NOTIFYs), from the media
// service's conference of that name (voice participants; the focus labels each with the
// caller's user name) and from any roster sources added later (a text chat's members, so
// the chat and the voice conference of one URI share a roster, DESIGN.md). Users are
// grouped by entity sip:LABEL@DOMAIN; each participant is one endpoint with one media
// stream. The first NOTIFY of a subscription (and the one after a refresh) carries
// state="full"; later ones state="partial" with only the users that changed since that
// subscription's last NOTIFY (state="full" per changed user, state="deleted" per user gone)
// — RFC 4575's state attributes let a partial update replace whole user elements; diffing per
// subscription keeps them right under coalescing (a NOTIFY skipped by the rate limit only
// widens the next diff). Versions count NOTIFYs per subscription from 1. Speaking is
// an extension element <tutti:speaking/> in our own namespace inside <media> (RFC 4575's
// schema allows ##other there). Muted / deaf map to the media status (sendrecv, recvonly,
// sendonly, inactive). At most one NOTIFY a second per subscription (RFC 4575 §3.9).
// Media service changes reach the package through
// media_service::on_change; a conference that disappears ends its subscriptions
// (terminated;reason=noresource).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "control/event_service.hpp"

namespace tutti::ctl {

class media_service;

// One media stream of an endpoint (RFC 4575 <media>).
struct roster_media {
  std::string id;                 // unique in the document
  std::string type = "audio";     // audio, video, text, message
  std::string status = "sendrecv";  // sendrecv, sendonly, recvonly, inactive
  bool speaking = false;          // written as <tutti:speaking>true</tutti:speaking>
  bool operator==(const roster_media&) const = default;
};

// One endpoint (a device or call) of a user (RFC 4575 <endpoint>).
struct roster_endpoint {
  std::string entity;
  std::string status = "connected";  // connected, on-hold, alerting, ...
  std::vector<roster_media> media;
  bool operator==(const roster_endpoint&) const = default;
};

// One user of the conference (RFC 4575 <user>).
struct roster_user {
  std::string entity;        // sip:LABEL@DOMAIN
  std::string display_text;  // "" writes none
  std::vector<roster_endpoint> endpoints;
  bool operator==(const roster_user&) const = default;
};

// A conference's roster, users sorted by entity.
struct roster {
  std::string entity;  // the conference URI
  bool active = true;  // some endpoint is connected
  std::vector<roster_user> users;
};

// XML character data / attribute value escaping (&, <, >, ", ').
std::string xml_escape(std::string_view s);

// A conference-info document: every user when `full`; otherwise only `changed` users
// (state="full") and `deleted` entities (state="deleted").
std::string build_conference_info(const roster& r, uint32_t version, bool full,
                                  const std::vector<const roster_user*>& changed = {},
                                  const std::vector<std::string>& deleted = {});

// What changed from `before` to `after`: users added or different, entities gone.
struct roster_diff {
  std::vector<const roster_user*> changed;  // point into `after`
  std::vector<std::string> deleted;
};
roster_diff diff_rosters(const roster& before, const roster& after);

// Another source of conference members (a text chat's store), merged into the roster of the
// conference with the same name.
class roster_source {
 public:
  virtual ~roster_source() = default;
  // Whether the source knows the conference (so a SUBSCRIBE to it is not answered 404).
  virtual bool has(std::string_view conference) const = 0;
  // Adds the conference's members: users new to the roster or endpoints of existing ones.
  virtual void add_members(std::string_view conference, std::string_view domain,
                           std::vector<roster_user>& users) const = 0;
  // Whether `user` may watch the conference's roster, asked only when has() holds. A text
  // chat's member list is private to its members; the default keeps a source open.
  virtual bool may_watch(std::string_view conference, std::string_view user) const {
    (void)conference;
    (void)user;
    return true;
  }
};

class conference_events final : public event_package {
 public:
  // Adds the "conference" package to `events` and listens to `media`'s changes.
  conference_events(event_service& events, media_service& media, std::string domain);
  ~conference_events() override;

  // Adds a roster source (not owned; it must outlive this package). Call changed() when
  // its members of a conference change.
  void add_roster_source(roster_source& s);
  void remove_roster_source(roster_source& s);
  void changed(std::string_view conference);

  // The roster of a conference as it is now.
  roster current(std::string_view conference) const;
  // Whether a conference exists in the media service or a roster source.
  bool exists(std::string_view conference) const;

  // event_package
  std::string_view name() const override { return "conference"; }
  std::vector<std::string> content_types() const override { return {"application/conference-info+xml"}; }
  sig::expires_policy expires() const override { return {60, 3600, 3600}; }
  authorization authorize(std::string_view subscriber, std::string_view resource) override;
  event_body state(sig::subscription& sub, bool full) override;

 private:
  event_service& events_;
  media_service& media_;
  std::string domain_;
  std::vector<roster_source*> sources_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tutti::ctl
