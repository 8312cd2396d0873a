#include "control/voice_sip.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <random>

#include "control/commands.hpp"
#include "control/config.hpp"
#include "control/log.hpp"
#include "control/media_service.hpp"
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

// One dial-in call: the dialog (RFC 3261 §12) by Call-ID and tags, and its participant.
struct call {
  std::string conference;
  uint32_t participant = 0;
  std::string local_tag;
  std::string remote_tag;
  sig::negotiated_audio audio;
  uint16_t local_port = 0;
  uint64_t sdp_version = 1;
  bool confirmed = false;  // ACK seen
};

struct voice_sip::state {
  state(service_context& c, sig::sip_stack& st, media_service& m, registrar_service& r)
      : ctx(c), log(c.log.module("focus")), stack(st), media(m), users(r), rng(std::random_device{}()) {}

  service_context& ctx;
  log_module log;
  sig::sip_stack& stack;
  media_service& media;
  registrar_service& users;
  std::mt19937_64 rng;
  std::map<std::string, call> calls;  // by Call-ID
  uint64_t invites = 0, joined = 0, rejected = 0, hangups = 0;
  bool stopped = false;

  std::string contact() const {
    return "<sip:focus@" + stack.host() + ":" + std::to_string(stack.port()) + ">;isfocus";
  }

  void reject(const sig::server_transaction_ptr& tx, uint16_t status, std::string_view reason,
              std::string_view warning = {}) {
    ++rejected;
    auto r = tx->response(status, reason);
    if (!warning.empty()) r.add("Warning", std::string("399 tutti \"") + std::string(warning) + "\"");
    tx->send(r.finish());
  }

  void on_invite(const sig::message_view& req, const sig::peer& from, sig::server_transaction_ptr tx) {
    ++invites;
    const auto authenticated = users.authenticate(req, from, tx);
    if (!authenticated) return;
    const auto body = sig::sdp::parse(req.body());
    if (!body) return reject(tx, 488, "Not Acceptable Here", "no valid SDP offer");
    const auto audio = sig::negotiate_audio(*body);
    if (!audio) return reject(tx, 488, "Not Acceptable Here", sig::to_string(audio.error()));

    const std::string call_id(req.call_id());
    if (req.to().has_tag) return reinvite(call_id, *body, *audio, tx);

    const std::string conference(req.request_uri().user);
    if (conference.empty() || conference == "focus") return reject(tx, 404, "Not Found", "no conference in the Request-URI");
    if (calls.count(call_id)) return reject(tx, 482, "Loop Detected");
    auto offer = std::make_shared<sig::sdp::session_description>(*body);
    const std::string remote_tag(req.from().tag);
    const std::string user(*authenticated);
    // A weak reference: the transaction owns this callback.
    tx->on_cancel = [weak = std::weak_ptr<sig::server_transaction>(tx)]() {
      if (auto t = weak.lock()) t->reply(487, "Request Terminated");
    };
    auto join = [this, tx, conference, call_id, remote_tag, user, offer, a = *audio]() {
      participant_request pr;
      pr.conference = conference;
      pr.label = user;
      pr.format.codec = to_media(a.codec);
      pr.format.payload_type = a.payload_type;
      pr.format.telephone_event_pt = a.telephone_event_pt;
      pr.format.audio_level_ext_id = a.audio_level_ext_id;
      pr.format.rtcp_mux = a.rtcp_mux;
      pr.remote_ip = ipv4_host_order(a.remote_address);
      pr.remote_port = a.remote_port;
      media.add_participant(pr, [this, tx, conference, call_id, remote_tag, offer, a](
                                    result<participant_info, media_error> r) {
        if (!r) return reject(tx, 503, "Service Unavailable", r.error().message);
        if (tx->final_sent()) {  // cancelled meanwhile
          media.remove_participant(conference, r->id, [](auto) {});
          return;
        }
        call c;
        c.conference = conference;
        c.participant = r->id;
        c.local_tag = tx->to_tag();
        c.remote_tag = remote_tag;
        c.audio = a;
        c.local_port = r->local_port;
        const auto answer = sig::sdp::build(sig::build_answer(*offer, a, ctx.cfg.media, c.local_port,
                                                              rng() >> 1, c.sdp_version));
        auto resp = tx->response(200, "OK");
        resp.add("Contact", contact());
        resp.add("Allow", stack.allow());
        ++joined;
        tx->send(resp.finish(answer, "application/sdp"));
        log.info("joined", {{"conference", conference}, {"participant", c.participant},
                            {"codec", sig::to_string(a.codec)}, {"port", c.local_port}});
        calls[call_id] = std::move(c);
      });
    };
    // Dial-in creates the conference on first use, with the configured defaults.
    if (media.find(conference)) return join();
    media.create_conference(conference, ctx.cfg.conference.rate_hz, ctx.cfg.conference.speakers,
                            [this, tx, join](result<conference_info, media_error> r) {
                              if (!r && r.error().code != "conflict")
                                return reject(tx, 503, "Service Unavailable", r.error().message);
                              join();
                            });
  }

