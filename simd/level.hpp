// Signal energy and the RFC 6464 audio level of a frame of linear PCM.
//
// RFC 6464 §3 expresses the level in -dBov, 0..127 meaning 0..-127 dBov, where 0 dBov is the
// overload point: the RMS of a full-scale square wave (±32767 for 16-bit PCM). The level is
// the frame's RMS relative to that, rounded to the nearest dB; digital silence is 127.
// A full-scale sine therefore reads 3, and a sine of amplitude 3277 (a tenth) reads 23.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tutti::simd {

// Sum of pcm[i]^2, exact.
uint64_t energy(const int16_t* pcm, size_t n) noexcept;
// RFC 6464 level of n samples: 0 (0 dBov) .. 127 (-127 dBov or quieter, or n == 0).
uint8_t level_dbov(const int16_t* pcm, size_t n) noexcept;
// The same level from an energy already computed over n samples.
uint8_t level_from_energy(uint64_t energy, size_t n) noexcept;

namespace scalar {
uint64_t energy(const int16_t* pcm, size_t n) noexcept;
uint8_t level_dbov(const int16_t* pcm, size_t n) noexcept;
}  // namespace scalar

}  // namespace tutti::simd
