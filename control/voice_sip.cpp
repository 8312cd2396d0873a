#include "control/voice_sip.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <random>

#include "control/commands.hpp"
#include "control/config.hpp"
#include "control/focus_state.hpp"
#include "control/log.hpp"
#include "control/media_service.hpp"
#include "control/metrics.hpp"
#include "control/registrar_service.hpp"
#include "signalling/auth.hpp"
#include "signalling/offer_answer.hpp"
#include "signalling/registrar.hpp"
#include "signalling/sdp.hpp"
#include "signalling/sip/serializer.hpp"
#include "signalling/sip_stack.hpp"

namespace tutti::ctl {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

dp::codec_id to_media(sig::audio_codec c) {
  switch (c) {
    case sig::audio_codec::pcmu: return dp::codec_id::pcmu;
    case sig::audio_codec::pcma: return dp::codec_id::pcma;
    case sig::audio_codec::opus: return dp::codec_id::opus;
  }
  return dp::codec_id::pcmu;
}

uint32_t ipv4_host_order(const std::string& text) {
  boost::system::error_code ec;
  const auto a = asio::ip::make_address_v4(text, ec);
  return ec ? 0 : a.to_uint();
}

}  // namespace

// The media participant for a negotiated stream (shared with voice_dialout.cpp).
participant_request participant_for(const std::string& conference, const std::string& label,
                                    const sig::negotiated_audio& a, uint16_t local_port) {
  participant_request pr;
  pr.conference = conference;
  pr.label = label;
  pr.format.codec = to_media(a.codec);
  pr.format.payload_type = a.payload_type;
  pr.format.telephone_event_pt = a.telephone_event_pt;
  pr.format.audio_level_ext_id = a.audio_level_ext_id;
  pr.format.rtcp_mux = a.rtcp_mux;
  pr.remote_ip = ipv4_host_order(a.remote_address);
  pr.remote_port = a.remote_port;
  pr.local_port = local_port;
  return pr;
}

voice_sip::state::state(service_context& c, sig::sip_stack& st, media_service& m, registrar_service& r, store& d)
    : ctx(c), log(c.log.module("focus")), stack(st), media(m), users(r), db(d), rng(std::random_device{}()) {}

std::string voice_sip::state::contact_uri() const {
  return "sip:focus@" + stack.host() + ":" + std::to_string(stack.port());
}

std::string voice_sip::state::contact() const {
  std::string out = "<";  // appended, not concatenated: g++ 12 -Wrestrict false positive
  out.append(contact_uri()).append(">;isfocus");
  return out;
}

std::string voice_sip::state::conference_uri(const std::string& conference) const {
  return "sip:" + conference + "@" + users.domain();
}

std::string voice_sip::state::token() {
  static constexpr char hex[] = "0123456789abcdef";
  const uint64_t v = rng();
  std::string s(16, '0');
  for (size_t i = 0; i < 16; ++i) s[i] = hex[(v >> (i * 4)) & 15];
  return s;
}

void voice_sip::state::reject(const sig::server_transaction_ptr& tx, uint16_t status, std::string_view reason,
                              std::string_view warning) {
  ++rejected;
  auto r = tx->response(status, reason);
  if (!warning.empty()) r.add("Warning", std::string("399 tutti \"") + std::string(warning) + "\"");
  tx->send(r.finish());
}

void voice_sip::state::with_conference(const std::string& conference,
                                       std::function<void(bool ok, std::string why)> then) {
  if (auto it = closing.find(conference); it != closing.end()) {
    it->second.push_back(std::move(then));  // opened again once the close is done
    return;
  }
  if (media.find(conference)) return then(true, {});
  media.create_conference(conference, ctx.cfg.conference.rate_hz, ctx.cfg.conference.speakers,
                          [this, conference, then](result<conference_info, media_error> r) {
                            if (!r && r.error().code != "conflict") return then(false, r.error().message);
                            if (r) ad_hoc.insert(conference);
                            then(true, {});
                          });
}

