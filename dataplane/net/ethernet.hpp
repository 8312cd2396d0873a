// Ethernet II framing (IEEE 802.3 with an EtherType): the 14-byte header in front of every
// frame the DPDK backend sends or receives. No VLAN tags: a tagged frame is "not IPv4".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dataplane/net/bytes.hpp"

namespace tutti::dp::net {

inline constexpr size_t eth_header_len = 14;
inline constexpr size_t eth_min_frame_len = 60;  // without FCS; shorter frames are padded
inline constexpr uint16_t ethertype_ipv4 = 0x0800;
inline constexpr uint16_t ethertype_arp = 0x0806;

struct mac_addr {
  std::array<uint8_t, 6> bytes{};

  static constexpr mac_addr broadcast() noexcept { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  // Group bit: the least significant bit of the first octet (IEEE 802 §8.2).
  constexpr bool is_multicast() const noexcept { return (bytes[0] & 1) != 0; }
  constexpr bool is_zero() const noexcept { return to_u64() == 0; }
  // The six octets in the low 48 bits of an integer, first octet highest.
  constexpr uint64_t to_u64() const noexcept {
    uint64_t v = 0;
    for (uint8_t b : bytes) v = (v << 8) | b;
    return v;
  }
  static constexpr mac_addr from_u64(uint64_t v) noexcept {
    mac_addr m;
    for (int i = 5; i >= 0; --i, v >>= 8) m.bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
    return m;
  }
  friend constexpr bool operator==(const mac_addr& a, const mac_addr& b) noexcept {
    return a.to_u64() == b.to_u64();  // no memcmp call on the per-packet path
  }
};

inline mac_addr load_mac(const uint8_t* p) noexcept {
  mac_addr m;
  std::memcpy(m.bytes.data(), p, 6);
  return m;
}

inline void store_mac(uint8_t* p, const mac_addr& m) noexcept { std::memcpy(p, m.bytes.data(), 6); }

// Writes the 14-byte header at `p`.
inline void write_eth_header(uint8_t* p, const mac_addr& dst, const mac_addr& src,
                             uint16_t ethertype) noexcept {
  store_mac(p, dst);
  store_mac(p + 6, src);
  store_be16(p + 12, ethertype);
}

}  // namespace tutti::dp::net
