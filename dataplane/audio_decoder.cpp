#include "dataplane/audio_decoder.hpp"

#include <opus/opus.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "simd/g711.hpp"

namespace tutti::dp {

namespace {
constexpr uint32_t g711_rate_hz = 8000;
constexpr size_t max_g711_bytes = max_packet_samples / 6;  // 60 ms at 8 kHz
}  // namespace

audio_decoder::audio_decoder(codec_id codec, uint32_t mix_rate_hz)
    : codec_(codec), mix_rate_hz_(mix_rate_hz) {
  if (codec_ == codec_id::opus) {
    int err = 0;
    opus_ = opus_decoder_create(static_cast<opus_int32>(mix_rate_hz_), 1, &err);
    if (err != OPUS_OK || !opus_) throw std::bad_alloc();
  } else if (mix_rate_hz_ != g711_rate_hz) {
    upsample_ = std::make_unique<simd::resampler>(g711_rate_hz, mix_rate_hz_);
  }
}

audio_decoder::~audio_decoder() {
  if (opus_) opus_decoder_destroy(opus_);
}

int audio_decoder::packet_duration_ts(const uint8_t* payload, size_t len) const noexcept {
  if (len == 0) return -1;
  if (codec_ != codec_id::opus)
    return len <= max_g711_bytes ? static_cast<int>(len) : -1;
  const int n = opus_packet_get_nb_samples(payload, static_cast<opus_int32>(len), 48000);
  return n > 0 && n <= static_cast<int>(max_packet_samples) ? n : -1;
}

int audio_decoder::decode_g711(const uint8_t* payload, size_t len, int16_t* out,
                               size_t cap) noexcept {
  if (len == 0 || len > max_g711_bytes) return -1;
  const size_t out_samples = len * (mix_rate_hz_ / g711_rate_hz);
  if (out_samples > cap) return -1;
  int16_t* narrow = upsample_ ? narrow_ : out;
  if (codec_ == codec_id::pcmu)
    simd::ulaw_decode(payload, narrow, len);
  else
    simd::alaw_decode(payload, narrow, len);
  plc_.good_frame(narrow, len);
  if (upsample_) upsample_->process(narrow, len, out);
  return static_cast<int>(out_samples);
}

int audio_decoder::decode(const uint8_t* payload, size_t len, int16_t* out, size_t cap) noexcept {
  if (codec_ != codec_id::opus) return decode_g711(payload, len, out, cap);
  const int n = opus_decode(opus_, payload, static_cast<opus_int32>(len), out,
                            static_cast<int>(cap), 0);
  return n > 0 ? n : -1;
}

void audio_decoder::conceal(int16_t* out, size_t samples) noexcept {
  if (codec_ == codec_id::opus) {
    // A NULL payload asks libopus for its packet-loss concealment (RFC 6716 §4.4).
    if (opus_decode(opus_, nullptr, 0, out, static_cast<int>(samples), 0) <= 0)
      std::fill_n(out, samples, int16_t{0});
    return;
  }
  const size_t narrow_samples = samples / (mix_rate_hz_ / g711_rate_hz);
  int16_t* narrow = upsample_ ? narrow_ : out;
  plc_.conceal(narrow, narrow_samples);
  if (upsample_) upsample_->process(narrow, narrow_samples, out);
}

void audio_decoder::recover_from_next(const uint8_t* next, size_t len, int16_t* out,
                                      size_t samples) noexcept {
  if (codec_ != codec_id::opus || next == nullptr || len == 0) {
    conceal(out, samples);
    return;
  }
  // decode_fec=1 decodes the LBRR copy of the previous frame carried in `next`; libopus falls
  // back to PLC by itself when the packet has none.
  if (opus_decode(opus_, next, static_cast<opus_int32>(len), out, static_cast<int>(samples), 1) <= 0)
    conceal(out, samples);
}

void audio_decoder::reset() noexcept {
  if (opus_) opus_decoder_ctl(opus_, OPUS_RESET_STATE);
  if (upsample_) upsample_->reset();
}

}  // namespace tutti::dp
