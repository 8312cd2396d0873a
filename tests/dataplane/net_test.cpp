// dataplane/net: Ethernet/ARP/IPv4/ICMP/UDP parsing and building against exact bytes.
// Expected frames come from RFC 1071's worked example, the IPv4 header commonly used to
// illustrate the checksum (192.168.0.1 → 192.168.0.199, checksum 0xb861), and frames whose
// checksums were computed independently with a plain 16-bit-word reference (shown in the
// comments next to each field).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <random>
#include <vector>

#include "dataplane/net/arp.hpp"
#include "dataplane/net/arp_cache.hpp"
#include "dataplane/net/checksum.hpp"
#include "dataplane/net/frame.hpp"
#include "dataplane/net/icmp.hpp"
#include "dataplane/net/ipv4.hpp"
#include "dataplane/net/udp.hpp"

using namespace tutti::dp::net;
using bytes = std::vector<uint8_t>;

namespace {

constexpr uint32_t ip_a = 0x0a000001;  // 10.0.0.1
constexpr uint32_t ip_b = 0x0a000002;  // 10.0.0.2
const mac_addr mac_a{{0x02, 0, 0, 0, 0, 0x01}};
const mac_addr mac_b{{0x02, 0, 0, 0, 0, 0x02}};

// Reference: sum of big-endian 16-bit words, one byte at a time, folded at the end.
uint16_t reference_sum(const uint8_t* p, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; ++i) s += (i % 2 == 0) ? uint64_t{p[i]} << 8 : p[i];
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

// 10.0.0.1:5004 → 10.0.0.2:40000, payload "tutti", TOS 0xb8 (EF), id 0x1234, DF, TTL 64.
const bytes udp_frame = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02,  // dst MAC
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01,  // src MAC
    0x08, 0x00,                          // IPv4
    0x45, 0xb8, 0x00, 0x21,              // v4, IHL 5, TOS 0xb8, total 33
    0x12, 0x34, 0x40, 0x00,              // id, DF
    0x40, 0x11, 0x13, 0xde,              // TTL 64, UDP, header checksum 0x13de
    0x0a, 0x00, 0x00, 0x01,              // 10.0.0.1
    0x0a, 0x00, 0x00, 0x02,              // 10.0.0.2
    0x13, 0x8c, 0x9c, 0x40,              // 5004 → 40000
    0x00, 0x0d, 0xea, 0x1a,              // length 13, checksum 0xea1a
    0x74, 0x75, 0x74, 0x74, 0x69,        // "tutti"
};

// Echo request 10.0.0.1 → 10.0.0.2, id 0x4242 seq 7, 16 bytes "a".."p", TTL 57.
const bytes echo_request = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x2c, 0xab, 0xcd, 0x00, 0x00, 0x39, 0x01, 0xc2, 0x01,  // cksum 0xc201
    0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
    0x08, 0x00, 0x72, 0x6b, 0x42, 0x42, 0x00, 0x07,  // type 8, checksum 0x726b
    0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e,
    0x6f, 0x70,
};

// Its reply, every checksum recomputed from scratch by the reference: TTL 64, type 0.
const bytes echo_reply = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,
    0x45, 0x00, 0x00, 0x2c, 0xab, 0xcd, 0x00, 0x00, 0x40, 0x01, 0xbb, 0x01,  // cksum 0xbb01
    0x0a, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x7a, 0x6b, 0x42, 0x42, 0x00, 0x07,  // type 0, checksum 0x7a6b
    0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e,
    0x6f, 0x70,
};

// `head` followed by zeros up to `n` bytes (Ethernet padding).
bytes padded(std::initializer_list<uint8_t> head, size_t n) {
  bytes f(n, 0);
  std::copy(head.begin(), head.end(), f.begin());
  return f;
}

// "Who has 10.0.0.2? Tell 10.0.0.1" from 02:00:00:00:00:01, padded to 60 bytes.
bytes arp_request_frame() {
  return padded({
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
      0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,  // Ethernet, IPv4, 6, 4, request
      0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01,  // sender
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02,  // target
  }, 60);
}

}  // namespace

