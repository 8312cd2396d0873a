// Polyphase resampler: filter design at construction, chunked processing with history, and
// the dot-product kernels. A window is the branch_len_ input samples ending at the newest
// one; branch taps are stored reversed (oldest sample first) so an output is a plain dot
// product of taps and window. The SIMD kernels multiply-add int16 pairs into int32 lanes
// (pmaddwd on x86) and compute several outputs at once so that one load of a window or of
// a tap vector feeds several accumulators and four sums share one horizontal reduction.
#include "simd/resample.hpp"

#include <cmath>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "simd/fir_design.hpp"

#ifndef TUTTI_SIMD_RESAMPLE_KERNELS_
#define TUTTI_SIMD_RESAMPLE_KERNELS_
namespace tutti::simd::detail {
// The scalar twins of the kernels below (defined at the end of this file).
void scalar_up(const int16_t* buf, size_t first, size_t count, const int16_t* taps, size_t len,
               size_t stride, size_t up, int16_t* out) noexcept;
void scalar_down(const int16_t* buf, size_t first, size_t count, size_t down, const int16_t* taps,
                 size_t len, int16_t* out) noexcept;
}  // namespace tutti::simd::detail
#endif

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/resample.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "simd/lanes-inl.h"

HWY_BEFORE_NAMESPACE();
namespace tutti::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR
// One-lane vectors gain nothing: run the scalar twins.
void up_impl(const int16_t* buf, size_t first, size_t count, const int16_t* taps, size_t len,
             size_t stride, size_t up, int16_t* out) {
  detail::scalar_up(buf, first, count, taps, len, stride, up, out);
}
void down_impl(const int16_t* buf, size_t first, size_t count, size_t down, const int16_t* taps,
               size_t len, int16_t* out) {
  detail::scalar_down(buf, first, count, down, taps, len, out);
}
#else

using d16_t = hn::ScalableTag<int16_t>;
using d32_t = hn::Repartition<int32_t, d16_t>;

// Rounds four filter sums like detail::round_taps and stores the first `valid` of them.
HWY_INLINE void round_store4(hn::Vec<hn::Full128<int32_t> > sums, size_t valid,
                             int16_t* HWY_RESTRICT out) {
  const hn::Full128<int32_t> d4;
  const hn::Full64<int16_t> d4x16;
  const auto rounded = hn::DemoteTo(d4x16, hn::ShiftRight<detail::kTapBits>(hn::Add(
                                               sums, hn::Set(d4, 1 << (detail::kTapBits - 1)))));
  if (valid >= 4) {
    hn::StoreU(rounded, d4x16, out);
  } else if (valid > 0) {
    alignas(16) int16_t tmp[4];
    hn::Store(rounded, d4x16, tmp);
    for (size_t i = 0; i < valid; ++i) out[i] = tmp[i];
  }
}

