// The focus's dial-out half: conf.dial and REFER (RFC 3515, RFC 4579 §5.5) make the focus
// INVITE a user's registered devices; chat escalation dials every member of a room. See
// control/focus_state.hpp for the model.
#include <boost/json.hpp>
#include <chrono>

#include "control/commands.hpp"
#include "control/config.hpp"
#include "control/focus_state.hpp"
#include "control/media_service.hpp"
#include "control/registrar_service.hpp"
#include "control/store.hpp"
#include "signalling/registrar.hpp"
#include "signalling/sdp.hpp"
#include "signalling/sip/text.hpp"
#include "signalling/sip_stack.hpp"

namespace tutti::ctl {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr auto ring_timeout = std::chrono::seconds(60);  // unanswered dial-outs are CANCELled
constexpr size_t max_contacts = 8;                       // legs forked per user
constexpr size_t kept_finished_dials = 256;              // outcomes operators can still read

uint64_t wall_seconds() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

std::optional<sig::peer> peer_of(const sig::binding& b) {
  boost::system::error_code ec;
  sig::peer p;
  p.address = asio::ip::make_address(b.source_ip, ec);
  if (ec || b.source_port == 0) return std::nullopt;
  p.port = b.source_port;
  p.transport = sig::text::iequals(b.transport, "tcp") ? sig::transport_kind::tcp : sig::transport_kind::udp;
  return p;
}

std::string status_line(uint16_t status, std::string_view reason) {
  return "SIP/2.0 " + std::to_string(status) + " " +
         std::string(reason.empty() ? sig::default_reason(status) : reason) + "\r\n";
}

json::object describe(const dial_attempt& a) {
  return json::object{{"id", a.id},
                      {"conference", a.conference},
                      {"user", a.user},
                      {"contacts", a.legs.size()},
                      {"outcome", a.outcome},
                      {"status", a.status},
                      {"reason", a.reason},
                      {"call_id", a.call_id}};
}

}  // namespace

std::shared_ptr<dial_attempt> voice_sip::state::dial(const std::string& conference, const std::string& user,
                                                     std::function<void(const dial_attempt&)> listener) {
  auto a = std::make_shared<dial_attempt>();
  a->id = next_dial_id++;
  a->conference = conference;
  a->user = user;
  a->call_id = token() + token() + "@" + stack.host();
  a->from_tag = token();
  if (listener) a->listeners.push_back(std::move(listener));
  dials[a->id] = a;
  ++dials_started;
  std::vector<sig::binding> bindings = users.locations().lookup(users.aor(user), wall_seconds());
  if (bindings.size() > max_contacts) bindings.resize(max_contacts);
  if (bindings.empty()) {
    finish_dial(*a, 480, "offline", "no registered device");
    return a;
  }
  log.info("dialling", {{"conference", conference}, {"user", user}, {"contacts", bindings.size()}});
  with_conference(conference, [this, a, bindings](bool ok, std::string why) {
    if (a->done || stopped) return;
    if (!ok) return finish_dial(*a, 503, "failed", why);
    a->local_port = media.reserve_port();
    if (!a->local_port) return finish_dial(*a, 503, "failed", "no free media port");
    a->sdp_session_id = rng() >> 1;
    a->offer = sig::sdp::build(sig::build_offer(ctx.cfg.media, a->local_port, a->sdp_session_id, 1));
    const std::string from_uri = conference_uri(a->conference);
    const std::string to_uri = "sip:" + a->user + "@" + users.domain();
    // RFC 4579 §4: the focus's Contact is the conference URI with ;isfocus.
    const std::string contact = "<sip:" + a->conference + "@" + stack.host() + ":" + std::to_string(stack.port()) + ">;isfocus";
    for (const sig::binding& b : bindings) {
      dial_attempt::leg l;
      l.contact = b.contact;
      const auto to = peer_of(b);
      if (!to) {
        l.finished = true;
        a->legs.push_back(std::move(l));
        continue;
      }
      l.to = *to;
      sig::request_head h;
      h.method = "INVITE";
      h.request_uri = l.contact;
      h.from_uri = from_uri;
      h.from_tag = a->from_tag;
      h.to_uri = to_uri;
      h.call_id = a->call_id;
      h.cseq = 1;
      auto inv = sig::build_request(h);
      inv.add(sig::header_id::contact, contact);
      inv.add(sig::header_id::allow, stack.allow());
      l.invite = inv.finish(a->offer, "application/sdp");
      a->legs.push_back(std::move(l));
    }
    for (size_t i = 0; i < a->legs.size(); ++i) {
      dial_attempt::leg& l = a->legs[i];
      if (l.finished) continue;
      auto tx = stack.send_request(l.invite, l.to, [this, id = a->id, i](const sig::client_event& e) {
        on_leg_event(id, i, e);
      });
      if (tx) l.tx = *tx;
      else l.finished = true;
    }
    bool any = false;
    for (const auto& l : a->legs) any = any || !l.finished;
    if (!any) return finish_dial(*a, 503, "failed", "no device reachable");
    a->ring_timer = std::make_shared<asio::steady_timer>(ctx.io, ring_timeout);
    std::weak_ptr<asio::steady_timer> timer = a->ring_timer;
    a->ring_timer->async_wait([this, id = a->id, timer](boost::system::error_code ec) {
      if (ec || timer.expired()) return;
      auto it = dials.find(id);
      if (it == dials.end() || it->second->done || it->second->answered) return;
      dial_attempt& d = *it->second;
      for (size_t i = 0; i < d.legs.size(); ++i) cancel_leg(d, i);
      finish_dial(d, 408, "failed", "no answer");
    });
  });
  return a;
}