TEST_CASE("ones_sum: RFC 1071 example and reference on random data", "[dataplane][net]") {
  // RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to ddf2, so the checksum is 220d.
  const bytes rfc = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  CHECK(ones_sum(rfc) == 0xddf2);
  CHECK(internet_checksum(rfc) == 0x220d);
  CHECK(ones_sum(bytes{0xab}) == 0xab00);  // odd byte is the high half
  CHECK(ones_sum(bytes{}) == 0);
  CHECK(ones_sum(rfc, 0x2000) == ones_add(0xddf2, 0x2000));

  std::mt19937 rng(7);
  bytes buf(1600);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t n = 0; n <= 300; ++n)
    for (size_t off : {0, 2, 6, 14}) {
      INFO("n=" << n << " off=" << off);
      REQUIRE(ones_sum({buf.data() + off, n}) == reference_sum(buf.data() + off, n));
    }
  std::fill(buf.begin(), buf.end(), 0xff);  // carries in every word
  CHECK(ones_sum({buf.data(), 1500}) == reference_sum(buf.data(), 1500));
}

TEST_CASE("IPv4 header: checksum of the textbook header, parse, errors", "[dataplane][net]") {
  const bytes hdr = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                     0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  bytes built(20);
  write_ipv4_header(built.data(), 0, 0x73, 0, 64, ip_proto_udp, 0xc0a80001, 0xc0a800c7, false);
  CHECK(built == hdr);
  bytes offload(20);
  write_ipv4_header(offload.data(), 0, 0x73, 0, 64, ip_proto_udp, 0xc0a80001, 0xc0a800c7, true);
  CHECK(offload[10] == 0);
  CHECK(offload[11] == 0);

  bytes datagram = hdr;
  datagram.resize(0x73, 0);
  auto h = parse_ipv4(datagram, true);
  REQUIRE(h.ok());
  CHECK(h->header_len == 20);
  CHECK(h->total_len == 0x73);
  CHECK(h->protocol == ip_proto_udp);
  CHECK(h->src == 0xc0a80001);
  CHECK(h->dst == 0xc0a800c7);
  CHECK(h->ttl == 64);
  CHECK_FALSE(is_fragment(h->frag));  // DF alone

  CHECK(parse_ipv4({datagram.data(), 0x72}, true).error() == rx_drop::malformed);  // short
  CHECK(parse_ipv4({datagram.data(), 19}, true).error() == rx_drop::malformed);
  bytes bad = datagram;
  bad[0] = 0x65;
  CHECK(parse_ipv4(bad, true).error() == rx_drop::malformed);  // version 6
  bad = datagram;
  bad[0] = 0x44;
  CHECK(parse_ipv4(bad, true).error() == rx_drop::malformed);  // IHL 4
  bad = datagram;
  bad[0] = 0x4f;
  CHECK(parse_ipv4(bad, true).error() == rx_drop::bad_ip_checksum);  // 60-byte header, sum off
  bad = datagram;
  bad[2] = 0x00;
  bad[3] = 0x13;
  CHECK(parse_ipv4(bad, false).error() == rx_drop::malformed);  // total < header
  bad = datagram;
  bad[19] ^= 1;
  CHECK(parse_ipv4(bad, true).error() == rx_drop::bad_ip_checksum);
  CHECK(parse_ipv4(bad, false).ok());  // NIC vouched for it

  CHECK(is_fragment(0x2000));  // MF
  CHECK(is_fragment(0x0001));  // offset 8
  CHECK(is_fragment(0x6000));  // DF|MF
  CHECK_FALSE(is_fragment(0x0000));
  CHECK_FALSE(is_fragment(0x8000));  // reserved bit only
}

TEST_CASE("checksum_update16/32 match a full recompute (RFC 1624)", "[dataplane][net]") {
  std::mt19937 rng(11);
  bytes hdr(20);
  for (int round = 0; round < 2000; ++round) {
    write_ipv4_header(hdr.data(), static_cast<uint8_t>(rng()), static_cast<uint16_t>(rng()),
                      static_cast<uint16_t>(rng()), static_cast<uint8_t>(rng()), 17,
                      static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()), false);
    const uint16_t ck = load_be16(hdr.data() + 10);
    // Change the TTL/protocol word, then the destination address.
    const uint16_t old_word = load_be16(hdr.data() + 8);
    const auto new_word = static_cast<uint16_t>(rng());
    store_be16(hdr.data() + 8, new_word);
    const uint16_t ck1 = checksum_update16(ck, old_word, new_word);
    const uint32_t old_dst = load_be32(hdr.data() + 16);
    const auto new_dst = static_cast<uint32_t>(rng());
    store_be32(hdr.data() + 16, new_dst);
    const uint16_t ck2 = checksum_update32(ck1, old_dst, new_dst);
    store_be16(hdr.data() + 10, ck2);
    INFO("round " << round);
    REQUIRE(ones_sum(hdr) == 0xffff);  // verifies
  }
  // Known value: TTL 57 → 64 in the echo request header turns c201 into bb01.
  CHECK(checksum_update16(0xc201, 0x3901, 0x4001) == 0xbb01);
}

