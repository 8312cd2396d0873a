// ARP for IPv4 over Ethernet (RFC 826): parsing requests and replies, answering a request
// in place, and building the request we send for an unknown next hop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/result.hpp"
#include "dataplane/net/drop.hpp"
#include "dataplane/net/ethernet.hpp"

namespace tutti::dp::net {

inline constexpr size_t arp_len = 28;  // Ethernet/IPv4 ARP body after the Ethernet header
inline constexpr uint16_t arp_op_request = 1;
inline constexpr uint16_t arp_op_reply = 2;

struct arp_message {
  uint16_t op = 0;
  mac_addr sender_mac;
  uint32_t sender_ip = 0;  // host order
  mac_addr target_mac;
  uint32_t target_ip = 0;  // host order
};

// Parses the ARP body at `body` (after the Ethernet header). Only hardware type Ethernet
// (1), protocol IPv4 (0x0800), address lengths 6 and 4 and opcodes 1/2 are accepted.
result<arp_message, rx_drop> parse_arp(std::span<const uint8_t> body) noexcept;

// Writes `m` as a 28-byte ARP body at `p`.
void write_arp(uint8_t* p, const arp_message& m) noexcept;

// Rewrites a received request frame (Ethernet header + body, already parsed into `req`)
// into our reply: to the requester, from `our_mac`/`our_ip` (RFC 826 "swap fields").
void make_arp_reply(std::span<uint8_t> frame, const arp_message& req, const mac_addr& our_mac,
                    uint32_t our_ip) noexcept;

// Writes a broadcast "who has target_ip" frame padded to the 60-byte minimum into `out`
// (at least eth_min_frame_len bytes); returns its length.
size_t build_arp_request(std::span<uint8_t> out, const mac_addr& our_mac, uint32_t our_ip,
                         uint32_t target_ip) noexcept;

}  // namespace tutti::dp::net
