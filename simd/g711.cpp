// G.711 kernels. Encoding finds the segment (position of the leading one of the biased
// magnitude) and the 4-bit step below it; the SIMD version gets both at once from an int ->
// float conversion, whose exponent field is the leading-one position and whose top mantissa
// bits are the step. Decoding rebuilds the segment's start value with a 16-entry byte table
// of powers of two. The scalar twins use std::bit_width and shifts (the G.191 formulas).
#include "simd/g711.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/g711.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include "simd/lanes-inl.h"

HWY_BEFORE_NAMESPACE();
namespace tutti::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR
// One-lane vectors gain nothing: run the scalar twins.
void ulaw_encode_impl(const int16_t* pcm, uint8_t* out, size_t n) {
  scalar::ulaw_encode(pcm, out, n);
}
void alaw_encode_impl(const int16_t* pcm, uint8_t* out, size_t n) {
  scalar::alaw_encode(pcm, out, n);
}
void ulaw_decode_impl(const uint8_t* in, int16_t* pcm, size_t n) {
  scalar::ulaw_decode(in, pcm, n);
}
void alaw_decode_impl(const uint8_t* in, int16_t* pcm, size_t n) {
  scalar::alaw_decode(in, pcm, n);
}
#else

using d16_t = hn::ScalableTag<int16_t>;
using v16_t = hn::Vec<d16_t>;

// Segment * 16 + step of positive integer lanes v (< 2^24): the float's biased exponent and
// top four mantissa bits, minus `bias` = (127 + leading-one position of segment 1's start) * 16.
HWY_INLINE v16_t segment_step(d16_t d16, v16_t v, int16_t bias) {
  const hn::Repartition<int32_t, d16_t> d32;
  const hn::Repartition<float, d16_t> df;
  const auto lo = hn::BitCast(d32, hn::ConvertTo(df, widen_lo(d32, v)));
  const auto hi = hn::BitCast(d32, hn::ConvertTo(df, widen_hi(d32, v)));
  return hn::Sub(narrow(d16, hn::ShiftRight<19>(lo), hn::ShiftRight<19>(hi)), hn::Set(d16, bias));
}

HWY_INLINE v16_t ulaw_encode_vec(d16_t d16, v16_t x) {
  const auto sign = hn::ShiftRight<15>(x);  // -1 where negative
  const auto mag = hn::Xor(x, sign);        // one's complement magnitude, 0..32767
  // 14-bit magnitude plus the µ-law bias of 33, clipped at the top of segment 7.
  const auto v = hn::Min(hn::Add(hn::ShiftRight<2>(mag), hn::Set(d16, 33)), hn::Set(d16, 8191));
  // v's leading one is at bit 5 (segment 0) .. 12 (segment 7).
  const auto idx = segment_step(d16, v, (127 + 5) * 16);
  // G.711 sends the code inverted: positive codes are 0xFF - idx, negative ones 0x7F - idx.
  const auto flip = hn::Xor(hn::Set(d16, 0xFF), hn::And(sign, hn::Set(d16, 0x80)));
  return hn::Xor(idx, flip);
}

HWY_INLINE v16_t alaw_encode_vec(d16_t d16, v16_t x) {
  const auto sign = hn::ShiftRight<15>(x);
  const auto mag = hn::ShiftRight<4>(hn::Xor(x, sign));  // 12-bit magnitude, 0..2047
  // Magnitudes of 16 and up have their leading one at bit 4 (segment 1) .. 10 (segment 7).
  // Below 32 the code is the magnitude itself, and there the float formula gives at most that.
  const auto idx = hn::Max(segment_step(d16, mag, (127 + 3) * 16), hn::Min(mag, hn::Set(d16, 31)));
  // Sign bit set for positive samples, then G.711's even-bit inversion (xor 0x55).
  const auto flip = hn::Xor(hn::Set(d16, 0xD5), hn::And(sign, hn::Set(d16, 0x80)));
  return hn::Xor(idx, flip);
}

