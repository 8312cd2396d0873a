// The Internet checksum (RFC 1071) and its incremental update (RFC 1624), shared by the
// IPv4 header, UDP and ICMP.
//
// Model: ones_sum() is the folded 16-bit one's-complement sum of big-endian words, not yet
// complemented; sums of pieces combine with ones_add(). A checksum field holds the
// complement of the sum over its bytes with the field zeroed, so a received header
// verifies when the sum over everything, field included, is 0xffff.
#pragma once

#include <cstdint>
#include <span>

namespace tutti::dp::net {

// One's-complement sum of two folded sums (RFC 1071 §2 (A): commutative and associative).
constexpr uint16_t ones_add(uint16_t a, uint16_t b) noexcept {
  const uint32_t s = uint32_t{a} + b;
  return static_cast<uint16_t>((s & 0xffff) + (s >> 16));
}

// Folded one's-complement sum of `bytes` read as big-endian 16-bit words, an odd last byte
// padded with zero (RFC 1071 §4.1), added to `initial`. The span must start at an even
// offset of the checksummed data.
uint16_t ones_sum(std::span<const uint8_t> bytes, uint16_t initial = 0) noexcept;

// The checksum to store: the complement of the sum.
inline uint16_t internet_checksum(std::span<const uint8_t> bytes, uint16_t initial = 0) noexcept {
  return static_cast<uint16_t>(~ones_sum(bytes, initial));
}

// Sum of the IPv4 pseudo-header (RFC 768; RFC 9293 §3.1): source, destination, protocol
// and the transport length, all host order. NIC checksum offload expects this sum
// (uncomplemented) in the UDP checksum field.
constexpr uint16_t ipv4_pseudo_sum(uint32_t src, uint32_t dst, uint8_t protocol,
                                   uint16_t length) noexcept {
  uint16_t s = ones_add(static_cast<uint16_t>(src >> 16), static_cast<uint16_t>(src));
  s = ones_add(s, static_cast<uint16_t>(dst >> 16));
  s = ones_add(s, static_cast<uint16_t>(dst));
  s = ones_add(s, protocol);
  return ones_add(s, length);
}

// A stored checksum after one 16-bit word of the covered data changes from `old_word` to
// `new_word` (RFC 1624 §3, eqn. 3: HC' = ~(~HC + ~m + m')).
constexpr uint16_t checksum_update16(uint16_t checksum, uint16_t old_word,
                                     uint16_t new_word) noexcept {
  uint16_t s = ones_add(static_cast<uint16_t>(~checksum), static_cast<uint16_t>(~old_word));
  s = ones_add(s, new_word);
  return static_cast<uint16_t>(~s);
}

// Same for a 32-bit field (an address): two word updates.
constexpr uint16_t checksum_update32(uint16_t checksum, uint32_t old_value,
                                     uint32_t new_value) noexcept {
  checksum = checksum_update16(checksum, static_cast<uint16_t>(old_value >> 16),
                               static_cast<uint16_t>(new_value >> 16));
  return checksum_update16(checksum, static_cast<uint16_t>(old_value),
                           static_cast<uint16_t>(new_value));
}

}  // namespace tutti::dp::net