void voice_sip::state::drop_participant(const std::string& conference, uint32_t participant) {
  media.remove_participant(conference, participant, [this, conference](auto) {
    if (!ad_hoc.count(conference)) return;
    const auto info = media.find(conference);
    if (info && !info->participants.empty()) return;
    ad_hoc.erase(conference);
    if (!info || closing.count(conference)) return;
    closing[conference];
    media.destroy_conference(conference, [this, conference](result<bool, media_error> r) {
      if (r) log.info("ad hoc conference closed", {{"conference", conference}});
      auto waiting = std::move(closing[conference]);
      closing.erase(conference);
      for (auto& then : waiting) with_conference(conference, std::move(then));
    });
  });
}

void voice_sip::state::on_invite(const sig::message_view& req, const sig::peer& from, sig::server_transaction_ptr tx) {
  ++invites;
  const auto authenticated = users.authenticate(req, from, tx);
  if (!authenticated) return;
  if (req.to().has_tag) return reinvite(req, tx);
  const auto body = sig::sdp::parse(req.body());
  if (!body) return reject(tx, 488, "Not Acceptable Here", "no valid SDP offer");
  const auto audio = sig::negotiate_audio(*body);
  if (!audio) return reject(tx, 488, "Not Acceptable Here", sig::to_string(audio.error()));

  const std::string call_id(req.call_id());
  const std::string conference(req.request_uri().user);
  if (conference.empty() || conference == "focus") return reject(tx, 404, "Not Found", "no conference in the Request-URI");
  if (calls.count(call_id)) return reject(tx, 482, "Loop Detected");
  // RFC 4028 §9: a too short interval is refused with our minimum.
  const sig::session_timer_answer timer = sig::answer_session_timer(req, session_policy);
  if (timer.too_small) {
    ++rejected;
    auto r = tx->response(422, "Session Interval Too Small");
    r.add(sig::header_id::min_se, timer.min_se_s);
    tx->send(r.finish());
    return;
  }
  auto dlg = sig::dialog_as_uas(req, from, tx->to_tag(), contact_uri());
  if (!dlg) return reject(tx, 400, "Bad Request", "no From tag or no valid Contact");
  auto offer = std::make_shared<sig::sdp::session_description>(*body);
  const std::string user(*authenticated);
  // A weak reference: the transaction owns this callback.
  tx->on_cancel = [weak = std::weak_ptr<sig::server_transaction>(tx)]() {
    if (auto t = weak.lock()) t->reply(487, "Request Terminated");
  };
  auto join = [this, tx, conference, call_id, user, offer, timer, d = std::move(*dlg), a = *audio]() {
    media.add_participant(participant_for(conference, user, a, 0), [this, tx, conference, call_id, user, offer,
                                                                     timer, d, a](
                                                                        result<participant_info, media_error> r) {
      if (!r) return reject(tx, 503, "Service Unavailable", r.error().message);
      if (tx->final_sent()) {  // cancelled meanwhile
        drop_participant(conference, r->id);
        return;
      }
      call c;
      c.call_id = call_id;
      c.conference = conference;
      c.user = user;
      c.participant = r->id;
      c.dlg = d;
      c.audio = a;
      c.local_port = r->local_port;
      c.sdp_session_id = rng() >> 1;
      c.local_sdp = sig::sdp::build(
          sig::build_answer(*offer, a, ctx.cfg.media, c.local_port, c.sdp_session_id, c.sdp_version));
      auto resp = tx->response(200, "OK");
      resp.add("Contact", contact());
      resp.add("Allow", stack.allow());
      if (timer.active) {
        // RFC 4028 §9: the 2xx names the interval and the refresher and requires the extension.
        resp.add(sig::header_id::session_expires, timer.header_value());
        resp.add(sig::header_id::require, "timer");
        c.session_interval_s = timer.interval_s;
        c.refresher = timer.who;
        c.we_refresh = timer.who == sig::refresher::uas;
      }
      ++joined;
      tx->send(resp.finish(c.local_sdp, "application/sdp"));
      log.info("joined", {{"conference", conference}, {"participant", c.participant},
                          {"codec", sig::to_string(a.codec)}, {"port", c.local_port},
                          {"session_expires", c.session_interval_s}});
      calls[call_id] = std::move(c);
      arm_session_timer(call_id);
    });
  };
  // A locked conference admits nobody new (RFC 4579 leaves admission policy to the focus).
  if (!media.admits(conference)) return reject(tx, 403, "Forbidden", "conference locked");
  // Dial-in creates the conference on first use, with the configured defaults.
  with_conference(conference, [this, tx, join](bool ok, std::string why) {
    if (!ok) return reject(tx, 503, "Service Unavailable", why);
    join();
  });
}

