// Mixing kernels. The int32 <-> int16 kernels work in units of one int32 vector (half an
// int16 vector), two at a time so each pass stores one full int16 vector; partial vectors at
// the end go through small zero-padded stack copies, so any n and alignment is fine.
#include "simd/mix.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/mix.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "simd/lanes-inl.h"

HWY_BEFORE_NAMESPACE();
namespace tutti::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR
// One-lane vectors gain nothing: run the scalar twins.
void accumulate_impl(int32_t* sum, const int16_t* pcm, size_t n) {
  scalar::accumulate(sum, pcm, n);
}
void mix_minus_impl(const int32_t* sum, const int16_t* own, int16_t* out, size_t n) {
  scalar::mix_minus(sum, own, out, n);
}
void saturate_impl(const int32_t* sum, int16_t* out, size_t n) { scalar::saturate(sum, out, n); }
void add_saturate_impl(int16_t* acc, const int16_t* pcm, size_t n) {
  scalar::add_saturate(acc, pcm, n);
}
void apply_gain_impl(int16_t* pcm, size_t n, int32_t gain_q12) {
  scalar::apply_gain(pcm, n, gain_q12);
}
#else

using d32_t = hn::ScalableTag<int32_t>;
using d16h_t = hn::Rebind<int16_t, d32_t>;      // as many int16 lanes as int32 lanes
using d16_t = hn::Repartition<int16_t, d32_t>;  // a full vector of int16 lanes
constexpr size_t kMaxLanes32 = HWY_MAX_BYTES / sizeof(int32_t);

void accumulate_impl(int32_t* HWY_RESTRICT sum, const int16_t* HWY_RESTRICT pcm, size_t n) {
  const d32_t d32;
  const d16h_t d16h;
  const size_t lanes = hn::Lanes(d32);
  size_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    const auto a = hn::Add(hn::LoadU(d32, sum + i), hn::PromoteTo(d32, hn::LoadU(d16h, pcm + i)));
    const auto b = hn::Add(hn::LoadU(d32, sum + i + lanes),
                           hn::PromoteTo(d32, hn::LoadU(d16h, pcm + i + lanes)));
    hn::StoreU(a, d32, sum + i);
    hn::StoreU(b, d32, sum + i + lanes);
  }
  for (; i + lanes <= n; i += lanes) {
    const auto a = hn::Add(hn::LoadU(d32, sum + i), hn::PromoteTo(d32, hn::LoadU(d16h, pcm + i)));
    hn::StoreU(a, d32, sum + i);
  }
  if (i < n) {
    HWY_ALIGN int32_t s[kMaxLanes32] = {};
    HWY_ALIGN int16_t p[kMaxLanes32] = {};
    std::memcpy(s, sum + i, (n - i) * sizeof(int32_t));
    std::memcpy(p, pcm + i, (n - i) * sizeof(int16_t));
    hn::Store(hn::Add(hn::Load(d32, s), hn::PromoteTo(d32, hn::Load(d16h, p))), d32, s);
    std::memcpy(sum + i, s, (n - i) * sizeof(int32_t));
  }
}

// out = sat16(sum - own), or sat16(sum) without own (a compile-time choice).
template <bool kMinus>
HWY_INLINE void narrow_loop(const int32_t* HWY_RESTRICT sum, const int16_t* HWY_RESTRICT own,
                            int16_t* HWY_RESTRICT out, size_t n) {
  const d32_t d32;
  const d16h_t d16h;
  const d16_t d16;
  const size_t lanes = hn::Lanes(d32);
  const auto load = [&](const int32_t* s, const int16_t* o, size_t k) HWY_ATTR {
    if constexpr (kMinus) {
      return hn::Sub(hn::LoadU(d32, s + k), hn::PromoteTo(d32, hn::LoadU(d16h, o + k)));
    } else {
      (void)o;
      return hn::LoadU(d32, s + k);
    }
  };
  size_t i = 0;
  // Two int16 vectors per pass: four independent load/subtract chains for the core to overlap.
  for (; i + 4 * lanes <= n; i += 4 * lanes) {
    const auto a = load(sum, own, i);
    const auto b = load(sum, own, i + lanes);
    const auto c = load(sum, own, i + 2 * lanes);
    const auto e = load(sum, own, i + 3 * lanes);
    hn::StoreU(narrow_ordered(d16, a, b), d16, out + i);
    hn::StoreU(narrow_ordered(d16, c, e), d16, out + i + 2 * lanes);
  }
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(hn::DemoteTo(d16h, load(sum, own, i)), d16h, out + i);
  }
  if (i < n) {
    HWY_ALIGN int32_t s[kMaxLanes32] = {};
    HWY_ALIGN int16_t o[kMaxLanes32] = {};
    HWY_ALIGN int16_t r[kMaxLanes32];
    std::memcpy(s, sum + i, (n - i) * sizeof(int32_t));
    if constexpr (kMinus) std::memcpy(o, own + i, (n - i) * sizeof(int16_t));
    hn::Store(hn::DemoteTo(d16h, load(s, o, 0)), d16h, r);
    std::memcpy(out + i, r, (n - i) * sizeof(int16_t));
  }
}

void mix_minus_impl(const int32_t* sum, const int16_t* own, int16_t* out, size_t n) {
  narrow_loop<true>(sum, own, out, n);
}

void saturate_impl(const int32_t* sum, int16_t* out, size_t n) {
  narrow_loop<false>(sum, nullptr, out, n);
}

