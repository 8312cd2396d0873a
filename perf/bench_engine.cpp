// tutti-bench engine: the media engine on one core with generated RTP in memory. Everything
// but sockets is measured: RTP parse, jitter buffer, decode, level, speaker selection, mix,
// encode, RTP build and the tx burst. Packets are generated (untimed) for each 20 ms period,
// then the engine receives them and runs the period's ticks (timed). A load is "real time"
// when the engine is busy at most 80 % of the period; the benchmark searches for the largest
// participant count that stays there. Busy time is the thread's CPU time; tick times (p50,
// p99) are wall time measured by the engine, so they include whatever else ran on the core.
#include <opus/opus.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "dataplane/engine.hpp"
#include "dataplane/io/memory_io.hpp"
#include "perf/bench_engine.hpp"
#include "perf/bench_util.hpp"
#include "perf/speech_source.hpp"
#include "simd/g711.hpp"
#include "simd/level.hpp"
#include "simd/target.hpp"

namespace tutti::perf {

namespace {

using dp::codec_id;

struct engine_workload {
  const char* name;
  const char* description;
  codec_id codec;
  uint32_t mix_rate_hz;
  uint32_t conference_size;  // 0: everyone in one conference
  bool levels;               // RFC 6464 audio levels on every packet
  uint32_t talkers;          // per conference; 0: everyone
  bool silent_send_dtx;      // the silent send Opus DTX (a TOC byte every 400 ms)
  uint32_t granularity;      // participant counts searched in steps of this
};

const engine_workload workloads[] = {
    {"pcmu-conf10", "G.711 u-law 8 kHz, conferences of 10, everyone sending speech-like audio",
     codec_id::pcmu, 8000, 10, false, 0, false, 10},
    {"opus48-conf10", "Opus 48 kHz, conferences of 10, everyone talking, no levels (all decoded)",
     codec_id::opus, 48000, 10, false, 0, false, 10},
    {"opus48-conf10-levels", "Opus 48 kHz, conferences of 10, RFC 6464 levels, 2 of 10 talking",
     codec_id::opus, 48000, 10, true, 2, false, 10},
    {"opus48-large", "Opus 48 kHz, one conference, 3 talking, everyone else sending DTX",
     codec_id::opus, 48000, 0, false, 3, true, 250},
};

constexpr uint32_t voices = 10;
constexpr uint32_t stream_frames = 250;  // 5 s of each voice, looped
constexpr uint8_t opus_pt = 111, pcmu_pt = 0, level_ext_id = 1;
constexpr uint64_t period_ns = 20'000'000;

struct encoded_frame {
  std::vector<uint8_t> payload;
  uint8_t level_dbov;
};
using encoded_stream = std::vector<encoded_frame>;

// What a client would send: Opus from a VoIP encoder (complexity 4, 32 kbit/s), or G.711.
encoded_stream encode_stream(codec_id codec, const std::vector<int16_t>& pcm, uint32_t rate_hz) {
  encoded_stream out;
  const uint32_t spf = rate_hz / 50;
  OpusEncoder* enc = nullptr;
  if (codec == codec_id::opus) {
    int err = 0;
    enc = opus_encoder_create(static_cast<int>(rate_hz), 1, OPUS_APPLICATION_VOIP, &err);
    if (err != OPUS_OK) throw std::runtime_error("opus_encoder_create failed");
    opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(4));
    opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000));
  }
  for (size_t f = 0; f + spf <= pcm.size(); f += spf) {
    encoded_frame frame;
    frame.level_dbov = simd::level_dbov(&pcm[f], spf);
    if (enc) {
      uint8_t buf[1500];
      const int n = opus_encode(enc, &pcm[f], static_cast<int>(spf), buf, sizeof buf);
      if (n <= 0) throw std::runtime_error("opus_encode failed");
      frame.payload.assign(buf, buf + n);
    } else {
      frame.payload.resize(spf);
      simd::ulaw_encode(&pcm[f], frame.payload.data(), spf);
    }
    out.push_back(std::move(frame));
  }
  if (enc) opus_encoder_destroy(enc);
  return out;
}

