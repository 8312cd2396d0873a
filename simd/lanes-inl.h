// Lane-order helpers shared by the simd/ kernels, compiled once per Highway target.
//
// Widening int16 -> int32 and narrowing back are where SIMD code pays for cross-lane shuffles.
// On x86 (SSSE3 .. AVX3), EMU128 and NEON, unpack and pack both work within 128-bit blocks, so a
// value widened with widen_lo/widen_hi and narrowed with narrow() returns to its own lane with
// no shuffle at all; elsewhere the helpers fall back to PromoteTo/DemoteTo of vector halves.
// Per-target header in Highway's style: the include guard toggles with HWY_TARGET_TOGGLE.

#if defined(TUTTI_SIMD_LANES_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef TUTTI_SIMD_LANES_INL_H_
#undef TUTTI_SIMD_LANES_INL_H_
#else
#define TUTTI_SIMD_LANES_INL_H_
#endif

#include <hwy/highway.h>

#include <cstddef>
#include <cstdint>

// HWY_SCALAR (one-lane vectors; gcc < 12.3 uses it instead of EMU128 for CPUs without
// SSSE3) has no use for these: the kernels run their scalar twins there.
#if HWY_TARGET != HWY_SCALAR

// Whether interleave and pack operate per 128-bit block (so they are each other's inverse).
#if HWY_ARCH_X86 || HWY_TARGET == HWY_EMU128 || HWY_TARGET == HWY_NEON
#define TUTTI_SIMD_BLOCKWISE 1
#else
#define TUTTI_SIMD_BLOCKWISE 0
#endif

HWY_BEFORE_NAMESPACE();
namespace tutti::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Sign-extends half of the int16 lanes of v to int32. Which half is target-defined: only
// narrow() of (widen_lo, widen_hi) is guaranteed to restore the original lane order.
template <class D32, class V16>
HWY_INLINE hn::VFromD<D32> widen_lo(D32 d32, V16 v) {
#if TUTTI_SIMD_BLOCKWISE
  return hn::ShiftRight<16>(hn::BitCast(d32, hn::InterleaveLower(v, v)));
#else
  return hn::PromoteTo(d32, hn::LowerHalf(v));
#endif
}

template <class D32, class V16>
HWY_INLINE hn::VFromD<D32> widen_hi(D32 d32, V16 v) {
  const hn::Repartition<int16_t, D32> d16;
#if TUTTI_SIMD_BLOCKWISE
  return hn::ShiftRight<16>(hn::BitCast(d32, hn::InterleaveUpper(d16, v, v)));
#else
  return hn::PromoteTo(d32, hn::UpperHalf(hn::Half<decltype(d16)>(), v));
#endif
}

// Saturates int32 lanes to int16: the inverse of widen_lo/widen_hi.
template <class D16, class V32>
HWY_INLINE hn::VFromD<D16> narrow(D16 d16, V32 lo, V32 hi) {
#if TUTTI_SIMD_BLOCKWISE
  return hn::ReorderDemote2To(d16, lo, hi);
#else
  const hn::Half<D16> dh;
  return hn::Combine(d16, hn::DemoteTo(dh, hi), hn::DemoteTo(dh, lo));
#endif
}

// Saturates int32 lanes to int16: all lanes of a, then all lanes of b, in memory order.
template <class D16, class V32>
HWY_INLINE hn::VFromD<D16> narrow_ordered(D16 d16, V32 a, V32 b) {
#if TUTTI_SIMD_BLOCKWISE
  const auto packed = hn::ReorderDemote2To(d16, a, b);
  constexpr size_t kBlocks = hn::MaxLanes(d16) / 8;
  if constexpr (kBlocks <= 1) {
    return packed;
  } else {
    // Each block holds 4 lanes of a then 4 of b (one 64-bit half each): gather the a halves
    // first. One cross-block permute per 2 vectors instead of one per DemoteTo.
    const hn::Repartition<int64_t, D16> d64;
    alignas(64) static constexpr int64_t kIdx2[2 * 2] = {0, 2, 1, 3};
    alignas(64) static constexpr int64_t kIdx4[2 * 4] = {0, 2, 4, 6, 1, 3, 5, 7};
    static_assert(kBlocks == 2 || kBlocks == 4, "unexpected vector size");
    const auto idx = hn::SetTableIndices(d64, kBlocks == 2 ? kIdx2 : kIdx4);
    return hn::BitCast(d16, hn::TableLookupLanes(hn::BitCast(d64, packed), idx));
  }
#else
  const hn::Half<D16> dh;
  return hn::Combine(d16, hn::DemoteTo(dh, b), hn::DemoteTo(dh, a));
#endif
}

// Adds the halves of v until one 128-bit block (4 int32 lanes) is left.
template <class D>
HWY_INLINE auto fold_to_block(D d, hn::VFromD<D> v) {
  if constexpr (hn::MaxLanes(d) * sizeof(hn::TFromD<D>) > 16) {
    const hn::Half<D> dh;
    return fold_to_block(dh, hn::Add(hn::LowerHalf(dh, v), hn::UpperHalf(dh, v)));
  } else {
    return v;
  }
}

// The lane sums of four int32 vectors, as the 4 lanes of one 128-bit vector: a transpose-
// and-add tree, cheaper than four separate horizontal sums (each ending in cross-block
// shuffles).
template <class D32>
HWY_INLINE hn::Vec<hn::Full128<int32_t>> sum4(D32 d32, hn::VFromD<D32> a, hn::VFromD<D32> b,
                                              hn::VFromD<D32> c, hn::VFromD<D32> e) {
#if TUTTI_SIMD_BLOCKWISE
  const hn::Repartition<int64_t, D32> d64;
  // Per block: [a0+a2, b0+b2, a1+a3, b1+b3] and the same for c, e.
  const auto ab = hn::Add(hn::InterleaveLower(a, b), hn::InterleaveUpper(d32, a, b));
  const auto ce = hn::Add(hn::InterleaveLower(c, e), hn::InterleaveUpper(d32, c, e));
  // Per block: [sum a, sum b, sum c, sum e].
  const auto abce = hn::Add(
      hn::BitCast(d32, hn::InterleaveLower(hn::BitCast(d64, ab), hn::BitCast(d64, ce))),
      hn::BitCast(d32, hn::InterleaveUpper(d64, hn::BitCast(d64, ab), hn::BitCast(d64, ce))));
  return fold_to_block(d32, abce);
#else
  alignas(16)
      int32_t sums[4] = {hn::GetLane(hn::SumOfLanes(d32, a)), hn::GetLane(hn::SumOfLanes(d32, b)),
                         hn::GetLane(hn::SumOfLanes(d32, c)), hn::GetLane(hn::SumOfLanes(d32, e))};
  return hn::Load(hn::Full128<int32_t>(), sums);
#endif
}

}  // namespace tutti::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // HWY_TARGET != HWY_SCALAR
#endif  // TUTTI_SIMD_LANES_INL_H_ toggle
