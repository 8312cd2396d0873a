// rtp_receiver: loss, duplicates, reordering, sequence wrap, RFC 3550 jitter, drift and the
// kept payloads, on synthetic arrivals (no sockets, no clock).
#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "dataplane/rtp.hpp"
#include "perf/rtp_receiver.hpp"

using namespace tutti;
using namespace tutti::perf;

namespace {

constexpr uint64_t ms = 1'000'000;
constexpr uint64_t t0 = 10'000 * ms;

struct stream {
  uint16_t seq;
  uint32_t ts = 1000;
  uint32_t ssrc = 0x1234;
  uint8_t fill = 0;

  std::vector<uint8_t> packet(uint16_t s, uint32_t t, uint32_t src) const {
    std::vector<uint8_t> out(12 + 160);
    dp::rtp_header_fields h{};
    h.payload_type = 0;
    h.sequence = s;
    h.timestamp = t;
    h.ssrc = src;
    REQUIRE(dp::build_rtp_header(out.data(), out.size(), h) == 12);
    std::memset(out.data() + 12, static_cast<int>(s & 0xff), 160);
    return out;
  }
};

// Participant 0 receives packets k = 0..count-1 (except `skip`) of a 20 ms stream starting at
// sequence `first_seq`, packet k arriving at t0 + k * 20 ms + extra(k).
template <typename Extra>
void feed(rtp_receiver& rx, uint16_t first_seq, uint32_t count, Extra extra, std::vector<uint32_t> skip = {},
          uint32_t ssrc = 0x1234) {
  stream s{first_seq};
  for (uint32_t k = 0; k < count; ++k) {
    if (std::find(skip.begin(), skip.end(), k) != skip.end()) continue;
    const auto p = s.packet(static_cast<uint16_t>(first_seq + k), 1000 + k * 160, ssrc);
    rx.on_packet(0, p.data(), static_cast<uint32_t>(p.size()), t0 + k * 20 * ms + extra(k));
  }
}

auto none = [](uint32_t) { return uint64_t{0}; };

}  // namespace

TEST_CASE("a clean stream across the sequence wrap has no loss, no jitter, no drift", "[perf][rtpgen]") {
  rtp_receiver rx(dp::codec_id::pcmu, 1, t0 + 1000 * ms, t0 + 5000 * ms, false);
  feed(rx, 65500, 300, none);  // 6 s: 5 s window after 1 s
  const rx_summary s = rx.summarize();
  CHECK(s.received == 300);
  CHECK(s.window_received == 200);
  CHECK(s.expected == 200);
  CHECK(s.lost == 0);
  CHECK(s.loss_pct == 0);
  CHECK(s.duplicates == 0);
  CHECK(s.jitter_p99_ms < 0.011);
  REQUIRE(s.drift_valid);
  CHECK(std::abs(s.drift_ms_per_s) < 1e-9);
  CHECK(s.pps_min == 50);
  CHECK(s.pps_max == 50);
  CHECK(s.whole_seconds == 4);
  CHECK(s.silent == 0);
}

TEST_CASE("lost, duplicated and reordered packets are counted from sequence numbers", "[perf][rtpgen]") {
  rtp_receiver rx(dp::codec_id::pcmu, 1, t0, t0 + 4000 * ms, false);
  feed(rx, 65530, 100, none, {10, 11, 50});
  stream gen{0};
  // A duplicate of packet 90, and packet 10 arriving long after the stream moved on.
  auto dup = gen.packet(static_cast<uint16_t>(65530 + 90), 1000 + 90 * 160, 0x1234);
  rx.on_packet(0, dup.data(), static_cast<uint32_t>(dup.size()), t0 + 2500 * ms);
  auto late = gen.packet(static_cast<uint16_t>(65530 + 10), 1000 + 10 * 160, 0x1234);
  rx.on_packet(0, late.data(), static_cast<uint32_t>(late.size()), t0 + 1210 * ms);
  uint8_t junk[3] = {1, 2, 3};
  rx.on_packet(0, junk, 3, t0 + 1300 * ms);
  const rx_summary s = rx.summarize();
  CHECK(s.expected == 100);
  CHECK(s.window_received == 98);  // 97 in order + the late one
  CHECK(s.lost == 2);
  CHECK(s.duplicates == 1);
  CHECK(s.bad == 1);
  CHECK(s.loss_pct == Approx(2.0));
}