// RFC 3261 §9.1: a CANCEL only after a provisional response; until then it is remembered.
void voice_sip::state::cancel_leg(dial_attempt& a, size_t i) {
  dial_attempt::leg& l = a.legs[i];
  if (l.finished || l.cancel_sent || !l.tx) return;
  if (!l.provisional) {
    l.cancel_wanted = true;
    return;
  }
  l.cancel_sent = true;
  stack.send_cancel(l.tx, [](const sig::client_event&) {});
}

void voice_sip::state::on_leg_event(uint64_t dial_id, size_t i, const sig::client_event& e) {
  using k = sig::client_event::kind;
  auto it = dials.find(dial_id);
  if (it == dials.end()) return;
  std::shared_ptr<dial_attempt> keep = it->second;
  dial_attempt& a = *keep;
  dial_attempt::leg& l = a.legs[i];
  if (e.what == k::provisional) {
    l.provisional = true;
    if (l.cancel_wanted || a.answered || a.done) return cancel_leg(a, i);
    if (e.status >= 180 && a.outcome == "dialling") {
      a.outcome = "ringing";
      a.reason = std::string(e.response ? e.response->reason() : std::string_view{});
      a.status = e.status;
      auto listeners = a.listeners;
      for (auto& f : listeners) f(a);
      a.status = 0;
    }
    return;
  }
  if (e.what == k::final_response && e.status < 300 && e.response) {
    const std::string to_uri = "sip:" + a.user + "@" + users.domain();
    const std::string from_uri = conference_uri(a.conference);
    sig::request_head h;
    h.method = "INVITE";
    h.from_uri = from_uri;
    h.from_tag = a.from_tag;
    h.to_uri = to_uri;
    h.call_id = a.call_id;
    h.cseq = 1;
    const std::string local_contact = "sip:" + a.conference + "@" + stack.host() + ":" + std::to_string(stack.port());
    auto d = sig::dialog_as_uac(h, *e.response, l.to, local_contact);
    if (!d) {
      // No To tag or Contact: no dialog to ACK or BYE in (RFC 3261 §12.1.2). Count it failed.
      l.finished = true;
      if (!a.answered) finish_dial(a, 502, "failed", "2xx without a dialog");
      return;
    }
    send_ack(*d, 1);
    if (e.retransmission) return;
    l.finished = true;
    if (a.answered || a.done) {
      // Lost the race (another device answered first, or it was cancelled): end this one.
      auto bye = sig::build_request(*d, "BYE");
      send_in_dialog(*d, bye.finish());
      return;
    }
    a.answered = true;
    for (size_t j = 0; j < a.legs.size(); ++j)
      if (j != i) cancel_leg(a, j);
    const auto answer = sig::sdp::parse(e.response->body());
    auto audio = answer ? sig::read_answer(*answer) : result<sig::negotiated_audio, sig::offer_error>(
                                                          fail(sig::offer_error::no_audio));
    if (!audio) {
      auto bye = sig::build_request(*d, "BYE");
      bye.add(sig::header_id::reason, "SIP;cause=488;text=\"" + std::string(sig::to_string(audio.error())) + "\"");
      send_in_dialog(*d, bye.finish());
      a.answered = false;
      return finish_dial(a, 488, "failed", sig::to_string(audio.error()));
    }
    call c;
    c.call_id = a.call_id;
    c.conference = a.conference;
    c.user = a.user;
    c.dlg = std::move(*d);
    c.audio = *audio;
    c.local_port = a.local_port;
    c.sdp_session_id = a.sdp_session_id;
    c.local_sdp = a.offer;
    c.confirmed = true;
    c.outgoing = true;
    return join_answered(dial_id, std::move(c));
  }
  // A failure (or timeout) of this leg; the attempt fails when every leg has.
  l.finished = true;
  if (a.done || a.answered) return;
  if (a.status == 0 || (a.status == 487 && e.status != 487)) {
    a.status = e.status;
    a.reason = std::string(e.response ? e.response->reason() : std::string_view{});
  }
  for (const auto& other : a.legs)
    if (!other.finished) return;
  const uint16_t status = a.status ? a.status : 408;
  a.status = 0;
  finish_dial(a, status, status == 487 ? "cancelled" : "failed", a.reason);
}

