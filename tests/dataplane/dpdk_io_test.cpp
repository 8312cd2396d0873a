// dpdk_io on DPDK's ring device, in process: frames are injected into the port's RX ring
// and what it sends is read back from its TX ring, byte for byte.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "dataplane/io/dpdk.hpp"
#include "dataplane/net/checksum.hpp"
#include "dataplane/net/frame.hpp"
#include "tests/dataplane/dpdk_test_env.hpp"

using namespace tutti::dp;
using namespace tutti::dp::io;
using tutti::test::ring_port;
using bytes = std::vector<uint8_t>;

namespace {

constexpr uint32_t peer_ip = 0x0a000001;  // 10.0.0.1
constexpr uint32_t our_ip = 0x0a000002;   // 10.0.0.2
const net::mac_addr peer_mac{{0x02, 0, 0, 0, 0, 0x01}};
const net::mac_addr gw_mac{{0x02, 0, 0, 0, 0, 0xfe}};

dpdk_port_config test_config() {
  dpdk_port_config c;
  c.ip = our_ip;
  c.prefix_len = 24;
  c.rx_descriptors = 64;
  c.tx_descriptors = 64;
  c.mbufs_per_queue = 511;
  return c;
}

std::unique_ptr<dpdk_io> open_io(ring_port& rp, uint16_t q = 0) {
  auto r = dpdk_io::open(rp.port(), q);
  REQUIRE(r.ok());
  return std::move(r.value());
}

void set_mac(bytes& f, size_t at, const net::mac_addr& m) {
  std::memcpy(f.data() + at, m.bytes.data(), 6);
}

// UDP 10.0.0.1:5004 → 10.0.0.2:40000 "tutti", checksums valid (see net_test.cpp).
bytes udp_in(const net::mac_addr& to) {
  bytes f = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08,
             0x00, 0x45, 0xb8, 0x00, 0x21, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x13, 0xde,
             0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x13, 0x8c, 0x9c, 0x40, 0x00,
             0x0d, 0xea, 0x1a, 0x74, 0x75, 0x74, 0x74, 0x69};
  set_mac(f, 0, to);
  return f;
}

// The same datagram sent back by us: 10.0.0.2:40000 → 10.0.0.1:5004, IP id 0, padded to
// 60 bytes. Checksums computed independently (0x2612 IPv4, 0xea1a UDP).
bytes udp_out(const net::mac_addr& to, const net::mac_addr& from) {
  bytes f(14);
  set_mac(f, 0, to);
  set_mac(f, 6, from);
  f[12] = 0x08;
  const bytes rest = {0x45, 0xb8, 0x00, 0x21, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x26,
                      0x12, 0x0a, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x01, 0x9c, 0x40,
                      0x13, 0x8c, 0x00, 0x0d, 0xea, 0x1a, 0x74, 0x75, 0x74, 0x74, 0x69};
  f.insert(f.end(), rest.begin(), rest.end());
  f.resize(60, 0);
  return f;
}

bytes arp_request_for(uint32_t target) {
  bytes f(60);
  net::build_arp_request(f, peer_mac, peer_ip, target);
  return f;
}

bytes arp_reply_from_peer(const net::mac_addr& to) {
  bytes f(60, 0);
  net::write_eth_header(f.data(), to, peer_mac, net::ethertype_arp);
  net::arp_message m;
  m.op = net::arp_op_reply;
  m.sender_mac = peer_mac;
  m.sender_ip = peer_ip;
  m.target_mac = to;
  m.target_ip = our_ip;
  net::write_arp(f.data() + 14, m);
  return f;
}

uint64_t drops(const dpdk_io& io, net::rx_drop r) {
  return io.detailed_stats().rx_drops[static_cast<int>(r)];
}

uint64_t tx_drops(const dpdk_io& io, tx_drop r) {
  return io.detailed_stats().tx_drops[static_cast<int>(r)];
}

packet* send_payload(dpdk_io& io, const char* text, uint32_t ip, uint16_t port) {
  packet* p = io.alloc_tx();
  REQUIRE(p != nullptr);
  p->len = static_cast<uint16_t>(std::strlen(text));
  std::memcpy(p->data, text, p->len);
  p->local_port = 40000;
  p->remote = endpoint{ip, port};
  return p;
}

}  // namespace

TEST_CASE("dpdk: EAL starts once per process", "[dataplane][dpdk]") {
  tutti::test::test_eal();
  auto again = dpdk_eal::start("--no-huge --no-pci -m 64");
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().what == dpdk_error::eal_init_failed);
  CHECK_FALSE(dpdk_eal::start("   ").ok());
}

