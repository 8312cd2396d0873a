// A worker thread on io_uring over loopback, programmed only through its command ring: three
// PCMU participants on ports chosen at run time send tones from plain UDP sockets, and each
// hears the other two and not itself. Objects come back through the message ring.
#include "dataplane/worker.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

#include "base/clock.hpp"
#include "dataplane/conference.hpp"
#include "dataplane/io/uring.hpp"
#include "dataplane/rtcp.hpp"
#include "perf/speech_source.hpp"
#include "simd/g711.hpp"
#include "tests/dataplane/tone_rig.hpp"

using namespace tutti;

namespace {

constexpr uint64_t deadline_ns = 10'000'000'000;  // anti-hang only

struct udp_peer {
  udp_peer() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    REQUIRE(fd >= 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    socklen_t len = sizeof sa;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    port = ntohs(sa.sin_port);
  }
  ~udp_peer() { ::close(fd); }
  void send_to(uint16_t to, const uint8_t* data, size_t len) const {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(to);
    REQUIRE(::sendto(fd, data, len, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == ssize_t(len));
  }
  // Drains what arrived, decoding PCMU payloads into `audio`.
  void receive() {
    uint8_t buf[2048];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      if (dp::looks_like_rtcp(buf, size_t(n))) {
        // Our SR + SDES, muxed on the RTP port.
        const auto compound = dp::parse_rtcp_compound(buf, size_t(n));
        REQUIRE(compound.ok());
        CHECK((*compound->begin()).type == dp::rtcp_type_sr);
        ++rtcp;
        continue;
      }
      const auto rtp = dp::parse_rtp(buf, size_t(n));
      REQUIRE(rtp.ok());
      std::vector<int16_t> pcm(rtp->payload_len);
      simd::ulaw_decode(rtp->payload, pcm.data(), pcm.size());
      audio.insert(audio.end(), pcm.begin(), pcm.end());
    }
  }
  int fd = -1;
  uint16_t port = 0;
  size_t rtcp = 0;
  std::vector<int16_t> audio;
};

uint16_t free_udp_port() {
  udp_peer probe;
  return probe.port;  // closed when probe goes: free again for the worker to bind
}

struct worker_rig {
  worker_rig() {
    dp::io::uring_config uc;
    uc.rx_buffers = 256;
    uc.tx_buffers = 256;
    uc.max_ports = 16;
    auto io = dp::io::uring_io::create(uc);
    REQUIRE(io.ok());
    dp::worker_config wc;
    wc.engine.max_participants = 16;
    w = std::make_unique<dp::worker>(wc, std::move(io.value()), bell);
    w->start();
  }
  ~worker_rig() {
    w->stop();
    // Whatever the worker gave back and nobody collected yet.
    collect();
  }