void add_saturate_impl(int16_t* HWY_RESTRICT acc, const int16_t* HWY_RESTRICT pcm, size_t n) {
  const d16_t d16;
  const size_t lanes = hn::Lanes(d16);
  size_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    const auto a = hn::SaturatedAdd(hn::LoadU(d16, acc + i), hn::LoadU(d16, pcm + i));
    const auto b =
        hn::SaturatedAdd(hn::LoadU(d16, acc + i + lanes), hn::LoadU(d16, pcm + i + lanes));
    hn::StoreU(a, d16, acc + i);
    hn::StoreU(b, d16, acc + i + lanes);
  }
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(hn::SaturatedAdd(hn::LoadU(d16, acc + i), hn::LoadU(d16, pcm + i)), d16, acc + i);
  }
  if (i < n) {
    HWY_ALIGN int16_t a[HWY_MAX_BYTES / sizeof(int16_t)] = {};
    HWY_ALIGN int16_t p[HWY_MAX_BYTES / sizeof(int16_t)] = {};
    std::memcpy(a, acc + i, (n - i) * sizeof(int16_t));
    std::memcpy(p, pcm + i, (n - i) * sizeof(int16_t));
    hn::Store(hn::SaturatedAdd(hn::Load(d16, a), hn::Load(d16, p)), d16, a);
    std::memcpy(acc + i, a, (n - i) * sizeof(int16_t));
  }
}

HWY_INLINE hn::Vec<d16_t> gain_vec(d16_t d16, hn::Vec<d16_t> v, hn::Vec<d32_t> gain) {
  const d32_t d32;
  const auto round = hn::Set(d32, 2048);
  // |pcm * gain| <= 32768 * 65535 < 2^31 - 2048: exact in int32.
  const auto lo = hn::ShiftRight<12>(hn::Add(hn::Mul(widen_lo(d32, v), gain), round));
  const auto hi = hn::ShiftRight<12>(hn::Add(hn::Mul(widen_hi(d32, v), gain), round));
  return narrow(d16, lo, hi);
}

void apply_gain_impl(int16_t* HWY_RESTRICT pcm, size_t n, int32_t gain_q12) {
  const d16_t d16;
  const d32_t d32;
  const auto gain = hn::Set(d32, gain_q12);
  const size_t lanes = hn::Lanes(d16);
  size_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    const auto a = gain_vec(d16, hn::LoadU(d16, pcm + i), gain);
    const auto b = gain_vec(d16, hn::LoadU(d16, pcm + i + lanes), gain);
    hn::StoreU(a, d16, pcm + i);
    hn::StoreU(b, d16, pcm + i + lanes);
  }
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(gain_vec(d16, hn::LoadU(d16, pcm + i), gain), d16, pcm + i);
  }
  if (i < n) {
    HWY_ALIGN int16_t p[HWY_MAX_BYTES / sizeof(int16_t)] = {};
    std::memcpy(p, pcm + i, (n - i) * sizeof(int16_t));
    hn::Store(gain_vec(d16, hn::Load(d16, p), gain), d16, p);
    std::memcpy(pcm + i, p, (n - i) * sizeof(int16_t));
  }
}
#endif  // HWY_TARGET == HWY_SCALAR

}  // namespace tutti::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tutti::simd {
namespace {

int16_t sat16(int32_t v) noexcept {
  return static_cast<int16_t>(std::clamp<int32_t>(v, INT16_MIN, INT16_MAX));
}

int32_t clamp_gain(int32_t gain_q12) noexcept { return std::clamp<int32_t>(gain_q12, 0, 65535); }

}  // namespace

HWY_EXPORT(accumulate_impl);
HWY_EXPORT(mix_minus_impl);
HWY_EXPORT(saturate_impl);
HWY_EXPORT(add_saturate_impl);
HWY_EXPORT(apply_gain_impl);

void accumulate(int32_t* sum, const int16_t* pcm, size_t n) noexcept {
  HWY_DYNAMIC_DISPATCH(accumulate_impl)(sum, pcm, n);
}
void mix_minus(const int32_t* sum, const int16_t* own, int16_t* out, size_t n) noexcept {
  HWY_DYNAMIC_DISPATCH(mix_minus_impl)(sum, own, out, n);
}
void saturate(const int32_t* sum, int16_t* out, size_t n) noexcept {
  HWY_DYNAMIC_DISPATCH(saturate_impl)(sum, out, n);
}
void add_saturate(int16_t* acc, const int16_t* pcm, size_t n) noexcept {
  HWY_DYNAMIC_DISPATCH(add_saturate_impl)(acc, pcm, n);
}
void apply_gain(int16_t* pcm, size_t n, int32_t gain_q12) noexcept {
  HWY_DYNAMIC_DISPATCH(apply_gain_impl)(pcm, n, clamp_gain(gain_q12));
}

int32_t gain_q12_from_db(double db) noexcept {
  if (std::isnan(db)) return 4096;
  const double g = std::round(4096.0 * std::pow(10.0, std::clamp(db, -200.0, 100.0) / 20.0));
  return static_cast<int32_t>(std::clamp(g, 0.0, 65535.0));
}

namespace scalar {

void accumulate(int32_t* sum, const int16_t* pcm, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i) sum[i] += pcm[i];
}

void mix_minus(const int32_t* sum, const int16_t* own, int16_t* out, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i) out[i] = sat16(sum[i] - own[i]);
}

void saturate(const int32_t* sum, int16_t* out, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i) out[i] = sat16(sum[i]);
}

void add_saturate(int16_t* acc, const int16_t* pcm, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i) acc[i] = sat16(int32_t{acc[i]} + pcm[i]);
}

void apply_gain(int16_t* pcm, size_t n, int32_t gain_q12) noexcept {
  const int32_t gain = clamp_gain(gain_q12);
  for (size_t i = 0; i < n; ++i) pcm[i] = sat16((pcm[i] * gain + 2048) >> 12);
}

}  // namespace scalar
}  // namespace tutti::simd
#endif  // HWY_ONCE
