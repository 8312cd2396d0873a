#include "dataplane/audio_encoder.hpp"

#include <opus/opus.h>

#include <new>

#include "simd/g711.hpp"

namespace tutti::dp {

audio_encoder::audio_encoder(codec_id codec, uint32_t mix_rate_hz,
                             const opus_encoder_settings& settings)
    : codec_(codec), mix_rate_hz_(mix_rate_hz) {
  if (codec_ == codec_id::opus) {
    int err = 0;
    const int application =
        settings.voip_application ? OPUS_APPLICATION_VOIP : OPUS_APPLICATION_AUDIO;
    opus_ = opus_encoder_create(static_cast<opus_int32>(mix_rate_hz_), 1, application, &err);
    if (err != OPUS_OK || !opus_) throw std::bad_alloc();
    opus_encoder_ctl(opus_, OPUS_SET_COMPLEXITY(settings.complexity));
    opus_encoder_ctl(opus_, OPUS_SET_BITRATE(settings.bitrate_bps));
    opus_encoder_ctl(opus_, OPUS_SET_INBAND_FEC(settings.inband_fec ? 1 : 0));
    // The mix is a continuous stream to every listener; discontinuous transmission would
    // break the per-listener timestamp pacing.
    opus_encoder_ctl(opus_, OPUS_SET_DTX(0));
  } else if (mix_rate_hz_ != 8000) {
    downsample_ = std::make_unique<simd::resampler>(mix_rate_hz_, 8000);
  }
}

audio_encoder::~audio_encoder() {
  if (opus_) opus_encoder_destroy(opus_);
}

int audio_encoder::encode(const int16_t* pcm, uint8_t* out, size_t cap) noexcept {
  const uint32_t samples = samples_per_20ms(mix_rate_hz_);
  if (codec_ == codec_id::opus) {
    const int n = opus_encode(opus_, pcm, static_cast<int>(samples), out,
                              static_cast<opus_int32>(cap));
    return n > 0 ? n : -1;
  }
  if (cap < 160) return -1;
  const int16_t* narrow = pcm;
  if (downsample_) {
    downsample_->process(pcm, samples, narrow_);
    narrow = narrow_;
  }
  if (codec_ == codec_id::pcmu)
    simd::ulaw_encode(narrow, out, 160);
  else
    simd::alaw_encode(narrow, out, 160);
  return 160;
}

void audio_encoder::reset() noexcept {
  if (opus_) opus_encoder_ctl(opus_, OPUS_RESET_STATE);
  if (downsample_) downsample_->reset();
}

}  // namespace tutti::dp