  // Sends a command and waits for its reply; destroys whatever comes back.
  bool call(dp::command c) {
    c.request_id = ++next_request;
    REQUIRE(w->submit(c));
    const uint64_t deadline = monotonic_ns() + deadline_ns;
    while (monotonic_ns() < deadline) {
      dp::worker_message m[16];
      const size_t n = w->drain(m, 16);
      for (size_t i = 0; i < n; ++i) {
        take(m[i]);
        if (m[i].type == dp::message_type::reply && m[i].request_id == c.request_id) return m[i].ok;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    FAIL("no reply from the worker");
    return false;
  }
  void take(const dp::worker_message& m) {
    delete m.conf;
    delete m.part;
    delete m.group;
    if (m.type == dp::message_type::event) events.push_back(m.event);
  }
  void collect() {
    dp::worker_message m[16];
    while (size_t n = w->drain(m, 16))
      for (size_t i = 0; i < n; ++i) take(m[i]);
  }

  doorbell bell;
  std::unique_ptr<dp::worker> w;
  uint64_t next_request = 0;
  std::vector<dp::engine_event> events;
};

}  // namespace

TEST_CASE("a worker on io_uring mixes N-1 for participants programmed by commands",
          "[dataplane][worker]") {
  worker_rig rig;
  dp::conference_config cc;
  cc.id = 1;
  cc.mix_rate_hz = 8000;
  cc.max_participants = 4;
  dp::command add_conf;
  add_conf.type = dp::command_type::add_conference;
  add_conf.conf = new dp::conference(cc);
  REQUIRE(rig.call(add_conf));

  constexpr int n = 3;
  udp_peer peers[n];
  uint16_t ports[n];
  for (int i = 0; i < n; ++i) {
    ports[i] = free_udp_port();
    dp::participant_config pc;
    pc.id = 10 + i;
    pc.local_port = ports[i];
    pc.remote = {INADDR_LOOPBACK, peers[i].port};
    pc.format.codec = dp::codec_id::pcmu;
    pc.format.payload_type = 0;
    pc.ssrc = 0x77 + i;
    dp::command add;
    add.type = dp::command_type::add_participant;
    add.conference_id = 1;
    add.part = new dp::participant(pc, 8000);
    if (i == 0) add.group = new dp::output_group(dp::codec_id::pcmu, 8000, 6, cc.opus);
    REQUIRE(rig.call(add));
  }

  // One second of tones, paced on the clock.
  const uint64_t start = monotonic_ns();
  for (uint32_t k = 0; k < 50; ++k) {
    while (monotonic_ns() < start + k * 20'000'000ull) std::this_thread::sleep_for(std::chrono::microseconds(200));
    for (int i = 0; i < n; ++i) {
      const auto pcm = perf::tone(test::tone_conference::frequency(i), -20, 8000, 160, k * 160);
      uint8_t pkt[200];
      dp::rtp_header_fields h{};
      h.payload_type = 0;
      h.sequence = static_cast<uint16_t>(k);
      h.timestamp = k * 160;
      h.ssrc = 0x500 + i;
      const size_t hl = dp::build_rtp_header(pkt, sizeof pkt, h);
      simd::ulaw_encode(pcm.data(), pkt + hl, 160);
      peers[i].send_to(ports[i], pkt, hl + 160);
    }
    for (auto& p : peers) p.receive();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (auto& p : peers) p.receive();

  for (int i = 0; i < n; ++i) {
    INFO("listener " << i << " got " << peers[i].audio.size() << " samples");
    REQUIRE(peers[i].audio.size() >= 20 * 160);
    CHECK(peers[i].rtcp >= 1);  // the first report goes out within the first second
    // The middle of the call: 20 frames (400 ms, whole cycles of every test tone).
    const std::vector<int16_t> window(peers[i].audio.end() - 25 * 160, peers[i].audio.end() - 5 * 160);
    for (int j = 0; j < n; ++j) {
      const double db = test::tone_dbfs(window, test::tone_conference::frequency(j), 8000);
      INFO("sender " << j << " at " << db << " dBFS");
      if (i == j)
        CHECK(db < -60);
      else
        CHECK(std::abs(db - -20) <= 1.0);
    }
  }

  dp::command mute;
  mute.type = dp::command_type::set_muted;
  mute.conference_id = 1;
  mute.participant_id = 11;
  mute.value = 1;
  CHECK(rig.call(mute));
  mute.participant_id = 99;  // nobody
  CHECK_FALSE(rig.call(mute));

  dp::command remove;
  remove.type = dp::command_type::remove_conference;
  remove.conference_id = 1;
  CHECK(rig.call(remove));
  CHECK_FALSE(rig.call(remove));  // already gone
  const auto snap = rig.w->snapshot();
  CHECK(snap.rx_rtp >= 100);  // published every 100 ms: the call above is well covered
  CHECK(snap.tx_rtp >= 100);
  // Load is CPU time of work: never more than the wall time spent working, nor than the
  // thread's CPU time, and some of it was spent (it mixed).
  CHECK(snap.load_ns > 0);
  CHECK(snap.load_ns <= snap.busy_ns);
  CHECK(snap.load_ns <= snap.cpu_ns);
  CHECK(snap.busy_ns <= snap.uptime_ns);
}