TEST_CASE("UDP: build exact frame, parse, checksum rules", "[dataplane][net]") {
  bytes frame(udp_frame_overhead + 5);
  std::memcpy(frame.data() + udp_frame_overhead, "tutti", 5);
  udp_send s;
  s.dst_mac = mac_b;
  s.src_mac = mac_a;
  s.src_ip = ip_a;
  s.dst_ip = ip_b;
  s.src_port = 5004;
  s.dst_port = 40000;
  s.ip_id = 0x1234;
  s.tos = 0xb8;
  write_udp_headers(frame, s, {});
  CHECK(frame == udp_frame);

  SECTION("offload leaves the IP checksum zero and the pseudo-header sum in UDP") {
    bytes off(frame.size());
    std::memcpy(off.data() + udp_frame_overhead, "tutti", 5);
    write_udp_headers(off, s, {true, true});
    CHECK(load_be16(off.data() + 24) == 0);
    CHECK(load_be16(off.data() + 40) == ipv4_pseudo_sum(ip_a, ip_b, 17, 13));
    // What the NIC then does: complement of the sum over the segment, whose checksum
    // field already carries the pseudo-header sum.
    store_be16(off.data() + 40, internet_checksum({off.data() + 34, 13}));
    store_be16(off.data() + 24, internet_checksum({off.data() + 14, 20}));
    CHECK(off == udp_frame);
  }

  SECTION("parse") {
    auto h = parse_udp({udp_frame.data() + 34, 13}, ip_a, ip_b, true);
    REQUIRE(h.ok());
    CHECK(h->src_port == 5004);
    CHECK(h->dst_port == 40000);
    CHECK(h->length == 13);
    CHECK(h->checksum == 0xea1a);
    bytes seg(udp_frame.begin() + 34, udp_frame.end());
    seg[8] ^= 0x20;  // "Tutti"
    CHECK(parse_udp(seg, ip_a, ip_b, true).error() == rx_drop::bad_l4_checksum);
    CHECK(parse_udp(seg, ip_a, 0x0a000003, false).ok());
    seg[6] = seg[7] = 0;  // sender computed no checksum (RFC 768): accepted
    CHECK(parse_udp(seg, ip_a, ip_b, true).ok());
    seg[5] = 7;  // length below the header
    CHECK(parse_udp(seg, ip_a, ip_b, true).error() == rx_drop::malformed);
    seg[5] = 14;  // beyond the IP payload
    CHECK(parse_udp(seg, ip_a, ip_b, true).error() == rx_drop::malformed);
  }

  SECTION("a computed zero is sent as all ones") {
    // Choose the last payload word so the sum is 0xffff, i.e. the checksum would be 0.
    bytes seg = {0x13, 0x8c, 0x9c, 0x40, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00};
    const uint16_t sum = ones_sum(seg, ipv4_pseudo_sum(ip_a, ip_b, 17, 10));
    store_be16(seg.data() + 8, static_cast<uint16_t>(~sum));
    CHECK(udp_checksum(seg, ip_a, ip_b) == 0xffff);
  }
}