TEST_CASE("dpdk: ARP request for our address is answered exactly", "[dataplane][dpdk]") {
  ring_port rp(test_config());
  auto io = open_io(rp);
  const net::mac_addr us = rp.port().mac();
  CHECK_FALSE(us.is_zero());

  rp.inject(arp_request_for(our_ip));
  packet* pkts[32];
  CHECK(io->rx_burst(pkts, 32) == 0);
  auto out = rp.sent();
  REQUIRE(out.size() == 1);
  const uint8_t head[42] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x06,
                            0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,  // reply
                            0, 0, 0, 0, 0, 0, 0x0a, 0x00, 0x00, 0x02,        // us
                            0, 0, 0, 0, 0, 0, 0x0a, 0x00, 0x00, 0x01};       // requester
  bytes expected(60, 0);
  std::copy(std::begin(head), std::end(head), expected.begin());
  set_mac(expected, 0, peer_mac);
  set_mac(expected, 6, us);
  set_mac(expected, 22, us);
  set_mac(expected, 32, peer_mac);
  CHECK(out[0] == expected);
  auto s = io->detailed_stats();
  CHECK(s.arp_replies == 1);
  CHECK(s.arp_learned == 1);  // the requester, who asked for us (RFC 826)
  net::mac_addr m;
  CHECK(rp.port().arp().lookup(peer_ip, m));
  CHECK(m == peer_mac);

  // A request for someone else: no answer, counted, not learned from (not in the table).
  rp.inject(arp_request_for(0x0a000063));
  CHECK(io->rx_burst(pkts, 32) == 0);
  CHECK(rp.sent().empty());
  CHECK(drops(*io, net::rx_drop::foreign_address) == 1);
  CHECK(io->stats().rx_dropped == 1);
}

TEST_CASE("dpdk: ICMP echo request is answered with right checksums", "[dataplane][dpdk]") {
  ring_port rp(test_config());
  auto io = open_io(rp);
  const net::mac_addr us = rp.port().mac();
  bytes req = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00,
               0x45, 0x00, 0x00, 0x2c, 0xab, 0xcd, 0x00, 0x00, 0x39, 0x01, 0xc2, 0x01,
               0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02,
               0x08, 0x00, 0x72, 0x6b, 0x42, 0x42, 0x00, 0x07,
               0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
               0x6e, 0x6f, 0x70};
  set_mac(req, 0, us);
  set_mac(req, 6, peer_mac);
  bytes reply = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00,
                 0x45, 0x00, 0x00, 0x2c, 0xab, 0xcd, 0x00, 0x00, 0x40, 0x01, 0xbb, 0x01,
                 0x0a, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x01,
                 0x00, 0x00, 0x7a, 0x6b, 0x42, 0x42, 0x00, 0x07,
                 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
                 0x6e, 0x6f, 0x70};
  set_mac(reply, 0, peer_mac);
  set_mac(reply, 6, us);

  rp.inject(req);
  packet* pkts[32];
  CHECK(io->rx_burst(pkts, 32) == 0);
  auto out = rp.sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0] == reply);
  CHECK(net::ones_sum({out[0].data() + 14, 20}) == 0xffff);
  CHECK(net::ones_sum({out[0].data() + 34, 24}) == 0xffff);
  CHECK(io->detailed_stats().icmp_replies == 1);

  // A corrupted request is dropped, not answered.
  req.back() ^= 0xff;
  rp.inject(req);
  CHECK(io->rx_burst(pkts, 32) == 0);
  CHECK(rp.sent().empty());
  CHECK(drops(*io, net::rx_drop::bad_l4_checksum) == 1);
}

