// The control API of the media runtime: conf.* / part.* / workers commands and the per-worker
// metrics. Thin: parse arguments, call media_service, render JSON.
#include <arpa/inet.h>

#include <boost/json.hpp>
#include <charconv>

#include "control/commands.hpp"
#include "control/config.hpp"
#include "control/metrics.hpp"
#include "control/media_service.hpp"

namespace tutti::ctl {

namespace json = boost::json;

namespace {

std::string ip_string(uint32_t ip) {
  in_addr a{htonl(ip)};
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

json::object to_json(const participant_info& p) {
  return {{"participant", p.id},
          {"label", p.label},
          {"local_port", p.local_port},
          {"remote", p.remote_ip ? ip_string(p.remote_ip) + ":" + std::to_string(p.remote_port)
                                 : std::string("(latching)")},
          {"codec", dp::to_string(p.format.codec)},
          {"pt", p.format.payload_type},
          {"muted", p.muted},
          {"deaf", p.deaf},
          {"speaking", p.speaking},
          {"in_gain_db", p.input_gain_db},
          {"out_gain_db", p.output_gain_db}};
}

json::object to_json(const conference_info& c, bool with_participants) {
  json::object o{{"name", c.name},
                 {"id", c.id},
                 {"worker", c.worker},
                 {"rate_hz", c.rate_hz},
                 {"speakers", c.speakers},
                 {"locked", c.locked},
                 {"participants", c.participants.size()}};
  size_t speaking = 0;
  for (const auto& p : c.participants) speaking += p.speaking;
  o["speaking"] = speaking;
  if (with_participants) {
    json::array a;
    for (const auto& p : c.participants) a.push_back(to_json(p));
    o["members"] = std::move(a);
  }
  return o;
}

// Mean microseconds per codec call, to 0.1 us; 0 before any call was timed.
double per_call_us(uint64_t ns, uint64_t calls) {
  return calls ? std::round(double(ns) / double(calls) / 100) / 10 : 0.0;
}

command_error bad(std::string message) { return {std::string(errc::invalid_args), std::move(message)}; }

// "\"KEY\" WHAT", built by appending: g++ 12 warns falsely (-Wrestrict) on chained operator+.
command_error bad_arg(std::string_view key, std::string_view what) {
  std::string m;
  m.append("\"").append(key).append("\" ").append(what);
  return bad(std::move(m));
}

result<std::string, command_error> string_arg(const json::object& a, std::string_view key) {
  const json::value* v = a.if_contains(key);
  if (!v || !v->is_string() || v->as_string().empty())
    return fail(bad_arg(key, "(a string) is required"));
  return std::string(v->as_string());
}

result<int64_t, command_error> int_arg(const json::object& a, std::string_view key, int64_t fallback) {
  const json::value* v = a.if_contains(key);
  if (!v) return fallback;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_string()) {  // tuttictl sends positional words as strings
    int64_t n = 0;
    const auto& s = v->as_string();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && p == s.data() + s.size()) return n;
  }
  return fail(bad_arg(key, "must be an integer"));
}

result<double, command_error> number_arg(const json::object& a, std::string_view key) {
  const json::value* v = a.if_contains(key);
  if (!v) return fail(bad_arg(key, "(a number) is required"));
  if (v->is_number()) return v->to_number<double>();
  if (v->is_string()) {
    try {
      size_t used = 0;
      const std::string s(v->as_string());
      const double d = std::stod(s, &used);
      if (used == s.size()) return d;
    } catch (...) {
    }
  }
  return fail(bad_arg(key, "must be a number"));
}

std::optional<dp::codec_id> parse_codec(std::string_view s) {
  if (s == "pcmu" || s == "PCMU") return dp::codec_id::pcmu;
  if (s == "pcma" || s == "PCMA") return dp::codec_id::pcma;
  if (s == "opus" || s == "OPUS") return dp::codec_id::opus;
  return std::nullopt;
}

template <typename T>
void answer(command_reply& reply, result<T, media_error>& r, json::value v) {
  if (r) reply.ok(std::move(v));
  else reply.error(r.error().code, r.error().message);
}

}  // namespace

