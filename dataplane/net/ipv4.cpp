#include "dataplane/net/ipv4.hpp"

#include "dataplane/net/bytes.hpp"
#include "dataplane/net/checksum.hpp"

namespace tutti::dp::net {

bool parse_ipv4_into(std::span<const uint8_t> l3, bool verify_checksum, ipv4_header& h,
                     rx_drop& why) noexcept {
  why = rx_drop::malformed;
  if (l3.size() < ipv4_header_len) return false;
  const uint8_t* p = l3.data();
  if ((p[0] >> 4) != 4) return false;
  h.header_len = static_cast<uint8_t>((p[0] & 0x0f) * 4);
  h.total_len = load_be16(p + 2);
  if (h.header_len < ipv4_header_len || h.total_len < h.header_len || h.total_len > l3.size())
    return false;
  if (verify_checksum && ones_sum(l3.first(h.header_len)) != 0xffff) {
    why = rx_drop::bad_ip_checksum;
    return false;
  }
  h.tos = p[1];
  h.id = load_be16(p + 4);
  h.frag = load_be16(p + 6);
  h.ttl = p[8];
  h.protocol = p[9];
  h.src = load_be32(p + 12);
  h.dst = load_be32(p + 16);
  return true;
}

result<ipv4_header, rx_drop> parse_ipv4(std::span<const uint8_t> l3,
                                        bool verify_checksum) noexcept {
  ipv4_header h;
  rx_drop why;
  if (!parse_ipv4_into(l3, verify_checksum, h, why)) return fail(why);
  return h;
}

void write_ipv4_header(uint8_t* p, uint8_t tos, uint16_t total_len, uint16_t id, uint8_t ttl,
                       uint8_t protocol, uint32_t src, uint32_t dst, bool nic_checksum) noexcept {
  p[0] = 0x45;
  p[1] = tos;
  store_be16(p + 2, total_len);
  store_be16(p + 4, id);
  store_be16(p + 6, 0x4000);  // DF, offset 0
  p[8] = ttl;
  p[9] = protocol;
  store_be16(p + 10, 0);
  store_be32(p + 12, src);
  store_be32(p + 16, dst);
  if (!nic_checksum) store_be16(p + 10, internet_checksum({p, ipv4_header_len}));
}

bool parse_ipv4_address(const char* text, uint32_t& out) noexcept {
  uint32_t addr = 0;
  const char* s = text;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0 && *s++ != '.') return false;
    if (*s < '0' || *s > '9') return false;
    uint32_t v = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; ++s) {
      if (++digits > 3) return false;
      v = v * 10 + static_cast<uint32_t>(*s - '0');
    }
    if (v > 255) return false;
    addr = (addr << 8) | v;
  }
  if (*s != '\0') return false;
  out = addr;
  return true;
}

}  // namespace tutti::dp::net