TEST_CASE("dpdk: UDP to an open port is handed up in place", "[dataplane][dpdk]") {
  ring_port rp(test_config());
  auto io = open_io(rp);
  const net::mac_addr us = rp.port().mac();
  CHECK_FALSE(io->open_port(0));
  REQUIRE(io->open_port(40000));
  CHECK(io->open_port(40000));  // already open

  rp.inject(udp_in(us));
  packet* pkts[32];
  REQUIRE(io->rx_burst(pkts, 32) == 1);
  packet* p = pkts[0];
  REQUIRE(p->len == 5);
  CHECK(std::memcmp(p->data, "tutti", 5) == 0);
  CHECK(p->local_port == 40000);
  CHECK(p->remote == endpoint{peer_ip, 5004});
  CHECK(p->rx_ns > 0);
  CHECK(p->capacity >= 1472);  // room up to the MTU for a reply in place
  CHECK(p->backend != nullptr);
  // Zero copy: the payload sits 42 bytes into the frame's own buffer.
  CHECK(p->data == tutti::test::frame_start(*p) + 42);
  CHECK(io->stats().rx_packets == 1);

  SECTION("released back to the pool") {
    io->release(p);
  }
  SECTION("reused for the answer: headers rebuilt in front of the payload") {
    // The sender is on-link and taught the cache its MAC: no ARP needed to answer.
    p->local_port = 40000;
    p->remote = endpoint{peer_ip, 5004};
    REQUIRE(io->tx_burst(&p, 1) == 1);
    auto out = rp.sent();
    REQUIRE(out.size() == 1);
    CHECK(out[0] == udp_out(peer_mac, us));
    CHECK(io->stats().tx_packets == 1);
  }

  // Closed again: the next datagram is dropped as unknown_port.
  io->close_port(40000);
  rp.inject(udp_in(us));
  CHECK(io->rx_burst(pkts, 32) == 0);
  CHECK(drops(*io, net::rx_drop::unknown_port) == 1);
}

TEST_CASE("dpdk: drops are counted by reason", "[dataplane][dpdk]") {
  ring_port rp(test_config());
  auto io = open_io(rp);
  const net::mac_addr us = rp.port().mac();
  REQUIRE(io->open_port(40000));
  packet* pkts[32];
  const bytes good = udp_in(us);

  bytes closed = good;  // dst port 40001: UDP checksum adjusted
  closed[37] = 0x41;
  net::store_be16(closed.data() + 40,
                  net::checksum_update16(net::load_be16(closed.data() + 40), 0x9c40, 0x9c41));
  rp.inject(closed);

  bytes foreign = good;  // to 10.0.0.3, both checksums adjusted
  foreign[33] = 0x03;
  net::store_be16(foreign.data() + 24,
                  net::checksum_update16(net::load_be16(foreign.data() + 24), 0x0002, 0x0003));
  rp.inject(foreign);

  bytes fragment = good;  // MF set, header checksum adjusted
  fragment[20] = 0x20;
  net::store_be16(fragment.data() + 24,
                  net::checksum_update16(net::load_be16(fragment.data() + 24), 0x4000, 0x2000));
  rp.inject(fragment);

  bytes bad_udp = good;
  bad_udp[46] ^= 0x01;
  rp.inject(bad_udp);
  bytes bad_ip = good;
  bad_ip[22] = 0x3f;  // TTL changed, checksum not
  rp.inject(bad_ip);
  bytes ipv6 = good;
  ipv6[12] = 0x86;
  ipv6[13] = 0xdd;
  rp.inject(ipv6);
  rp.inject(bytes(good.begin(), good.begin() + 40));  // truncated
  rp.inject(good);                                    // and one that passes

  REQUIRE(io->rx_burst(pkts, 32) == 1);
  io->release(pkts[0]);
  CHECK(drops(*io, net::rx_drop::unknown_port) == 1);
  CHECK(drops(*io, net::rx_drop::foreign_address) == 1);
  CHECK(drops(*io, net::rx_drop::fragment) == 1);
  CHECK(drops(*io, net::rx_drop::bad_l4_checksum) == 1);
  CHECK(drops(*io, net::rx_drop::bad_ip_checksum) == 1);
  CHECK(drops(*io, net::rx_drop::not_ipv4) == 1);
  CHECK(drops(*io, net::rx_drop::malformed) == 1);
  const io_stats s = io->stats();
  CHECK(s.rx_dropped == 7);
  CHECK(s.rx_packets == 1);
  CHECK(rp.sent().empty());
}

TEST_CASE("dpdk: NIC checksum verdicts are honoured", "[dataplane][dpdk]") {
  using tutti::test::rx_flags;
  ring_port rp(test_config());
  auto io = open_io(rp);
  REQUIRE(io->open_port(40000));
  packet* pkts[32];
  bytes corrupt = udp_in(rp.port().mac());
  corrupt[46] ^= 0x01;  // payload changed, UDP checksum not
  // NIC says both good: no software check, handed up as is.
  rp.inject(corrupt, 0, rx_flags(true, false, true, false));
  REQUIRE(io->rx_burst(pkts, 32) == 1);
  CHECK(pkts[0]->data[4] == ('i' ^ 0x01));
  io->release(pkts[0]);
  // NIC says bad: dropped without looking.
  rp.inject(udp_in(rp.port().mac()), 0, rx_flags(false, true, false, false));
  rp.inject(udp_in(rp.port().mac()), 0, rx_flags(true, false, false, true));
  // NIC didn't know: software finds the corruption.
  rp.inject(corrupt, 0, 0);
  CHECK(io->rx_burst(pkts, 32) == 0);
  CHECK(drops(*io, net::rx_drop::bad_ip_checksum) == 1);
  CHECK(drops(*io, net::rx_drop::bad_l4_checksum) == 2);
}