void voice_sip::state::join_answered(uint64_t dial_id, call c) {
  const std::string call_id = c.call_id;
  participant_request pr = participant_for(c.conference, c.user, c.audio, c.local_port);
  pr.admit_when_locked = true;  // dialled on an operator's or a member's request
  // The call exists from now on, so a BYE racing the media join is answered.
  calls[call_id] = std::move(c);
  auto it = dials.find(dial_id);
  if (it != dials.end()) it->second->local_port = 0;  // add_participant consumes it
  media.add_participant(pr, [this, dial_id, call_id](result<participant_info, media_error> r) {
    auto d = dials.find(dial_id);
    auto ci = calls.find(call_id);
    if (ci == calls.end()) {  // hung up meanwhile
      if (r) drop_participant(r->conference, r->id);
      if (d != dials.end()) finish_dial(*d->second, 487, "failed", "hung up before joining");
      return;
    }
    if (!r) {
      if (d != dials.end()) finish_dial(*d->second, 503, "failed", r.error().message);
      return hang_up(call_id, 503, "media unavailable");
    }
    ci->second.participant = r->id;
    ++joined;
    log.info("dialled in", {{"conference", r->conference}, {"participant", r->id},
                            {"user", ci->second.user}, {"codec", sig::to_string(ci->second.audio.codec)}});
    if (d != dials.end()) finish_dial(*d->second, 200, "joined", "OK");
  });
}