// Interpolation by L: G consecutive input positions at a time, L branches each. Output
// (k + g) * L + p is branch p's dot product with the window ending at position first + k + g.
template <size_t L, size_t G>
HWY_INLINE void up_groups(const int16_t* HWY_RESTRICT buf, size_t first, size_t count,
                          const int16_t* HWY_RESTRICT taps, size_t len, size_t stride,
                          int16_t* HWY_RESTRICT out) {
  constexpr size_t kAcc = L * G;
  static_assert(kAcc % 4 == 0, "sums are reduced four at a time");
  const d16_t d16;
  const d32_t d32;
  const size_t lanes = hn::Lanes(d16);
  for (size_t k = 0; k < count; k += G) {
    const int16_t* win[G];
    for (size_t g = 0; g < G; ++g) {
      win[g] = buf + first + std::min(k + g, count - 1) - (len - 1);  // past the end: recompute
    }
    hn::Vec<d32_t> even[kAcc];
    hn::Vec<d32_t> odd[kAcc];  // used only where multiply-add keeps odd lanes apart (EMU128)
    for (size_t a = 0; a < kAcc; ++a) even[a] = odd[a] = hn::Zero(d32);
    // Taps past len are zero, so the last vector may run past the window harmlessly.
    for (size_t i = 0; i < len; i += lanes) {
      hn::Vec<d16_t> x[G];
      for (size_t g = 0; g < G; ++g) x[g] = hn::LoadU(d16, win[g] + i);
      for (size_t p = 0; p < L; ++p) {
        const auto t = hn::LoadU(d16, taps + p * stride + i);
        for (size_t g = 0; g < G; ++g) {
          even[g * L + p] =
              hn::ReorderWidenMulAccumulate(d32, t, x[g], even[g * L + p], odd[g * L + p]);
        }
      }
    }
    const size_t valid = std::min(G, count - k) * L;
    for (size_t a = 0; a < kAcc;
         a += 4) {  // a fixed trip count keeps the accumulators in registers
      const auto sums = sum4(d32, hn::RearrangeToOddPlusEven(even[a], odd[a]),
                             hn::RearrangeToOddPlusEven(even[a + 1], odd[a + 1]),
                             hn::RearrangeToOddPlusEven(even[a + 2], odd[a + 2]),
                             hn::RearrangeToOddPlusEven(even[a + 3], odd[a + 3]));
      round_store4(sums, valid > a ? valid - a : 0, out + k * L + a);
    }
  }
}

// Interpolation by L, vertical: each lane is one input position, a pass covers one vector
// of int16 lanes' worth of consecutive positions and needs no horizontal sums. A
// multiply-add lane takes an adjacent pair of samples, so even and odd positions
// accumulate separately (the window of an odd position starts one sample later) and are
// interleaved at the end. Returns the positions done; the rest go to up_groups.
template <size_t L>
HWY_INLINE size_t up_vertical(const int16_t* HWY_RESTRICT buf, size_t first, size_t count,
                              const int16_t* HWY_RESTRICT taps, size_t len, size_t stride,
                              int16_t* HWY_RESTRICT out) {
  const d16_t d16;
  const d32_t d32;
  const size_t block = hn::Lanes(d16);
  const auto half = hn::Set(d32, 1 << (detail::kTapBits - 1));
  size_t k = 0;
  for (; k + block <= count; k += block) {
    const int16_t* base = buf + first + k - (len - 1);
    hn::Vec<d32_t> even[L], even1[L], odd[L], odd1[L];  // *1: odd products apart (EMU128)
    for (size_t p = 0; p < L; ++p) even[p] = even1[p] = odd[p] = odd1[p] = hn::Zero(d32);
    for (size_t i = 0; i < len; i += 2) {
      const auto x_even = hn::LoadU(d16, base + i);
      const auto x_odd = hn::LoadU(d16, base + i + 1);
      for (size_t p = 0; p < L; ++p) {
        int32_t pair;  // taps i and i + 1 of branch p, in every int32 lane
        std::memcpy(&pair, taps + p * stride + i, sizeof(pair));
        const auto t = hn::BitCast(d16, hn::Set(d32, pair));
        even[p] = hn::ReorderWidenMulAccumulate(d32, x_even, t, even[p], even1[p]);
        odd[p] = hn::ReorderWidenMulAccumulate(d32, x_odd, t, odd[p], odd1[p]);
      }
    }
    hn::Vec<d16_t> branch[L];
    for (size_t p = 0; p < L; ++p) {
      const auto e = hn::ShiftRight<detail::kTapBits>(
          hn::Add(hn::RearrangeToOddPlusEven(even[p], even1[p]), half));
      const auto o = hn::ShiftRight<detail::kTapBits>(
          hn::Add(hn::RearrangeToOddPlusEven(odd[p], odd1[p]), half));
      // Interleaving per block then packing per block restores position order.
      branch[p] = narrow(d16, hn::InterleaveLower(e, o), hn::InterleaveUpper(d32, e, o));
    }
    if constexpr (L == 2) {
      hn::StoreInterleaved2(branch[0], branch[1], d16, out + k * L);
    } else {
      static_assert(L == 3, "interpolation by 2 or 3");
      hn::StoreInterleaved3(branch[0], branch[1], branch[2], d16, out + k * L);
    }
  }
  return k;
}

