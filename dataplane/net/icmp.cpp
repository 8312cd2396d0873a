#include "dataplane/net/icmp.hpp"

#include "dataplane/net/bytes.hpp"
#include "dataplane/net/checksum.hpp"
#include "dataplane/net/ipv4.hpp"

namespace tutti::dp::net {

result<bool, rx_drop> check_icmp_echo_request(std::span<const uint8_t> l4,
                                              bool verify_checksum) noexcept {
  if (l4.size() < icmp_echo_header_len) return fail(rx_drop::malformed);
  if (l4[0] != icmp_echo_request || l4[1] != 0) return fail(rx_drop::unsupported_protocol);
  if (verify_checksum && ones_sum(l4) != 0xffff) return fail(rx_drop::bad_l4_checksum);
  return true;
}

void make_icmp_echo_reply(std::span<uint8_t> frame, size_t l3_offset, size_t ip_header_len,
                          const mac_addr& our_mac) noexcept {
  if (frame.size() < l3_offset + ip_header_len + icmp_echo_header_len) return;
  uint8_t* eth = frame.data();
  // The request's source MAC is the next hop back (router or sender); reply from our MAC
  // whatever the request's destination MAC was.
  write_eth_header(eth, load_mac(eth + 6), our_mac, ethertype_ipv4);

  uint8_t* ip = eth + l3_offset;
  // Swapping source and destination leaves the header sum unchanged; the TTL does not.
  const uint32_t src = load_be32(ip + 12);
  const uint32_t dst = load_be32(ip + 16);
  store_be32(ip + 12, dst);
  store_be32(ip + 16, src);
  const uint16_t old_ttl_proto = load_be16(ip + 8);
  const uint16_t new_ttl_proto = static_cast<uint16_t>((default_ttl << 8) | ip[9]);
  ip[8] = default_ttl;
  store_be16(ip + 10, checksum_update16(load_be16(ip + 10), old_ttl_proto, new_ttl_proto));

  uint8_t* icmp = ip + ip_header_len;
  const uint16_t old_type_code = load_be16(icmp);
  icmp[0] = icmp_echo_reply;
  store_be16(icmp + 2, checksum_update16(load_be16(icmp + 2), old_type_code,
                                         static_cast<uint16_t>(icmp_echo_reply << 8 | icmp[1])));
}

}  // namespace tutti::dp::net