void voice_sip::state::finish_dial(dial_attempt& a, uint16_t status, std::string outcome, std::string reason) {
  if (a.done) return;
  a.done = true;
  a.status = status;
  a.outcome = std::move(outcome);
  a.reason = std::move(reason);
  if (a.ring_timer) a.ring_timer->cancel();
  if (a.local_port) media.release_port(a.local_port);
  a.local_port = 0;
  if (status == 200) ++dials_joined;
  else ++dials_failed;
  log.info("dial finished", {{"conference", a.conference}, {"user", a.user}, {"outcome", a.outcome},
                             {"status", status}});
  auto listeners = std::move(a.listeners);
  a.listeners.clear();
  for (auto& f : listeners) f(a);
  finished_dials.push_back(a.id);
  while (finished_dials.size() > kept_finished_dials) {
    dials.erase(finished_dials.front());
    finished_dials.pop_front();
  }
}

void voice_sip::state::escalate(
    const std::string& room, std::string except_user,
    std::function<void(result<std::vector<std::shared_ptr<dial_attempt>>, std::string>)> done) {
  ++escalations;
  db.chat_show(room, [this, room, except_user, done](store_result<chat_record> r) {
    if (stopped) return;
    if (!r) return done(fail(r.error().message));
    std::vector<std::shared_ptr<dial_attempt>> out;
    for (const std::string& member : r->members) {
      if (member == except_user) continue;
      bool in_call = false;  // already in the voice conference: not dialled again
      for (const auto& [id, c] : calls) in_call = in_call || (c.conference == room && c.user == member);
      if (in_call) continue;
      out.push_back(dial(room, member));
    }
    done(std::move(out));
  });
}

