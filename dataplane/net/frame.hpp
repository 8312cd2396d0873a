// What a received Ethernet frame is for a host that owns one IPv4 address, and the headers
// of a UDP datagram it sends. The DPDK backend runs every frame through classify_frame()
// and every send through write_udp_headers(); both are plain functions over bytes so they
// are unit-tested and fuzzed without DPDK.
//
// Model: a frame is ARP (answered or learned from by the caller), an ICMP echo request to
// us (answered in place), UDP to us (handed up if its port is open) or a counted drop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/result.hpp"
#include "dataplane/net/arp.hpp"
#include "dataplane/net/drop.hpp"
#include "dataplane/net/ethernet.hpp"
#include "dataplane/net/ipv4.hpp"
#include "dataplane/net/udp.hpp"

namespace tutti::dp::net {

// Ethernet + IPv4 (no options) + UDP: the headroom a UDP payload needs in front of it.
inline constexpr size_t udp_frame_overhead = eth_header_len + ipv4_header_len + udp_header_len;

enum class frame_kind : uint8_t { udp, arp, icmp_echo_request };

// What the NIC already found out about a checksum (DPDK's RX_*_CKSUM_GOOD/BAD/UNKNOWN).
enum class hw_check : uint8_t { unknown, good, bad };

// Kept small (32 bytes): it is returned by value once per received frame.
struct rx_frame {
  frame_kind kind = frame_kind::udp;
  mac_addr src_mac;           // for ARP, parse_arp() the body after the Ethernet header
  uint32_t src_ip = 0;        // IPv4 kinds: host order
  uint32_t dst_ip = 0;
  uint16_t l3_offset = 0;     // start of the IPv4 header
  uint16_t ip_header_len = 0;
  uint16_t src_port = 0;      // kind == udp
  uint16_t dst_port = 0;
  uint16_t payload_offset = 0;  // UDP payload from the start of the frame
  uint16_t payload_len = 0;
};

// Classifies `frame` for a host owning `our_ip`. UDP and ICMP are accepted only to our
// address, whole (no fragments), with valid checksums (verified here unless the NIC said
// good). ARP is returned whatever its target, once parse_arp() accepted its body: the
// caller learns from it.
// The per-packet form fills `out` and returns true, or returns false with `why` set; the
// result form wraps it.
bool classify_frame_into(std::span<const uint8_t> frame, uint32_t our_ip, hw_check ip_checksum,
                         hw_check l4_checksum, rx_frame& out, rx_drop& why) noexcept;
inline result<rx_frame, rx_drop> classify_frame(std::span<const uint8_t> frame, uint32_t our_ip,
                                                hw_check ip_checksum = hw_check::unknown,
                                                hw_check l4_checksum = hw_check::unknown) noexcept {
  rx_frame f;
  rx_drop why;
  if (!classify_frame_into(frame, our_ip, ip_checksum, l4_checksum, f, why)) return fail(why);
  return f;
}

struct udp_send {
  mac_addr dst_mac;
  mac_addr src_mac;
  uint32_t src_ip = 0;
  uint32_t dst_ip = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t ip_id = 0;
  uint8_t tos = 0;
  uint8_t ttl = default_ttl;
};

// Where checksums are computed. With NIC offload the IPv4 checksum field stays zero and the
// UDP field holds the pseudo-header sum (what DPDK's TX_IP_CKSUM/TX_UDP_CKSUM expect).
struct tx_checksums {
  bool nic_ip = false;
  bool nic_udp = false;
};

// Writes Ethernet, IPv4 and UDP headers into the first udp_frame_overhead bytes of `frame`,
// whose remaining bytes are the payload (so frame.size() - udp_frame_overhead ≤ 65507).
void write_udp_headers(std::span<uint8_t> frame, const udp_send& s, tx_checksums where) noexcept;

}  // namespace tutti::dp::net