  // A re-INVITE in the dialog (RFC 3261 §14): hold (sendonly/inactive) makes the participant
  // deaf, resume undoes it; the codec and port stay as first answered.
  void reinvite(const std::string& call_id, const sig::sdp::session_description& offer,
                const sig::negotiated_audio& audio, const sig::server_transaction_ptr& tx) {
    auto it = calls.find(call_id);
    if (it == calls.end()) return reject(tx, 481, "Call/Transaction Does Not Exist");
    call& c = it->second;
    sig::negotiated_audio kept = c.audio;
    kept.media_index = audio.media_index;
    kept.offer_direction = audio.offer_direction;
    const bool hold = audio.on_hold();
    media.control_participant(c.conference, c.participant,
                              hold ? media_service::control::deaf : media_service::control::undeaf, 0,
                              [](auto) {});
    c.audio = kept;
    ++c.sdp_version;
    const auto answer = sig::sdp::build(sig::build_answer(offer, kept, ctx.cfg.media, c.local_port,
                                                          rng() >> 1, c.sdp_version));
    auto resp = tx->response(200, "OK");
    resp.add("Contact", contact());
    tx->send(resp.finish(answer, "application/sdp"));
  }

  void on_bye(const sig::message_view& req, const sig::peer&, sig::server_transaction_ptr tx) {
    auto it = calls.find(std::string(req.call_id()));
    if (it == calls.end()) {
      tx->reply(481, "Call/Transaction Does Not Exist");
      return;
    }
    const call c = it->second;
    calls.erase(it);
    ++hangups;
    media.remove_participant(c.conference, c.participant, [](auto) {});
    tx->reply(200, "OK");
    log.info("left", {{"conference", c.conference}, {"participant", c.participant}});
  }
};

std::unique_ptr<voice_sip> voice_sip::start(service_context& ctx, sig::sip_stack& stack,
                                            media_service& media, registrar_service& users) {
  auto s = std::make_unique<state>(ctx, stack, media, users);
  state* p = s.get();
  stack.on_request(sig::sip_method::invite, [p](const sig::message_view& r, const sig::peer& f,
                                                 sig::server_transaction_ptr tx) { p->on_invite(r, f, tx); });
  stack.on_request(sig::sip_method::bye, [p](const sig::message_view& r, const sig::peer& f,
                                              sig::server_transaction_ptr tx) { p->on_bye(r, f, tx); });
  stack.on_ack([p](const sig::message_view& ack, const sig::peer&) {
    auto it = p->calls.find(std::string(ack.call_id()));
    if (it != p->calls.end()) it->second.confirmed = true;
  });
  return std::unique_ptr<voice_sip>(new voice_sip(std::move(s)));
}

voice_sip::voice_sip(std::unique_ptr<state> s) : s_(std::move(s)) {}
voice_sip::~voice_sip() = default;

void voice_sip::stop(std::function<void()> done) {
  s_->stopped = true;
  s_->calls.clear();
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
                                       {"participant", c.participant},
                                       {"codec", sig::to_string(c.audio.codec)},
                                       {"confirmed", c.confirmed}});
        return json::value(json::object{{"invites", s.invites},
                                        {"joined", s.joined},
                                        {"rejected", s.rejected},
                                        {"hangups", s.hangups},
                                        {"registered_aors", s.users.locations().aor_count()},
                                        {"bindings", s.users.locations().binding_count()},
                                        {"calls", std::move(calls)}});
      },
      "dial-in calls and registrations: counters, live calls, bindings");
}

}  // namespace tutti::ctl