// A re-INVITE or UPDATE in the dialog (RFC 3261 §14, RFC 3311): hold (sendonly/inactive)
// makes the participant deaf and resume undoes it; a new codec or address re-adds the
// participant on the same local port; either refreshes the session timer (RFC 4028 §10).
// Without a body, an UPDATE only refreshes; an INVITE gets our description again as an
// offer (its answer comes in the ACK and changes nothing).
void voice_sip::state::reinvite(const sig::message_view& req, const sig::server_transaction_ptr& tx) {
  auto it = calls.find(std::string(req.call_id()));
  if (it == calls.end() || !sig::in_dialog(it->second.dlg, req))
    return reject(tx, 481, "Call/Transaction Does Not Exist");
  call& c = it->second;
  if (!sig::check_remote_cseq(c.dlg, req.cseq().number)) return reject(tx, 500, "Server Internal Error", "CSeq out of order");
  const bool update = req.method() == sig::sip_method::update;
  const sig::session_timer_answer timer = sig::answer_session_timer(req, session_policy);
  if (timer.too_small) {
    auto r = tx->response(422, "Session Interval Too Small");
    r.add(sig::header_id::min_se, timer.min_se_s);
    tx->send(r.finish());
    return;
  }
  // §12.2.2: a target refresh request updates the remote target.
  for (std::string_view v : req.values(sig::header_id::contact)) {
    if (auto ct = sig::parse_contact(v); ct && !ct->star) c.dlg.remote_target = std::string(ct->address.uri.text);
    break;
  }
  std::string body;
  if (!req.body().empty()) {
    const auto offer = sig::sdp::parse(req.body());
    if (!offer) return reject(tx, 488, "Not Acceptable Here", "no valid SDP offer");
    const auto audio = sig::negotiate_audio(*offer);
    if (!audio) return reject(tx, 488, "Not Acceptable Here", sig::to_string(audio.error()));
    const bool hold = audio->on_hold();
    const bool moved = !hold && (audio->codec != c.audio.codec || audio->payload_type != c.audio.payload_type ||
                                 audio->remote_address != c.audio.remote_address ||
                                 audio->remote_port != c.audio.remote_port);
    sig::negotiated_audio next = *audio;
    if (hold) {
      // The codec and address stay as they were; only the direction changes.
      next = c.audio;
      next.media_index = audio->media_index;
      next.offer_direction = audio->offer_direction;
    }
    media.control_participant(c.conference, c.participant,
                              hold ? media_service::control::deaf : media_service::control::undeaf, 0,
                              [](auto) {});
    if (moved) {
      // The engine has no "change remote": take the participant out and put it back on the
      // port the peer already sends to.
      const std::string call_id = c.call_id, conference = c.conference, user = c.user;
      const uint16_t port = c.local_port;
      media.remove_participant(conference, c.participant, [this, call_id, conference, user, port, next](auto) {
        auto ci = calls.find(call_id);
        if (ci == calls.end() || !media.reserve_port(port)) return;
        media.add_participant(participant_for(conference, user, next, port),
                              [this, call_id](result<participant_info, media_error> r) {
                                auto cj = calls.find(call_id);
                                if (cj == calls.end()) {
                                  if (r) drop_participant(r->conference, r->id);
                                  return;
                                }
                                if (!r) return hang_up(call_id, 503, "media re-add failed");
                                cj->second.participant = r->id;
                              });
      });
    }
    c.audio = next;
    ++c.sdp_version;
    c.local_sdp = sig::sdp::build(
        sig::build_answer(*offer, next, ctx.cfg.media, c.local_port, c.sdp_session_id, c.sdp_version));
    body = c.local_sdp;
  } else if (!update) {
    body = c.local_sdp;
  }
  auto resp = tx->response(200, "OK");
  resp.add("Contact", contact());
  if (timer.active) {
    resp.add(sig::header_id::session_expires, timer.header_value());
    resp.add(sig::header_id::require, "timer");
  }
  c.session_interval_s = timer.active ? timer.interval_s : 0;
  c.refresher = timer.who;
  c.we_refresh = timer.active && timer.who == sig::refresher::uas;
  tx->send(body.empty() ? resp.finish() : resp.finish(body, "application/sdp"));
  arm_session_timer(c.call_id);
}

