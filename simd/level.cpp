// Energy kernel: pairwise int16 multiply-add into int32 (each pair sum of squares is at most
// 2^31, exact as uint32), widened to uint64 lanes before it can overflow.
#include "simd/level.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/level.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace tutti::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR
// One-lane vectors gain nothing: run the scalar twin.
uint64_t energy_impl(const int16_t* pcm, size_t n) { return scalar::energy(pcm, n); }
#else

using d16_t = hn::ScalableTag<int16_t>;
using d64_t = hn::Repartition<uint64_t, d16_t>;

// acc + the sum of squares of v, spread over uint64 lanes.
HWY_INLINE hn::Vec<d64_t> add_squares(hn::Vec<d64_t> acc, hn::Vec<d16_t> v) {
  const hn::Repartition<int32_t, d16_t> d32;
  const d64_t d64;
  auto odd = hn::Zero(d32);
  const auto even = hn::ReorderWidenMulAccumulate(d32, v, v, hn::Zero(d32), odd);
  // x0^2 + x1^2 <= 2 * 32768^2 = 2^31: read the int32 lanes as uint32.
  const auto pairs = hn::BitCast(d64, hn::RearrangeToOddPlusEven(even, odd));
  const auto low = hn::And(pairs, hn::Set(d64, 0xFFFFFFFFu));
  return hn::Add(acc, hn::Add(low, hn::ShiftRight<32>(pairs)));
}

uint64_t energy_impl(const int16_t* HWY_RESTRICT pcm, size_t n) {
  const d16_t d16;
  const d64_t d64;
  const size_t lanes = hn::Lanes(d16);
  // Two accumulators so consecutive vectors do not wait on each other's add.
  auto acc0 = hn::Zero(d64);
  auto acc1 = hn::Zero(d64);
  size_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    acc0 = add_squares(acc0, hn::LoadU(d16, pcm + i));
    acc1 = add_squares(acc1, hn::LoadU(d16, pcm + i + lanes));
  }
  for (; i + lanes <= n; i += lanes) acc0 = add_squares(acc0, hn::LoadU(d16, pcm + i));
  if (i < n) {
    HWY_ALIGN int16_t tail[HWY_MAX_BYTES / sizeof(int16_t)] = {};  // zeros add nothing
    std::memcpy(tail, pcm + i, (n - i) * sizeof(int16_t));
    acc1 = add_squares(acc1, hn::Load(d16, tail));
  }
  return hn::GetLane(hn::SumOfLanes(d64, hn::Add(acc0, acc1)));
}
#endif  // HWY_TARGET == HWY_SCALAR

}  // namespace tutti::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tutti::simd {

HWY_EXPORT(energy_impl);

uint64_t energy(const int16_t* pcm, size_t n) noexcept {
  return HWY_DYNAMIC_DISPATCH(energy_impl)(pcm, n);
}

uint8_t level_from_energy(uint64_t energy, size_t n) noexcept {
  if (n == 0 || energy == 0) return 127;  // RFC 6464 §3: digital silence is 127
  constexpr double kOverload = 32767.0;   // RMS of a full-scale square wave
  const double mean_square = static_cast<double>(energy) / static_cast<double>(n);
  const double dbov = 10.0 * std::log10(mean_square / (kOverload * kOverload));
  return static_cast<uint8_t>(std::clamp(std::lround(-dbov), 0L, 127L));
}

uint8_t level_dbov(const int16_t* pcm, size_t n) noexcept {
  return level_from_energy(energy(pcm, n), n);
}

namespace scalar {

uint64_t energy(const int16_t* pcm, size_t n) noexcept {
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += static_cast<uint64_t>(int32_t{pcm[i]} * pcm[i]);
  return sum;
}

uint8_t level_dbov(const int16_t* pcm, size_t n) noexcept {
  return level_from_energy(scalar::energy(pcm, n), n);
}

}  // namespace scalar
}  // namespace tutti::simd
#endif  // HWY_ONCE