void up_impl(const int16_t* buf, size_t first, size_t count, const int16_t* taps, size_t len,
             size_t stride, size_t up, int16_t* out) {
  size_t done = 0;
  switch (up) {
    case 2:
      done = up_vertical<2>(buf, first, count, taps, len, stride, out);
      return up_groups<2, 2>(buf, first + done, count - done, taps, len, stride, out + done * 2);
    case 3:
      done = up_vertical<3>(buf, first, count, taps, len, stride, out);
      return up_groups<3, 4>(buf, first + done, count - done, taps, len, stride, out + done * 3);
    default:
      HWY_ASSERT(false);  // the constructor admits no other ratio
  }
}

// Decimation by M: four outputs at a time, sharing each tap vector. Output k is the dot
// product with the window ending at position first + k * M.
void down_impl(const int16_t* HWY_RESTRICT buf, size_t first, size_t count, size_t down,
               const int16_t* HWY_RESTRICT taps, size_t len, int16_t* HWY_RESTRICT out) {
  const d16_t d16;
  const d32_t d32;
  const size_t lanes = hn::Lanes(d16);
  for (size_t k = 0; k < count; k += 4) {
    const int16_t* win[4];
    for (size_t g = 0; g < 4; ++g)
      win[g] = buf + first + std::min(k + g, count - 1) * down - (len - 1);
    hn::Vec<d32_t> even[4];
    hn::Vec<d32_t> odd[4];
    for (size_t g = 0; g < 4; ++g) even[g] = odd[g] = hn::Zero(d32);
    for (size_t i = 0; i < len; i += lanes) {
      const auto t = hn::LoadU(d16, taps + i);
      for (size_t g = 0; g < 4; ++g) {
        even[g] =
            hn::ReorderWidenMulAccumulate(d32, t, hn::LoadU(d16, win[g] + i), even[g], odd[g]);
      }
    }
    const auto sums = sum4(d32, hn::RearrangeToOddPlusEven(even[0], odd[0]),
                           hn::RearrangeToOddPlusEven(even[1], odd[1]),
                           hn::RearrangeToOddPlusEven(even[2], odd[2]),
                           hn::RearrangeToOddPlusEven(even[3], odd[3]));
    round_store4(sums, count - k, out + k);
  }
}
#endif  // HWY_TARGET == HWY_SCALAR

}  // namespace tutti::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tutti::simd {
namespace {

HWY_EXPORT(up_impl);
HWY_EXPORT(down_impl);

constexpr double kAttenDb = 70.0;    // stopband target; Q14 rounding adds a floor near -75 dB
constexpr size_t kChunk = 960;       // inputs per pass through a stage's buffer
constexpr size_t kTapAlign = 16;     // branch length granularity (int16 lanes of AVX2)
constexpr size_t kStrideAlign = 32;  // storage granularity (int16 lanes of AVX-512)

size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

}  // namespace

