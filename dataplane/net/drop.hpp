// Why a received frame was not handed up to a worker. Each reason is a counter index
// (VPP's error-per-node idea): a bad frame costs a counter increment, never a log line.
#pragma once

#include <cstdint>

namespace tutti::dp::net {

enum class rx_drop : uint8_t {
  malformed,             // truncated, inconsistent lengths, bad version or header length
  not_ipv4,              // neither IPv4 nor ARP (IPv6, VLAN-tagged, LLDP, ...)
  bad_source,            // source that can't be answered: 0/8, 127/8, multicast, class E, broadcast
  foreign_address,       // IPv4 or ARP request for an address that isn't ours
  fragment,              // IPv4 fragment: media never needs reassembly, so none is done
  bad_ip_checksum,       // IPv4 header checksum wrong (software or NIC said so)
  bad_l4_checksum,       // UDP or ICMP checksum wrong
  unsupported_protocol,  // IP protocol other than UDP and ICMP, ICMP other than echo request
  unknown_port,          // UDP to a local port nobody opened
  unusable_buffer,       // multi-segment mbuf, or one from a pool without room for our handle
  count_
};

inline constexpr int rx_drop_count = static_cast<int>(rx_drop::count_);

// Short stable name for metrics ("bad_ip_checksum").
const char* rx_drop_name(rx_drop r) noexcept;

}  // namespace tutti::dp::net
