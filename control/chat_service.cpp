// Chat service start and stop, its public API and commands, and MESSAGE intake: a member's
// MESSAGE is authenticated, checked (refusals answer it), deduplicated, committed to the
// store and answered 200 once durable; the fan-out (chat_delivery.cpp) starts from there.
// Model and decisions: control/chat_service.hpp; the shared state: control/chat_state.hpp.
#include "control/chat_service.hpp"

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "control/chat_state.hpp"
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

namespace json = boost::json;

namespace {

std::string_view status_reason(uint16_t s) { return sig::default_reason(s); }

}  // namespace

void chat_service::state::refuse(const sig::server_transaction_ptr& tx, uint16_t status, std::string_view warning) {
  ++n.refused;
  m.refused->inc();
  auto r = tx->response(status, status_reason(status));
  if (status == 415) r.add("Accept", "text/plain, message/cpim");
  if (!warning.empty()) r.add("Warning", std::string("399 tutti \"") + std::string(warning) + "\"");
  tx->send(r.finish());
}

void chat_service::state::on_message(const sig::message_view& req, const sig::peer& from,
                                     const sig::server_transaction_ptr& tx) {
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

bool chat_service::state::our_host(std::string_view host) const {
  return sig::text::iequals(host, users.domain()) || host == stack.host();
}

// Stores a member's MESSAGE and answers it 200 with its seq, once (dedup).
void chat_service::state::post(room_state& r, incoming in) {
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

void chat_service::state::accepted(const sig::server_transaction_ptr& tx, uint64_t seq) {
  ++n.accepted;
  m.accepted->inc();
  auto resp = tx->response(200, "OK");
  resp.add("X-Tutti-Seq", std::to_string(seq));
  tx->send(resp.finish());
}

void chat_service::state::remember(room_state& r, const std::string& key, std::shared_ptr<recent_message> e) {
  r.recent[key] = std::move(e);
  r.recent_order.push_back(key);
  while (r.recent_order.size() > settings.dedup) {
    r.recent.erase(r.recent_order.front());
    r.recent_order.pop_front();
  }
}

// Stores a message; `done` (the 200 or the CLI answer) runs once it is durable, then the
// fan-out starts.
void chat_service::state::append(room_state& r, std::string sender, std::string type, std::string body,
                                 std::string origin, std::function<void(store_result<message_record>)> done) {
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

void chat_service::state::register_commands() {
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
