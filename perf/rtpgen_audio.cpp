#include "perf/rtpgen_audio.hpp"

#include <opus/opus.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>

#include "perf/speech_source.hpp"
#include "simd/g711.hpp"
#include "simd/level.hpp"

namespace tutti::perf {

namespace {

constexpr uint32_t speech_voices = 10;
constexpr uint32_t tone_loop_frames = 100;   // 2 s: whole cycles of every tone
constexpr uint32_t tone_warm_frames = 50;    // encoded before the loop and dropped

uint32_t wire_rate(dp::codec_id codec) { return dp::rtp_clock_hz(codec); }

struct opus_encoder_deleter {
  void operator()(OpusEncoder* e) const noexcept { opus_encoder_destroy(e); }
};
using opus_encoder_ptr = std::unique_ptr<OpusEncoder, opus_encoder_deleter>;

opus_encoder_ptr make_encoder(int complexity, int bitrate_bps, bool dtx) {
  int err = 0;
  opus_encoder_ptr e(opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err));
  if (err != OPUS_OK || !e) throw std::runtime_error("opus_encoder_create failed");
  opus_encoder_ctl(e.get(), OPUS_SET_COMPLEXITY(complexity));
  opus_encoder_ctl(e.get(), OPUS_SET_BITRATE(bitrate_bps));
  if (dtx) opus_encoder_ctl(e.get(), OPUS_SET_DTX(1));
  return e;
}

}  // namespace

double tone_frequency(uint32_t position) noexcept { return tone_frequencies_hz[position % tone_count]; }

double tone_level_dbfs(const rtpgen_config& c, uint32_t position) noexcept {
  return c.tone_level_dbfs - 1.0 * (position % tone_count);
}

void voice_stream::add(std::span<const uint8_t> payload, uint8_t level_dbov) {
  offsets_.push_back(static_cast<uint32_t>(bytes_.size()));
  lengths_.push_back(static_cast<uint16_t>(payload.size()));
  levels_.push_back(level_dbov);
  bytes_.insert(bytes_.end(), payload.begin(), payload.end());
}

voice_stream encode_voice(const rtpgen_config& c, const std::vector<int16_t>& pcm, size_t first_frame) {
  voice_stream out;
  const uint32_t spf = wire_rate(c.codec) / 50;
  opus_encoder_ptr enc;
  if (c.codec == dp::codec_id::opus) enc = make_encoder(c.complexity, c.bitrate_bps, false);
  std::vector<uint8_t> buf(1500);
  for (size_t f = 0; (f + 1) * spf <= pcm.size(); ++f) {
    const int16_t* frame = &pcm[f * spf];
    size_t len = spf;
    if (enc) {
      const int n = opus_encode(enc.get(), frame, static_cast<int>(spf), buf.data(), static_cast<int>(buf.size()));
      if (n <= 0) throw std::runtime_error("opus_encode failed");
      len = static_cast<size_t>(n);
    } else if (c.codec == dp::codec_id::pcmu) {
      simd::ulaw_encode(frame, buf.data(), spf);
    } else {
      simd::alaw_encode(frame, buf.data(), spf);
    }
    if (f >= first_frame) out.add({buf.data(), len}, simd::level_dbov(frame, spf));
  }
  return out;
}

std::vector<uint8_t> opus_dtx_frame() {
  opus_encoder_ptr enc = make_encoder(4, 32000, true);
  std::vector<int16_t> silence(960, 0);
  for (int i = 0; i < 200; ++i) {
    uint8_t buf[1500];
    const int n = opus_encode(enc.get(), silence.data(), 960, buf, sizeof buf);
    if (n > 0 && n <= 2) return std::vector<uint8_t>(buf, buf + n);
  }
  throw std::runtime_error("the Opus encoder produced no DTX frame");
}

voice_bank build_voices(const rtpgen_config& c) {
  voice_bank bank;
  const uint32_t rate = wire_rate(c.codec);
  const uint32_t spf = rate / 50;
  const uint32_t loop_frames = std::max<uint32_t>(10, static_cast<uint32_t>(c.loop_s * 50));
  if (c.audio == audio_kind::tone) {
    const uint32_t n = std::min(c.conf_size, tone_count);
    for (uint32_t p = 0; p < n; ++p) {
      const uint32_t frames = tone_warm_frames + tone_loop_frames;
      const auto pcm = tone(tone_frequency(p), tone_level_dbfs(c, p), rate, frames * spf);
      bank.talk.push_back(encode_voice(c, pcm, tone_warm_frames));
    }
  } else {
    const uint32_t n = std::min(c.conf_size, speech_voices);
    for (uint32_t v = 0; v < n; ++v) bank.talk.push_back(encode_voice(c, speech_like(v, rate, loop_frames)));
  }
  // Non-talkers only: skip the work when everyone talks.
  if (c.talkers != 0 && c.talkers < c.conf_size) {
    if (!c.dtx) bank.quiet = encode_voice(c, noise(-75, rate, loop_frames, 7));
    if (c.codec == dp::codec_id::opus && c.dtx) bank.dtx = opus_dtx_frame();
  }
  return bank;
}

}  // namespace tutti::perf
