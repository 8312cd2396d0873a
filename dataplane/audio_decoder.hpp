// One participant's decoder: payloads in, 16-bit PCM at the conference's mix rate out.
// G.711 is decoded by the simd/ kernels at 8 kHz, concealed by g711_plc there, then resampled
// to the mix rate; Opus is decoded by libopus directly at the mix rate (RFC 7587), with its
// own PLC and in-band FEC. Everything is allocated by the constructor (control thread);
// the member functions are called by the worker on the hot path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "dataplane/g711_plc.hpp"
#include "dataplane/media_format.hpp"
#include "simd/resample.hpp"

struct OpusDecoder;

namespace tutti::dp {

class audio_decoder {
 public:
  audio_decoder(codec_id codec, uint32_t mix_rate_hz);
  ~audio_decoder();
  audio_decoder(const audio_decoder&) = delete;
  audio_decoder& operator=(const audio_decoder&) = delete;

  codec_id codec() const noexcept { return codec_; }
  uint32_t mix_rate_hz() const noexcept { return mix_rate_hz_; }

  // Duration of a payload in RTP clock units without decoding it; -1 when it is not a valid
  // payload of this codec (RFC 6716 §3 for Opus) or longer than max_packet_samples.
  int packet_duration_ts(const uint8_t* payload, size_t len) const noexcept;

  // Decodes one payload into `out` (capacity `cap` samples at the mix rate). Returns samples
  // written, or -1 for a payload the codec rejects.
  int decode(const uint8_t* payload, size_t len, int16_t* out, size_t cap) noexcept;

  // Fills `samples` samples of concealment for a lost frame (codec PLC).
  void conceal(int16_t* out, size_t samples) noexcept;

  // Recovers a lost frame from the next packet's in-band FEC (Opus LBRR, RFC 6716 §2.1.7);
  // plain concealment for G.711 or when the packet carries none.
  void recover_from_next(const uint8_t* next, size_t len, int16_t* out, size_t samples) noexcept;

  // Forgets history, as after a long silence the decoder did not see.
  void reset() noexcept;

 private:
  int decode_g711(const uint8_t* payload, size_t len, int16_t* out, size_t cap) noexcept;

  codec_id codec_;
  uint32_t mix_rate_hz_;
  OpusDecoder* opus_ = nullptr;
  std::unique_ptr<simd::resampler> upsample_;  // G.711 only, when the mix rate is above 8 kHz
  g711_plc plc_;
  int16_t narrow_[max_packet_samples / 6];     // G.711 PCM at 8 kHz before resampling
};

}  // namespace tutti::dp