TEST_CASE("a growing backlog shows as a positive drift slope", "[perf][rtpgen]") {
  rtp_receiver rx(dp::codec_id::opus, 2, t0 + 1000 * ms, t0 + 6000 * ms, false);
  // Participant 0 falls 10 ms behind per second (0.2 ms per packet), with jitter on top
  // that only ever delays; participant 1 keeps time.
  stream s{100};
  for (uint32_t k = 0; k < 300; ++k) {
    const uint64_t late = k * 200'000 + (k % 7 == 0 ? 4 * ms : 0);
    auto p = s.packet(static_cast<uint16_t>(100 + k), k * 960, 0x1);
    rx.on_packet(0, p.data(), static_cast<uint32_t>(p.size()), t0 + k * 20 * ms + late);
    auto q = s.packet(static_cast<uint16_t>(900 + k), 5000 + k * 960, 0x2);
    rx.on_packet(1, q.data(), static_cast<uint32_t>(q.size()), t0 + k * 20 * ms + 3 * ms + (k % 5) * 100'000);
  }
  const rx_summary sum = rx.summarize();
  REQUIRE(sum.drift_valid);
  CHECK(sum.participants[0].drift_ms_per_s == Approx(10.0).margin(0.3));
  CHECK(std::abs(sum.participants[1].drift_ms_per_s) < 0.2);
  CHECK(sum.backlog_ms > 0);
  CHECK(sum.lost == 0);

  rtp_receiver one(dp::codec_id::pcmu, 1, t0 + 1000 * ms, t0 + 6000 * ms, false);
  feed(one, 7, 300, [](uint32_t k) { return uint64_t{k} * 200'000; });
  const rx_summary o = one.summarize();
  CHECK(o.drift_ms_per_s == Approx(10.0).margin(0.3));
  CHECK(o.backlog_ms == Approx(45.0).margin(6));
}

TEST_CASE("RFC 3550 interarrival jitter converges on the transit difference", "[perf][rtpgen]") {
  rtp_receiver rx(dp::codec_id::pcmu, 1, t0 + 2000 * ms, t0 + 10000 * ms, false);
  // Alternate arrivals 2 ms early and on time: |D| = 2 ms every packet, so J -> 2 ms.
  feed(rx, 1, 500, [](uint32_t k) { return k % 2 ? uint64_t{0} : uint64_t{2 * ms}; });
  const rx_summary s = rx.summarize();
  CHECK(s.participants[0].jitter_ms == Approx(2.0).margin(0.01));
  CHECK(s.jitter_p50_ms == Approx(2.0).margin(0.02));
  CHECK(s.jitter_p99_ms == Approx(2.0).margin(0.02));
}

TEST_CASE("a new SSRC re-bases sequence and timestamps without a loss or a jump", "[perf][rtpgen]") {
  rtp_receiver rx(dp::codec_id::pcmu, 1, t0, t0 + 4000 * ms, false);
  feed(rx, 100, 50, none);
  stream s{0};
  for (uint32_t k = 50; k < 150; ++k) {
    auto p = s.packet(static_cast<uint16_t>(40000 + k), 777777 + k * 160, 0x9999);
    rx.on_packet(0, p.data(), static_cast<uint32_t>(p.size()), t0 + k * 20 * ms);
  }
  const rx_summary sum = rx.summarize();
  CHECK(sum.participants[0].ssrc_changes == 1);
  CHECK(sum.participants[0].timestamp_jumps == 0);
  CHECK(sum.lost == 0);
  CHECK(sum.expected == 150);
  CHECK(std::abs(sum.drift_ms_per_s) < 0.1);
}

TEST_CASE("a participant that hears nothing is silent; one window bin is not a slope", "[perf][rtpgen]") {
  rtp_receiver rx(dp::codec_id::pcmu, 2, t0, t0 + 400 * ms, false);
  feed(rx, 1, 20, none);
  const rx_summary s = rx.summarize();
  CHECK(s.silent == 1);
  CHECK(s.participants[1].window_packets == 0);
  CHECK_FALSE(s.drift_valid);  // 400 ms: two bins
}

TEST_CASE("the latest window packets are kept in sequence order", "[perf][rtpgen]") {
  rtp_receiver rx(dp::codec_id::pcmu, 1, t0 + 100 * ms, t0 + 3000 * ms, true);
  feed(rx, 65500, 150, none, {140});
  const auto kept = rx.kept(0);
  REQUIRE(kept.size() == rtp_receiver::kept_packets);
  for (size_t k = 1; k < kept.size(); ++k) CHECK(kept[k].sequence > kept[k - 1].sequence);
  CHECK(kept.back().sequence == 65500 + 149);
  CHECK(kept.front().sequence == 65500 + 149 - 60);  // 60 kept, 140 missing among them
  CHECK(kept.back().payload.size() == 160);
  CHECK(kept.back().payload[0] == ((65500 + 149) & 0xff));
}

TEST_CASE("least-squares slope", "[perf][rtpgen]") {
  const std::vector<double> x{0, 1, 2, 3}, y{1, 3, 5, 7};
  CHECK(least_squares_slope(x, y) == Approx(2.0));
  CHECK(least_squares_slope(std::vector<double>{1}, std::vector<double>{1}) == 0);
}
