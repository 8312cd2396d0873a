// The DPDK data path end to end, as tutti-bench engine-dpdk runs it: RTP as Ethernet/IPv4/UDP
// frames into a net_ring device, dpdk_io, the engine's classify/jitter/mix, and the N-1 mixes
// back out as frames. Every frame that leaves is checked byte-level (addresses, ports,
// checksums) and by what it carries (each participant hears every tone but its own).
#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "dataplane/engine.hpp"
#include "dataplane/io/dpdk.hpp"
#include "dataplane/net/frame.hpp"
#include "perf/speech_source.hpp"
#include "simd/g711.hpp"
#include "tests/dataplane/dpdk_test_env.hpp"
#include "tests/dataplane/tone_rig.hpp"

using namespace tutti;
using namespace tutti::dp;
using tutti::test::listener;
using tutti::test::ring_port;
using tutti::test::tone_conference;
using tutti::test::tone_dbfs;

namespace {

constexpr uint32_t our_ip = 0x0a000002;  // 10.0.0.2/24
constexpr uint32_t members = 4;

// Participant i: local port 4000 + 2i, peer 10.0.0.(10 + i):30000 + i with its own MAC.
uint16_t local_port(uint32_t i) { return static_cast<uint16_t>(4000 + 2 * i); }
io::endpoint peer(uint32_t i) { return {0x0a00000a + i, static_cast<uint16_t>(30000 + i)}; }
net::mac_addr peer_mac(uint32_t i) {
  return net::mac_addr{{0x02, 0, 0, 0, 1, static_cast<uint8_t>(0x10 + i)}};
}

struct dpdk_conference {
  dpdk_conference() : rp(config()), io(open(rp)), engine(*io, {}, nullptr) {
    conference_config cc;
    cc.id = 7;
    cc.mix_rate_hz = 8000;
    cc.max_participants = members;
    cc.speakers.max_speakers = members;  // everyone mixed: each hears exactly the others
    auto conf = std::make_unique<conference>(cc);
    REQUIRE(engine.add_conference(conf));
    for (uint32_t i = 0; i < members; ++i) {
      participant_config pc;
      pc.id = 100 + i;
      pc.local_port = local_port(i);
      pc.remote = peer(i);
      pc.format.codec = codec_id::pcmu;
      pc.format.payload_type = 0;
      pc.ssrc = 0xabc0 + i;
      auto p = std::make_unique<participant>(pc, 8000);
      std::unique_ptr<output_group> group;
      if (!engine.find_conference(7)->has_group(codec_id::pcmu))
        group = std::make_unique<output_group>(codec_id::pcmu, 8000, members + 3, cc.opus);
      REQUIRE(engine.add_participant(7, p, group));
      listeners.push_back(std::make_unique<listener>(codec_id::pcmu));
    }
  }

  static io::dpdk_port_config config() {
    io::dpdk_port_config c;
    c.ip = our_ip;
    c.prefix_len = 24;
    c.rx_descriptors = 64;
    c.tx_descriptors = 64;
    c.mbufs_per_queue = 511;
    return c;
  }
  static std::unique_ptr<io::dpdk_io> open(ring_port& rp) {
    auto r = io::dpdk_io::open(rp.port(), 0);
    REQUIRE(r.ok());
    return std::move(r.value());
  }

  // Participant i's packet of tick t as the frame its peer puts on the wire: 20 ms of its
  // tone at -20 dBFS, G.711 u-law.
  std::vector<uint8_t> frame(uint32_t i, uint32_t t) {
    const auto pcm = perf::tone(tone_conference::frequency(i), -20, 8000, 160, t * 160);
    std::vector<uint8_t> f(net::udp_frame_overhead + 12 + 160);
    rtp_header_fields h{};
    h.payload_type = 0;
    h.sequence = static_cast<uint16_t>(t);
    h.timestamp = t * 160;
    h.ssrc = 0x100 + i;
    REQUIRE(build_rtp_header(f.data() + net::udp_frame_overhead, 12, h) == 12);
    simd::ulaw_encode(pcm.data(), f.data() + net::udp_frame_overhead + 12, 160);
    net::udp_send s;
    s.dst_mac = rp.port().mac();
    s.src_mac = peer_mac(i);
    s.src_ip = peer(i).ip;
    s.dst_ip = our_ip;
    s.src_port = peer(i).port;
    s.dst_port = local_port(i);
    s.ip_id = static_cast<uint16_t>(t);
    net::write_udp_headers(f, s, {});
    return f;
  }

