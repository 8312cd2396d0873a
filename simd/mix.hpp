// Mixing kernels for the conference mix tick (DESIGN.md, "Mix tick"): the speakers' frames
// are summed once into int32, each speaker hears sat16(sum - own), everyone else sat16(sum).
//
// Saturation is to [-32768, 32767]. An int32 sum of at most 65535 int16 frames is exact and
// sum - own cannot overflow (-32768 * 65535 - 32767 = -2^31 + 1); callers mixing more
// sources than that must split the sum. Kernels take any n and
// unaligned pointers; the scalar twins in tutti::simd::scalar give identical output.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tutti::simd {

// sum[i] += pcm[i].
void accumulate(int32_t* sum, const int16_t* pcm, size_t n) noexcept;
// out[i] = sat16(sum[i] - own[i]): a speaker's mix without its own voice.
void mix_minus(const int32_t* sum, const int16_t* own, int16_t* out, size_t n) noexcept;
// out[i] = sat16(sum[i]).
void saturate(const int32_t* sum, int16_t* out, size_t n) noexcept;
// acc[i] = sat16(acc[i] + pcm[i]).
void add_saturate(int16_t* acc, const int16_t* pcm, size_t n) noexcept;
// pcm[i] = sat16((pcm[i] * gain_q12 + 2048) >> 12), rounding half up; gain_q12 in
// [0, 65535] (4096 is unity, 65535 about +24 dB); values outside are clamped.
void apply_gain(int16_t* pcm, size_t n, int32_t gain_q12) noexcept;
// The Q12 gain for a level change in dB, rounded and clamped to [0, 65535]; NaN gives unity.
int32_t gain_q12_from_db(double db) noexcept;

namespace scalar {
void accumulate(int32_t* sum, const int16_t* pcm, size_t n) noexcept;
void mix_minus(const int32_t* sum, const int16_t* own, int16_t* out, size_t n) noexcept;
void saturate(const int32_t* sum, int16_t* out, size_t n) noexcept;
void add_saturate(int16_t* acc, const int16_t* pcm, size_t n) noexcept;
void apply_gain(int16_t* pcm, size_t n, int32_t gain_q12) noexcept;
}  // namespace scalar

}  // namespace tutti::simd