TEST_CASE("classify_frame: UDP to us, and every drop reason", "[dataplane][net]") {
  auto f = classify_frame(udp_frame, ip_b);
  REQUIRE(f.ok());
  CHECK(f->kind == frame_kind::udp);
  CHECK(f->src_mac == mac_a);
  CHECK(f->src_ip == ip_a);
  CHECK(f->src_port == 5004);
  CHECK(f->dst_port == 40000);
  CHECK(f->payload_offset == 42);
  CHECK(f->payload_len == 5);

  bytes with_pad(60, 0xee);  // Ethernet padding is not payload
  std::copy(udp_frame.begin(), udp_frame.end(), with_pad.begin());
  auto p = classify_frame(with_pad, ip_b);
  REQUIRE(p.ok());
  CHECK(p->payload_len == 5);

  CHECK(classify_frame(udp_frame, ip_a).error() == rx_drop::foreign_address);
  for (size_t n = 0; n < udp_frame.size(); ++n) {
    INFO("truncated to " << n);
    REQUIRE(classify_frame({udp_frame.data(), n}, ip_b).error() == rx_drop::malformed);
  }

  bytes b = udp_frame;
  b[12] = 0x86;
  b[13] = 0xdd;
  CHECK(classify_frame(b, ip_b).error() == rx_drop::not_ipv4);  // IPv6
  b = udp_frame;
  b[12] = 0x81;
  b[13] = 0x00;
  CHECK(classify_frame(b, ip_b).error() == rx_drop::not_ipv4);  // VLAN tag

  // A fragment with a correct header checksum: MF set, checksum adjusted.
  b = udp_frame;
  store_be16(b.data() + 24, checksum_update16(load_be16(b.data() + 24), 0x4000, 0x2000));
  store_be16(b.data() + 20, 0x2000);
  CHECK(classify_frame(b, ip_b).error() == rx_drop::fragment);
  store_be16(b.data() + 24, checksum_update16(load_be16(b.data() + 24), 0x2000, 0x0010));
  store_be16(b.data() + 20, 0x0010);  // last fragment: offset only
  CHECK(classify_frame(b, ip_b).error() == rx_drop::fragment);

  b = udp_frame;
  b[25] ^= 0x01;
  CHECK(classify_frame(b, ip_b).error() == rx_drop::bad_ip_checksum);
  CHECK(classify_frame(udp_frame, ip_b, hw_check::bad).error() == rx_drop::bad_ip_checksum);
  b = udp_frame;
  b[46] ^= 0x01;
  CHECK(classify_frame(b, ip_b).error() == rx_drop::bad_l4_checksum);
  CHECK(classify_frame(b, ip_b, hw_check::good, hw_check::good).ok());  // NIC verified
  CHECK(classify_frame(udp_frame, ip_b, hw_check::good, hw_check::bad).error() ==
        rx_drop::bad_l4_checksum);

  // Source 127.0.0.1, checksum adjusted so only the source is wrong.
  b = udp_frame;
  store_be16(b.data() + 24, checksum_update32(load_be16(b.data() + 24), ip_a, 0x7f000001));
  store_be32(b.data() + 26, 0x7f000001);
  CHECK(classify_frame(b, ip_b, hw_check::unknown, hw_check::good).error() == rx_drop::bad_source);
  b = udp_frame;
  b[6] = 0x03;  // multicast source MAC
  CHECK(classify_frame(b, ip_b).error() == rx_drop::bad_source);

  // TCP (protocol 6), checksum adjusted.
  b = udp_frame;
  store_be16(b.data() + 24, checksum_update16(load_be16(b.data() + 24), 0x4011, 0x4006));
  b[23] = 6;
  CHECK(classify_frame(b, ip_b).error() == rx_drop::unsupported_protocol);
}

TEST_CASE("ICMP echo: request recognised, reply in place matches a full recompute",
          "[dataplane][net]") {
  auto f = classify_frame(echo_request, ip_b);
  REQUIRE(f.ok());
  CHECK(f->kind == frame_kind::icmp_echo_request);
  bytes frame = echo_request;
  make_icmp_echo_reply(frame, f->l3_offset, f->ip_header_len, mac_b);
  CHECK(frame == echo_reply);
  // The reply itself verifies and is not a request.
  CHECK(classify_frame(echo_reply, ip_a).error() == rx_drop::unsupported_protocol);
  CHECK(ones_sum({echo_reply.data() + 14, 20}) == 0xffff);
  CHECK(ones_sum({echo_reply.data() + 34, 24}) == 0xffff);

  bytes bad = echo_request;
  bad.back() ^= 0x01;
  CHECK(classify_frame(bad, ip_b).error() == rx_drop::bad_l4_checksum);
  CHECK(check_icmp_echo_request({echo_request.data() + 34, 7}, true).error() ==
        rx_drop::malformed);
}