// An Opus DTX frame: what a VoIP encoder with DTX emits once it has settled on silence.
std::vector<uint8_t> opus_dtx_frame() {
  int err = 0;
  OpusEncoder* enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
  opus_encoder_ctl(enc, OPUS_SET_DTX(1));
  std::vector<int16_t> silence(960, 0);
  std::vector<uint8_t> frame;
  for (int i = 0; i < 100 && frame.empty(); ++i) {
    uint8_t buf[1500];
    const int n = opus_encode(enc, silence.data(), 960, buf, sizeof buf);
    if (n > 0 && n <= 2) frame.assign(buf, buf + n);
  }
  opus_encoder_destroy(enc);
  if (frame.empty()) throw std::runtime_error("the Opus encoder produced no DTX frame");
  return frame;
}

struct sender {
  uint16_t port;
  uint32_t ssrc;
  uint16_t sequence;
  uint32_t timestamp;
  const encoded_stream* stream;  // talking voice
  uint32_t offset;               // frame offset into the stream, so voices don't line up
  uint32_t position;             // index within its conference
};

struct run_result {
  uint32_t participants = 0;
  uint32_t conferences = 0;
  double busy = 0;                 // fraction of wall time the engine worked
  double us_per_participant_frame = 0;
  double tick_p50_us = 0, tick_p99_us = 0, tick_max_us = 0;
  double period_p50_us = 0, period_p99_us = 0;
  uint64_t tx_packets = 0, expected_tx = 0, rx_dropped = 0;
  double decodes_per_tick = 0, shared_encodes_per_tick = 0, own_encodes_per_tick = 0,
         forwards_per_tick = 0;
};

class engine_rig {
 public:
  engine_rig(const engine_workload& w, uint32_t participants, const encoded_stream* talk,
             const encoded_stream& quiet, const std::vector<uint8_t>& dtx)
      : w_(w), quiet_(quiet), dtx_(dtx),
        io_(participants + 8192, 512),
        engine_(io_, engine_config_for(participants), nullptr) {
    const uint32_t conf_size = w.conference_size ? w.conference_size : participants;
    const uint32_t conferences = (participants + conf_size - 1) / conf_size;
    conferences_ = conferences;
    for (uint32_t c = 0; c < conferences; ++c) {
      dp::conference_config cc;
      cc.id = c + 1;
      cc.mix_rate_hz = w.mix_rate_hz;
      cc.max_participants = conf_size;
      auto conf = std::make_unique<dp::conference>(cc);
      if (!engine_.add_conference(conf)) throw std::runtime_error("add_conference failed");
    }
    for (uint32_t i = 0; i < participants; ++i) {
      const uint32_t conf_id = i / conf_size + 1;
      dp::participant_config pc;
      pc.id = i + 1;
      pc.local_port = static_cast<uint16_t>(1024 + i);
      pc.remote = {0x7f000001, static_cast<uint16_t>(20000 + i % 40000)};
      pc.format.codec = w.codec;
      pc.format.payload_type = w.codec == codec_id::opus ? opus_pt : pcmu_pt;
      pc.format.audio_level_ext_id = w.levels ? level_ext_id : 0;
      pc.ssrc = 0x1000 + i;
      auto p = std::make_unique<dp::participant>(pc, w.mix_rate_hz);
      std::unique_ptr<dp::output_group> group;
      dp::conference* conf = engine_.find_conference(conf_id);
      if (!conf->has_group(w.codec)) {
        const auto& c = conf->config();
        group = std::make_unique<dp::output_group>(
            w.codec, w.mix_rate_hz, c.speakers.max_speakers + c.spare_encoders, c.opus);
      }
      if (!engine_.add_participant(conf_id, p, group))
        throw std::runtime_error("add_participant failed");
      senders_.push_back({pc.local_port, 0x5000 + i, static_cast<uint16_t>(i * 7),
                          i * 1234u, &talk[i % voices], (i * 37) % stream_frames, i % conf_size});
    }
  }