void register_media_commands(service_context& ctx, media_service& media) {
  command_registry& reg = ctx.commands;
  const uint32_t default_rate = ctx.cfg.conference.rate_hz;
  const uint32_t default_speakers = ctx.cfg.conference.speakers;

  reg.register_command(
      "conf.create",
      [&media, default_rate, default_speakers](const json::object& args, command_reply reply) {
        auto name = string_arg(args, "name");
        auto rate = int_arg(args, "rate", default_rate);
        auto speakers = int_arg(args, "speakers", default_speakers);
        if (!name) return reply.error(name.error().code, name.error().message);
        if (!rate) return reply.error(rate.error().code, rate.error().message);
        if (!speakers) return reply.error(speakers.error().code, speakers.error().message);
        media.create_conference(*name, static_cast<uint32_t>(*rate), static_cast<uint32_t>(*speakers),
                                [reply](result<conference_info, media_error> r) mutable {
                                  answer(reply, r, r ? json::value(to_json(*r, false)) : json::value());
                                });
      },
      "create a conference: {name, rate?: 8000|16000|48000, speakers?: K}");

  reg.register_command(
      "conf.destroy",
      [&media](const json::object& args, command_reply reply) {
        auto name = string_arg(args, "name");
        if (!name) return reply.error(name.error().code, name.error().message);
        media.destroy_conference(*name, [reply, n = *name](result<bool, media_error> r) mutable {
          answer(reply, r, json::object{{"destroyed", n}});
        });
      },
      "destroy a conference and drop its participants: {name}");

  reg.register_command(
      "conf.list",
      [&media](const json::object&) -> command_result {
        json::array a;
        for (const auto& c : media.conferences()) a.push_back(to_json(c, false));
        return json::value(std::move(a));
      },
      "list conferences");

  reg.register_command(
      "conf.show",
      [&media](const json::object& args) -> command_result {
        auto name = string_arg(args, "name");
        if (!name) return fail(name.error());
        auto c = media.find(*name);
        if (!c) return fail(command_error{std::string(errc::not_found), "no conference '" + *name + "'"});
        return json::value(to_json(*c, true));
      },
      "show a conference and its participants: {name}");

  for (const bool lock : {true, false}) {
    reg.register_command(
        lock ? "conf.lock" : "conf.unlock",
        [&media, lock](const json::object& args) -> command_result {
          auto name = string_arg(args, "name");
          if (!name) return fail(name.error());
          auto c = media.set_locked(*name, lock);
          if (!c) return fail(command_error{c.error().code, c.error().message});
          return json::value(to_json(*c, false));
        },
        lock ? "refuse new participants (dial-in gets 403); those in stay: {name}"
             : "admit new participants again: {name}");
  }

  reg.register_command(
      "conf.add_rtp",
      [&media](const json::object& args, command_reply reply) {
        auto conf = string_arg(args, "conf");
        auto codec_name = string_arg(args, "codec");
        if (!conf) return reply.error(conf.error().code, conf.error().message);
        if (!codec_name) return reply.error(codec_name.error().code, codec_name.error().message);
        const auto codec = parse_codec(*codec_name);
        if (!codec) return reply.error(errc::invalid_args, "codec must be pcmu, pcma or opus");
        participant_request r;
        r.conference = *conf;
        r.label = "rtp";
        r.format.codec = *codec;
        const int64_t default_pt = *codec == dp::codec_id::pcmu ? 0 : *codec == dp::codec_id::pcma ? 8 : 111;
        auto pt = int_arg(args, "pt", default_pt);
        auto level_ext = int_arg(args, "level_ext", 0);
        auto dtmf_pt = int_arg(args, "dtmf_pt", 0);
        if (!pt || *pt < 0 || *pt > 127) return reply.error(errc::invalid_args, "pt must be 0..127");
        if (!level_ext || *level_ext < 0 || *level_ext > 14)
          return reply.error(errc::invalid_args, "level_ext must be 1..14 (0: none)");
        if (!dtmf_pt || *dtmf_pt < 0 || *dtmf_pt > 127) return reply.error(errc::invalid_args, "dtmf_pt must be 0..127");
        r.format.payload_type = static_cast<uint8_t>(*pt);
        r.format.audio_level_ext_id = static_cast<uint8_t>(*level_ext);
        r.format.telephone_event_pt = static_cast<uint8_t>(*dtmf_pt);
        if (const json::value* remote = args.if_contains("remote")) {
          if (!remote->is_string()) return reply.error(errc::invalid_args, "remote is \"IP:PORT\"");
          const std::string s(remote->as_string());
          const auto colon = s.rfind(':');
          in_addr a{};
          unsigned port = 0;
          if (colon == std::string::npos || inet_pton(AF_INET, s.substr(0, colon).c_str(), &a) != 1 ||
              std::from_chars(s.data() + colon + 1, s.data() + s.size(), port).ec != std::errc() ||
              port == 0 || port > 65535)
            return reply.error(errc::invalid_args, "remote must be IPv4:PORT");
          r.remote_ip = ntohl(a.s_addr);
          r.remote_port = static_cast<uint16_t>(port);
        }
        if (const json::value* label = args.if_contains("label"); label && label->is_string())
          r.label = std::string(label->as_string());
        media.add_participant(r, [reply](result<participant_info, media_error> res) mutable {
          answer(reply, res, res ? json::value(to_json(*res)) : json::value());
        });
      },
      "add a plain-RTP participant: {conf, codec: pcmu|pcma|opus, remote?: \"IP:PORT\" (else latch), "
      "pt?, level_ext?, dtmf_pt?, label?}; answers its local_port");

  auto control = [&media, &reg](std::string name, media_service::control what, bool with_gain,
                                std::string help) {
    reg.register_command(
        std::move(name),
        [&media, what, with_gain](const json::object& args, command_reply reply) {
          auto conf = string_arg(args, "conf");
          auto id = int_arg(args, "participant", -1);
          if (!conf) return reply.error(conf.error().code, conf.error().message);
          if (!id || *id < 0) return reply.error(errc::invalid_args, "\"participant\" (an id) is required");
          double db = 0;
          if (with_gain) {
            auto g = number_arg(args, "db");
            if (!g) return reply.error(g.error().code, g.error().message);
            db = *g;
          }
          media.control_participant(*conf, static_cast<uint32_t>(*id), what, db,
                                    [reply](result<participant_info, media_error> r) mutable {
                                      answer(reply, r, r ? json::value(to_json(*r)) : json::value());
                                    });
        },
        std::move(help));
  };
  using ctl_t = media_service::control;
  control("part.mute", ctl_t::mute, false, "stop mixing a participant: {conf, participant}");
  control("part.unmute", ctl_t::unmute, false, "mix a participant again: {conf, participant}");
  control("part.deaf", ctl_t::deaf, false, "send a participant nothing: {conf, participant}");
  control("part.undeaf", ctl_t::undeaf, false, "send a participant its mix again: {conf, participant}");
  control("part.gain_in", ctl_t::input_gain, true, "gain on what a participant says: {conf, participant, db}");
  control("part.gain_out", ctl_t::output_gain, true, "gain on what a participant hears: {conf, participant, db}");

  auto remove = [&media](const json::object& args, command_reply reply) {
    auto conf = string_arg(args, "conf");
    auto id = int_arg(args, "participant", -1);
    if (!conf) return reply.error(conf.error().code, conf.error().message);
    if (!id || *id < 0) return reply.error(errc::invalid_args, "\"participant\" (an id) is required");
    media.remove_participant(*conf, static_cast<uint32_t>(*id), [reply, i = *id](result<bool, media_error> r) mutable {
      answer(reply, r, json::object{{"removed", i}});
    });
  };
  reg.register_command("part.remove", remove, "remove a participant from its conference: {conf, participant}");
  reg.register_command("part.kick", remove, "the same as part.remove: {conf, participant}");

  reg.register_command(
      "workers",
      [&media](const json::object&) -> command_result {
        json::array a;
        for (const auto& w : media.workers()) {
          const dp::worker_snapshot& s = w.snapshot;
          const double load = s.uptime_ns ? double(s.load_ns) / double(s.uptime_ns) : 0.0;
          a.push_back(json::object{{"worker", w.index},
                                   {"conferences", s.conferences},
                                   {"participants", s.participants},
                                   {"load", std::round(load * 1000) / 1000},
                                   {"rx_rtp", s.rx_rtp},
                                   {"tx_rtp", s.tx_rtp},
                                   {"rx_dropped", s.rx_dropped + s.io_rx_dropped},
                                   {"ticks", s.ticks},
                                   {"late_ticks", s.late_ticks},
                                   {"tick_p50_us", s.tick_p50_ns / 1000},
                                   {"tick_p99_us", s.tick_p99_ns / 1000},
                                   {"jitter_depth", double(s.jitter_depth_milli) / 1000},
                                   {"decode_us", per_call_us(s.decode_ns, s.decodes_timed)},
                                   {"encode_us", per_call_us(s.encode_ns, s.encodes_timed)}});
        }
        return json::value(std::move(a));
      },
      "per-worker load and counters");

  // Metrics: read at scrape time from the workers' published snapshots.
  metrics_registry& m = ctx.metrics;
  m.add_collector("tutti_worker_packets_total", "RTP packets by worker and direction", metric_type::counter,
                  {"worker", "direction"}, [&media](metric_writer& w) {
                    for (const auto& r : media.workers()) {
                      const std::string i = std::to_string(r.index);
                      w.value({i, "rx"}, r.snapshot.rx_rtp);
                      w.value({i, "tx"}, r.snapshot.tx_rtp);
                    }
                  });
  m.add_collector("tutti_worker_rx_dropped_total", "received packets dropped, by worker and reason",
                  metric_type::counter, {"worker", "reason"}, [&media](metric_writer& w) {
                    for (const auto& r : media.workers()) {
                      const std::string i = std::to_string(r.index);
                      for (size_t k = 0; k < r.snapshot.rx_drops.size(); ++k)
                        w.value({i, dp::to_string(static_cast<dp::rx_drop>(k))}, r.snapshot.rx_drops[k]);
                      w.value({i, "socket"}, r.snapshot.io_rx_dropped);
                      w.value({i, "no_buffer"}, r.snapshot.io_rx_no_buffer);
                    }
                  });
  m.add_collector("tutti_worker_tx_dropped_total", "packets not sent, by worker and reason",
                  metric_type::counter, {"worker", "reason"}, [&media](metric_writer& w) {
                    for (const auto& r : media.workers()) {
                      const std::string i = std::to_string(r.index);
                      w.value({i, "no_buffer"}, r.snapshot.tx_no_buffer);
                      w.value({i, "no_destination"}, r.snapshot.tx_no_destination);
                      w.value({i, "socket"}, r.snapshot.io_tx_dropped);
                    }
                  });
  m.add_collector("tutti_worker_busy_seconds_total", "time each worker spent working", metric_type::counter,
                  {"worker"}, [&media](metric_writer& w) {
                    for (const auto& r : media.workers())
                      w.value({std::to_string(r.index)}, double(r.snapshot.busy_ns) / 1e9);
                  });
  m.add_collector("tutti_worker_tick_seconds", "conference tick processing time quantiles", metric_type::gauge,
                  {"worker", "quantile"}, [&media](metric_writer& w) {
                    for (const auto& r : media.workers()) {
                      const std::string i = std::to_string(r.index);
                      w.value({i, "0.5"}, double(r.snapshot.tick_p50_ns) / 1e9);
                      w.value({i, "0.99"}, double(r.snapshot.tick_p99_ns) / 1e9);
                    }
                  });
  std::vector<double> tick_bounds_s;
  for (uint64_t ns : dp::tick_bucket_bounds_ns) tick_bounds_s.push_back(double(ns) / 1e9);
  m.add_collector("tutti_worker_tick_duration_seconds", "conference tick processing time", metric_type::histogram,
                  {"worker"}, [&media](metric_writer& w) {
                    for (const auto& r : media.workers())
                      w.histogram({std::to_string(r.index)}, r.snapshot.tick_buckets,
                                  double(r.snapshot.tick_sum_ns) / 1e9);
                  }, std::move(tick_bounds_s));
  m.add_collector("tutti_worker_codec_sampled_seconds_total",
                  "time in codec calls on sampled ticks (1 in 16); divide by "
                  "tutti_worker_codec_sampled_calls_total for the time per call",
                  metric_type::counter, {"worker", "op"}, [&media](metric_writer& w) {
                    for (const auto& r : media.workers()) {
                      const std::string i = std::to_string(r.index);
                      w.value({i, "decode"}, double(r.snapshot.decode_ns) / 1e9);
                      w.value({i, "encode"}, double(r.snapshot.encode_ns) / 1e9);
                    }
                  });
  m.add_collector("tutti_worker_codec_sampled_calls_total", "codec calls timed on sampled ticks (1 in 16)",
                  metric_type::counter, {"worker", "op"}, [&media](metric_writer& w) {
                    for (const auto& r : media.workers()) {
                      const std::string i = std::to_string(r.index);
                      w.value({i, "decode"}, r.snapshot.decodes_timed);
                      w.value({i, "encode"}, r.snapshot.encodes_timed);
                    }
                  });
  m.add_collector("tutti_worker_jitter_depth_packets",
                  "mean packets waiting per jitter buffer after a tick, over the last 100 ms",
                  metric_type::gauge, {"worker"}, [&media](metric_writer& w) {
                    for (const auto& r : media.workers())
                      w.value({std::to_string(r.index)}, double(r.snapshot.jitter_depth_milli) / 1000);
                  });
  m.add_collector("tutti_conferences", "conferences", metric_type::gauge, {}, [&media](metric_writer& w) {
    w.value({}, media.conferences().size());
  });
  m.add_collector("tutti_participants", "voice participants", metric_type::gauge, {}, [&media](metric_writer& w) {
    size_t n = 0;
    for (const auto& c : media.conferences()) n += c.participants.size();
    w.value({}, n);
  });
  m.add_collector("tutti_speakers", "participants holding a speaker seat", metric_type::gauge, {},
                  [&media](metric_writer& w) {
                    size_t speaking = 0;
                    for (const auto& c : media.conferences())
                      for (const auto& p : c.participants) speaking += p.speaking;
                    w.value({}, speaking);
                  });
}

}  // namespace tutti::ctl