TEST_CASE("ARP: parse request, reply in place, build request", "[dataplane][net]") {
  const bytes req = arp_request_frame();
  auto f = classify_frame(req, ip_b);
  REQUIRE(f.ok());
  REQUIRE(f->kind == frame_kind::arp);
  CHECK(f->src_mac == mac_a);
  auto a = parse_arp({req.data() + 14, req.size() - 14});
  REQUIRE(a.ok());
  CHECK(a->op == arp_op_request);
  CHECK(a->sender_mac == mac_a);
  CHECK(a->sender_ip == ip_a);
  CHECK(a->target_mac.is_zero());
  CHECK(a->target_ip == ip_b);

  bytes reply = req;
  make_arp_reply(reply, *a, mac_b, ip_b);
  const bytes expected = padded({
      0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x06,
      0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,              // reply
      0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x02,  // sender: us
      0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01,  // target: requester
  }, 60);
  CHECK(reply == expected);

  bytes built(60, 0xaa);
  CHECK(build_arp_request(built, mac_a, ip_a, ip_b) == 60);
  CHECK(built == req);
  bytes small(59);
  CHECK(build_arp_request(small, mac_a, ip_a, ip_b) == 0);

  bytes b = req;
  b[15] = 6;  // hardware type 6 (IEEE 802)
  CHECK(classify_frame(b, ip_b).error() == rx_drop::malformed);
  b = req;
  b[21] = 3;  // RARP request
  CHECK(classify_frame(b, ip_b).error() == rx_drop::unsupported_protocol);
  CHECK(classify_frame({req.data(), 41}, ip_b).error() == rx_drop::malformed);
}

TEST_CASE("arp_cache: learn, static, request pacing, full table", "[dataplane][net]") {
  auto cache = std::make_unique<arp_cache>();
  mac_addr m;
  CHECK_FALSE(cache->lookup(ip_a, m));
  CHECK_FALSE(cache->learn(ip_a, mac_a, false));  // RFC 826: unknown and not asked: ignored
  CHECK_FALSE(cache->lookup(ip_a, m));
  CHECK(cache->learn(ip_a, mac_a, true));
  REQUIRE(cache->lookup(ip_a, m));
  CHECK(m == mac_a);
  CHECK(cache->learn(ip_a, mac_b, false));  // known: updated
  REQUIRE(cache->lookup(ip_a, m));
  CHECK(m == mac_b);
  CHECK_FALSE(cache->learn(ip_a, mac_addr::broadcast(), true));
  CHECK_FALSE(cache->learn(ip_a, mac_addr{}, true));

  const uint32_t gw = 0x0a0000fe;
  CHECK(cache->set_static(gw, mac_a));
  CHECK_FALSE(cache->learn(gw, mac_b, true));  // static wins
  REQUIRE(cache->lookup(gw, m));
  CHECK(m == mac_a);
  CHECK_FALSE(cache->should_request(gw, 5));  // resolved

  const uint32_t peer = 0x0a000009;
  CHECK(cache->should_request(peer, 1'000));
  CHECK_FALSE(cache->should_request(peer, 2'000));
  CHECK_FALSE(cache->should_request(peer, 1'000 + arp_cache::retry_ns - 1));
  CHECK(cache->should_request(peer, 1'000 + arp_cache::retry_ns));
  CHECK_FALSE(cache->lookup(peer, m));  // asked, not answered
  CHECK(cache->learn(peer, mac_b, false));  // the reply: entry exists now
  REQUIRE(cache->lookup(peer, m));
  CHECK(m == mac_b);
  CHECK(cache->should_request(0, 0) == false);

  // Fill far beyond capacity: no crash, never more entries than slots, early ones kept.
  for (uint32_t i = 1; i <= 3 * arp_cache::capacity; ++i) cache->learn(0x0b000000 + i, mac_a, true);
  CHECK(cache->size() <= arp_cache::capacity);
  REQUIRE(cache->lookup(ip_a, m));
  CHECK(m == mac_b);
}

TEST_CASE("parse_ipv4_address", "[dataplane][net]") {
  uint32_t a = 0;
  CHECK(parse_ipv4_address("10.0.0.2", a));
  CHECK(a == ip_b);
  CHECK(parse_ipv4_address("255.255.255.255", a));
  CHECK(a == 0xffffffff);
  for (const char* bad : {"", "10.0.0", "10.0.0.256", "10.0.0.2.", "1.2.3.4x", "a.b.c.d",
                          "10..0.2", "1234.0.0.1", " 10.0.0.2"})
    CHECK_FALSE(parse_ipv4_address(bad, a));
}