TEST_CASE("dpdk: rx_burst gathers several device bursts up to max", "[dataplane][dpdk]") {
  ring_port rp(test_config());
  auto io = open_io(rp);
  REQUIRE(io->open_port(40000));
  for (int i = 0; i < 70; ++i) rp.inject(udp_in(rp.port().mac()));
  std::vector<packet*> pkts(128);
  CHECK(io->rx_burst(pkts.data(), 64) == 64);
  for (int i = 0; i < 64; ++i) io->release(pkts[static_cast<size_t>(i)]);
  CHECK(io->rx_burst(pkts.data(), 128) == 6);
  for (int i = 0; i < 6; ++i) io->release(pkts[static_cast<size_t>(i)]);
  CHECK(io->rx_burst(pkts.data(), 128) == 0);
  CHECK(io->stats().rx_packets == 70);
}

TEST_CASE("dpdk: rx_burst takes at most max frames even when all are dropped",
          "[dataplane][dpdk]") {
  // A device that never runs dry (net_null) or a flood of frames to no open port must not
  // keep rx_burst reading: each call takes at most `max` frames off the device.
  ring_port rp(test_config());
  auto io = open_io(rp);
  for (int i = 0; i < 70; ++i) rp.inject(udp_in(rp.port().mac()));  // port 40000 not open
  packet* pkts[32];
  CHECK(io->rx_burst(pkts, 32) == 0);
  CHECK(drops(*io, net::rx_drop::unknown_port) == 32);
  CHECK(io->rx_burst(pkts, 20) == 0);
  CHECK(drops(*io, net::rx_drop::unknown_port) == 52);
  // The 18 still queued were never read: opened now, their port takes them.
  REQUIRE(io->open_port(40000));
  REQUIRE(io->rx_burst(pkts, 32) == 18);
  for (int i = 0; i < 18; ++i) io->release(pkts[i]);
  CHECK(drops(*io, net::rx_drop::unknown_port) == 52);
  CHECK(io->stats().rx_packets == 18);
}

TEST_CASE("dpdk: sending resolves the next hop by ARP", "[dataplane][dpdk]") {
  ring_port rp(test_config());
  auto io = open_io(rp);
  const net::mac_addr us = rp.port().mac();

  // Unknown next hop: the datagram is dropped, one ARP request goes out, and a second
  // datagram within the retry interval doesn't ask again.
  packet* p = send_payload(*io, "tutti", peer_ip, 5004);
  CHECK(io->tx_burst(&p, 1) == 0);
  p = send_payload(*io, "tutti", peer_ip, 5004);
  CHECK(io->tx_burst(&p, 1) == 0);
  CHECK(tx_drops(*io, tx_drop::arp_unresolved) == 2);
  auto out = rp.sent();
  REQUIRE(out.size() == 1);
  bytes who_has(60);
  net::build_arp_request(who_has, us, our_ip, peer_ip);
  CHECK(out[0] == who_has);
  CHECK(io->detailed_stats().arp_requests == 1);

  // The peer answers; now the datagram goes out exactly.
  rp.inject(arp_reply_from_peer(us));
  packet* pkts[32];
  CHECK(io->rx_burst(pkts, 32) == 0);
  CHECK(io->detailed_stats().arp_learned == 1);
  p = send_payload(*io, "tutti", peer_ip, 5004);
  REQUIRE(io->tx_burst(&p, 1) == 1);
  out = rp.sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0] == udp_out(peer_mac, us));
  CHECK(io->stats().tx_packets == 1);
  CHECK(io->stats().tx_dropped == 2);
}

