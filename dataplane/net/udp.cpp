#include "dataplane/net/udp.hpp"

#include "dataplane/net/bytes.hpp"
#include "dataplane/net/checksum.hpp"
#include "dataplane/net/ipv4.hpp"

namespace tutti::dp::net {

bool parse_udp_into(std::span<const uint8_t> l4, uint32_t src_ip, uint32_t dst_ip,
                    bool verify_checksum, udp_header& h, rx_drop& why) noexcept {
  why = rx_drop::malformed;
  if (l4.size() < udp_header_len) return false;
  const uint8_t* p = l4.data();
  h.src_port = load_be16(p);
  h.dst_port = load_be16(p + 2);
  h.length = load_be16(p + 4);
  h.checksum = load_be16(p + 6);
  if (h.length < udp_header_len || h.length > l4.size()) return false;
  if (verify_checksum && h.checksum != 0) {
    const uint16_t pseudo = ipv4_pseudo_sum(src_ip, dst_ip, ip_proto_udp, h.length);
    if (ones_sum(l4.first(h.length), pseudo) != 0xffff) {
      why = rx_drop::bad_l4_checksum;
      return false;
    }
  }
  return true;
}

result<udp_header, rx_drop> parse_udp(std::span<const uint8_t> l4, uint32_t src_ip,
                                      uint32_t dst_ip, bool verify_checksum) noexcept {
  udp_header h;
  rx_drop why;
  if (!parse_udp_into(l4, src_ip, dst_ip, verify_checksum, h, why)) return fail(why);
  return h;
}

uint16_t udp_checksum(std::span<const uint8_t> segment, uint32_t src_ip,
                      uint32_t dst_ip) noexcept {
  const uint16_t pseudo =
      ipv4_pseudo_sum(src_ip, dst_ip, ip_proto_udp, static_cast<uint16_t>(segment.size()));
  const uint16_t c = internet_checksum(segment, pseudo);
  return c == 0 ? 0xffff : c;
}

void write_udp_header(uint8_t* p, uint16_t src_port, uint16_t dst_port, uint16_t length,
                      uint16_t checksum) noexcept {
  store_be16(p, src_port);
  store_be16(p + 2, dst_port);
  store_be16(p + 4, length);
  store_be16(p + 6, checksum);
}

}  // namespace tutti::dp::net