HWY_INLINE v16_t ulaw_decode_vec(d16_t d16, v16_t c) {
  const hn::Repartition<uint8_t, d16_t> d8;
  // Index 8 + e yields 2^e; index 0 (the high byte of each 16-bit lane) yields 0.
  alignas(16) static constexpr uint8_t kPow2[16] = {0, 0, 0, 0, 0,  0,  0,  0,
                                                    1, 2, 4, 8, 16, 32, 64, 128};
  const auto u = hn::Xor(c, hn::Set(d16, 0xFF));                  // undo the inversion
  const auto e8 = hn::Or(hn::ShiftRight<4>(u), hn::Set(d16, 8));  // 8 + segment
  const auto pow2 = hn::TableLookupBytes(hn::LoadDup128(d8, kPow2), e8);
  const auto step = hn::And(u, hn::Set(d16, 0x0F));
  // ((2 * step + 33) << segment) * 4 - 132: the step's midpoint, biased, in 16-bit scale.
  const auto t = hn::Mul(hn::Add(hn::ShiftLeft<3>(step), hn::Set(d16, 132)), pow2);
  const auto mag = hn::Sub(t, hn::Set(d16, 132));
  const auto neg = hn::Neg(hn::ShiftRight<7>(u));  // -1 where the code is negative
  return hn::Sub(hn::Xor(mag, neg), neg);
}

HWY_INLINE v16_t alaw_decode_vec(d16_t d16, v16_t c) {
  const hn::Repartition<uint8_t, d16_t> d8;
  alignas(16) static constexpr uint8_t kShift[16] = {0, 0, 0, 0, 0, 0,  0,  0,
                                                     1, 1, 2, 4, 8, 16, 32, 64};
  alignas(16) static constexpr uint8_t kLead[16] = {0, 0,  0,  0,  0,  0,  0,  0,
                                                    0, 16, 16, 16, 16, 16, 16, 16};
  const auto ix = hn::Xor(c, hn::Set(d16, 0x55));                  // undo even-bit inversion
  const auto e8 = hn::Or(hn::ShiftRight<4>(ix), hn::Set(d16, 8));  // 8 + segment
  const auto shift = hn::TableLookupBytes(hn::LoadDup128(d8, kShift), e8);
  const auto lead = hn::TableLookupBytes(hn::LoadDup128(d8, kLead), e8);
  const auto step = hn::And(ix, hn::Set(d16, 0x0F));
  // Segments 1..7 have an implicit leading one above the 4 step bits; +8 is the midpoint.
  const auto base = hn::Add(hn::ShiftLeft<4>(hn::Add(step, lead)), hn::Set(d16, 8));
  const auto mag = hn::Mul(base, shift);
  const auto neg = hn::Sub(hn::ShiftRight<7>(ix), hn::Set(d16, 1));  // bit 7 set: positive
  return hn::Sub(hn::Xor(mag, neg), neg);
}

// Runs `encode` over n samples; the last partial vector goes through a zero-padded copy.
template <class Encode>
HWY_INLINE void encode_loop(const int16_t* HWY_RESTRICT pcm, uint8_t* HWY_RESTRICT out, size_t n,
                            Encode encode) {
  const d16_t d16;
  const hn::Rebind<uint8_t, d16_t> d8;
  const size_t lanes = hn::Lanes(d16);
  size_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    const auto a = encode(d16, hn::LoadU(d16, pcm + i));
    const auto b = encode(d16, hn::LoadU(d16, pcm + i + lanes));
    hn::StoreU(hn::DemoteTo(d8, a), d8, out + i);
    hn::StoreU(hn::DemoteTo(d8, b), d8, out + i + lanes);
  }
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(hn::DemoteTo(d8, encode(d16, hn::LoadU(d16, pcm + i))), d8, out + i);
  }
  if (i < n) {
    HWY_ALIGN int16_t in_buf[HWY_MAX_BYTES / sizeof(int16_t)] = {};
    HWY_ALIGN uint8_t out_buf[HWY_MAX_BYTES / sizeof(int16_t)];
    std::memcpy(in_buf, pcm + i, (n - i) * sizeof(int16_t));
    hn::Store(hn::DemoteTo(d8, encode(d16, hn::Load(d16, in_buf))), d8, out_buf);
    std::memcpy(out + i, out_buf, n - i);
  }
}

template <class Decode>
HWY_INLINE void decode_loop(const uint8_t* HWY_RESTRICT in, int16_t* HWY_RESTRICT pcm, size_t n,
                            Decode decode) {
  const d16_t d16;
  const hn::Rebind<uint8_t, d16_t> d8;
  const size_t lanes = hn::Lanes(d16);
  size_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    const auto a = decode(d16, hn::PromoteTo(d16, hn::LoadU(d8, in + i)));
    const auto b = decode(d16, hn::PromoteTo(d16, hn::LoadU(d8, in + i + lanes)));
    hn::StoreU(a, d16, pcm + i);
    hn::StoreU(b, d16, pcm + i + lanes);
  }
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(decode(d16, hn::PromoteTo(d16, hn::LoadU(d8, in + i))), d16, pcm + i);
  }
  if (i < n) {
    HWY_ALIGN uint8_t in_buf[HWY_MAX_BYTES / sizeof(int16_t)] = {};
    HWY_ALIGN int16_t out_buf[HWY_MAX_BYTES / sizeof(int16_t)];
    std::memcpy(in_buf, in + i, n - i);
    hn::Store(decode(d16, hn::PromoteTo(d16, hn::Load(d8, in_buf))), d16, out_buf);
    std::memcpy(pcm + i, out_buf, (n - i) * sizeof(int16_t));
  }
}