  // Runs `warmup` untimed periods then `periods` timed ones.
  run_result run(uint32_t warmup, uint32_t periods) {
    uint64_t now = 1'000'000'000;
    engine_.start(now);
    uint64_t busy_ns = 0;
    dp::latency_histogram period_times;
    uint64_t tx_before = 0;
    dp::conference_stats before{};
    for (uint32_t k = 0; k < warmup + periods; ++k) {
      if (k == warmup) {
        engine_.tick_times().reset();
        tx_before = engine_.stats().tx_rtp;
        before = sum_conference_stats();
      }
      inject_period(k, now);
      // Busy time is the thread's CPU time, so other load on the machine does not count
      // (on a dedicated worker core the two are the same).
      const uint64_t t0 = thread_cpu_ns();
      while (engine_.poll_rx(64) > 0) {
      }
      engine_.run_due_ticks(now + period_ns - 1);
      const uint64_t spent = thread_cpu_ns() - t0;
      if (k >= warmup) {
        busy_ns += spent;
        period_times.record(spent);
      }
      now += period_ns;
    }
    run_result r;
    r.participants = static_cast<uint32_t>(senders_.size());
    r.conferences = conferences_;
    r.busy = double(busy_ns) / double(uint64_t{periods} * period_ns);
    r.us_per_participant_frame = double(busy_ns) / 1e3 / (double(periods) * r.participants);
    const auto& h = engine_.tick_times();
    r.tick_p50_us = h.quantile_ns(0.50) / 1e3;
    r.tick_p99_us = h.quantile_ns(0.99) / 1e3;
    r.tick_max_us = h.max_ns() / 1e3;
    r.period_p50_us = period_times.quantile_ns(0.50) / 1e3;
    r.period_p99_us = period_times.quantile_ns(0.99) / 1e3;
    r.tx_packets = engine_.stats().tx_rtp - tx_before;  // RTP only: RTCP reports are extra
    r.expected_tx = uint64_t{periods} * r.participants;
    for (uint64_t d : engine_.stats().rx_drops) r.rx_dropped += d;
    const dp::conference_stats after = sum_conference_stats();
    const double ticks = double(after.ticks - before.ticks);
    r.decodes_per_tick = (after.decodes - before.decodes) / ticks;
    r.shared_encodes_per_tick = (after.shared_encodes - before.shared_encodes) / ticks;
    r.own_encodes_per_tick = (after.own_encodes - before.own_encodes) / ticks;
    r.forwards_per_tick = (after.forwards - before.forwards) / ticks;
    return r;
  }

 private:
  static dp::engine_config engine_config_for(uint32_t participants) {
    dp::engine_config c;
    c.max_participants = participants;
    return c;
  }

  dp::conference_stats sum_conference_stats() {
    dp::conference_stats s{};
    for (uint32_t c = 1; c <= conferences_; ++c) {
      const auto& cs = engine_.find_conference(c)->stats();
      s.ticks += cs.ticks;
      s.decodes += cs.decodes;
      s.shared_encodes += cs.shared_encodes;
      s.own_encodes += cs.own_encodes;
      s.forwards += cs.forwards;
    }
    return s;
  }

  bool talking(const sender& s, uint32_t period) const {
    if (w_.talkers == 0) return true;
    if (w_.conference_size == 0) return s.position < w_.talkers;
    // Who talks moves round the conference every 3 s, as a conversation does.
    const uint32_t first = (period / 150) % w_.conference_size;
    return (s.position + w_.conference_size - first) % w_.conference_size < w_.talkers;
  }

