// tutti-rtpgen's smaller parts: the command line, target lists, the packets each participant
// sends (sequence, timestamps, marker, levels, DTX), the pcap frames, and the io_uring
// transport on loopback.
#include <arpa/inet.h>
#ifdef TUTTI_TEST_LIBPCAP
#include <pcap/pcap.h>
#endif

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "dataplane/rtp.hpp"
#include "perf/pcap_writer.hpp"
#include "perf/rtp_sender.hpp"
#include "perf/rtpgen_audio.hpp"
#include "perf/rtpgen_config.hpp"
#include "perf/udp_ring.hpp"
#include "tests/control/test_util.hpp"

using namespace tutti;
using namespace tutti::perf;

namespace {

std::optional<rtpgen_config> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "tutti-rtpgen");
  std::ostringstream help;
  return parse_rtpgen_args(static_cast<int>(args.size()), args.data(), help);
}

}  // namespace

TEST_CASE("command line", "[perf][rtpgen]") {
  SECTION("setup mode with defaults") {
    const auto c = parse({"--setup", "/tmp/x.sock", "-n", "25", "--conf-size", "10", "--codec", "opus", "--levels"});
    REQUIRE(c);
    CHECK(c->participants == 25);
    CHECK(c->conferences() == 3);
    CHECK(c->members_of(2) == 5);
    CHECK(c->codec == dp::codec_id::opus);
    CHECK(c->payload_type() == 111);
    CHECK(c->levels);
    CHECK(c->seconds == 10);
    CHECK(c->complexity == 4);
    CHECK(c->effective_speakers() == 10);
    CHECK(c->targets.empty());
  }
  SECTION("targets with a step, and a ports file") {
    const auto c = parse({"-n", "4", "--target", "127.0.0.1:20000+2"});
    REQUIRE(c);
    REQUIRE(c->targets.size() == 4);
    CHECK(c->targets[3].port == 20006);
    CHECK(c->targets[3].ip == 0x7f000001);
    const auto list = parse_targets("10.0.0.1:5000,10.0.0.2:6000", 2);
    REQUIRE(list.size() == 2);
    CHECK(endpoint_string(list[1]) == "10.0.0.2:6000");
    const auto file = parse_ports_text("# ports\n20000\n 10.1.2.3:20002 # second\n\n");
    REQUIRE(file.size() == 2);
    CHECK(endpoint_string(file[0]) == "127.0.0.1:20000");
    CHECK(endpoint_string(file[1]) == "10.1.2.3:20002");
    CHECK_THROWS_AS(parse_ports_text("20000\nnot-a-port\n"), std::invalid_argument);
  }
  SECTION("help prints and returns nothing") {
    std::vector<const char*> args{"tutti-rtpgen", "--help"};
    std::ostringstream help;
    CHECK_FALSE(parse_rtpgen_args(2, args.data(), help));
    CHECK(help.str().find("--setup") != std::string::npos);
    CHECK(help.str().find("drift_ms_per_s") != std::string::npos);
  }
  SECTION("bad combinations are refused") {
    CHECK_THROWS_AS(parse({"-n", "2"}), std::invalid_argument);  // nowhere to send
    CHECK_THROWS_AS(parse({"-n", "3", "--target", "127.0.0.1:2000,127.0.0.1:2002"}), std::invalid_argument);
    CHECK_THROWS_AS(parse({"--setup", "s", "--dtx"}), std::invalid_argument);  // DTX is Opus
    CHECK_THROWS_AS(parse({"--setup", "s", "--codec", "g729"}), std::invalid_argument);
    CHECK_THROWS_AS(parse({"--setup", "s", "--audio", "tone", "--rotate", "3"}), std::invalid_argument);
    CHECK_THROWS_AS(parse({"--setup", "s", "--pcap", "x.pcap"}), std::invalid_argument);
    CHECK_THROWS_AS(parse({"--setup", "s", "--target", "127.0.0.1:1"}), std::invalid_argument);
    CHECK_THROWS_AS(parse({"--setup", "s", "--rate", "44100"}), std::invalid_argument);
    CHECK_THROWS_AS(parse({"--setup", "s", "--participants", "0"}), std::invalid_argument);
    CHECK_THROWS_AS(parse({"--setup", "s", "--no-such-option"}), std::invalid_argument);
    CHECK_FALSE(parse_endpoint("127.0.0.1:0"));
    CHECK_FALSE(parse_endpoint("localhost:20"));
  }
}

