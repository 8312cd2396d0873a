#include "control/chat_service.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <random>
#include <vector>

#include "control/commands.hpp"
#include "control/config.hpp"
#include "control/log.hpp"
#include "control/metrics.hpp"
#include "control/registrar_service.hpp"
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

struct room_state {
  std::string name;
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

  // ---- incoming MESSAGE ----

  void refuse(const sig::server_transaction_ptr& tx, uint16_t status, std::string_view warning = {}) {
    ++n.refused;
    m.refused->inc();
    auto r = tx->response(status, status_reason(status));
    if (status == 415) r.add("Accept", "text/plain, message/cpim");
    if (!warning.empty()) r.add("Warning", std::string("399 tutti \"") + std::string(warning) + "\"");
    tx->send(r.finish());
  }

  void on_message(const sig::message_view& req, const sig::peer& from, const sig::server_transaction_ptr& tx) {
    if (stopped) return (void)tx->reply(503, "Service Unavailable");
    auto user = users.authenticate(req, from, tx);
    if (!user) return;
    ++n.received;
    m.received->inc();
    const sig::uri& ru = req.request_uri();
    if (ru.user.empty() || !(sig::text::iequals(ru.host, users.domain()) || ru.host == stack.host()))
      return refuse(tx, 404, "no chat room in the Request-URI");
    if (req.body().empty()) return refuse(tx, 400, "empty message");
    if (req.body().size() > settings.max_body_bytes) return refuse(tx, 413, "page-mode messages are short");
    const auto& ct = req.content_type();
    if (!ct || !(ct->is("text", "plain") || ct->is("message", "cpim"))) return refuse(tx, 415);
    const auto* cth = req.find(sig::header_id::content_type);
    std::string type = cth ? std::string(cth->value) : std::string("text/plain");
    std::string room(ru.user);
    std::string origin = from.address.to_string() + ":" + std::to_string(from.port);
    with_room(room, [this, tx, u = std::move(*user), type = std::move(type), body = std::string(req.body()),
                     origin = std::move(origin)](room_state* r) mutable {
      if (!r) return refuse(tx, 404, "no such chat room");
      if (!r->members.count(u)) return refuse(tx, 403, "not a member of this chat room");
      append(*r, std::move(u), std::move(type), std::move(body), std::move(origin),
             [this, tx](store_result<message_record> rec) {
               if (!rec) return refuse(tx, rec.error().code == store_errc::not_found ? 404 : 500, "store");
               ++n.accepted;
               m.accepted->inc();
               auto resp = tx->response(200, "OK");
               resp.add("X-Tutti-Seq", std::to_string(rec->seq));
               tx->send(resp.finish());
             });
    });
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
    if (stopped || c == sig::location_change::offline) return;
    const auto at = aor.find('@');
    if (at == std::string_view::npos) return;
    if (const auto host = aor.substr(at + 1); host != users.domain()) return;
    std::string user(aor.substr(0, at));
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
  s->register_commands();
  return std::unique_ptr<chat_service>(new chat_service(std::move(s)));
}

chat_service::chat_service(std::shared_ptr<state> s) : s_(std::move(s)) {}
chat_service::~chat_service() = default;

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
