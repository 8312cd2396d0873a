#include "control/chat_service.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "control/commands.hpp"
#include "control/conference_events.hpp"
#include "control/config.hpp"
#include "control/log.hpp"
#include "control/metrics.hpp"
#include "control/registrar_service.hpp"
#include "control/room_creation.hpp"
#include "control/store.hpp"
#include "signalling/dialog.hpp"
#include "signalling/registrar.hpp"
#include "signalling/sip/serializer.hpp"
#include "signalling/sip/text.hpp"
#include "signalling/sip_stack.hpp"

namespace tutti::ctl {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

uint64_t wall_seconds() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

// A committed message as the fan-out needs it; shared by the room's tail and every stream.
struct chat_message {
  uint64_t seq = 0;
  std::string sender;
  std::string content_type;
  std::string body;
  std::string origin;  // "ip:port" of the device it came from; "" from the CLI or the store
};
using message_ptr = std::shared_ptr<const chat_message>;

// One fan-out MESSAGE per device of a member, for one seq.
struct flight {
  uint32_t pending = 0;  // devices not answered yet
  bool ok = false;       // a device answered 2xx
  bool failed = false;   // a device timed out or could not be reached
};

// The ordered delivery of one room's stream to one member.
struct stream {
  std::string user;
  uint64_t delivered = 0;  // cursor: every seq <= this is done
  uint64_t next = 1;       // next seq to send
  uint64_t epoch = 0;      // completions of an older epoch (before a reset) are ignored
  std::map<uint64_t, flight> in_flight;
  std::map<uint64_t, message_ptr> fetched;  // read back from the store, not yet sent
  bool fetching = false;
  bool paused = false;      // a delivery failed: wait for the retry or a registration
  bool resume_now = false;  // a registration came while paused: retry once drained
  uint64_t persisted = 0;   // cursor value last written to the store
  bool persisting = false;
  std::unique_ptr<asio::steady_timer> retry;
};

// A MESSAGE seen in the room's dedup window: its seq once committed; transactions that
// carried it again while its commit was running wait for it.
struct recent_message {
  uint64_t seq = 0;
  std::vector<sig::server_transaction_ptr> waiting;
};

struct room_state {
  std::string name;
  // (Call-ID, CSeq, sender) of the newest MESSAGEs, oldest first in recent_order.
  std::map<std::string, std::shared_ptr<recent_message>, std::less<>> recent;
  std::deque<std::string> recent_order;
  bool loaded = false;
  bool loading = false;
  uint64_t version = 0;   // store membership version the members were loaded at
  uint64_t last_seq = 0;  // newest committed seq known here
  std::map<std::string, stream, std::less<>> members;
  std::deque<message_ptr> tail;  // newest messages, contiguous seqs
  std::vector<std::function<void(room_state*)>> waiting;  // run once loaded (nullptr: no room)
};
using room_ptr = std::shared_ptr<room_state>;

std::string_view status_reason(uint16_t s) { return sig::default_reason(s); }

}  // namespace

struct chat_service::state : std::enable_shared_from_this<chat_service::state> {
  state(service_context& c, sig::sip_stack& st, store& d, registrar_service& r, chat_settings cs)
      : ctx(c), log(c.log.module("chat")), stack(st), db(d), users(r), settings(cs), rng(std::random_device{}()) {}

  service_context& ctx;
  log_module log;
  sig::sip_stack& stack;
  store& db;
  registrar_service& users;
  chat_settings settings;
  std::mt19937_64 rng;
  std::map<std::string, room_ptr, std::less<>> rooms;
  // Every room's members, without the store (the roster answers synchronously), and each
  // user's rooms; kept by the store's membership listener.
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> directory;
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> rooms_by_user;
  conference_events* events = nullptr;
  std::vector<std::function<void(std::string_view)>> roster_listeners;  // a room's roster changed
  struct roster final : roster_source {
    state* s = nullptr;
    bool has(std::string_view conference) const override { return s->directory.count(conference) != 0; }
    void add_members(std::string_view conference, std::string_view domain,
                     std::vector<roster_user>& users) const override {
      s->add_members(conference, domain, users);
    }
    bool may_watch(std::string_view conference, std::string_view user) const override {
      auto it = s->directory.find(conference);
      return it != s->directory.end() && it->second.count(user) != 0;
    }
  } roster_src;
  chat_counters n;
  struct {
    counter *received, *accepted, *refused, *sent, *delivered, *rejected, *failed;
  } m{};
  uint64_t epochs = 0;
  bool stopped = false;