TEST_CASE("each participant's packets", "[perf][rtpgen]") {
  rtpgen_config c;
  c.participants = 4;
  c.conf_size = 4;
  c.codec = dp::codec_id::pcmu;
  c.audio = audio_kind::tone;
  c.levels = true;
  c.seconds = 1;
  const voice_bank voices = build_voices(c);
  REQUIRE(voices.talk.size() == 4);
  rtp_sender s(c, voices);
  CHECK(s.periods() == 50);
  CHECK(s.phase_ns(0) == 0);
  CHECK(s.phase_ns(2) == 10'000'000);
  uint8_t buf[1500];
  std::optional<dp::rtp_view> prev;
  std::vector<uint8_t> prev_bytes;
  for (uint64_t k = 0; k < 3; ++k) {
    const size_t len = s.build(1, k, buf, sizeof buf);
    REQUIRE(len == 20 + 160);  // header with the level extension + 20 ms of PCMU
    const auto r = dp::parse_rtp(buf, len);
    REQUIRE(r.ok());
    CHECK(r->payload_type == 0);
    CHECK(r->marker == (k == 0));
    CHECK(r->ssrc == c.ssrc_base + 1);
    const auto level = dp::parse_audio_level(*r, c.level_ext_id);
    REQUIRE(level);
    CHECK(level->voice);
    // A sine at -21 dBFS has an RMS 3 dB lower: 24 dBov.
    CHECK(level->level_dbov == 24);
    if (prev) {
      CHECK(r->sequence == static_cast<uint16_t>(prev->sequence + 1));
      CHECK(r->timestamp == prev->timestamp + 160);
    }
    prev_bytes.assign(buf, buf + len);
    prev = dp::parse_rtp(prev_bytes.data(), prev_bytes.size()).value();
  }
}

TEST_CASE("silent Opus participants send DTX every 400 ms; talkers rotate", "[perf][rtpgen]") {
  rtpgen_config c;
  c.participants = 3;
  c.conf_size = 3;
  c.codec = dp::codec_id::opus;
  c.talkers = 1;
  c.dtx = true;
  c.rotate_s = 1;
  c.seconds = 2;
  c.loop_s = 0.4;
  const voice_bank voices = build_voices(c);
  REQUIRE_FALSE(voices.dtx.empty());
  CHECK(voices.dtx.size() <= 2);
  rtp_sender s(c, voices);
  CHECK(s.talking(0, 0));
  CHECK_FALSE(s.talking(1, 0));
  CHECK(s.talking(1, 50));  // after 1 s, position 1 talks
  uint8_t buf[1500];
  uint32_t sent = 0;
  uint16_t first_seq = 0, last_seq = 0;
  for (uint64_t k = 0; k < 50; ++k) {
    const size_t len = s.build(2, k, buf, sizeof buf);
    if (len == 0) continue;
    const auto r = dp::parse_rtp(buf, len);
    REQUIRE(r.ok());
    CHECK(r->payload_len == voices.dtx.size());
    CHECK(r->marker);  // every DTX frame follows a gap
    if (sent++ == 0) first_seq = r->sequence;
    last_seq = r->sequence;
  }
  CHECK(sent == 2);  // (k + 2) % 20 == 0: periods 18 and 38
  CHECK(static_cast<uint16_t>(last_seq - first_seq) == 1);
}

