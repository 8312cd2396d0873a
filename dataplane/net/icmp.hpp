// ICMP echo (RFC 792; RFC 1122 §3.2.2.6): recognising a request addressed to us and turning
// it into the reply in place. No other ICMP is answered or generated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/result.hpp"
#include "dataplane/net/drop.hpp"
#include "dataplane/net/ethernet.hpp"

namespace tutti::dp::net {

inline constexpr size_t icmp_echo_header_len = 8;  // type, code, checksum, id, sequence
inline constexpr uint8_t icmp_echo_reply = 0;
inline constexpr uint8_t icmp_echo_request = 8;

// Checks that `l4` (the whole IP payload) is an echo request; verifies its checksum over
// the whole message when `verify_checksum`.
result<bool, rx_drop> check_icmp_echo_request(std::span<const uint8_t> l4,
                                              bool verify_checksum) noexcept;

// Rewrites a verified echo request frame into its reply: Ethernet addresses to the sender
// from `our_mac`, IPv4 addresses swapped and TTL reset, ICMP type 0. Both checksums are
// updated incrementally (RFC 1624), so the echoed data is never re-read.
// `l3_offset` is where the IPv4 header starts, `ip_header_len` its length.
void make_icmp_echo_reply(std::span<uint8_t> frame, size_t l3_offset, size_t ip_header_len,
                          const mac_addr& our_mac) noexcept;

}  // namespace tutti::dp::net
