// Presence: PUBLISH (RFC 3903) of PIDF documents (RFC 3863, with RFC 5196 caps, RFC 4480
// RPID, RFC 4482 display name) per user, composed into one document per user across their
// devices, and the server-held buddy lists with who may watch whom.
//
// Model: on the control thread. Each user has publications (entity-tag, document, expiry);
// a PUBLISH is authenticated through the registrar service, checked (Event: presence, 489;
// Content-Type application/pidf+xml, 415; Expires, 423; SIP-If-Match, 412; the PIDF, 400)
// and then creates, refreshes, modifies or removes one publication. Any change recomposes
// the user's document (signalling/pidf.hpp compose()) and tells the change listeners (the
// presence event package sends NOTIFYs from there). A one-second sweep removes expired
// publications. Buddy lists and display names are mirrored from the store, reloaded at
// start and after every user/buddy write (store_service::on_change), so authorisation is
// answered synchronously; a list a client set over SIP (control/buddy_edit.hpp) comes in
// through set_buddies() without a full reload. W may watch U when W is U, when W has U on W's list, or when U
// has W on U's list (U allows W).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/services.hpp"
#include "signalling/pidf.hpp"

namespace tutti::sig {
class sip_stack;
}  // namespace tutti::sig

namespace tutti::ctl {

class registrar_service;
class store_service;
class event_service;
class presence_package;

// PUBLISH limits (RFC 3903 §6: the ESC chooses; 423 below the minimum).
struct publish_policy {
  uint32_t min_s = 60;
  uint32_t default_s = 3600;
  uint32_t max_s = 3600;
};

struct presence_counters {
  uint64_t publishes = 0;     // PUBLISH requests seen (challenged ones too)
  uint64_t initial = 0;       // 200: new publication
  uint64_t refreshes = 0;     // 200: SIP-If-Match without body
  uint64_t modifies = 0;      // 200: SIP-If-Match with body
  uint64_t removes = 0;       // 200: Expires: 0
  uint64_t bad_event = 0;     // 489
  uint64_t bad_type = 0;      // 415
  uint64_t bad_body = 0;      // 400 (see rejected_pidf)
  uint64_t unknown_etag = 0;  // 412
  uint64_t too_brief = 0;     // 423
  uint64_t forbidden = 0;     // 403: publishing for another user
  uint64_t expired = 0;       // publications removed by the sweep
  std::vector<uint64_t> rejected_pidf = std::vector<uint64_t>(static_cast<size_t>(sig::pidf::reason::count_));
};

class presence_service {
 public:
  // Registers the PUBLISH handler and the "presence" event package (NOTIFYs at most every
  // `min_notify_interval` per subscription); loads buddy lists and display names.
  static std::unique_ptr<presence_service> start(service_context& ctx, sig::sip_stack& stack,
                                                 registrar_service& users, store_service& store,
                                                 event_service& events,
                                                 std::chrono::milliseconds min_notify_interval,
                                                 publish_policy policy = {});
  ~presence_service();

  // Stops the sweep, drops publications, then calls `done`.
  void stop(std::function<void()> done);

  // The composed document of a user (entity sip:USER@DOMAIN): their devices' tuples, the
  // newest person; a person with the store's display name when none was published.
  sig::pidf::document composed(std::string_view user) const;
  // Live publications of a user.
  size_t publications(std::string_view user) const;
  // Whether `user` exists in the store (as last loaded).
  bool is_user(std::string_view user) const;
  // Whether `watcher` may see `user`'s presence (see the header comment).
  bool may_watch(std::string_view watcher, std::string_view user) const;
  // `owner`'s buddy list (sorted), as last loaded.
  const std::vector<std::string>& buddies(std::string_view owner) const;
  // The users whose lists hold `user`.
  std::vector<std::string> listed_by(std::string_view user) const;
  // The store's display name of a user ("" when none).
  std::string display_name(std::string_view user) const;
  const std::string& domain() const noexcept;

  // `f(user)` runs whenever a user's composed document changes.
  void on_change(std::function<void(const std::string& user)> f);
  // `f(owner, old_list)` runs after a reload found `owner`'s buddy list changed.
  void on_buddies_change(std::function<void(const std::string& owner, const std::vector<std::string>& old_list)> f);
  // Rereads buddy lists and display names from the store, then `done`.
  void reload(std::function<void()> done = {});
  // `owner`'s list as just committed to the store (buddy_set): takes effect at once, tells
  // the buddy listeners, and wins over a reload that read the store before the commit.
  void set_buddies(const std::string& owner, std::vector<std::string> list);

  const presence_counters& counters() const noexcept;

  struct state;

 private:
  friend void register_presence_commands(service_context& ctx, presence_service& p);
  explicit presence_service(std::unique_ptr<state> s);
  std::unique_ptr<state> s_;
  std::unique_ptr<presence_package> package_;
};

// presence.show {user}: composed state, media, user info, publications, buddies;
// presence.status: counters.
void register_presence_commands(service_context& ctx, presence_service& p);

}  // namespace tutti::ctl
