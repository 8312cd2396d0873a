// Test support: a conference of tone senders driven through the engine in memory, and
// Goertzel measurement of what each participant hears.
#pragma once

#include <opus/opus.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <numbers>
#include <set>
#include <vector>

#include "dataplane/engine.hpp"
#include "dataplane/io/memory_io.hpp"
#include "perf/speech_source.hpp"
#include "simd/g711.hpp"

namespace tutti::test {

using dp::codec_id;

constexpr uint64_t period_ns = 20'000'000;

// Level in dBFS of the sine at `f` in `x` (amplitude relative to full scale), by Goertzel
// over the whole window. Windows hold an integer number of cycles of every test tone, so
// tones do not leak into each other's bins.
inline double tone_dbfs(const std::vector<int16_t>& x, double f, double rate) {
  const double w = 2 * std::numbers::pi * f / rate;
  const double coeff = 2 * std::cos(w);
  double s1 = 0, s2 = 0;
  for (int16_t v : x) {
    const double s0 = v + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  const double amplitude = 2 * std::sqrt(std::max(power, 1e-9)) / double(x.size());
  return 20 * std::log10(amplitude / 32767.0);
}

// Decodes what one participant receives, at 48 kHz for Opus and 8 kHz for G.711.
struct listener {
  explicit listener(codec_id c) : codec(c) {
    if (c == codec_id::opus) {
      int err = 0;
      opus = opus_decoder_create(48000, 1, &err);
    }
  }
  ~listener() {
    if (opus) opus_decoder_destroy(opus);
  }
  listener(const listener&) = delete;

  void receive(const dp::rtp_view& rtp) {
    if (have_last) {
      CHECK(rtp.sequence == static_cast<uint16_t>(last_seq + 1));
      CHECK(rtp.timestamp == last_ts + dp::rtp_clock_hz(codec) / 50);
      CHECK(rtp.ssrc == ssrc);
    }
    have_last = true;
    last_seq = rtp.sequence;
    last_ts = rtp.timestamp;
    ssrc = rtp.ssrc;
    std::vector<int16_t> pcm(codec == codec_id::opus ? 960 : rtp.payload_len);
    if (codec == codec_id::opus) {
      const int n = opus_decode(opus, rtp.payload, rtp.payload_len, pcm.data(), 960, 0);
      REQUIRE(n == 960);
    } else if (codec == codec_id::pcmu) {
      simd::ulaw_decode(rtp.payload, pcm.data(), rtp.payload_len);
    } else {
      simd::alaw_decode(rtp.payload, pcm.data(), rtp.payload_len);
    }
    audio.insert(audio.end(), pcm.begin(), pcm.end());
    ++packets;
  }

  codec_id codec;
  OpusDecoder* opus = nullptr;
  std::vector<int16_t> audio;
  size_t packets = 0;
  bool have_last = false;
  uint16_t last_seq = 0;
  uint32_t last_ts = 0, ssrc = 0;
};

struct event_log final : dp::event_sink {
  void post(const dp::engine_event& e) noexcept override { events.push_back(e); }
  std::vector<dp::engine_event> events;
};

struct rig_options {
  uint8_t audio_level_ext_id = 0;    // senders add RFC 6464 levels with this id
  uint8_t telephone_event_pt = 0;
  uint32_t opus_frame_ms = 20;       // Opus packet duration the senders use
  bool rtcp_mux = true;              // participants agreed to RTCP on the RTP port
};

// A conference of N tone senders, driven tick by tick.
struct tone_conference {
  tone_conference(codec_id codec, uint32_t mix_rate_hz, uint32_t n, uint8_t k,
                  std::vector<double> levels_dbfs, rig_options options = {})
      : codec(codec), options(options), io(1024, 2048), engine(io, {}, &events),
        levels(std::move(levels_dbfs)) {
    dp::conference_config cc;
    cc.id = 7;
    cc.mix_rate_hz = mix_rate_hz;
    cc.max_participants = n;
    cc.speakers.max_speakers = k;
    auto conf = std::make_unique<dp::conference>(cc);
    REQUIRE(engine.add_conference(conf));
    for (uint32_t i = 0; i < n; ++i) {
      dp::participant_config pc;
      pc.id = 100 + i;
      pc.local_port = port(i);
      pc.remote = source(i);
      pc.format.codec = codec;
      pc.format.payload_type = payload_type();
      pc.format.audio_level_ext_id = options.audio_level_ext_id;
      pc.format.telephone_event_pt = options.telephone_event_pt;
      pc.format.rtcp_mux = options.rtcp_mux;
      pc.ssrc = 0xabc0 + i;
      auto p = std::make_unique<dp::participant>(pc, mix_rate_hz);
      std::unique_ptr<dp::output_group> group;
      if (!conference().has_group(codec))
        group = std::make_unique<dp::output_group>(codec, mix_rate_hz, k + 3, cc.opus);
      REQUIRE(engine.add_participant(7, p, group));
      listeners.push_back(std::make_unique<listener>(codec));
      if (codec == codec_id::opus) {
        int err = 0;
        OpusEncoder* e = opus_encoder_create(48000, 1, OPUS_APPLICATION_AUDIO, &err);
        opus_encoder_ctl(e, OPUS_SET_BITRATE(64000));
        encoders.push_back(e);
      }
    }
    io.on_transmit([this](const dp::io::packet& pkt) {
      if (dp::looks_like_rtcp(pkt.data, pkt.len)) {
        ++rtcp_sent;
        rtcp_ports.insert(pkt.remote.port);
        return;
      }
      const auto rtp = dp::parse_rtp(pkt.data, pkt.len);
      REQUIRE(rtp.ok());
      REQUIRE(pkt.remote.port >= 30000);
      listeners.at(pkt.remote.port - 30000)->receive(*rtp);
    });
  }
  ~tone_conference() {
    for (auto* e : encoders) opus_encoder_destroy(e);
  }

  static uint16_t port(uint32_t i) { return static_cast<uint16_t>(4000 + 2 * i); }
  static dp::io::endpoint source(uint32_t i) { return {0x7f000001, static_cast<uint16_t>(30000 + i)}; }
  uint8_t payload_type() const { return codec == codec_id::opus ? 111 : (codec == codec_id::pcmu ? 0 : 8); }
  dp::conference& conference() { return *engine.find_conference(7); }
  uint32_t id(uint32_t i) const { return 100 + i; }

  // No second- or third-order intermodulation product of these (a±b, 2a±b, a+b-c, 2a, 3a)
  // lies within 130 Hz of another, so G.711's quantization distortion cannot pose as a tone
  // that should be absent; and no two share or neighbour a CELT band (RFC 6716 §4.3), so
  // Opus's band-wise quantization noise around one tone does not either.
  static double frequency(uint32_t i) {
    static constexpr double tones[] = {660, 1130, 1470, 3110};
    return tones[i % 4];
  }

  // Sends packet `seq` of sender i covering `samples` wire samples from `first_sample`.
  void send(uint32_t i, uint16_t seq, uint32_t first_sample, uint32_t samples, bool marker = false) {
    const uint32_t wire_rate = codec == codec_id::opus ? 48000 : 8000;
    const auto pcm = perf::tone(frequency(i), levels[i], wire_rate, samples, first_sample);
    uint8_t payload[1500];
    size_t len = samples;
    if (codec == codec_id::opus)
      len = static_cast<size_t>(opus_encode(encoders[i], pcm.data(), static_cast<int>(samples), payload, sizeof payload));
    else if (codec == codec_id::pcmu)
      simd::ulaw_encode(pcm.data(), payload, samples);
    else
      simd::alaw_encode(pcm.data(), payload, samples);
    dp::rtp_header_fields h{};
    h.payload_type = payload_type();
    h.marker = marker;
    h.sequence = seq;
    h.timestamp = first_sample;
    h.ssrc = 0x100 + i;
    if (options.audio_level_ext_id) {
      h.audio_level_ext_id = options.audio_level_ext_id;
      const auto level = static_cast<uint8_t>(std::min(127.0, std::max(0.0, -levels[i] - 3.0)));
      h.level = {true, level};
    }
    inject(i, h, payload, len);
  }

  void inject(uint32_t i, const dp::rtp_header_fields& h, const uint8_t* payload, size_t len) {
    uint8_t packet[1600];
    const size_t hl = dp::build_rtp_header(packet, sizeof packet, h);
    std::memcpy(packet + hl, payload, len);
    const dp::io::endpoint from = sources.count(i) ? sources[i] : source(i);
    REQUIRE(io.inject(port(i), from, packet, static_cast<uint16_t>(hl + len), now));
  }

  void run(uint32_t ticks) {
    const uint32_t wire_rate = codec == codec_id::opus ? 48000 : 8000;
    const uint32_t spf = wire_rate / 50;
    const uint32_t packet_samples =
        codec == codec_id::opus ? wire_rate * options.opus_frame_ms / 1000 : spf;
    for (uint32_t t = 0; t < ticks; ++t, ++tick) {
      for (uint32_t i = 0; i < listeners.size(); ++i) {
        if (silent.count(i)) continue;
        // Packets that start within this tick's 20 ms (several for 10 ms, one every few ticks
        // for 40/60 ms).
        for (uint32_t s = tick * spf; s < (tick + 1) * spf; ++s) {
          if (s % packet_samples != 0) continue;
          send(i, static_cast<uint16_t>(s / packet_samples), s, packet_samples);
        }
      }
      engine.poll_rx(64);
      engine.run_due_ticks(now + period_ns - 1);
      now += period_ns;
    }
  }

  // What participant i heard over the last `frames` 20 ms frames, at its decode rate.
  std::vector<int16_t> tail(uint32_t i, uint32_t frames) const {
    const auto& a = listeners[i]->audio;
    const size_t rate = codec == codec_id::opus ? 48000 : 8000;
    const size_t n = frames * rate / 50;
    REQUIRE(a.size() >= n);
    return std::vector<int16_t>(a.end() - static_cast<long>(n), a.end());
  }
  double heard(uint32_t listener_index, uint32_t sender_index, uint32_t frames = 10) const {
    return tone_dbfs(tail(listener_index, frames), frequency(sender_index),
                     codec == codec_id::opus ? 48000 : 8000);
  }

  codec_id codec;
  rig_options options;
  event_log events;
  dp::io::memory_io io;
  dp::engine engine;
  std::vector<double> levels;
  std::vector<std::unique_ptr<listener>> listeners;
  std::vector<OpusEncoder*> encoders;
  std::set<uint32_t> silent;                      // senders that send nothing
  std::map<uint32_t, dp::io::endpoint> sources;   // senders sending from another address
  uint64_t now = 5'000'000'000;
  uint32_t tick = 0;
  size_t rtcp_sent = 0;
  std::set<uint16_t> rtcp_ports;  // where reports went
};

}  // namespace tutti::test