namespace detail {

void scalar_up(const int16_t* buf, size_t first, size_t count, const int16_t* taps, size_t len,
               size_t stride, size_t up, int16_t* out) noexcept {
  for (size_t k = 0; k < count; ++k) {
    const int16_t* win = buf + first + k - (len - 1);
    for (size_t p = 0; p < up; ++p) {
      const int16_t* branch = taps + p * stride;
      int32_t acc = 0;
      for (size_t i = 0; i < len; ++i) acc += branch[i] * win[i];
      out[k * up + p] = round_taps(acc);
    }
  }
}

void scalar_down(const int16_t* buf, size_t first, size_t count, size_t down, const int16_t* taps,
                 size_t len, int16_t* out) noexcept {
  for (size_t k = 0; k < count; ++k) {
    const int16_t* win = buf + first + k * down - (len - 1);
    int32_t acc = 0;
    for (size_t i = 0; i < len; ++i) acc += taps[i] * win[i];
    out[k] = round_taps(acc);
  }
}

fir_stage::fir_stage(int up_, int down_, double rate_hz, double pass_hz, double stop_hz,
                     int delay_multiple)
    : up(up_), down(down_) {
  const size_t min_length = fir::kaiser_length(kAttenDb, (stop_hz - pass_hz) / rate_hz);
  const size_t nbranch = branches();
  size_t len = 0;
  if (up > 1) {
    // Fill whole SIMD vectors per branch; an odd length keeps the delay a whole sample.
    branch_len = round_up((min_length + nbranch - 1) / nbranch, kTapAlign);
    len = nbranch * branch_len - (nbranch * branch_len % 2 == 0 ? 1 : 0);
    delay = static_cast<int>((len - 1) / 2);
  } else {
    // (length - 1) / 2 a multiple of M * delay_multiple: a whole number of output samples.
    const size_t unit = 2 * static_cast<size_t>(down) * static_cast<size_t>(delay_multiple);
    branch_len = round_up(min_length, kTapAlign);
    len = (branch_len - 1) / unit * unit + 1;
    delay = static_cast<int>((len - 1) / 2 / static_cast<size_t>(down));
  }
  length = static_cast<int>(len);
  const auto proto = fir::kaiser_lowpass(len, (pass_hz + stop_hz) / 2.0 / rate_hz,
                                         fir::kaiser_beta(kAttenDb), static_cast<double>(nbranch));

  // Q14 branches, reversed. Rounding leaves each branch's DC gain a few LSB off unity;
  // putting the remainder on the largest tap makes it exact.
  stride = round_up(branch_len, kStrideAlign);
  taps.assign(nbranch * stride, 0);
  for (size_t p = 0; p < nbranch; ++p) {
    int16_t* branch = taps.data() + p * stride;
    int32_t sum = 0;
    size_t largest = 0;
    for (size_t i = 0; i < branch_len; ++i) {
      const size_t k = p + (branch_len - 1 - i) * nbranch;
      const long q = k < len ? std::lround(std::ldexp(proto[k], kTapBits)) : 0;
      if (q < INT16_MIN || q > INT16_MAX) throw std::logic_error("resampler: tap out of range");
      branch[i] = static_cast<int16_t>(q);
      sum += branch[i];
      if (std::abs(branch[i]) > std::abs(branch[largest])) largest = i;
    }
    const int32_t fixed = branch[largest] + ((1 << kTapBits) - sum);
    if (fixed < INT16_MIN || fixed > INT16_MAX)
      throw std::logic_error("resampler: tap out of range");
    branch[largest] = static_cast<int16_t>(fixed);
    // Every partial sum is at most sum|taps| * 32768, plus the rounding term: must fit int32.
    int64_t abs_sum = 0;
    for (size_t i = 0; i < branch_len; ++i) abs_sum += std::abs(branch[i]);
    if (abs_sum * 32768 + (1 << (kTapBits - 1)) > INT32_MAX) {
      throw std::logic_error("resampler: taps could overflow int32 sums");
    }
  }

  history = branch_len - 1;
  // Slack: the last vector of a dot product may read up to stride - branch_len past a window.
  buf.assign(history + kChunk + kStrideAlign, 0);
}

void fir_stage::reset() noexcept {
  std::fill(buf.begin(), buf.end(), int16_t{0});
  phase = 0;
}

template <bool kSimd>
size_t fir_stage::run(const int16_t* in, size_t n_in, int16_t* out) noexcept {
  const size_t l = static_cast<size_t>(up);
  const size_t m = static_cast<size_t>(down);
  size_t written = 0;
  while (n_in > 0) {
    const size_t chunk = std::min(n_in, kChunk);
    std::memcpy(buf.data() + history, in, chunk * sizeof(int16_t));
    if (l > 1) {
      if constexpr (kSimd) {
        HWY_DYNAMIC_DISPATCH(up_impl)
        (buf.data(), history, chunk, taps.data(), branch_len, stride, l, out + written);
      } else {
        scalar_up(buf.data(), history, chunk, taps.data(), branch_len, stride, l, out + written);
      }
      written += chunk * l;
    } else {
      // Outputs fall on inputs whose index since reset is a multiple of M.
      const size_t skip = (m - phase) % m;
      if (skip < chunk) {
        const size_t count = (chunk - skip + m - 1) / m;
        if constexpr (kSimd) {
          HWY_DYNAMIC_DISPATCH(down_impl)
          (buf.data(), history + skip, count, m, taps.data(), branch_len, out + written);
        } else {
          scalar_down(buf.data(), history + skip, count, m, taps.data(), branch_len, out + written);
        }
        written += count;
      }
      phase = (phase + chunk) % m;
    }
    std::memmove(buf.data(), buf.data() + chunk, history * sizeof(int16_t));
    in += chunk;
    n_in -= chunk;
  }
  return written;
}

}  // namespace detail