  void inject_period(uint32_t period, uint64_t now) {
    const uint32_t tick_ts = dp::rtp_clock_hz(w_.codec) / 50;
    uint8_t packet[1600];
    for (uint32_t i = 0; i < senders_.size(); ++i) {
      sender& s = senders_[i];
      const bool talks = talking(s, period);
      const std::vector<uint8_t>* payload;
      uint8_t level;
      if (talks || !w_.silent_send_dtx) {
        const encoded_stream& stream = talks ? *s.stream : quiet_;
        const encoded_frame& f = stream[(period + s.offset) % stream.size()];
        payload = &f.payload;
        level = f.level_dbov;
      } else if ((period + i) % 20 == 0) {
        payload = &dtx_;  // Opus DTX: one TOC-only frame every 400 ms
        level = 127;
      } else {
        payload = nullptr;
        level = 127;
      }
      if (payload) {
        dp::rtp_header_fields h{};
        h.payload_type = w_.codec == codec_id::opus ? opus_pt : pcmu_pt;
        h.sequence = s.sequence++;
        h.timestamp = s.timestamp;
        h.ssrc = s.ssrc;
        if (w_.levels) {
          h.audio_level_ext_id = level_ext_id;
          h.level = {level < 127, level};
        }
        const size_t hl = dp::build_rtp_header(packet, sizeof packet, h);
        std::memcpy(packet + hl, payload->data(), payload->size());
        io_.inject(s.port, {0x7f000001, static_cast<uint16_t>(20000 + i % 40000)}, packet,
                   static_cast<uint16_t>(hl + payload->size()), now + (i % 1000) * 10'000);
      }
      s.timestamp += tick_ts;
    }
  }

  const engine_workload& w_;
  const encoded_stream& quiet_;
  const std::vector<uint8_t>& dtx_;
  dp::io::memory_io io_;
  dp::engine engine_;
  std::vector<sender> senders_;
  uint32_t conferences_ = 0;
};

struct prepared_workload {
  std::vector<encoded_stream> talk;
  encoded_stream quiet;
  std::vector<uint8_t> dtx;
};

prepared_workload prepare(const engine_workload& w) {
  prepared_workload p;
  for (uint32_t v = 0; v < voices; ++v)
    p.talk.push_back(encode_stream(w.codec, speech_like(v, w.mix_rate_hz, stream_frames), w.mix_rate_hz));
  // A participant who is not talking still sends: room noise around -75 dBFS.
  p.quiet = encode_stream(w.codec, noise(-75, w.mix_rate_hz, stream_frames, 7), w.mix_rate_hz);
  if (w.codec == codec_id::opus) p.dtx = opus_dtx_frame();
  return p;
}

run_result measure(const engine_workload& w, const prepared_workload& p, uint32_t n,
                   double seconds) {
  engine_rig rig(w, n, p.talk.data(), p.quiet, p.dtx);
  const auto periods = static_cast<uint32_t>(seconds * 50);
  return rig.run(50, std::max<uint32_t>(periods, 10));
}

boost::json::object to_json(const run_result& r) {
  return {{"participants", r.participants},
          {"conferences", r.conferences},
          {"busy", r.busy},
          {"us_per_participant_frame", r.us_per_participant_frame},
          {"tick_p50_us", r.tick_p50_us},
          {"tick_p99_us", r.tick_p99_us},
          {"tick_max_us", r.tick_max_us},
          {"period_p50_us", r.period_p50_us},
          {"period_p99_us", r.period_p99_us},
          {"tx_packets", r.tx_packets},
          {"expected_tx_packets", r.expected_tx},
          {"rx_dropped", r.rx_dropped},
          {"decodes_per_tick", r.decodes_per_tick},
          {"shared_encodes_per_tick", r.shared_encodes_per_tick},
          {"own_encodes_per_tick", r.own_encodes_per_tick},
          {"forwards_per_tick", r.forwards_per_tick}};
}

void print_row(const run_result& r) {
  std::printf("  %6u participants  busy %5.1f%%  %.3f us/participant-frame  tick p50 %.0f us p99 %.0f us"
              "  dec/tick %.1f enc/tick %.1f+%.1f fwd/tick %.1f  tx %llu/%llu\n",
              r.participants, 100 * r.busy, r.us_per_participant_frame, r.tick_p50_us, r.tick_p99_us,
              r.decodes_per_tick, r.shared_encodes_per_tick, r.own_encodes_per_tick,
              r.forwards_per_tick, static_cast<unsigned long long>(r.tx_packets),
              static_cast<unsigned long long>(r.expected_tx));
  std::fflush(stdout);
}

}  // namespace

