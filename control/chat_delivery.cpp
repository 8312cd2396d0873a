// Chat delivery: the ordered fan-out of each room to each member's registered devices, one
// stream per (room, member) with at most `window` unanswered; a failed stream pauses and
// resumes after the retry or on the member's next registration, which also sends what an
// offline member missed (read back from the store when older than the cached tail).
// Model: control/chat_service.hpp; the shared state: control/chat_state.hpp.
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "control/chat_state.hpp"
#include "control/registrar_service.hpp"
#include "control/store.hpp"
#include "signalling/dialog.hpp"
#include "signalling/registrar.hpp"
#include "signalling/sip/serializer.hpp"
#include "signalling/sip_stack.hpp"

namespace tutti::ctl {

namespace asio = boost::asio;

namespace {

uint64_t wall_seconds() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

}  // namespace

void chat_service::state::committed(room_state& r, const message_record& rec, std::string origin) {
  auto msg = std::make_shared<chat_message>(chat_message{rec.seq, rec.sender, rec.content_type, rec.body,
                                                         std::move(origin)});
  if (!r.tail.empty() && rec.seq != r.tail.back()->seq + 1) r.tail.clear();
  r.tail.push_back(std::move(msg));
  while (r.tail.size() > settings.tail) r.tail.pop_front();
  r.last_seq = std::max(r.last_seq, rec.seq);
  for (auto& [user, s] : r.members) pump(r, s);
}

// A user's live bindings (the registrar keys every alias of our domain under the domain).
std::vector<sig::binding> chat_service::state::bindings_of(std::string_view user) {
  return users.locations().lookup(users.aor(user), wall_seconds());
}

message_ptr chat_service::state::find(room_state& r, stream& s, uint64_t seq) {
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
void chat_service::state::pump(room_state& r, stream& s) {
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

void chat_service::state::fetch(room_state& r, stream& s) {
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
std::pair<room_state*, stream*> chat_service::state::locate(std::string_view room, std::string_view user,
                                                            uint64_t epoch) {
  auto it = rooms.find(room);
  if (it == rooms.end()) return {nullptr, nullptr};
  auto m = it->second->members.find(user);
  if (m == it->second->members.end() || m->second.epoch != epoch) return {nullptr, nullptr};
  return {it->second.get(), &m->second};
}

std::string chat_service::state::request_for(const room_state& r, const stream& s, const chat_message& msg,
                                             const sig::binding& b) {
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
bool chat_service::state::send(room_state& r, stream& s, const chat_message& msg,
                               const std::vector<sig::binding>& bindings) {
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

void chat_service::state::answered(const std::string& room, const std::string& user, uint64_t epoch, uint64_t seq,
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
bool chat_service::state::advance(room_state& r, stream& s) {
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

void chat_service::state::settle(room_state& r, stream& s) {
  if (advance(r, s)) pump(r, s);
}

// A paused stream whose flights are all answered restarts from its cursor: now if the
// member registered meanwhile, else after retry_s.
void chat_service::state::drained(room_state& r, stream& s) {
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
void chat_service::state::persist(room_state& r, stream& s) {
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

void chat_service::state::on_location(std::string_view aor, sig::location_change c) {
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
void chat_service::state::wake(room_state& r, stream& s) {
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

}  // namespace tutti::ctl