resampler::resampler(int from_hz, int to_hz) : from_hz_(from_hz), to_hz_(to_hz) {
  if (!supported_rate(from_hz) || !supported_rate(to_hz)) {
    throw std::invalid_argument("resampler: rates must be 8000, 16000 or 48000 Hz");
  }
  // Telephone band for 8 kHz audio, wideband for 16 kHz; stopped at the lower rate's Nyquist.
  const double low = std::min(from_hz, to_hz);
  const double pass_hz = low == 8000 ? 3400.0 : 7000.0;
  const double stop_hz = low / 2.0;
  if (from_hz == to_hz) return;
  if (from_hz == 8000 && to_hz == 48000) {
    // The sharp filter at 16 kHz; the 48 kHz stage only removes images from 12 kHz up.
    stages_.emplace_back(2, 1, 16000.0, pass_hz, stop_hz, 1);
    stages_.emplace_back(3, 1, 48000.0, pass_hz, 12000.0, 1);
    delay_ = stages_[0].delay * 3 + stages_[1].delay;
  } else if (from_hz == 48000 && to_hz == 8000) {
    // First stop 12..24 kHz, which would fold onto 0..4 kHz at 16 kHz; then the sharp filter.
    stages_.emplace_back(1, 3, 48000.0, pass_hz, 12000.0, 2);
    stages_.emplace_back(1, 2, 16000.0, pass_hz, stop_hz, 1);
    delay_ = stages_[0].delay / 2 + stages_[1].delay;
  } else if (to_hz > from_hz) {
    stages_.emplace_back(to_hz / from_hz, 1, static_cast<double>(to_hz), pass_hz, stop_hz, 1);
    delay_ = stages_[0].delay;
  } else {
    stages_.emplace_back(1, from_hz / to_hz, static_cast<double>(from_hz), pass_hz, stop_hz, 1);
    delay_ = stages_[0].delay;
  }
  if (stages_.size() == 2) between_.assign(stages_[0].buf.size() * 2, 0);
}

void resampler::reset() noexcept {
  for (auto& s : stages_) s.reset();
}

template <bool kSimd>
size_t resampler::run(const int16_t* in, size_t n_in, int16_t* out) noexcept {
  if (stages_.empty()) {
    if (n_in > 0) std::memmove(out, in, n_in * sizeof(int16_t));
    return n_in;
  }
  if (stages_.size() == 1) return stages_[0].run<kSimd>(in, n_in, out);
  // Two stages: pieces small enough that the first stage's output fits between_.
  const size_t piece = kChunk / 2;
  size_t written = 0;
  for (size_t i = 0; i < n_in; i += piece) {
    const size_t n = std::min(piece, n_in - i);
    const size_t mid = stages_[0].run<kSimd>(in + i, n, between_.data());
    written += stages_[1].run<kSimd>(between_.data(), mid, out + written);
  }
  return written;
}

size_t resampler::process(const int16_t* in, size_t n_in, int16_t* out) noexcept {
  return run<true>(in, n_in, out);
}

size_t resampler::process_scalar(const int16_t* in, size_t n_in, int16_t* out) noexcept {
  return run<false>(in, n_in, out);
}

}  // namespace tutti::simd
#endif  // HWY_ONCE
