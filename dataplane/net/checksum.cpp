#include "dataplane/net/checksum.hpp"

#include <bit>
#include <cstring>

namespace tutti::dp::net {

uint16_t ones_sum(std::span<const uint8_t> bytes, uint16_t initial) noexcept {
  // Sum native-order 32-bit words into 64 bits: no carry can be lost below 2^32 words, and
  // the one's-complement sum is byte-order independent (RFC 1071 §2 (B)), so a single swap
  // of the folded result gives the big-endian sum.
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  uint64_t acc = 0;
  for (; n >= 16; n -= 16, p += 16) {
    uint32_t w[4];
    std::memcpy(w, p, sizeof w);
    acc += uint64_t{w[0]} + w[1] + w[2] + w[3];
  }
  for (; n >= 4; n -= 4, p += 4) {
    uint32_t w;
    std::memcpy(&w, p, sizeof w);
    acc += w;
  }
  if (n >= 2) {
    uint16_t w;
    std::memcpy(&w, p, sizeof w);
    acc += w;
    n -= 2;
    p += 2;
  }
  if (n == 1) {
    // The odd byte is the high half of a big-endian word padded with zero.
    uint8_t pad[2] = {p[0], 0};
    uint16_t w;
    std::memcpy(&w, pad, sizeof w);
    acc += w;
  }
  acc = (acc & 0xffffffff) + (acc >> 32);
  acc = (acc & 0xffffffff) + (acc >> 32);
  uint32_t s32 = static_cast<uint32_t>(acc);
  s32 = (s32 & 0xffff) + (s32 >> 16);
  s32 = (s32 & 0xffff) + (s32 >> 16);
  uint16_t s = static_cast<uint16_t>(s32);
  if constexpr (std::endian::native == std::endian::little) s = __builtin_bswap16(s);
  return ones_add(s, initial);
}

}  // namespace tutti::dp::net