int run_engine_checked(std::span<const std::string_view> args) {
  std::string name;
  bool json = false;
  uint32_t fixed = 0;
  double seconds = 3.0, target = 0.8;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string a(args[i]);
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw std::invalid_argument(a + " needs a value");
      return std::string(args[++i]);
    };
    if (a == "--workload") name = value();
    else if (a == "--json") json = true;
    else if (a == "--participants") fixed = static_cast<uint32_t>(std::stoul(value()));
    else if (a == "--seconds") seconds = std::stod(value());
    else if (a == "--target-busy") target = std::stod(value());
    else if (a == "--help" || a == "-h") {
      std::printf("usage: tutti-bench engine --workload NAME [--participants N] [--seconds S]"
                  " [--target-busy F] [--json]\n\nWorkloads:\n");
      for (const auto& w : workloads) std::printf("  %-22s %s\n", w.name, w.description);
      std::printf("\nWithout --participants, searches the largest count one core keeps at or "
                  "below --target-busy (default 0.8) of real time.\n");
      return 0;
    } else {
      throw std::invalid_argument("unknown option " + a);
    }
  }
  const engine_workload* w = nullptr;
  for (const auto& candidate : workloads)
    if (name == candidate.name) w = &candidate;
  if (!w) throw std::invalid_argument("unknown or missing --workload (see --help)");

  const prepared_workload prepared = prepare(*w);
  if (!json) std::printf("%s: %s (Highway target %s)\n", w->name, w->description, simd::dispatched_target_name());

  std::vector<run_result> trials;
  run_result best{};
  auto trial = [&](uint32_t n) {
    const run_result r = measure(*w, prepared, n, seconds);
    trials.push_back(r);
    if (!json) print_row(r);
    return r;
  };
  if (fixed) {
    best = trial(fixed);
  } else {
    // Double until over the target, then bisect to the workload's granularity.
    const uint32_t g = w->granularity;
    uint32_t lo = 0, hi = 0, n = g * (w->codec == codec_id::opus ? 10 : 100);
    while (hi == 0) {
      const run_result r = trial(n);
      if (r.busy <= target) {
        lo = n;
        best = r;
        if (n >= 60000) break;
        n = std::min<uint32_t>(n * 2, 60000);
      } else {
        hi = n;
      }
    }
    while (hi && hi - lo > g && (hi - lo) * 50 > lo) {  // within 2 % or one step
      const uint32_t mid = (lo + hi) / 2 / g * g;
      if (mid <= lo) break;
      const run_result r = trial(mid);
      if (r.busy <= target) {
        lo = mid;
        best = r;
      } else {
        hi = mid;
      }
    }
  }

  if (json) {
    boost::json::array all;
    for (const auto& r : trials) all.push_back(to_json(r));
    boost::json::object out{{"benchmark", "engine"},
                            {"workload", w->name},
                            {"simd_target", simd::dispatched_target_name()},
                            {"target_busy", target},
                            {"seconds_per_trial", seconds},
                            {"max_participants_per_core", best.participants},
                            {"at_max", to_json(best)},
                            {"trials", all}};
    std::printf("%s\n", boost::json::serialize(out).c_str());
  } else {
    std::printf("%s: %u participants per core at <= %.0f%% busy (%.3f us per participant-frame, "
                "tick p99 %.0f us)\n",
                w->name, best.participants, 100 * target, best.us_per_participant_frame,
                best.tick_p99_us);
  }
  return 0;
}

int run_engine(std::span<const std::string_view> args) {
  try {
    return run_engine_checked(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tutti-bench engine: %s\n", e.what());
    return 2;
  }
}

}  // namespace tutti::perf