void voice_sip::state::on_update(const sig::message_view& req, const sig::peer& from, sig::server_transaction_ptr tx) {
  const auto authenticated = users.authenticate(req, from, tx);
  if (!authenticated) return;
  reinvite(req, tx);
}

void voice_sip::state::on_bye(const sig::message_view& req, const sig::peer&, sig::server_transaction_ptr tx) {
  auto it = calls.find(std::string(req.call_id()));
  if (it == calls.end() || !sig::in_dialog(it->second.dlg, req)) {
    tx->reply(481, "Call/Transaction Does Not Exist");
    return;
  }
  const call c = std::move(it->second);
  calls.erase(it);
  ++hangups;
  drop_participant(c.conference, c.participant);
  tx->reply(200, "OK");
  log.info("left", {{"conference", c.conference}, {"participant", c.participant}});
}

void voice_sip::state::on_ack(const sig::message_view& ack) {
  auto it = calls.find(std::string(ack.call_id()));
  if (it != calls.end() && sig::in_dialog(it->second.dlg, ack)) it->second.confirmed = true;
}

bool voice_sip::state::send_in_dialog(sig::dialog& d, std::string request, sig::client_callback cb) {
  if (!cb) cb = [](const sig::client_event&) {};
  if (stack.send_request(std::move(request), d.next_hop, std::move(cb))) return true;
  log.warn("in-dialog request not sent", {{"call_id", d.call_id}, {"to", d.next_hop.to_string()}});
  return false;
}

void voice_sip::state::send_ack(const sig::dialog& d, uint32_t cseq) {
  const std::string ack = sig::ack_for_2xx(d, cseq, sig::to_string(d.next_hop.transport),
                                           stack.wire().sent_by(d.next_hop.transport), "z9hG4bK" + token());
  stack.send_stateless(d.next_hop, ack);
}

void voice_sip::state::hang_up(const std::string& call_id, uint16_t cause, std::string_view why) {
  auto it = calls.find(call_id);
  if (it == calls.end()) return;
  call c = std::move(it->second);
  calls.erase(it);
  if (c.session_timer) c.session_timer->cancel();
  ++hangups;
  ++byes_sent;
  auto bye = sig::build_request(c.dlg, "BYE");
  // RFC 3326: why we hung up.
  bye.add(sig::header_id::reason, "SIP;cause=" + std::to_string(cause) + ";text=\"" + std::string(why) + "\"");
  send_in_dialog(c.dlg, bye.finish());
  drop_participant(c.conference, c.participant);
  log.info("hung up", {{"conference", c.conference}, {"participant", c.participant}, {"reason", why}});
}