// REFER to the conference (RFC 4579 §5.5, RFC 3515): Refer-To a user's URI dials that user
// in; Refer-To the conference's own URI with method=INVITE escalates the chat room of the
// same name (every member dialled); method=BYE removes the user's calls and their chat
// membership; method=MESSAGE adds the user to the chat (creating it) — the chat service
// decides, and its refusals (403, 404) answer the REFER itself. The referrer
// learns the outcome through NOTIFY (Event: refer, message/sipfrag) in the REFER's dialog:
// 100 Trying, 180 when a device rings, then the final status with the subscription
// terminated. Refer-Sub: false (RFC 4488) asks for no NOTIFY.
void voice_sip::state::on_refer(const sig::message_view& req, const sig::peer& from, sig::server_transaction_ptr tx) {
  const auto authenticated = users.authenticate(req, from, tx);
  if (!authenticated) return;
  ++refers;
  const std::string call_id(req.call_id());
  std::string conference(req.request_uri().user);
  std::string in_call;  // the call whose dialog the REFER came in
  if (req.to().has_tag) {
    auto it = calls.find(call_id);
    if (it == calls.end() || !sig::in_dialog(it->second.dlg, req))
      return reject(tx, 481, "Call/Transaction Does Not Exist");
    if (!sig::check_remote_cseq(it->second.dlg, req.cseq().number))
      return reject(tx, 500, "Server Internal Error", "CSeq out of order");
    conference = it->second.conference;
    in_call = call_id;
  }
  if (conference.empty() || conference == "focus") return reject(tx, 404, "Not Found", "no conference in the Request-URI");
  if (req.count(sig::header_id::refer_to) != 1) return reject(tx, 400, "Bad Request", "exactly one Refer-To");
  const auto refer_to = req.refer_to();
  if (!refer_to || (refer_to->uri.scheme != sig::uri_scheme::sip && refer_to->uri.scheme != sig::uri_scheme::sips) ||
      refer_to->uri.user.empty())
    return reject(tx, 400, "Bad Request", "Refer-To is not a sip: URI with a user");
  const auto target_user = sig::percent_decode(refer_to->uri.user);
  if (!target_user) return reject(tx, 400, "Bad Request", "bad Refer-To user");
  const std::string method(refer_to->uri.param("method").value_or("INVITE"));
  const bool invite = sig::text::iequals(method, "INVITE");
  const bool bye = sig::text::iequals(method, "BYE");
  const bool message = sig::text::iequals(method, "MESSAGE");
  if (!invite && !bye && !message) return reject(tx, 403, "Forbidden", "Refer-To method must be INVITE, BYE or MESSAGE");
  // Chat membership belongs to the chat service, which tuttid always attaches
  // (services.cpp); a focus running without one (its unit tests) cannot serve it.
  if (message && !chat_refer) return reject(tx, 501, "Not Implemented", "chat membership is not served here");
  const bool escalation = invite && *target_user == conference;

  bool subscribe = true;
  if (const sig::header_field* rs = req.find("Refer-Sub")) subscribe = !sig::text::iequals(sig::text::trim(rs->value), "false");
  auto sub = std::make_shared<refer_subscription>();
  if (in_call.empty()) {
    auto d = sig::dialog_as_uas(req, from, tx->to_tag(), contact_uri());
    if (!d) return reject(tx, 400, "Bad Request", "no From tag or no valid Contact");
    sub->dlg = std::move(*d);
  } else {
    sub->event_id = std::to_string(req.cseq().number);  // RFC 3515 §2.4.6
  }
  sub->in_call = in_call;
  sub->subscribed = subscribe;
  log.info("refer", {{"conference", conference}, {"by", *authenticated}, {"target", *target_user},
                     {"method", method}});
  auto accept = [this, tx, subscribe]() {
    auto resp = tx->response(202, "Accepted");
    resp.add("Contact", contact());
    if (!subscribe) resp.add("Refer-Sub", "false");
    tx->send(resp.finish());
  };
  auto notify = [this, sub](uint16_t status, std::string_view reason, bool final) {
    refer_notify(sub, status, reason, final);
  };

  if (message) {
    // Chat membership: accepted (202) only once the store committed it, so the one NOTIFY
    // reports that commit; a refusal answers the REFER and makes no subscription.
    chat_refer({conference, *authenticated, *target_user, false},
               [this, tx, accept, notify](uint16_t status, std::string reason) {
                 if (stopped) return;
                 if (status >= 300) return reject(tx, status, sig::default_reason(status), reason);
                 accept();
                 notify(200, "OK", true);
               });
    return;
  }
  accept();
  notify(100, "Trying", false);

  if (bye) {
    std::vector<std::string> gone;
    for (const auto& [id, c] : calls)
      if (c.conference == conference && c.user == *target_user) gone.push_back(id);
    for (const auto& id : gone) hang_up(id, 200, "removed by REFER");
    if (!chat_refer) {
      notify(gone.empty() ? 404 : 200, gone.empty() ? "Not Found" : "OK", true);
      return;
    }
    // The chat of the same name loses the member too; the NOTIFY says 200 when either went.
    chat_refer({conference, *authenticated, *target_user, true},
               [this, notify, hung_up = !gone.empty()](uint16_t status, std::string) {
                 if (stopped) return;
                 if (hung_up || status < 300) return notify(200, "OK", true);
                 notify(status, {}, true);
               });
    return;
  }
  if (!escalation) {
    dial(conference, *target_user, [notify](const dial_attempt& a) {
      notify(a.status, a.reason, a.done);
    });
    return;
  }
  // Escalation: one final NOTIFY once every member's attempt is over; 200 when anyone joined.
  escalate(conference, *authenticated,
           [notify](result<std::vector<std::shared_ptr<dial_attempt>>, std::string> r) {
             if (!r) return notify(404, "Not Found", true);
             if (r->empty()) return notify(200, "OK", true);
             auto pending = std::make_shared<size_t>(r->size());
             auto best = std::make_shared<uint16_t>(0);
             for (const auto& a : *r) {
               auto on_done = [notify, pending, best](const dial_attempt& x) {
                 if (!x.done) return;
                 if (x.status == 200 || *best == 0) *best = x.status;
                 if (--*pending == 0) notify(*best, {}, true);
               };
               if (a->done) on_done(*a);
               else a->listeners.push_back(on_done);
             }
           });
}