  std::weak_ptr<state> weak() { return weak_from_this(); }

  // ---- rooms ----

  // Runs f with the room once its membership is current (nullptr: no such room).
  void with_room(const std::string& name, std::function<void(room_state*)> f) {
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

  void load(const room_ptr& r) {
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
  void apply(room_state& r, const chat_state& st, uint64_t version) {
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

  void committed(room_state& r, const message_record& rec, std::string origin) {
    auto msg = std::make_shared<chat_message>(chat_message{rec.seq, rec.sender, rec.content_type, rec.body,
                                                           std::move(origin)});
    if (!r.tail.empty() && rec.seq != r.tail.back()->seq + 1) r.tail.clear();
    r.tail.push_back(std::move(msg));
    while (r.tail.size() > settings.tail) r.tail.pop_front();
    r.last_seq = std::max(r.last_seq, rec.seq);
    for (auto& [user, s] : r.members) pump(r, s);
  }

  // ---- directory and roster ----

  void set_members(const std::string& room, std::set<std::string, std::less<>> members) {
    if (auto it = directory.find(room); it != directory.end())
      for (const auto& u : it->second)
        if (auto ur = rooms_by_user.find(u); ur != rooms_by_user.end()) {
          ur->second.erase(room);
          if (ur->second.empty()) rooms_by_user.erase(ur);
        }
    for (const auto& u : members) rooms_by_user[u].insert(room);
    directory[room] = std::move(members);
  }

  void drop_room(const std::string& room) {
    set_members(room, {});
    directory.erase(room);
  }

  // Reads one room's members (or every room's, for "") after a membership write committed,
  // then tells the conference package.
  void refresh_directory(std::string room) {
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

  void roster_changed(std::string_view room) {
    for (auto& f : roster_listeners) f(room);
  }

  void add_members(std::string_view room, std::string_view domain, std::vector<roster_user>& out) {
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

  // ---- membership by REFER ----

  void refer(chat_refer q, std::function<void(uint16_t, std::string)> done, bool retried = false) {
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

  // ---- incoming MESSAGE ----

  void refuse(const sig::server_transaction_ptr& tx, uint16_t status, std::string_view warning = {}) {
    ++n.refused;
    m.refused->inc();
    auto r = tx->response(status, status_reason(status));
    if (status == 415) r.add("Accept", "text/plain, message/cpim");
    if (!warning.empty()) r.add("Warning", std::string("399 tutti \"") + std::string(warning) + "\"");
    tx->send(r.finish());
  }

  // A MESSAGE on its way to a room, once read.
  struct incoming {
    sig::server_transaction_ptr tx;
    std::string user;  // the authenticated sender
    std::string type;
    std::string body;
    std::string origin;
    std::string key;  // Call-ID, CSeq and sender: the dedup key
  };

  void on_message(const sig::message_view& req, const sig::peer& from, const sig::server_transaction_ptr& tx) {
    if (stopped) return (void)tx->reply(503, "Service Unavailable");
    auto user = users.authenticate(req, from, tx);
    if (!user) return;
    ++n.received;
    m.received->inc();
    const sig::uri& ru = req.request_uri();
    if (ru.user.empty() || !our_host(ru.host)) return refuse(tx, 404, "no chat room in the Request-URI");
    if (req.body().empty()) return refuse(tx, 400, "empty message");
    const auto& ct = req.content_type();
    const auto* cth = req.find(sig::header_id::content_type);
    incoming in{tx, std::move(*user), cth ? std::string(cth->value) : std::string("text/plain"),
                std::string(req.body()), from.address.to_string() + ":" + std::to_string(from.port), {}};
    // A retransmission in a new transaction is the same Call-ID and CSeq (RFC 3261 §8.1.3.1:
    // a new request would take a new CSeq) from the same user.
    in.key = std::string(req.call_id()) + '\n' + std::to_string(req.cseq().number) + '\n' + in.user;
    std::vector<std::string> listed;  // the participants a creating MESSAGE names
    if (ct && ct->is("multipart", "mixed")) {
      // RFC 5365 style: the message and the room's participants (a resource list).
      if (req.body().size() > settings.max_create_bytes) return refuse(tx, 413, "room creation body too large");
      auto c = parse_room_creation(in.type, req.body());
      if (!c) return refuse(tx, 400, to_string(c.error()));
      if (c->text.empty()) return refuse(tx, 400, "empty message");
      for (const auto& l : c->users) {
        if (!our_host(l.host)) return refuse(tx, 403, "a listed user is not of this domain");
        if (l.user != in.user) listed.push_back(l.user);
      }
      in.type = std::move(c->content_type);
      in.body = std::move(c->text);
    } else if (!ct || !(ct->is("text", "plain") || ct->is("message", "cpim"))) {
      return refuse(tx, 415);
    }
    if (in.body.size() > settings.max_body_bytes) return refuse(tx, 413, "page-mode messages are short");
    std::string room(ru.user);
    with_room(room, [this, in = std::move(in), listed = std::move(listed), room](room_state* r) mutable {
      if (r) return post(*r, std::move(in));
      if (listed.empty()) return refuse(in.tx, 404, "no such chat room");
      create(std::move(room), std::move(in), std::move(listed));
    });
  }

  bool our_host(std::string_view host) const {
    return sig::text::iequals(host, users.domain()) || host == stack.host();
  }

  // A MESSAGE with a resource list to a room that does not exist: the room is created with
  // the sender and the listed users, then the message is its seq 1. Every listed user must
  // exist (404 otherwise, nothing created).
  void create(std::string room, incoming in, std::vector<std::string> listed) {
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

  // Stores a member's MESSAGE and answers it 200 with its seq, once (dedup).
  void post(room_state& r, incoming in) {
    const sig::server_transaction_ptr tx = in.tx;
    if (auto seen = r.recent.find(in.key); seen != r.recent.end()) {
      ++n.duplicates;
      if (seen->second->seq) return accepted(tx, seen->second->seq);
      seen->second->waiting.push_back(tx);
      return;
    }
    if (!r.members.count(in.user)) return refuse(tx, 403, "not a member of this chat room");
    auto entry = std::make_shared<recent_message>();
    remember(r, in.key, entry);
    append(r, std::move(in.user), std::move(in.type), std::move(in.body), std::move(in.origin),
           [this, tx, entry, name = r.name, key = in.key](store_result<message_record> rec) {
             auto waiting = std::move(entry->waiting);
             entry->waiting.clear();
             if (!rec) {
               // Not stored: a retry may try again.
               if (auto it = rooms.find(name); it != rooms.end()) it->second->recent.erase(key);
               const uint16_t st = rec.error().code == store_errc::not_found ? 404 : 500;
               refuse(tx, st, "store");
               for (auto& t : waiting) refuse(t, st, "store");
               return;
             }
             entry->seq = rec->seq;
             accepted(tx, rec->seq);
             for (auto& t : waiting) accepted(t, rec->seq);
           });
  }

  void accepted(const sig::server_transaction_ptr& tx, uint64_t seq) {
    ++n.accepted;
    m.accepted->inc();
    auto resp = tx->response(200, "OK");
    resp.add("X-Tutti-Seq", std::to_string(seq));
    tx->send(resp.finish());
  }

  void remember(room_state& r, const std::string& key, std::shared_ptr<recent_message> e) {
    r.recent[key] = std::move(e);
    r.recent_order.push_back(key);
    while (r.recent_order.size() > settings.dedup) {
      r.recent.erase(r.recent_order.front());
      r.recent_order.pop_front();
    }
  }

  // Stores a message; `done` (the 200 or the CLI answer) runs once it is durable, then the
  // fan-out starts.
  void append(room_state& r, std::string sender, std::string type, std::string body, std::string origin,
              std::function<void(store_result<message_record>)> done) {
    db.append_message(r.name, std::move(sender), std::move(type), std::move(body),
                      [w = weak(), name = r.name, origin = std::move(origin), done = std::move(done)](
                          store_result<message_record> rec) mutable {
                        auto self = w.lock();
                        if (!self) return;
                        done(rec);
                        if (!rec) return;
                        auto it = self->rooms.find(name);
                        if (it != self->rooms.end() && it->second->loaded)
                          self->committed(*it->second, *rec, std::move(origin));
                      });
  }

  // ---- delivery ----

  // A user's live bindings (the registrar keys every alias of our domain under the domain).
  std::vector<sig::binding> bindings_of(std::string_view user) {
    return users.locations().lookup(users.aor(user), wall_seconds());
  }

  message_ptr find(room_state& r, stream& s, uint64_t seq) {
    while (!s.fetched.empty() && s.fetched.begin()->first < seq) s.fetched.erase(s.fetched.begin());
    if (auto it = s.fetched.find(seq); it != s.fetched.end()) {
      auto msg = it->second;
      s.fetched.erase(it);
      return msg;
    }
    if (!r.tail.empty() && seq >= r.tail.front()->seq && seq <= r.tail.back()->seq)
      return r.tail[seq - r.tail.front()->seq];
    return nullptr;
  }

  // Sends the stream's next messages, up to `window` unanswered. A message for which none of
  // the member's devices gets a request (the sender's own, only device) is settled here, in
  // the loop: settling it by a nested pump, before `next` moved, resent the same seq without
  // end (a stack overflow on the first MESSAGE from a client whose only device sent it).
  void pump(room_state& r, stream& s) {
    for (;;) {
      if (stopped || s.paused) return;
      if (s.in_flight.size() >= settings.window || s.next > r.last_seq) return;
      const auto bindings = bindings_of(s.user);
      if (bindings.empty()) return;  // offline: resumes when the member registers
      bool unanswered = false;       // a flight that waits for no answer
      while (s.in_flight.size() < settings.window && s.next <= r.last_seq) {
        message_ptr msg = find(r, s, s.next);
        if (!msg) {
          fetch(r, s);
          break;
        }
        ++s.next;
        if (!send(r, s, *msg, bindings)) unanswered = true;
      }
      if (!unanswered || !advance(r, s)) return;
    }
  }

  void fetch(room_state& r, stream& s) {
    if (s.fetching) return;
    s.fetching = true;
    db.history(r.name, s.next - 1, settings.fetch,
               [w = weak(), name = r.name, user = s.user, epoch = s.epoch](store_result<std::vector<message_record>> h) {
                 auto self = w.lock();
                 if (!self) return;
                 auto [room, st] = self->locate(name, user, epoch);
                 if (!st) return;
                 st->fetching = false;
                 if (!h || h->empty()) {
                   self->log.warn("chat history read failed",
                                  {{"room", name}, {"user", user}, {"error", h ? "no rows" : h.error().message}});
                   st->paused = true;
                   return self->drained(*room, *st);
                 }
                 self->n.fetched += h->size();
                 for (auto& rec : *h)
                   st->fetched.emplace(rec.seq, std::make_shared<chat_message>(
                                                    chat_message{rec.seq, rec.sender, rec.content_type, rec.body, {}}));
                 self->pump(*room, *st);
               });
  }

  // The stream of `user` in `room` if it is still the one of `epoch`.
  std::pair<room_state*, stream*> locate(std::string_view room, std::string_view user, uint64_t epoch) {
    auto it = rooms.find(room);
    if (it == rooms.end()) return {nullptr, nullptr};
    auto m = it->second->members.find(user);
    if (m == it->second->members.end() || m->second.epoch != epoch) return {nullptr, nullptr};
    return {it->second.get(), &m->second};
  }

  std::string request_for(const room_state& r, const stream& s, const chat_message& msg, const sig::binding& b) {
    const std::string& domain = users.domain();
    const std::string from = "sip:" + r.name + "@" + domain;
    const std::string to = "sip:" + s.user + "@" + domain;
    const std::string tag = std::to_string(rng() >> 8);
    const std::string call_id = std::to_string(rng()) + "@" + stack.host();
    // From: the room (a reply goes to the room), with the sender as the display name.
    auto q = sig::build_request({"MESSAGE", b.contact, from, msg.sender, tag, to, {}, call_id, 1});
    q.add(sig::header_id::p_asserted_identity, "<sip:" + msg.sender + "@" + domain + ">");
    q.add("X-Tutti-Seq", std::to_string(msg.seq));
    return q.finish(msg.body, msg.content_type);
  }

  // Sends `msg` to the member's devices; false when no request is outstanding for it (all
  // skipped or failed at once): the caller settles it.
  bool send(room_state& r, stream& s, const chat_message& msg, const std::vector<sig::binding>& bindings) {
    flight& f = s.in_flight[msg.seq];
    for (const auto& b : bindings) {
      // Not back to the device it came from.
      if (msg.sender == s.user && !msg.origin.empty() && b.source_ip + ":" + std::to_string(b.source_port) == msg.origin)
        continue;
      boost::system::error_code ec;
      sig::peer to;
      to.address = asio::ip::make_address(b.source_ip, ec);
      if (ec) continue;
      to.port = b.source_port;
      to.transport = b.transport == "tcp" ? sig::transport_kind::tcp : sig::transport_kind::udp;
      ++f.pending;
      ++n.sent;
      m.sent->inc();
      auto tx = stack.send_request(request_for(r, s, msg, b), to,
                                   [w = weak(), room = r.name, user = s.user, epoch = s.epoch,
                                    seq = msg.seq](const sig::client_event& e) {
                                     if (e.what == sig::client_event::kind::provisional) return;
                                     if (auto self = w.lock()) self->answered(room, user, epoch, seq, e);
                                   });
      if (!tx) {
        --f.pending;
        f.failed = true;
        ++n.failed;
        m.failed->inc();
      }
    }
    return f.pending != 0;
  }

  void answered(const std::string& room, const std::string& user, uint64_t epoch, uint64_t seq,
                const sig::client_event& e) {
    auto [r, s] = locate(room, user, epoch);
    if (!s) return;
    auto it = s->in_flight.find(seq);
    if (it == s->in_flight.end() || it->second.pending == 0) return;
    flight& f = it->second;
    --f.pending;
    if (e.what == sig::client_event::kind::final_response && e.status < 300) {
      f.ok = true;
      ++n.delivered;
      m.delivered->inc();
    } else if (e.what == sig::client_event::kind::final_response) {
      ++n.rejected;  // refused by the device (415, 486, ...): counted, not retried
      m.rejected->inc();
    } else {
      f.failed = true;
      ++n.failed;
      m.failed->inc();
    }
    if (f.pending == 0) settle(*r, *s);
  }

  // Advances the cursor over the answered prefix; pauses on a failure. False when paused.
  bool advance(room_state& r, stream& s) {
    while (!s.in_flight.empty()) {
      auto it = s.in_flight.begin();
      const flight& f = it->second;
      if (f.pending) break;
      if (f.failed && !f.ok) {
        s.paused = true;
        break;
      }
      s.delivered = it->first;
      s.in_flight.erase(it);
    }
    persist(r, s);
    if (s.paused) {
      drained(r, s);
      return false;
    }
    return true;
  }

  void settle(room_state& r, stream& s) {
    if (advance(r, s)) pump(r, s);
  }

  // A paused stream whose flights are all answered restarts from its cursor: now if the
  // member registered meanwhile, else after retry_s.
  void drained(room_state& r, stream& s) {
    for (auto& [seq, f] : s.in_flight)
      if (f.pending) return;
    s.in_flight.clear();
    s.fetched.clear();
    s.next = s.delivered + 1;
    s.epoch = ++epochs;
    if (stopped) return;
    if (s.resume_now) {
      s.resume_now = false;
      s.paused = false;
      return pump(r, s);
    }
    if (!s.retry) s.retry = std::make_unique<asio::steady_timer>(ctx.io);
    s.retry->expires_after(std::chrono::seconds(settings.retry_s));
    s.retry->async_wait([w = weak(), room = r.name, user = s.user, epoch = s.epoch](boost::system::error_code ec) {
      if (ec) return;
      auto self = w.lock();
      if (!self) return;
      auto [rr, ss] = self->locate(room, user, epoch);
      if (!ss) return;
      ss->paused = false;
      self->pump(*rr, *ss);
    });
  }

  // Writes the cursor, one write at a time per stream (coalesced).
  void persist(room_state& r, stream& s) {
    if (s.persisting || s.delivered <= s.persisted) return;
    s.persisting = true;
    const uint64_t v = s.delivered;
    db.set_delivered(r.name, s.user, v, [w = weak(), room = r.name, user = s.user](store_result<bool>) {
      auto self = w.lock();
      if (!self) return;
      auto it = self->rooms.find(room);
      if (it == self->rooms.end()) return;
      auto m = it->second->members.find(user);
      if (m == it->second->members.end()) return;
      m->second.persisting = false;
      self->persist(*it->second, m->second);
    });
    s.persisted = v;
  }

  // ---- registrations ----

  void on_location(std::string_view aor, sig::location_change c) {
    if (stopped) return;
    const auto at = aor.find('@');
    if (at == std::string_view::npos) return;
    if (const auto host = aor.substr(at + 1); host != users.domain()) return;
    std::string user(aor.substr(0, at));
    // The member's chat endpoint turns connected / disconnected in the rosters.
    if (c != sig::location_change::updated)
      if (auto it = rooms_by_user.find(user); it != rooms_by_user.end())
        for (const auto& room : it->second) roster_changed(room);
    if (c == sig::location_change::offline) return;
    if (c == sig::location_change::updated) {
      // A refresh, or another device of a user already online: only streams paused on a
      // failed delivery need waking, and those rooms are in memory — no store round trip
      // for every REGISTER refresh.
      for (auto& [name, r] : rooms) {
        auto it = r->members.find(user);
        if (it != r->members.end() && it->second.paused) wake(*r, it->second);
      }
      return;
    }
    db.rooms_of(user, [w = weak(), user](store_result<std::vector<std::string>> list) {
      auto self = w.lock();
      if (!self || !list) return;
      for (auto& room : *list)
        self->with_room(room, [self = self.get(), user](room_state* r) {
          if (!r) return;
          auto it = r->members.find(user);
          if (it != r->members.end()) self->wake(*r, it->second);
        });
    });
  }

  // A member's device came online: resume a paused stream (at once when nothing is in
  // flight, else when the in-flight sends end) and send what it missed.
  void wake(room_state& r, stream& s) {
    if (s.paused) {
      bool idle = true;
      for (auto& [seq, f] : s.in_flight) idle = idle && f.pending == 0;
      if (!idle || s.fetching) {
        s.resume_now = true;
        return;
      }
      if (s.retry) s.retry->cancel();
      s.paused = false;
    }
    pump(r, s);
  }

  // ---- commands ----

  void register_commands() {
    command_registry& reg = ctx.commands;
    // chat.send through this service, so a message from the CLI is fanned out as well.
    reg.unregister_command("chat.send");
    reg.register_command(
        "chat.send",
        [w = weak()](const json::object& a, command_reply reply) {
          auto self = w.lock();
          if (!self) return reply.error(errc::unavailable, "chat service stopped");
          auto room = arg_string(a, "room");
          auto from = arg_string(a, "from");
          auto body = arg_string(a, "body");
          for (auto* e : {&room, &from, &body})
            if (!*e) return reply.error(e->error().code, e->error().message);
          std::string type = "text/plain";
          if (const json::value* t = a.if_contains("content_type"); t && t->is_string()) type = t->as_string();
          self->with_room(*room, [self = self.get(), reply, from = *from, body = *body, type](room_state* r) mutable {
            if (!r) return reply.error(errc::not_found, "no chat room");
            self->append(*r, from, type, body, {}, [reply](store_result<message_record> rec) mutable {
              if (!rec) return reply.error(rec.error().code == store_errc::not_found ? errc::not_found : "store_failed",
                                           rec.error().message);
              reply.ok(json::object{{"room", rec->room}, {"seq", rec->seq}});
            });
          });
        },
        "store a message in a chat room and deliver it to the members: {room, from, body, content_type?}");
    reg.register_command(
        "chat.status",
        [w = weak()](const json::object& a) -> command_result {
          auto self = w.lock();
          if (!self) return fail(command_error{std::string(errc::unavailable), "chat service stopped"});
          const json::value* only = a.if_contains("room");
          json::array rooms;
          for (const auto& [name, r] : self->rooms) {
            if (only && (!only->is_string() || only->as_string() != name)) continue;
            json::array members;
            for (const auto& [user, s] : r->members)
              members.push_back(json::object{{"user", user},
                                             {"delivered", s.delivered},
                                             {"next", s.next},
                                             {"in_flight", s.in_flight.size()},
                                             {"paused", s.paused},
                                             {"online", !self->bindings_of(user).empty()}});
            rooms.push_back(json::object{{"room", name}, {"last_seq", r->last_seq}, {"members", std::move(members)}});
          }
          const chat_counters& c = self->n;
          return json::value(json::object{{"received", c.received},
                                          {"accepted", c.accepted},
                                          {"refused", c.refused},
                                          {"sent", c.sent},
                                          {"delivered", c.delivered},
                                          {"rejected", c.rejected},
                                          {"failed", c.failed},
                                          {"fetched", c.fetched},
                                          {"duplicates", c.duplicates},
                                          {"joined", c.joined},
                                          {"left", c.left},
                                          {"rooms", std::move(rooms)}});
        },
        "chat delivery: counters, and every cached room's members with cursor and queue: {room?}");
  }
};

std::unique_ptr<chat_service> chat_service::start(service_context& ctx, sig::sip_stack& stack, store& db,
                                                  registrar_service& users, chat_settings settings) {
  auto s = std::make_shared<state>(ctx, stack, db, users, settings);
  metrics_registry& mr = ctx.metrics;
  s->m.received = &mr.add_counter("tutti_chat_messages_received_total", "MESSAGE requests to a chat room, authenticated");
  s->m.accepted = &mr.add_counter("tutti_chat_messages_accepted_total", "chat MESSAGEs committed and answered 200");
  s->m.refused = &mr.add_counter("tutti_chat_messages_refused_total", "chat MESSAGEs answered with an error");
  s->m.sent = &mr.add_counter("tutti_chat_deliveries_sent_total", "fan-out MESSAGEs sent to members' devices");
  s->m.delivered = &mr.add_counter("tutti_chat_deliveries_total", "fan-out MESSAGEs answered 2xx");
  s->m.rejected = &mr.add_counter("tutti_chat_deliveries_rejected_total", "fan-out MESSAGEs refused by the device");
  s->m.failed = &mr.add_counter("tutti_chat_delivery_failures_total",
                                "fan-out MESSAGEs that timed out or could not be sent (retried)");
  std::weak_ptr<state> w = s;
  stack.on_request(sig::sip_method::message, [w](const sig::message_view& r, const sig::peer& f,
                                                 sig::server_transaction_ptr tx) {
    if (auto self = w.lock()) self->on_message(r, f, tx);
    else tx->reply(503, "Service Unavailable");
  });
  users.locations().on_change([w](std::string_view aor, sig::location_change c) {
    if (auto self = w.lock()) self->on_location(aor, c);
  });
  db.on_membership_change([w](std::string_view room) {
    auto self = w.lock();
    if (!self || self->stopped) return;
    // A cached room takes its new members now (their streams start, chat.status shows
    // them), not at its next message.
    std::vector<std::string> cached;
    for (const auto& [name, r] : self->rooms)
      if (room.empty() || name == room) cached.push_back(name);
    for (const auto& name : cached) self->with_room(name, [](room_state*) {});
    self->refresh_directory(std::string(room));
  });
  s->roster_src.s = s.get();
  s->refresh_directory({});
  s->register_commands();
  return std::unique_ptr<chat_service>(new chat_service(std::move(s)));
}

chat_service::chat_service(std::shared_ptr<state> s) : s_(std::move(s)) {}
chat_service::~chat_service() {
  if (s_->events) s_->events->remove_roster_source(s_->roster_src);
}

void chat_service::refer(chat_refer r, std::function<void(uint16_t status, std::string reason)> done) {
  s_->refer(std::move(r), std::move(done));
}

void chat_service::attach(conference_events& events) {
  s_->events = &events;
  events.add_roster_source(s_->roster_src);
  on_roster_change([e = &events](std::string_view room) { e->changed(room); });
}

void chat_service::on_roster_change(std::function<void(std::string_view room)> f) {
  s_->roster_listeners.push_back(std::move(f));
}

const roster_source& chat_service::roster() const noexcept { return s_->roster_src; }

const chat_counters& chat_service::counters() const noexcept { return s_->n; }

void chat_service::stop(std::function<void()> done) {
  s_->stopped = true;
  // The last cursors; the store (stopped after us) drains its queue before closing.
  for (auto& [name, r] : s_->rooms)
    for (auto& [user, s] : r->members) {
      if (s.retry) s.retry->cancel();
      if (s.delivered > s.persisted) {
        s_->db.set_delivered(name, user, s.delivered, [](store_result<bool>) {});
        s.persisted = s.delivered;
      }
    }
  done();
}

}  // namespace tutti::ctl