void voice_sip::state::arm_session_timer(const std::string& call_id) {
  auto it = calls.find(call_id);
  if (it == calls.end()) return;
  call& c = it->second;
  if (c.session_interval_s == 0) {
    if (c.session_timer) c.session_timer->cancel();
    return;
  }
  if (!c.session_timer) c.session_timer = std::make_shared<asio::steady_timer>(ctx.io);
  const uint32_t after_s = c.we_refresh ? sig::refresh_after_s(c.session_interval_s)
                                        : sig::bye_after_s(c.session_interval_s);
  c.session_timer->expires_after(std::chrono::seconds(after_s));
  std::weak_ptr<asio::steady_timer> timer = c.session_timer;
  c.session_timer->async_wait([this, call_id, timer](boost::system::error_code ec) {
    if (ec || timer.expired()) return;  // re-armed, cancelled or the call is gone
    auto ci = calls.find(call_id);
    if (ci == calls.end() || ci->second.session_timer != timer.lock()) return;
    if (ci->second.we_refresh) return refresh_session(call_id);
    // RFC 4028 §10: no refresh came in time.
    ++session_expiries;
    hang_up(call_id, 408, "session timer expired");
  });
}

// RFC 4028 §7.4 as refresher: a re-INVITE with the same description; a 408 or 481 (or no
// answer) ends the call.
void voice_sip::state::refresh_session(const std::string& call_id) {
  auto it = calls.find(call_id);
  if (it == calls.end()) return;
  call& c = it->second;
  auto inv = sig::build_request(c.dlg, "INVITE", true);
  inv.add(sig::header_id::session_expires, std::to_string(c.session_interval_s) + ";refresher=uas");
  inv.add(sig::header_id::supported, "timer");
  const uint32_t cseq = c.dlg.local_cseq;
  send_in_dialog(c.dlg, inv.finish(c.local_sdp, "application/sdp"), [this, call_id, cseq](const sig::client_event& e) {
    using k = sig::client_event::kind;
    if (e.what == k::provisional) return;
    auto ci = calls.find(call_id);
    if (ci == calls.end()) return;
    if (e.what == k::final_response && e.status < 300) {
      send_ack(ci->second.dlg, cseq);
      if (e.retransmission) return;
      ++session_refreshes;
      return arm_session_timer(call_id);
    }
    if (e.what != k::final_response || e.status == 408 || e.status == 481) {
      ++session_expiries;
      return hang_up(call_id, 408, "session refresh failed");
    }
    arm_session_timer(call_id);  // 491 and the like: try again later
  });
}

std::unique_ptr<voice_sip> voice_sip::start(service_context& ctx, sig::sip_stack& stack, media_service& media,
                                            registrar_service& users, store& db) {
  auto s = std::make_unique<state>(ctx, stack, media, users, db);
  state* p = s.get();
  stack.on_request(sig::sip_method::invite, [p](const sig::message_view& r, const sig::peer& f,
                                                 sig::server_transaction_ptr tx) { p->on_invite(r, f, tx); });
  stack.on_request(sig::sip_method::update, [p](const sig::message_view& r, const sig::peer& f,
                                                 sig::server_transaction_ptr tx) { p->on_update(r, f, tx); });
  stack.on_request(sig::sip_method::bye, [p](const sig::message_view& r, const sig::peer& f,
                                              sig::server_transaction_ptr tx) { p->on_bye(r, f, tx); });
  stack.on_request(sig::sip_method::refer, [p](const sig::message_view& r, const sig::peer& f,
                                                sig::server_transaction_ptr tx) { p->on_refer(r, f, tx); });
  stack.on_ack([p](const sig::message_view& ack, const sig::peer&) { p->on_ack(ack); });
  // The engine saw a participant's RTP stop: hang up the call it belongs to.
  media.on_rtp_timeout([p](const std::string& conference, uint32_t participant) {
    if (p->stopped) return;
    for (const auto& [id, c] : p->calls)
      if (c.conference == conference && c.participant == participant) {
        ++p->rtp_timeouts;
        const std::string call_id = id;
        return p->hang_up(call_id, 408, "RTP timeout");
      }
  });
  // A participant taken off the data plane by someone else (an operator's kick, a conference
  // destroyed) still has a call: end it. The focus's own removals erase the call first.
  media.on_removed([p](const std::string& conference, uint32_t participant) {
    if (p->stopped) return;
    for (const auto& [id, c] : p->calls)
      if (c.conference == conference && c.participant == participant) {
        ++p->kicked;
        const std::string call_id = id;
        return p->hang_up(call_id, 200, "removed by the operator");
      }
  });
  return std::unique_ptr<voice_sip>(new voice_sip(std::move(s)));
}

