// An encoder for one output stream of a conference: 20 ms of PCM at the mix rate in, one
// payload out. G.711 is resampled down to 8 kHz and encoded by the simd/ kernels; Opus is
// encoded by libopus at the mix rate. Allocated by the constructor (control thread); encode()
// runs on the worker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "dataplane/media_format.hpp"
#include "simd/resample.hpp"

struct OpusEncoder;

namespace tutti::dp {

// Opus settings for the mix a conference sends (RFC 7587). The default application is
// "audio", which runs CELT for the whole band: a mix of several talkers is not the single
// voice SILK's speech model assumes, CELT's latency is lower, and its encoder costs about a
// fifth of SILK's at the same complexity (perf/ measures both).
struct opus_encoder_settings {
  int complexity = 4;            // 0..10
  int bitrate_bps = 32000;
  bool voip_application = false; // true: OPUS_APPLICATION_VOIP (SILK/hybrid)
  bool inband_fec = false;
};

class audio_encoder {
 public:
  audio_encoder(codec_id codec, uint32_t mix_rate_hz, const opus_encoder_settings& opus = {});
  ~audio_encoder();
  audio_encoder(const audio_encoder&) = delete;
  audio_encoder& operator=(const audio_encoder&) = delete;

  codec_id codec() const noexcept { return codec_; }

  // Encodes one 20 ms frame (samples_per_20ms(mix rate) samples) into `out`. Returns payload
  // bytes, or -1 when the encoder fails (counted by the caller).
  int encode(const int16_t* pcm, uint8_t* out, size_t cap) noexcept;

  // RTP timestamp units one encoded 20 ms frame spans.
  uint32_t frame_duration_ts() const noexcept { return rtp_clock_hz(codec_) / 50; }

  void reset() noexcept;

 private:
  codec_id codec_;
  uint32_t mix_rate_hz_;
  OpusEncoder* opus_ = nullptr;
  std::unique_ptr<simd::resampler> downsample_;  // G.711 when the mix rate is above 8 kHz
  int16_t narrow_[160];                          // 20 ms at 8 kHz
};

}  // namespace tutti::dp
