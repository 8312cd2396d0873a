// Chat membership: the room cache (loaded from the store, reloaded when its membership
// version moves), the in-memory directory of every room's members that the conference
// package's roster reads synchronously, REFER adding and removing members, and a room
// created by a MESSAGE that lists its participants.
// Model: control/chat_service.hpp; the shared state: control/chat_state.hpp.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "control/chat_state.hpp"
#include "control/conference_events.hpp"
#include "control/store.hpp"

namespace tutti::ctl {

// Runs f with the room once its membership is current (nullptr: no such room).
void chat_service::state::with_room(const std::string& name, std::function<void(room_state*)> f) {
  auto it = rooms.find(name);
  if (it != rooms.end()) {
    room_state& r = *it->second;
    if (r.loaded && !r.loading && r.version == db.membership_version()) return f(&r);
    r.waiting.push_back(std::move(f));
    if (!r.loading) load(it->second);
    return;
  }
  auto r = std::make_shared<room_state>();
  r->name = name;
  r->waiting.push_back(std::move(f));
  rooms.emplace(name, r);
  load(r);
}

void chat_service::state::load(const room_ptr& r) {
  r->loading = true;
  const uint64_t version = db.membership_version();
  db.chat_load(r->name, [w = weak(), r, version](store_result<chat_state> st) {
    auto self = w.lock();
    if (!self) return;
    r->loading = false;
    auto waiting = std::move(r->waiting);
    r->waiting.clear();
    if (!st) {
      if (st.error().code != store_errc::not_found)
        self->log.warn("chat load failed", {{"room", r->name}, {"error", st.error().message}});
      // Every stream of the room ends; late completions find nothing.
      auto it = self->rooms.find(r->name);
      if (it != self->rooms.end() && it->second == r) self->rooms.erase(it);
      for (auto& f : waiting) f(nullptr);
      return;
    }
    self->apply(*r, *st, version);
    for (auto& f : waiting) f(r.get());
    for (auto& [user, s] : r->members) self->pump(*r, s);
  });
}

// Takes the loaded membership: streams of members who stay keep their place in memory
// (ahead of the stored cursor), new members start at their stored cursor.
void chat_service::state::apply(room_state& r, const chat_state& st, uint64_t version) {
  std::map<std::string, stream, std::less<>> members;
  for (const auto& m : st.members) {
    auto it = r.members.find(m.user);
    if (it != r.members.end()) {
      members.emplace(m.user, std::move(it->second));
      continue;
    }
    stream s;
    s.user = m.user;
    s.delivered = s.persisted = m.delivered_seq;
    s.next = m.delivered_seq + 1;
    s.epoch = ++epochs;
    members.emplace(m.user, std::move(s));
  }
  for (auto& [user, s] : r.members)
    if (s.retry) s.retry->cancel();
  r.members = std::move(members);
  r.last_seq = std::max(r.last_seq, st.last_seq);
  r.version = version;
  r.loaded = true;
}

void chat_service::state::set_members(const std::string& room, std::set<std::string, std::less<>> members) {
  if (auto it = directory.find(room); it != directory.end())
    for (const auto& u : it->second)
      if (auto ur = rooms_by_user.find(u); ur != rooms_by_user.end()) {
        ur->second.erase(room);
        if (ur->second.empty()) rooms_by_user.erase(ur);
      }
  for (const auto& u : members) rooms_by_user[u].insert(room);
  directory[room] = std::move(members);
}

void chat_service::state::drop_room(const std::string& room) {
  set_members(room, {});
  directory.erase(room);
}

// Reads one room's members (or every room's, for "") after a membership write committed,
// then tells the conference package.
void chat_service::state::refresh_directory(std::string room) {
  if (stopped) return;
  if (room.empty()) {
    db.chat_list([w = weak()](store_result<std::vector<chat_record>> list) {
      auto self = w.lock();
      if (!self || !list) return;
      std::set<std::string, std::less<>> gone;
      for (const auto& [name, members] : self->directory) gone.insert(name);
      for (const auto& c : *list) {
        gone.erase(c.room);
        self->refresh_directory(c.room);
      }
      for (const auto& name : gone) {
        self->drop_room(name);
        self->roster_changed(name);
      }
    });
    return;
  }
  db.chat_show(room, [w = weak(), room](store_result<chat_record> c) {
    auto self = w.lock();
    if (!self) return;
    if (!c && c.error().code != store_errc::not_found) return;
    if (c) self->set_members(room, {c->members.begin(), c->members.end()});
    else self->drop_room(room);
    self->roster_changed(room);
  });
}

void chat_service::state::roster_changed(std::string_view room) {
  for (auto& f : roster_listeners) f(room);
}

void chat_service::state::add_members(std::string_view room, std::string_view domain, std::vector<roster_user>& out) {
  auto it = directory.find(room);
  if (it == directory.end()) return;
  for (const auto& user : it->second) {
    roster_user u;
    u.entity = "sip:" + user + "@" + std::string(domain);
    u.display_text = user;
    roster_endpoint e;
    e.entity = u.entity + ";chat";
    e.status = bindings_of(user).empty() ? "disconnected" : "connected";
    e.media.push_back(roster_media{"chat-" + user, "message", "sendrecv", false});
    u.endpoints.push_back(std::move(e));
    out.push_back(std::move(u));
  }
}

void chat_service::state::refer(chat_refer q, std::function<void(uint16_t, std::string)> done, bool retried) {
  if (stopped) return done(503, "Service Unavailable");
  if (!db.credentials(q.user)) return done(404, "no such user");
  if (!db.credentials(q.by)) return done(403, "the referrer is not a user");
  with_room(q.room, [this, q, done, retried](room_state* r) mutable {
    if (!r) {
      if (q.remove) return done(404, "no such chat room");
      // The first REFER names the room into being with its referrer.
      std::vector<std::string> members{q.by};
      if (q.user != q.by) members.push_back(q.user);
      return db.chat_create(q.room, std::move(members),
                            [w = weak(), q, done, retried](store_result<chat_record> c) mutable {
                              auto self = w.lock();
                              if (!self) return;
                              if (c) {
                                ++self->n.joined;
                                self->log.info("chat created by REFER", {{"room", q.room}, {"by", q.by}, {"user", q.user}});
                                return done(200, "OK");
                              }
                              // Another REFER created it meanwhile: add to it instead.
                              if (c.error().code == store_errc::conflict && !retried)
                                return self->refer(std::move(q), std::move(done), true);
                              if (c.error().code == store_errc::invalid) return done(400, "bad chat room name");
                              done(c.error().code == store_errc::not_found ? 404 : 500, c.error().message);
                            });
    }
    const bool by_member = r->members.count(q.by) != 0;
    const bool is_member = r->members.count(q.user) != 0;
    if (!q.remove) {
      if (!by_member) return done(403, "only a member may add to this chat room");
      if (is_member) return done(200, "OK");
      return db.chat_add_member(q.room, q.user, [w = weak(), q, done](store_result<bool> ok) {
        auto self = w.lock();
        if (!self) return;
        if (!ok && ok.error().code != store_errc::conflict)
          return done(ok.error().code == store_errc::not_found ? 404 : 500, ok.error().message);
        if (ok) ++self->n.joined;
        done(200, "OK");
      });
    }
    if (q.by != q.user && !by_member) return done(403, "only a member may remove from this chat room");
    if (!is_member) return done(404, "not a member of this chat room");
    db.chat_remove_member(q.room, q.user, [w = weak(), done](store_result<bool> ok) {
      auto self = w.lock();
      if (!self) return;
      if (!ok) return done(ok.error().code == store_errc::not_found ? 404 : 500, ok.error().message);
      ++self->n.left;
      done(200, "OK");
    });
  });
}

// A MESSAGE with a resource list to a room that does not exist: the room is created with
// the sender and the listed users, then the message is its seq 1. Every listed user must
// exist (404 otherwise, nothing created).
void chat_service::state::create(std::string room, incoming in, std::vector<std::string> listed) {
  std::vector<std::string> members{in.user};
  for (auto& u : listed) {
    if (!db.credentials(u)) return refuse(in.tx, 404, "no such user: " + u);
    members.push_back(std::move(u));
  }
  db.chat_create(room, std::move(members), [w = weak(), room, in = std::move(in)](store_result<chat_record> c) mutable {
    auto self = w.lock();
    if (!self) return;
    // Created, or created by someone else meanwhile (then it is a message to that room).
    if (!c && c.error().code != store_errc::conflict)
      return self->refuse(in.tx, c.error().code == store_errc::invalid ? 400 : 500, c.error().message);
    if (c) {
      ++self->n.joined;
      self->log.info("chat created by MESSAGE", {{"room", room}, {"by", in.user}});
    }
    self->with_room(room, [self = self.get(), in = std::move(in)](room_state* r) mutable {
      if (!r) return self->refuse(in.tx, 500, "room vanished");
      self->post(*r, std::move(in));
    });
  });
}

}  // namespace tutti::ctl
