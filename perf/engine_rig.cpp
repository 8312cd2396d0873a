// The engine benchmarks' shared parts: workloads, the population of an engine, the
// engine-only rig on memory_io, results and the capacity search (see engine_rig.hpp).
#include "perf/engine_rig.hpp"

#include <opus/opus.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "dataplane/io/memory_io.hpp"
#include "perf/bench_util.hpp"
#include "perf/speech_source.hpp"
#include "simd/g711.hpp"
#include "simd/level.hpp"

namespace tutti::perf {

namespace {

using dp::codec_id;

constexpr engine_workload workloads[] = {
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

dp::engine_config engine_config_for(uint32_t participants) {
  dp::engine_config c;
  c.max_participants = participants;
  return c;
}

// The engine-only rig: memory_io, each period's packets injected untimed.
class memory_rig {
 public:
  memory_rig(const engine_workload& w, const prepared_workload& p, uint32_t participants)
      : io_(participants + 8192, 512), pop_(w, p, participants, io_) {}

  run_result run(uint32_t warmup, uint32_t periods) {
    uint64_t now = 1'000'000'000;
    dp::engine& engine = pop_.engine();
    engine.start(now);
    uint64_t busy_ns = 0;
    dp::latency_histogram period_times;
    for (uint32_t k = 0; k < warmup + periods; ++k) {
      if (k == warmup) pop_.mark();
      inject_period(k, now);
      // Busy time is the thread's CPU time, so other load on the machine does not count
      // (on a dedicated worker core the two are the same).
      const uint64_t t0 = thread_cpu_ns();
      while (engine.poll_rx(64) > 0) {
      }
      engine.run_due_ticks(now + bench_period_ns - 1);
      const uint64_t spent = thread_cpu_ns() - t0;
      if (k >= warmup) {
        busy_ns += spent;
        period_times.record(spent);
      }
      now += bench_period_ns;
    }
    run_result r;
    pop_.finish(r, busy_ns, periods, period_times);
    return r;
  }

 private:
  void inject_period(uint32_t period, uint64_t now) {
    uint8_t packet[1600];
    for (uint32_t i = 0; i < pop_.size(); ++i) {
      const uint16_t len = pop_.next_rtp(i, period, packet, sizeof packet);
      if (len > 0)
        io_.inject(pop_.local_port(i), pop_.peer(i), packet, len, now + (i % 1000) * 10'000);
    }
  }

  dp::io::memory_io io_;
  engine_population pop_;
};

}  // namespace

std::span<const engine_workload> engine_workloads() noexcept { return workloads; }

const engine_workload* find_engine_workload(std::string_view name) noexcept {
  for (const auto& w : workloads)
    if (name == w.name) return &w;
  return nullptr;
}

prepared_workload prepare_workload(const engine_workload& w) {
  prepared_workload p;
  for (uint32_t v = 0; v < voices; ++v)
    p.talk.push_back(encode_stream(w.codec, speech_like(v, w.mix_rate_hz, stream_frames), w.mix_rate_hz));
  // A participant who is not talking still sends: room noise around -75 dBFS.
  p.quiet = encode_stream(w.codec, noise(-75, w.mix_rate_hz, stream_frames, 7), w.mix_rate_hz);
  if (w.codec == codec_id::opus) p.dtx = opus_dtx_frame();
  return p;
}

// ---- population --------------------------------------------------------------------------

dp::io::endpoint engine_population::loopback_peer(uint32_t i) noexcept {
  return {0x7f000001, static_cast<uint16_t>(20000 + i % 40000)};
}

engine_population::engine_population(const engine_workload& w, const prepared_workload& p,
                                     uint32_t participants, dp::io::packet_io& io, peer_fn peer)
    : w_(w), p_(p), peer_(peer), engine_(io, engine_config_for(participants), nullptr) {
  const uint32_t conf_size = w.conference_size ? w.conference_size : participants;
  conferences_ = (participants + conf_size - 1) / conf_size;
  for (uint32_t c = 0; c < conferences_; ++c) {
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
    pc.remote = peer_(i);
    pc.format.codec = w.codec;
    pc.format.payload_type = w.codec == codec_id::opus ? opus_pt : pcmu_pt;
    pc.format.audio_level_ext_id = w.levels ? level_ext_id : 0;
    pc.ssrc = 0x1000 + i;
    auto part = std::make_unique<dp::participant>(pc, w.mix_rate_hz);
    std::unique_ptr<dp::output_group> group;
    dp::conference* conf = engine_.find_conference(conf_id);
    if (!conf->has_group(w.codec)) {
      const auto& c = conf->config();
      group = std::make_unique<dp::output_group>(
          w.codec, w.mix_rate_hz, c.speakers.max_speakers + c.spare_encoders, c.opus);
    }
    if (!engine_.add_participant(conf_id, part, group))
      throw std::runtime_error("add_participant failed");
    senders_.push_back({pc.local_port, 0x5000 + i, static_cast<uint16_t>(i * 7), i * 1234u,
                        &p.talk[i % voices], (i * 37) % stream_frames, i % conf_size});
  }
}

bool engine_population::talking(const sender& s, uint32_t period) const noexcept {
  if (w_.talkers == 0) return true;
  if (w_.conference_size == 0) return s.position < w_.talkers;
  // Who talks moves round the conference every 3 s, as a conversation does.
  const uint32_t first = (period / 150) % w_.conference_size;
  return (s.position + w_.conference_size - first) % w_.conference_size < w_.talkers;
}

uint16_t engine_population::next_rtp(uint32_t i, uint32_t period, uint8_t* out,
                                     size_t capacity) noexcept {
  sender& s = senders_[i];
  const bool talks = talking(s, period);
  const std::vector<uint8_t>* payload = nullptr;
  uint8_t level = 127;
  if (talks || !w_.silent_send_dtx) {
    const encoded_stream& stream = talks ? *s.stream : p_.quiet;
    const encoded_frame& f = stream[(period + s.offset) % stream.size()];
    payload = &f.payload;
    level = f.level_dbov;
  } else if ((period + i) % 20 == 0) {
    payload = &p_.dtx;  // Opus DTX: one TOC-only frame every 400 ms
  }
  uint16_t len = 0;
  if (payload) {
    dp::rtp_header_fields h{};
    h.payload_type = w_.codec == codec_id::opus ? opus_pt : pcmu_pt;
    h.sequence = s.sequence;
    h.timestamp = s.timestamp;
    h.ssrc = s.ssrc;
    if (w_.levels) {
      h.audio_level_ext_id = level_ext_id;
      h.level = {level < 127, level};
    }
    const size_t hl = dp::build_rtp_header(out, capacity, h);
    if (hl > 0 && hl + payload->size() <= capacity) {
      std::memcpy(out + hl, payload->data(), payload->size());
      len = static_cast<uint16_t>(hl + payload->size());
      ++s.sequence;
    }
  }
  s.timestamp += dp::rtp_clock_hz(w_.codec) / 50;
  return len;
}

dp::conference_stats engine_population::sum_conference_stats() {
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

void engine_population::mark() {
  engine_.tick_times().reset();
  tx_before_ = engine_.stats().tx_rtp;
  before_ = sum_conference_stats();
}

void engine_population::finish(run_result& r, uint64_t busy_ns, uint32_t periods,
                               const dp::latency_histogram& period_times) {
  r.participants = size();
  r.conferences = conferences_;
  r.busy = double(busy_ns) / double(uint64_t{periods} * bench_period_ns);
  r.us_per_participant_frame = double(busy_ns) / 1e3 / (double(periods) * r.participants);
  const auto& h = engine_.tick_times();
  r.tick_p50_us = h.quantile_ns(0.50) / 1e3;
  r.tick_p99_us = h.quantile_ns(0.99) / 1e3;
  r.tick_max_us = h.max_ns() / 1e3;
  r.period_p50_us = period_times.quantile_ns(0.50) / 1e3;
  r.period_p99_us = period_times.quantile_ns(0.99) / 1e3;
  r.tx_packets = engine_.stats().tx_rtp - tx_before_;  // RTP only: RTCP reports are extra
  r.expected_tx = uint64_t{periods} * r.participants;
  for (uint64_t d : engine_.stats().rx_drops) r.rx_dropped += d;
  const dp::conference_stats after = sum_conference_stats();
  const double ticks = double(after.ticks - before_.ticks);
  r.decodes_per_tick = (after.decodes - before_.decodes) / ticks;
  r.shared_encodes_per_tick = (after.shared_encodes - before_.shared_encodes) / ticks;
  r.own_encodes_per_tick = (after.own_encodes - before_.own_encodes) / ticks;
  r.forwards_per_tick = (after.forwards - before_.forwards) / ticks;
}

// ---- trials and results ------------------------------------------------------------------

run_result measure_engine_only(const engine_workload& w, const prepared_workload& p, uint32_t n,
                               double seconds) {
  memory_rig rig(w, p, n);
  const auto periods = static_cast<uint32_t>(seconds * 50);
  return rig.run(50, std::max<uint32_t>(periods, 10));
}

boost::json::object to_json(const run_result& r) {
  boost::json::object o{{"participants", r.participants},
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
  if (r.has_generator) {
    o["gross_busy"] = r.gross_busy;
    o["generator_busy"] = r.generator_busy;
    o["io_rx_dropped"] = r.io_rx_dropped;
    o["io_tx_dropped"] = r.io_tx_dropped;
  }
  return o;
}

void print_row(const run_result& r) {
  std::printf("  %6u participants  busy %5.1f%%  %.3f us/participant-frame  tick p50 %.0f us p99 %.0f us"
              "  dec/tick %.1f enc/tick %.1f+%.1f fwd/tick %.1f  tx %llu/%llu",
              r.participants, 100 * r.busy, r.us_per_participant_frame, r.tick_p50_us, r.tick_p99_us,
              r.decodes_per_tick, r.shared_encodes_per_tick, r.own_encodes_per_tick,
              r.forwards_per_tick, static_cast<unsigned long long>(r.tx_packets),
              static_cast<unsigned long long>(r.expected_tx));
  if (r.has_generator)
    std::printf("  (gross %.1f%% - generator %.1f%%)", 100 * r.gross_busy, 100 * r.generator_busy);
  std::printf("\n");
  std::fflush(stdout);
}

capacity find_capacity(const engine_workload& w, double target_busy, uint32_t fixed,
                       const std::function<run_result(uint32_t)>& trial,
                       const std::function<void(const run_result&)>& on_trial) {
  capacity out;
  auto run = [&](uint32_t n) {
    const run_result r = trial(n);
    out.trials.push_back(r);
    if (on_trial) on_trial(r);
    return r;
  };
  if (fixed) {
    out.best = run(fixed);
    return out;
  }
  // Double until over the target, then bisect to the workload's granularity.
  const uint32_t g = w.granularity;
  uint32_t lo = 0, hi = 0, n = g * (w.codec == codec_id::opus ? 10 : 100);
  while (hi == 0) {
    const run_result r = run(n);
    if (r.busy <= target_busy) {
      lo = n;
      out.best = r;
      if (n >= 60000) break;
      n = std::min<uint32_t>(n * 2, 60000);
    } else {
      hi = n;
    }
  }
  while (hi && hi - lo > g && (hi - lo) * 50 > lo) {  // within 2 % or one step
    const uint32_t mid = (lo + hi) / 2 / g * g;
    if (mid <= lo) break;
    const run_result r = run(mid);
    if (r.busy <= target_busy) {
      lo = mid;
      out.best = r;
    } else {
      hi = mid;
    }
  }
  return out;
}

}  // namespace tutti::perf
