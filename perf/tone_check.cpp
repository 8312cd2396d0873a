#include "perf/tone_check.hpp"

#include <opus/opus.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>

#include "perf/rtpgen_audio.hpp"
#include "simd/g711.hpp"

namespace tutti::perf {

namespace {

constexpr uint32_t window_frames = 5;       // 100 ms
constexpr uint32_t settle_frames = 10;      // 200 ms for an Opus decoder to settle
constexpr int64_t max_concealed_run = 10;   // frames filled per gap at most
constexpr int64_t max_concealed = 60;       // and in all (what the receiver keeps)
constexpr int max_opus_frame = 5760;        // 120 ms at 48 kHz

struct opus_decoder_deleter {
  void operator()(OpusDecoder* d) const noexcept { opus_decoder_destroy(d); }
};

}  // namespace

double goertzel_dbfs(std::span<const int16_t> pcm, double frequency_hz, double rate_hz) noexcept {
  if (pcm.empty()) return -200;
  const double w = 2 * std::numbers::pi * frequency_hz / rate_hz;
  const double coeff = 2 * std::cos(w);
  double s1 = 0, s2 = 0;
  for (int16_t v : pcm) {
    const double s0 = v + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const double power = std::max(s1 * s1 + s2 * s2 - coeff * s1 * s2, 1e-9);
  const double amplitude = 2 * std::sqrt(power) / double(pcm.size());
  return 20 * std::log10(amplitude / 32767.0);
}

const char* to_string(tone_expectation e) noexcept {
  switch (e) {
    case tone_expectation::other: return "other";
    case tone_expectation::own: return "own";
    case tone_expectation::absent: return "absent";
    case tone_expectation::unchecked: return "unchecked";
  }
  return "?";
}

decoded_audio decode_payloads(dp::codec_id codec, std::span<const kept_payload> payloads) {
  decoded_audio out;
  out.rate_hz = dp::rtp_clock_hz(codec);
  out.samples_per_frame = out.rate_hz / 50;
  std::unique_ptr<OpusDecoder, opus_decoder_deleter> dec;
  if (codec == dp::codec_id::opus) {
    int err = 0;
    dec.reset(opus_decoder_create(48000, 1, &err));
    if (err != OPUS_OK) return out;
  }
  std::vector<int16_t> frame(max_opus_frame);
  auto append = [&](const int16_t* pcm, size_t n, bool concealed) {
    out.pcm.insert(out.pcm.end(), pcm, pcm + n);
    // One flag per 20 ms of output (Opus may return other frame sizes).
    const size_t frames = (n + out.samples_per_frame - 1) / out.samples_per_frame;
    for (size_t k = 0; k < frames; ++k) out.concealed.push_back(concealed);
  };
  auto conceal = [&]() {
    if (dec) {
      const int n = opus_decode(dec.get(), nullptr, 0, frame.data(), static_cast<int>(out.samples_per_frame), 0);
      if (n > 0) append(frame.data(), static_cast<size_t>(n), true);
    } else {
      std::fill(frame.begin(), frame.begin() + out.samples_per_frame, 0);
      append(frame.data(), out.samples_per_frame, true);
    }
  };
  int64_t budget = max_concealed;
  for (size_t k = 0; k < payloads.size(); ++k) {
    if (k > 0) {
      const int64_t gap = payloads[k].sequence - payloads[k - 1].sequence - 1;
      const int64_t fill = std::min({gap, max_concealed_run, budget});
      for (int64_t g = 0; g < fill; ++g) conceal();
      budget -= std::max<int64_t>(fill, 0);
    }
    const auto& p = payloads[k].payload;
    if (dec) {
      const int n = opus_decode(dec.get(), p.data(), static_cast<opus_int32>(p.size()), frame.data(), max_opus_frame, 0);
      if (n > 0) append(frame.data(), static_cast<size_t>(n), false);
      else conceal();
    } else {
      if (p.size() > frame.size()) continue;
      if (codec == dp::codec_id::pcmu) simd::ulaw_decode(p.data(), frame.data(), p.size());
      else simd::alaw_decode(p.data(), frame.data(), p.size());
      append(frame.data(), p.size(), false);
    }
  }
  return out;
}

std::vector<tone_line> tone_expectations(const rtpgen_config& c, uint32_t i) {
  const uint32_t members = c.members_of(c.conference_of(i));
  const uint32_t talkers = c.talkers_in(members);
  const uint32_t me = c.position_of(i);
  std::vector<tone_line> lines;
  for (uint32_t t = 0; t < tone_count; ++t) {
    tone_line l;
    l.frequency_hz = tone_frequencies_hz[t];
    uint32_t others = 0, other_position = 0;
    for (uint32_t q = t; q < talkers; q += tone_count) {
      if (q == me) continue;
      ++others;
      other_position = q;
    }
    const bool own = me < talkers && me % tone_count == t;
    if (others == 1 && !own) {
      l.expect = tone_expectation::other;
      l.sent_dbfs = tone_level_dbfs(c, other_position);
    } else if (others == 0 && own) {
      l.expect = tone_expectation::own;
      l.sent_dbfs = tone_level_dbfs(c, me);
    } else if (others == 0) {
      l.expect = tone_expectation::absent;
      l.sent_dbfs = c.tone_level_dbfs;
    } else {
      l.expect = tone_expectation::unchecked;
    }
    lines.push_back(l);
  }
  return lines;
}

tone_verdict check_tones(const rtpgen_config& c, uint32_t i, const decoded_audio& audio) {
  tone_verdict v;
  v.lines = tone_expectations(c, i);
  v.concealed = static_cast<uint32_t>(std::count(audio.concealed.begin(), audio.concealed.end(), true));
  const size_t spf = audio.samples_per_frame;
  const size_t frames = spf ? audio.pcm.size() / spf : 0;
  // Whole windows counted back from the end, after the settling frames, none concealed.
  std::vector<size_t> starts;
  for (size_t end = frames; end >= settle_frames + window_frames && end >= window_frames; end -= window_frames) {
    const size_t first = end - window_frames;
    bool clean = true;
    for (size_t f = first; f < end; ++f) clean = clean && !(f < audio.concealed.size() && audio.concealed[f]);
    if (clean) starts.push_back(first);
    if (starts.size() == 10) break;
  }
  v.windows = static_cast<uint32_t>(starts.size());
  if (v.windows < 2) {
    v.problem = "fewer than 2 clean 100 ms windows received";
    return v;
  }
  v.pass = true;
  for (tone_line& l : v.lines) {
    double power = 0;
    for (size_t first : starts) {
      const double db = goertzel_dbfs({&audio.pcm[first * spf], window_frames * spf}, l.frequency_hz, audio.rate_hz);
      power += std::pow(10.0, db / 10);
    }
    l.heard_dbfs = 10 * std::log10(power / double(starts.size()));
    switch (l.expect) {
      case tone_expectation::other:
        l.pass = std::fabs(l.heard_dbfs - l.sent_dbfs) <= c.tone_tolerance_db;
        break;
      case tone_expectation::own:
      case tone_expectation::absent:
        l.pass = l.heard_dbfs <= l.sent_dbfs - c.own_rejection_db;
        break;
      case tone_expectation::unchecked:
        l.pass = true;
        break;
    }
    v.pass = v.pass && l.pass;
  }
  return v;
}

}  // namespace tutti::perf