voice_sip::voice_sip(std::unique_ptr<state> s) : s_(std::move(s)) {}
voice_sip::~voice_sip() = default;

void voice_sip::on_chat_refer(chat_refer_handler h) { s_->chat_refer = std::move(h); }

void voice_sip::stop(std::function<void()> done) {
  s_->stopped = true;
  s_->media.on_rtp_timeout({});
  s_->media.on_removed({});
  for (auto& [id, c] : s_->calls)
    if (c.session_timer) c.session_timer->cancel();
  s_->calls.clear();
  for (auto& [id, a] : s_->dials) {
    if (a->ring_timer) a->ring_timer->cancel();
    a->listeners.clear();
  }
  s_->dials.clear();
  done();
}

void register_voice_sip_commands(service_context& ctx, voice_sip& v) {
  voice_sip::state& s = *v.s_;
  ctx.commands.register_command(
      "sip.calls",
      [&s](const json::object&) -> command_result {
        json::array calls;
        for (const auto& [id, c] : s.calls)
          calls.push_back(json::object{{"call_id", id},
                                       {"conference", c.conference},
                                       {"user", c.user},
                                       {"participant", c.participant},
                                       {"codec", sig::to_string(c.audio.codec)},
                                       {"direction", c.outgoing ? "out" : "in"},
                                       {"session_expires", c.session_interval_s},
                                       {"confirmed", c.confirmed}});
        return json::value(json::object{{"invites", s.invites},
                                        {"joined", s.joined},
                                        {"rejected", s.rejected},
                                        {"hangups", s.hangups},
                                        {"byes_sent", s.byes_sent},
                                        {"rtp_timeouts", s.rtp_timeouts},
                                        {"kicked", s.kicked},
                                        {"session_expiries", s.session_expiries},
                                        {"session_refreshes", s.session_refreshes},
                                        {"dials_started", s.dials_started},
                                        {"dials_joined", s.dials_joined},
                                        {"dials_failed", s.dials_failed},
                                        {"refers", s.refers},
                                        {"escalations", s.escalations},
                                        {"registered_aors", s.users.locations().aor_count()},
                                        {"bindings", s.users.locations().binding_count()},
                                        {"calls", std::move(calls)}});
      },
      "calls (dial-in and dial-out), their counters and registrations");
  register_dialout_commands(ctx, s);

  metrics_registry& m = ctx.metrics;
  m.add_collector("tutti_calls", "live calls by direction (in: dial-in, out: dial-out)", metric_type::gauge,
                  {"direction"}, [&s](metric_writer& w) {
                    uint64_t in = 0, out = 0;
                    for (const auto& [id, c] : s.calls) (c.outgoing ? out : in)++;
                    w.value({"in"}, in);
                    w.value({"out"}, out);
                  });
  m.add_collector("tutti_call_events_total", "call outcomes and hang-ups of the focus", metric_type::counter,
                  {"event"}, [&s](metric_writer& w) {
                    w.value({"invite"}, s.invites);
                    w.value({"joined"}, s.joined);
                    w.value({"rejected"}, s.rejected);
                    w.value({"hangup"}, s.hangups);
                    w.value({"rtp_timeout"}, s.rtp_timeouts);
                    w.value({"kicked"}, s.kicked);
                    w.value({"session_expired"}, s.session_expiries);
                    w.value({"dial_started"}, s.dials_started);
                    w.value({"dial_joined"}, s.dials_joined);
                    w.value({"dial_failed"}, s.dials_failed);
                    w.value({"refer"}, s.refers);
                    w.value({"escalation"}, s.escalations);
                  });
}

}  // namespace tutti::ctl