TEST_CASE("dpdk: off-link via a static gateway, no route, too long", "[dataplane][dpdk]") {
  auto cfg = test_config();
  cfg.gateway = 0x0a0000fe;
  cfg.gateway_mac = gw_mac;
  ring_port rp(cfg);
  auto io = open_io(rp);
  const net::mac_addr us = rp.port().mac();

  // 200 bytes to 192.0.2.7:6000 through the gateway, IP id 0 (first datagram built).
  packet* p = io->alloc_tx();
  REQUIRE(p != nullptr);
  CHECK(p->capacity == 1472);
  for (int i = 0; i < 200; ++i) p->data[i] = static_cast<uint8_t>(i);
  p->len = 200;
  p->local_port = 40000;
  p->remote = endpoint{0xc0000207, 6000};
  packet* q = send_payload(*io, "x", 0xe0000001, 6000);        // multicast: no route
  packet* r = send_payload(*io, "x", 0x0a0000ff, 6000);        // subnet broadcast
  packet* big = io->alloc_tx();
  big->len = 1473;
  big->remote = endpoint{peer_ip, 5004};
  packet* all[4] = {p, q, r, big};
  REQUIRE(io->tx_burst(all, 4) == 1);
  CHECK(tx_drops(*io, tx_drop::no_route) == 2);
  CHECK(tx_drops(*io, tx_drop::too_long) == 1);

  auto out = rp.sent();
  REQUIRE(out.size() == 1);
  const bytes& f = out[0];
  REQUIRE(f.size() == 242);
  CHECK(net::load_mac(f.data()) == gw_mac);
  CHECK(net::load_mac(f.data() + 6) == us);
  const bytes ip_hdr = {0x45, 0xb8, 0x00, 0xe4, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                        0x6d, 0x48, 0x0a, 0x00, 0x00, 0x02, 0xc0, 0x00, 0x02, 0x07};
  CHECK(bytes(f.begin() + 14, f.begin() + 34) == ip_hdr);
  CHECK(net::load_be16(f.data() + 34) == 40000);
  CHECK(net::load_be16(f.data() + 36) == 6000);
  CHECK(net::load_be16(f.data() + 38) == 208);
  CHECK(net::load_be16(f.data() + 40) == 0xab5d);  // computed independently
  for (int i = 0; i < 200; ++i) REQUIRE(f[42 + static_cast<size_t>(i)] == i);

  // Without a gateway, off-link is unreachable.
  ring_port rp2(test_config());
  auto io2 = open_io(rp2);
  packet* s = send_payload(*io2, "x", 0xc0000207, 6000);
  CHECK(io2->tx_burst(&s, 1) == 0);
  CHECK(tx_drops(*io2, tx_drop::no_route) == 1);
}

TEST_CASE("dpdk: pool exhaustion and multi-queue limits", "[dataplane][dpdk]") {
  ring_port rp(test_config());
  auto io = open_io(rp);
  std::vector<packet*> held;
  while (packet* p = io->alloc_tx()) held.push_back(p);
  CHECK(held.size() >= 200);  // 511 less what the per-core cache and rings keep
  CHECK(io->detailed_stats().alloc_failed == 1);
  for (packet* p : held) io->release(p);
  packet* again = io->alloc_tx();
  REQUIRE(again != nullptr);
  io->release(again);

  // Two queues on a device without rte_flow: queue 0 takes unsteered traffic and can open
  // ports; queue 1 can't steer, so it refuses rather than miss its traffic.
  ring_port two(test_config(), 2);
  auto q0 = open_io(two, 0);
  auto q1 = open_io(two, 1);
  CHECK(q0->open_port(40000));
  CHECK_FALSE(q1->open_port(40002));
  CHECK_FALSE(dpdk_io::open(two.port(), 2).ok());
}

TEST_CASE("dpdk: port by vdev name from the EAL arguments", "[dataplane][dpdk]") {
  tutti::test::test_eal();
  auto cfg = test_config();
  cfg.device = "net_ring0";  // --vdev=net_ring0: one ring for RX and TX, a loopback
  cfg.gateway = 0x0a0000fe;
  cfg.gateway_mac = gw_mac;
  auto port = dpdk_port::open(tutti::test::test_eal(), cfg);
  REQUIRE(port.ok());
  auto io = dpdk_io::open(*port.value(), 0);
  REQUIRE(io.ok());
  packet* p = send_payload(**io, "loop", 0xc0000207, 6000);
  REQUIRE((*io)->tx_burst(&p, 1) == 1);
  packet* pkts[32];
  // Our own datagram comes back addressed to 192.0.2.7: foreign.
  CHECK((*io)->rx_burst(pkts, 32) == 0);
  CHECK(drops(**io, net::rx_drop::foreign_address) == 1);

  cfg.device = "net_nonexistent";
  auto missing = dpdk_port::open(tutti::test::test_eal(), cfg);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().what == dpdk_error::no_such_device);
  cfg.device = "net_ring0";
  cfg.ip = 0;
  CHECK(dpdk_port::open(tutti::test::test_eal(), cfg).error().what == dpdk_error::bad_config);
}