TEST_CASE("pcap frames carry valid IPv4 and UDP checksums", "[perf][rtpgen]") {
  frame_addresses a{{2, 0, 0, 0, 0, 2}, {2, 0, 0, 0, 0, 1}, {0xc0000202, 40000}, {0xc0000201, 20000}};
  const uint8_t payload[5] = {1, 2, 3, 4, 5};
  uint8_t f[128];
  const size_t n = build_udp_frame(f, sizeof f, a, 7, payload);
  REQUIRE(n == 14 + 20 + 8 + 5);
  CHECK(f[12] == 0x08);
  CHECK(f[13] == 0x00);
  CHECK(internet_checksum(f + 14, 20) == 0);  // a valid header sums to 0xffff
  // UDP: pseudo-header + header + payload sum to 0xffff as well.
  uint8_t pseudo[12] = {192, 0, 2, 2, 192, 0, 2, 1, 0, 17, 0, 13};
  std::vector<uint8_t> all(pseudo, pseudo + 12);
  all.insert(all.end(), f + 34, f + n);
  CHECK(internet_checksum(all.data(), all.size()) == 0);
  CHECK(build_udp_frame(f, 40, a, 7, payload) == 0);

  ctl::test::temp_dir dir;
  pcap_writer w;
  REQUIRE(w.open(dir / "x.pcap"));
  REQUIRE(w.write(1'500'000'000, {f, n}));
  REQUIRE(w.write(1'520'000'000, {f, n}));
  REQUIRE(w.close());
  CHECK(w.frames() == 2);
  const std::string bytes = ctl::test::read_text(dir / "x.pcap");
  REQUIRE(bytes.size() == 24 + 2 * (16 + n));
  uint32_t magic = 0, sec = 0, nsec = 0;
  std::memcpy(&magic, bytes.data(), 4);
  std::memcpy(&sec, bytes.data() + 24 + 16 + n, 4);
  std::memcpy(&nsec, bytes.data() + 24 + 16 + n + 4, 4);
  CHECK(magic == 0xa1b23c4d);
  CHECK(sec == 1);
  CHECK(nsec == 520'000'000);
#ifdef TUTTI_TEST_LIBPCAP
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline_with_tstamp_precision((dir / "x.pcap").c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  INFO(errbuf);
  REQUIRE(p);
  CHECK(pcap_datalink(p) == DLT_EN10MB);
  pcap_pkthdr* h = nullptr;
  const u_char* frame = nullptr;
  REQUIRE(pcap_next_ex(p, &h, &frame) == 1);
  CHECK(h->caplen == n);
  CHECK(h->ts.tv_sec == 1);
  CHECK(h->ts.tv_usec == 500'000'000);  // nanoseconds with PCAP_TSTAMP_PRECISION_NANO
  CHECK(std::memcmp(frame, f, n) == 0);
  REQUIRE(pcap_next_ex(p, &h, &frame) == 1);
  CHECK(pcap_next_ex(p, &h, &frame) == PCAP_ERROR_BREAK);
  pcap_close(p);
#endif
}

namespace {

struct collect final : datagram_sink {
  struct got {
    uint32_t socket;
    std::string data;
    uint64_t arrival_ns;
  };
  std::vector<got> datagrams;
  void on_datagram(uint32_t socket, const uint8_t* data, uint32_t len, uint64_t arrival_ns) noexcept override {
    datagrams.push_back({socket, std::string(reinterpret_cast<const char*>(data), len), arrival_ns});
  }
};

}  // namespace

TEST_CASE("the io_uring transport sends and receives on connected loopback sockets", "[perf][rtpgen]") {
  udp_ring_config rc;
  rc.sockets = 3;
  rc.rx_buffers = 64;
  rc.tx_buffers = 8;
  auto ring_or = udp_ring::create(rc);
  REQUIRE(ring_or.ok());
  udp_ring& ring = **ring_or;
  std::string err;
  // 0 <-> 1 talk to each other; 2 is connected to 0 but 0 never sends to it.
  REQUIRE(ring.connect(0, {0x7f000001, ring.local_port(1)}, err));
  REQUIRE(ring.connect(1, {0x7f000001, ring.local_port(0)}, err));
  REQUIRE(ring.connect(2, {0x7f000001, ring.local_port(0)}, err));
  REQUIRE(ring.start_receiving(err));
  const uint64_t before = monotonic_ns();
  for (uint32_t k = 0; k < 5; ++k) {
    uint32_t slot = 0;
    uint8_t* b = ring.tx_buffer(slot);
    REQUIRE(b);
    const int len = std::snprintf(reinterpret_cast<char*>(b), ring.tx_capacity(), "hello %u", k);
    ring.send(k % 2, slot, static_cast<uint32_t>(len));
  }
  collect sink;
  for (int i = 0; i < 200 && sink.datagrams.size() < 5; ++i) ring.poll(5'000'000, sink);
  const uint64_t after = monotonic_ns();
  REQUIRE(sink.datagrams.size() == 5);
  uint32_t to0 = 0, to1 = 0;
  for (const auto& d : sink.datagrams) {
    CHECK(d.data.rfind("hello ", 0) == 0);
    CHECK(d.socket != 2);
    // The kernel's receive time, converted to CLOCK_MONOTONIC.
    CHECK(d.arrival_ns >= before - 1'000'000);
    CHECK(d.arrival_ns <= after + 1'000'000);
    (d.socket == 0 ? to0 : to1)++;
  }
  CHECK(to1 == 3);
  CHECK(to0 == 2);
  for (int i = 0; i < 100 && ring.sends_in_flight() > 0; ++i) ring.poll(1'000'000, sink);
  CHECK(ring.stats().sent == 5);
  CHECK(ring.stats().send_errors == 0);
  CHECK(ring.stats().received == 5);
  CHECK(ring.stats().rx_no_kernel_ts == 0);
  CHECK(ring.sends_in_flight() == 0);
}