void voice_sip::state::refer_notify(const std::shared_ptr<refer_subscription>& sub, uint16_t status,
                                    std::string_view reason, bool final) {
  if (!sub->subscribed || sub->terminated || stopped) return;
  sub->terminated = final;
  sub->queue.emplace_back(status_line(status, reason), final);
  pump_refer_notify(sub);
}

void voice_sip::state::pump_refer_notify(const std::shared_ptr<refer_subscription>& sub) {
  if (sub->in_flight || sub->queue.empty() || stopped) return;
  auto [frag, final] = std::move(sub->queue.front());
  sub->queue.pop_front();
  // In the REFER's dialog: the call's own when it came in one (one CSeq space).
  sig::dialog* d = &sub->dlg;
  if (!sub->in_call.empty()) {
    auto it = calls.find(sub->in_call);
    if (it == calls.end()) return sub->queue.clear();  // the dialog ended with its call
    d = &it->second.dlg;
  }
  auto n = sig::build_request(*d, "NOTIFY", true);
  n.add(sig::header_id::event, sub->event_id.empty() ? std::string("refer") : "refer;id=" + sub->event_id);
  n.add(sig::header_id::subscription_state, final ? "terminated;reason=noresource" : "active;expires=60");
  sub->in_flight = true;
  const bool sent = send_in_dialog(*d, n.finish(frag, "message/sipfrag;version=2.0"), [this, sub](const sig::client_event& e) {
    if (e.what == sig::client_event::kind::provisional) return;
    sub->in_flight = false;
    // A subscriber that refuses or lost the subscription gets no more (RFC 6665 §4.1.3).
    if (e.what != sig::client_event::kind::final_response || e.status >= 300) return sub->queue.clear();
    pump_refer_notify(sub);
  });
  if (!sent) {
    sub->in_flight = false;
    sub->queue.clear();
  }
}

void register_dialout_commands(service_context& ctx, voice_sip::state& s) {
  ctx.commands.register_command(
      "conf.dial",
      [&s](const json::object& args, command_reply reply) {
        auto conference = arg_string(args, "conference");
        if (!conference) return reply.error(conference.error().code, conference.error().message);
        const json::value* users = args.if_contains("users");
        if (!users || !users->is_array() || users->as_array().empty())
          return reply.error(std::string(errc::invalid_args), "'users' must be a non-empty array of user names");
        std::vector<std::string> names;
        for (const auto& u : users->as_array()) {
          if (!u.is_string() || u.as_string().empty())
            return reply.error(std::string(errc::invalid_args), "'users' must hold user names");
          names.emplace_back(u.as_string());
        }
        if (conference->empty() || conference->find_first_of("@;<>\" \r\n") != std::string::npos)
          return reply.error(std::string(errc::invalid_args), "bad conference name");
        json::array out;
        for (const auto& n : names) out.push_back(describe(*s.dial(*conference, n)));
        reply.ok(json::object{{"dials", std::move(out)}});
      },
      "dial users into a conference: INVITE to each user's registered devices; answers the attempts");
  ctx.commands.register_command(
      "conf.dials",
      [&s](const json::object&) -> command_result {
        json::array out;
        for (const auto& [id, a] : s.dials) out.push_back(describe(*a));
        return json::value(json::object{{"dials", std::move(out)}});
      },
      "dial-out attempts (running and recently finished) with their outcomes");
  ctx.commands.register_command(
      "chat.escalate",
      [&s](const json::object& args, command_reply reply) {
        auto room = arg_string(args, "room");
        if (!room) return reply.error(room.error().code, room.error().message);
        s.escalate(*room, {}, [reply](result<std::vector<std::shared_ptr<dial_attempt>>, std::string> r) mutable {
          if (!r) return reply.error(std::string(errc::not_found), r.error());
          json::array out;
          for (const auto& a : *r) out.push_back(describe(*a));
          reply.ok(json::object{{"dials", std::move(out)}});
        });
      },
      "dial every member of a chat room into the voice conference of the same name");
}

}  // namespace tutti::ctl
