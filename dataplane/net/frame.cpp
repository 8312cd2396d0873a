#include "dataplane/net/frame.hpp"

#include "dataplane/net/checksum.hpp"
#include "dataplane/net/icmp.hpp"

namespace tutti::dp::net {

const char* rx_drop_name(rx_drop r) noexcept {
  switch (r) {
    case rx_drop::malformed: return "malformed";
    case rx_drop::not_ipv4: return "not_ipv4";
    case rx_drop::bad_source: return "bad_source";
    case rx_drop::foreign_address: return "foreign_address";
    case rx_drop::fragment: return "fragment";
    case rx_drop::bad_ip_checksum: return "bad_ip_checksum";
    case rx_drop::bad_l4_checksum: return "bad_l4_checksum";
    case rx_drop::unsupported_protocol: return "unsupported_protocol";
    case rx_drop::unknown_port: return "unknown_port";
    case rx_drop::unusable_buffer: return "unusable_buffer";
    case rx_drop::count_: break;
  }
  return "?";
}

bool classify_frame_into(std::span<const uint8_t> frame, uint32_t our_ip, hw_check ip_checksum,
                         hw_check l4_checksum, rx_frame& f, rx_drop& why) noexcept {
  const auto drop = [&why](rx_drop r) {
    why = r;
    return false;
  };
  if (frame.size() < eth_header_len) return drop(rx_drop::malformed);
  f.src_mac = load_mac(frame.data() + 6);
  if (f.src_mac.is_multicast()) return drop(rx_drop::bad_source);
  const uint16_t type = load_be16(frame.data() + 12);
  const auto l3 = frame.subspan(eth_header_len);
  f.l3_offset = static_cast<uint16_t>(eth_header_len);

  if (type == ethertype_arp) {
    auto arp = parse_arp(l3);
    if (!arp) return drop(arp.error());
    f.kind = frame_kind::arp;
    return true;
  }
  if (type != ethertype_ipv4) return drop(rx_drop::not_ipv4);

  // Structure and header checksum before any field is trusted.
  if (ip_checksum == hw_check::bad) return drop(rx_drop::bad_ip_checksum);
  ipv4_header ip;
  if (!parse_ipv4_into(l3, ip_checksum != hw_check::good, ip, why)) return false;
  if (ip.dst != our_ip) return drop(rx_drop::foreign_address);
  if (is_bad_source(ip.src)) return drop(rx_drop::bad_source);
  if (is_fragment(ip.frag)) return drop(rx_drop::fragment);

  f.src_ip = ip.src;
  f.dst_ip = ip.dst;
  f.ip_header_len = ip.header_len;
  // Bytes after total_len are Ethernet padding, never payload.
  const auto l4 = l3.subspan(ip.header_len, ip.total_len - ip.header_len);

  if (ip.protocol == ip_proto_udp) {
    if (l4_checksum == hw_check::bad) return drop(rx_drop::bad_l4_checksum);
    udp_header udp;
    if (!parse_udp_into(l4, ip.src, ip.dst, l4_checksum != hw_check::good, udp, why))
      return false;
    f.kind = frame_kind::udp;
    f.src_port = udp.src_port;
    f.dst_port = udp.dst_port;
    f.payload_offset = static_cast<uint16_t>(eth_header_len + ip.header_len + udp_header_len);
    f.payload_len = static_cast<uint16_t>(udp.length - udp_header_len);
    return true;
  }
  if (ip.protocol == ip_proto_icmp) {
    // NICs don't verify ICMP checksums: always in software.
    auto echo = check_icmp_echo_request(l4, true);
    if (!echo) return drop(echo.error());
    f.kind = frame_kind::icmp_echo_request;
    return true;
  }
  return drop(rx_drop::unsupported_protocol);
}

void write_udp_headers(std::span<uint8_t> frame, const udp_send& s, tx_checksums where) noexcept {
  if (frame.size() < udp_frame_overhead) return;
  uint8_t* eth = frame.data();
  uint8_t* ip = eth + eth_header_len;
  uint8_t* udp = ip + ipv4_header_len;
  const auto udp_len = static_cast<uint16_t>(frame.size() - eth_header_len - ipv4_header_len);
  write_eth_header(eth, s.dst_mac, s.src_mac, ethertype_ipv4);
  write_ipv4_header(ip, s.tos, static_cast<uint16_t>(udp_len + ipv4_header_len), s.ip_id, s.ttl,
                    ip_proto_udp, s.src_ip, s.dst_ip, where.nic_ip);
  if (where.nic_udp) {
    write_udp_header(udp, s.src_port, s.dst_port, udp_len,
                     ipv4_pseudo_sum(s.src_ip, s.dst_ip, ip_proto_udp, udp_len));
  } else {
    write_udp_header(udp, s.src_port, s.dst_port, udp_len, 0);
    store_be16(udp + 6, udp_checksum({udp, udp_len}, s.src_ip, s.dst_ip));
  }
}

}  // namespace tutti::dp::net