  void run(uint32_t ticks) {
    for (uint32_t t = 0; t < ticks; ++t, ++tick) {
      for (uint32_t i = 0; i < members; ++i) rp.inject(frame(i, tick));
      while (engine.poll_rx(64) > 0) {
      }
      engine.run_due_ticks(now + tutti::test::period_ns - 1);
      now += tutti::test::period_ns;
      for (const auto& f : rp.sent()) check_frame(f);
    }
  }

  // One frame the port sent: exact headers, then the RTP to its listener.
  void check_frame(const std::vector<uint8_t>& f) {
    REQUIRE(f.size() >= net::udp_frame_overhead);
    const uint16_t dst_port = net::load_be16(f.data() + 36);
    REQUIRE(dst_port >= 30000);
    REQUIRE(dst_port < 30000 + members);
    const uint32_t i = dst_port - 30000u;
    // Classified as the peer would: Ethernet/IPv4/UDP to its address, both checksums verified
    // in software (the ring device offloads nothing).
    const auto c = net::classify_frame(f, peer(i).ip);
    REQUIRE(c.ok());
    REQUIRE(c->kind == net::frame_kind::udp);
    CHECK(net::load_mac(f.data()) == peer_mac(i));  // learned from the peer's own frames
    CHECK(net::load_mac(f.data() + 6) == rp.port().mac());
    CHECK(c->src_ip == our_ip);
    CHECK(c->dst_ip == peer(i).ip);
    CHECK(c->src_port == local_port(i));
    CHECK(f[15] == 46 << 2);  // DSCP EF
    const uint8_t* payload = f.data() + c->payload_offset;
    if (looks_like_rtcp(payload, c->payload_len)) {
      ++rtcp;
      return;
    }
    const auto rtp = parse_rtp(payload, c->payload_len);
    REQUIRE(rtp.ok());
    CHECK(rtp->payload_type == 0);
    CHECK(rtp->ssrc == 0xabc0 + i);
    CHECK(rtp->payload_len == 160);
    listeners[i]->receive(*rtp);
  }

  double heard(uint32_t i, uint32_t sender, uint32_t frames = 10) const {
    const auto& a = listeners[i]->audio;
    const size_t n = frames * 160;
    REQUIRE(a.size() >= n);
    return tone_dbfs(std::vector<int16_t>(a.end() - static_cast<long>(n), a.end()),
                     tone_conference::frequency(sender), 8000);
  }

  ring_port rp;
  std::unique_ptr<io::dpdk_io> io;
  dp::engine engine;
  std::vector<std::unique_ptr<listener>> listeners;
  uint64_t now = 5'000'000'000;
  uint32_t tick = 0;
  size_t rtcp = 0;
};

}  // namespace

TEST_CASE("dpdk path: frames in, N-1 mixes out as valid frames to each peer",
          "[dataplane][dpdk][engine]") {
  dpdk_conference c;
  c.run(30);

  const io::dpdk_io_stats s = c.io->detailed_stats();
  CHECK(s.rx_packets == 30 * members);
  for (uint64_t d : s.rx_drops) CHECK(d == 0);
  for (uint64_t d : s.tx_drops) CHECK(d == 0);
  CHECK(s.arp_requests == 0);  // every peer's MAC came with its first datagram
  const engine_stats& e = c.engine.stats();
  CHECK(e.rx_rtp == 30 * members);
  CHECK(e.tx_rtp == 30 * members);  // a packet per participant per tick from the first
  CHECK(s.tx_packets == e.tx_rtp + e.tx_rtcp);
  for (uint32_t i = 0; i < members; ++i) {
    CHECK(c.listeners[i]->packets == 30);
    for (uint32_t j = 0; j < members; ++j) {
      INFO("listener " << i << ", tone of " << j);
      if (i == j) {
        CHECK(c.heard(i, j) < -50);  // mix-minus: never your own voice
      } else {
        CHECK(std::abs(c.heard(i, j) - -20) <= 1.0);
      }
    }
  }
}

TEST_CASE("dpdk path: a frame to a port without a participant is dropped by dpdk_io",
          "[dataplane][dpdk][engine]") {
  dpdk_conference c;
  c.run(2);
  auto stray = c.frame(0, 2);
  // To local port 4001 (nobody's): the UDP checksum rebuilt with the port.
  net::udp_send s;
  s.dst_mac = c.rp.port().mac();
  s.src_mac = peer_mac(0);
  s.src_ip = peer(0).ip;
  s.dst_ip = our_ip;
  s.src_port = peer(0).port;
  s.dst_port = 4001;
  net::write_udp_headers(stray, s, {});
  c.rp.inject(stray);
  while (c.engine.poll_rx(64) > 0) {
  }
  CHECK(c.io->detailed_stats().rx_drops[static_cast<int>(net::rx_drop::unknown_port)] == 1);
  CHECK(c.engine.stats().rx_rtp == 2 * members);
}
