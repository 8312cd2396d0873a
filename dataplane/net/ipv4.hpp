// IPv4 headers (RFC 791): parsing with the checks a host owes its input (RFC 1122 §3.2.1),
// fragment detection, and writing the 20-byte header we send (no options).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/result.hpp"
#include "dataplane/net/drop.hpp"

namespace tutti::dp::net {

inline constexpr size_t ipv4_header_len = 20;  // without options: what we send
inline constexpr uint8_t ip_proto_icmp = 1;
inline constexpr uint8_t ip_proto_udp = 17;
inline constexpr uint8_t default_ttl = 64;     // RFC 1700's recommendation, Linux's default

struct ipv4_header {
  uint8_t header_len = 0;    // bytes, 20..60 (options are skipped, not interpreted)
  uint8_t tos = 0;           // DSCP and ECN
  uint16_t total_len = 0;    // header + payload; bytes beyond it in the frame are padding
  uint16_t id = 0;
  uint16_t frag = 0;         // flags and fragment offset, as on the wire
  uint8_t ttl = 0;
  uint8_t protocol = 0;
  uint32_t src = 0;          // host order
  uint32_t dst = 0;          // host order
};

// More-fragments set or a non-zero offset (RFC 791 §3.1): part of a fragmented datagram.
constexpr bool is_fragment(uint16_t frag) noexcept { return (frag & 0x3fff) != 0; }

// A source address no reply may go to (RFC 1122 §3.2.1.3): "this network" 0/8, loopback
// 127/8, multicast 224/4, reserved 240/4 and the limited broadcast.
constexpr bool is_bad_source(uint32_t ip) noexcept {
  const uint32_t top = ip >> 24;
  return top == 0 || top == 127 || top >= 224;
}

// Parses the header at the start of `l3`. Checks version, header length and total length
// against the bytes present; verifies the header checksum when `verify_checksum`.
result<ipv4_header, rx_drop> parse_ipv4(std::span<const uint8_t> l3,
                                        bool verify_checksum) noexcept;
// The same into `h`; false with `why` set. The per-packet form: no result to copy.
bool parse_ipv4_into(std::span<const uint8_t> l3, bool verify_checksum, ipv4_header& h,
                     rx_drop& why) noexcept;

// Writes a 20-byte header at `p`, DF set (RFC 6864 §4.1: atomic datagram). Fills in the
// header checksum unless `nic_checksum` (then it stays zero for the NIC to compute).
void write_ipv4_header(uint8_t* p, uint8_t tos, uint16_t total_len, uint16_t id, uint8_t ttl,
                       uint8_t protocol, uint32_t src, uint32_t dst, bool nic_checksum) noexcept;

// "a.b.c.d" → host-order address; false on anything else (strict: four decimal octets).
bool parse_ipv4_address(const char* text, uint32_t& out) noexcept;

}  // namespace tutti::dp::net