void ulaw_encode_impl(const int16_t* pcm, uint8_t* out, size_t n) {
  encode_loop(pcm, out, n, [](d16_t d, v16_t x) HWY_ATTR { return ulaw_encode_vec(d, x); });
}
void alaw_encode_impl(const int16_t* pcm, uint8_t* out, size_t n) {
  encode_loop(pcm, out, n, [](d16_t d, v16_t x) HWY_ATTR { return alaw_encode_vec(d, x); });
}
void ulaw_decode_impl(const uint8_t* in, int16_t* pcm, size_t n) {
  decode_loop(in, pcm, n, [](d16_t d, v16_t c) HWY_ATTR { return ulaw_decode_vec(d, c); });
}
void alaw_decode_impl(const uint8_t* in, int16_t* pcm, size_t n) {
  decode_loop(in, pcm, n, [](d16_t d, v16_t c) HWY_ATTR { return alaw_decode_vec(d, c); });
}
#endif  // HWY_TARGET == HWY_SCALAR

}  // namespace tutti::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tutti::simd {

HWY_EXPORT(ulaw_encode_impl);
HWY_EXPORT(ulaw_decode_impl);
HWY_EXPORT(alaw_encode_impl);
HWY_EXPORT(alaw_decode_impl);

void ulaw_encode(const int16_t* pcm, uint8_t* out, size_t n) noexcept {
  HWY_DYNAMIC_DISPATCH(ulaw_encode_impl)(pcm, out, n);
}
void ulaw_decode(const uint8_t* in, int16_t* pcm, size_t n) noexcept {
  HWY_DYNAMIC_DISPATCH(ulaw_decode_impl)(in, pcm, n);
}
void alaw_encode(const int16_t* pcm, uint8_t* out, size_t n) noexcept {
  HWY_DYNAMIC_DISPATCH(alaw_encode_impl)(pcm, out, n);
}
void alaw_decode(const uint8_t* in, int16_t* pcm, size_t n) noexcept {
  HWY_DYNAMIC_DISPATCH(alaw_decode_impl)(in, pcm, n);
}

namespace scalar {

void ulaw_encode(const int16_t* pcm, uint8_t* out, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i) {
    const int x = pcm[i];
    const int mag = x < 0 ? ~x : x;                 // G.191: one's complement magnitude
    const int v = std::min((mag >> 2) + 33, 8191);  // biased 14-bit magnitude
    const int seg = std::bit_width(static_cast<unsigned>(v)) - 6;
    const int idx = (seg << 4) | ((v >> (seg + 1)) & 0x0F);
    out[i] = static_cast<uint8_t>(idx ^ (x < 0 ? 0x7F : 0xFF));
  }
}

void ulaw_decode(const uint8_t* in, int16_t* pcm, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i) {
    const int u = ~in[i] & 0xFF;
    const int seg = (u >> 4) & 0x07;
    const int t = (((u & 0x0F) << 3) + 132) << seg;
    pcm[i] = static_cast<int16_t>((u & 0x80) ? 132 - t : t - 132);
  }
}

void alaw_encode(const int16_t* pcm, uint8_t* out, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i) {
    const int x = pcm[i];
    const int mag = (x < 0 ? ~x : x) >> 4;  // 12-bit magnitude
    int idx = mag;                          // segments 0 and 1: the magnitude itself
    if (mag >= 32) {
      const int lead = std::bit_width(static_cast<unsigned>(mag)) - 1;  // 5..10
      idx = ((lead - 3) << 4) | ((mag >> (lead - 4)) & 0x0F);
    }
    out[i] = static_cast<uint8_t>((x < 0 ? idx : idx | 0x80) ^ 0x55);
  }
}

void alaw_decode(const uint8_t* in, int16_t* pcm, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i) {
    const int ix = in[i] ^ 0x55;
    const int seg = (ix >> 4) & 0x07;
    int mag = ((ix & 0x0F) << 4) + 8;
    if (seg > 0) mag += 0x100;
    if (seg > 1) mag <<= seg - 1;
    pcm[i] = static_cast<int16_t>((ix & 0x80) ? mag : -mag);
  }
}

}  // namespace scalar
}  // namespace tutti::simd
#endif  // HWY_ONCE
