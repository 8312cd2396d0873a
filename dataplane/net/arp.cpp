#include "dataplane/net/arp.hpp"

#include <algorithm>

namespace tutti::dp::net {

result<arp_message, rx_drop> parse_arp(std::span<const uint8_t> body) noexcept {
  if (body.size() < arp_len) return fail(rx_drop::malformed);
  const uint8_t* p = body.data();
  if (load_be16(p) != 1 || load_be16(p + 2) != ethertype_ipv4 || p[4] != 6 || p[5] != 4)
    return fail(rx_drop::malformed);
  arp_message m;
  m.op = load_be16(p + 6);
  if (m.op != arp_op_request && m.op != arp_op_reply) return fail(rx_drop::unsupported_protocol);
  m.sender_mac = load_mac(p + 8);
  m.sender_ip = load_be32(p + 14);
  m.target_mac = load_mac(p + 18);
  m.target_ip = load_be32(p + 24);
  return m;
}

void write_arp(uint8_t* p, const arp_message& m) noexcept {
  store_be16(p, 1);
  store_be16(p + 2, ethertype_ipv4);
  p[4] = 6;
  p[5] = 4;
  store_be16(p + 6, m.op);
  store_mac(p + 8, m.sender_mac);
  store_be32(p + 14, m.sender_ip);
  store_mac(p + 18, m.target_mac);
  store_be32(p + 24, m.target_ip);
}

void make_arp_reply(std::span<uint8_t> frame, const arp_message& req, const mac_addr& our_mac,
                    uint32_t our_ip) noexcept {
  if (frame.size() < eth_header_len + arp_len) return;
  write_eth_header(frame.data(), req.sender_mac, our_mac, ethertype_arp);
  arp_message reply;
  reply.op = arp_op_reply;
  reply.sender_mac = our_mac;
  reply.sender_ip = our_ip;
  reply.target_mac = req.sender_mac;
  reply.target_ip = req.sender_ip;
  write_arp(frame.data() + eth_header_len, reply);
}

size_t build_arp_request(std::span<uint8_t> out, const mac_addr& our_mac, uint32_t our_ip,
                         uint32_t target_ip) noexcept {
  if (out.size() < eth_min_frame_len) return 0;
  write_eth_header(out.data(), mac_addr::broadcast(), our_mac, ethertype_arp);
  arp_message req;
  req.op = arp_op_request;
  req.sender_mac = our_mac;
  req.sender_ip = our_ip;
  req.target_ip = target_ip;  // target hardware address unknown: zero (RFC 826)
  write_arp(out.data() + eth_header_len, req);
  std::fill(out.begin() + eth_header_len + arp_len, out.begin() + eth_min_frame_len, uint8_t{0});
  return eth_min_frame_len;
}

}  // namespace tutti::dp::net
