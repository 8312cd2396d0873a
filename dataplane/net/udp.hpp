// UDP (RFC 768) over IPv4: header parsing with the pseudo-header checksum, and writing the
// header we send.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/result.hpp"
#include "dataplane/net/drop.hpp"

namespace tutti::dp::net {

inline constexpr size_t udp_header_len = 8;

struct udp_header {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t length = 0;    // header + payload, within the IP payload
  uint16_t checksum = 0;  // 0: the sender computed none (allowed over IPv4)
};

// Parses the UDP header at the start of `l4` (the whole IP payload). The UDP length must fit
// the IP payload; the checksum is verified over the pseudo-header and `length` bytes when
// `verify_checksum` and the sender filled it in.
result<udp_header, rx_drop> parse_udp(std::span<const uint8_t> l4, uint32_t src_ip,
                                      uint32_t dst_ip, bool verify_checksum) noexcept;
// The same into `h`; false with `why` set. The per-packet form: no result to copy.
bool parse_udp_into(std::span<const uint8_t> l4, uint32_t src_ip, uint32_t dst_ip,
                    bool verify_checksum, udp_header& h, rx_drop& why) noexcept;

// The checksum to store for `segment` (header with a zero checksum field, then payload):
// RFC 768 sends a computed zero as all ones.
uint16_t udp_checksum(std::span<const uint8_t> segment, uint32_t src_ip,
                      uint32_t dst_ip) noexcept;

// Writes the 8-byte header at `p` with the given checksum field.
void write_udp_header(uint8_t* p, uint16_t src_port, uint16_t dst_port, uint16_t length,
                      uint16_t checksum) noexcept;

}  // namespace tutti::dp::net
