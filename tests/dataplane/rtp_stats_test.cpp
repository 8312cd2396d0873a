// RFC 3550 Appendix A reception statistics and §6.4.1 RTT, with hand-computed expectations.
#include "dataplane/rtp_stats.hpp"

#include <catch2/catch.hpp>

#include <initializer_list>

using namespace tutti::dp;

namespace {

// Feeds sequence numbers with timestamps 160 apart that arrive exactly on time (no jitter).
void feed(rtp_source_stats& s, std::initializer_list<uint16_t> seqs) {
  for (uint16_t q : seqs) s.update(q, 160u * q, 160u * q + 1000);
}

}  // namespace

TEST_CASE("A.1 probation: a source is valid after two sequential packets", "[dataplane][rtp_stats]") {
  rtp_source_stats s;
  CHECK_FALSE(s.valid());
  CHECK_FALSE(s.update(100, 0, 0));
  CHECK_FALSE(s.valid());
  CHECK(s.expected() == 0);
  CHECK(s.received() == 0);
  CHECK(s.update(101, 160, 160));
  CHECK(s.valid());
  CHECK(s.extended_highest_seq() == 101);
  CHECK(s.expected() == 1);  // counting starts at the packet that ended probation
  CHECK(s.received() == 1);
  CHECK(s.lost() == 0);

  // Out of sequence while on probation: probation starts again from that packet.
  rtp_source_stats t;
  CHECK_FALSE(t.update(100, 0, 0));
  CHECK_FALSE(t.update(102, 0, 0));
  CHECK_FALSE(t.valid());
  CHECK(t.update(103, 0, 0));
  CHECK(t.expected() == 1);

  // Probation across the wrap, and probation off (min_sequential 1).
  rtp_source_stats w;
  CHECK_FALSE(w.update(65535, 0, 0));
  CHECK(w.update(0, 0, 0));
  CHECK(w.extended_highest_seq() == 0);
  rtp_source_stats at_once(1);
  CHECK(at_once.update(500, 0, 0));
  CHECK(at_once.expected() == 1);
}

TEST_CASE("A.1/A.3 sequence wrap extends the highest sequence number", "[dataplane][rtp_stats]") {
  rtp_source_stats s(1);
  feed(s, {65534, 65535, 0, 1, 2});
  CHECK(s.extended_highest_seq() == 65536 + 2);
  CHECK(s.expected() == 5);  // 65538 - 65534 + 1
  CHECK(s.received() == 5);
  CHECK(s.lost() == 0);
  // A reordered packet from before the wrap does not unwrap.
  feed(s, {65535});
  CHECK(s.extended_highest_seq() == 65538);
  CHECK(s.received() == 6);
  CHECK(s.lost() == -1);  // a duplicate: counted, so loss goes negative (A.3)
}

TEST_CASE("A.3 loss and fraction lost per interval", "[dataplane][rtp_stats]") {
  rtp_source_stats s;
  feed(s, {100, 101, 102, 104, 105});  // 100 ends in probation; 103 lost
  CHECK(s.expected() == 5);  // 101..105
  CHECK(s.received() == 4);
  CHECK(s.lost() == 1);
  CHECK(s.next_fraction_lost() == 51);  // (1 << 8) / 5
  feed(s, {106, 107, 108, 109});
  CHECK(s.next_fraction_lost() == 0);
  CHECK(s.next_fraction_lost() == 0);  // empty interval
  feed(s, {110, 115});  // 111..114 lost
  CHECK(s.next_fraction_lost() == 170);  // (4 << 8) / 6
  CHECK(s.lost() == 5);
  CHECK(s.expected() == 15);

  // One received packet after a gap of eight: (8 << 8) / 9.
  rtp_source_stats g(1);
  feed(g, {1});
  CHECK(g.next_fraction_lost() == 0);
  feed(g, {10});
  CHECK(g.next_fraction_lost() == 227);
}

TEST_CASE("A.1 reordering within MAX_MISORDER is counted, not lost", "[dataplane][rtp_stats]") {
  rtp_source_stats s(1);
  feed(s, {1, 2, 4, 3, 5});
  CHECK(s.extended_highest_seq() == 5);
  CHECK(s.expected() == 5);
  CHECK(s.received() == 5);
  CHECK(s.lost() == 0);
  CHECK(s.next_fraction_lost() == 0);

  // 99 behind the highest is reordering; 100 behind is a jump (udelta ≤ 65536 - 100).
  rtp_source_stats m(1);
  CHECK(m.update(1000, 0, 0));
  CHECK(m.update(1101, 0, 0));
  CHECK(m.update(1002, 0, 0));
  CHECK_FALSE(m.update(1001, 0, 0));
  CHECK(m.received() == 3);
  CHECK(m.expected() == 102);
  CHECK(m.extended_highest_seq() == 1101);
}

TEST_CASE("A.1 MAX_DROPOUT jumps and restarts", "[dataplane][rtp_stats]") {
  // A forward step of 2999 is a gap; 3000 needs confirming.
  rtp_source_stats s(1);
  CHECK(s.update(10, 0, 0));
  CHECK(s.update(3009, 0, 0));
  CHECK(s.expected() == 3000);
  CHECK_FALSE(s.update(6009, 0, 0));
  CHECK(s.extended_highest_seq() == 3009);
  // The next packet in sequence after the jump confirms a restart: counting starts over.
  CHECK(s.update(6010, 0, 0));
  CHECK(s.extended_highest_seq() == 6010);
  CHECK(s.expected() == 1);
  CHECK(s.received() == 1);
  CHECK(s.lost() == 0);

  // A lone stray packet changes nothing.
  rtp_source_stats t(1);
  feed(t, {10, 11});
  CHECK_FALSE(t.update(40000, 0, 0));
  CHECK(t.update(12, 0, 0));
  CHECK(t.expected() == 3);
  CHECK(t.received() == 3);
}

TEST_CASE("A.8 interarrival jitter, exact integer values", "[dataplane][rtp_stats]") {
  // 16·J += |D| - (16·J + 8) / 16, with D the change in transit time (arrival - timestamp).
  rtp_source_stats s(1);
  CHECK(s.update(0, 0, 1000));      // transit 1000: the baseline
  CHECK(s.jitter() == 0);
  CHECK(s.update(1, 160, 1160));    // transit 1000, D 0: 16J = 0
  CHECK(s.jitter() == 0);
  CHECK(s.update(2, 320, 1400));    // transit 1080, D 80: 16J = 0 + 80 - 0 = 80
  CHECK(s.jitter() == 5);
  CHECK(s.update(3, 480, 1480));    // transit 1000, |D| 80: 16J = 80 + 80 - 5 = 155
  CHECK(s.jitter() == 9);
  CHECK(s.update(4, 640, 1640));    // D 0: 16J = 155 - 10 = 145
  CHECK(s.jitter() == 9);
  CHECK(s.update(5, 800, 2200));    // transit 1400, D 400: 16J = 145 + 400 - 9 = 536
  CHECK(s.jitter() == 33);

  // Timestamps and arrival times that wrap 2^32 give the same answer.
  rtp_source_stats w(1);
  CHECK(w.update(0, 0xFFFFFF60u, 0xFFFFFFF0u));
  CHECK(w.update(1, 0x00000000u, 0x00000090u));  // transit 0x90 both times
  CHECK(w.update(2, 0x000000A0u, 0x00000180u));  // transit 0xE0: D 80
  CHECK(w.jitter() == 5);
}

TEST_CASE("report block: loss, LSR and DLSR", "[dataplane][rtp_stats]") {
  rtp_source_stats s(1);
  feed(s, {1, 2, 4, 5});
  rtcp_report_block b = s.make_report_block(0x77, 0x00108000);
  CHECK(b == rtcp_report_block{0x77, 51, 1, 5, 0, 0, 0});  // no SR heard yet: LSR/DLSR 0

  s.on_sender_report(0x0000ABCD'12340000ull, 0x00100000);
  feed(s, {6});
  b = s.make_report_block(0x77, 0x00108000);
  CHECK(b == rtcp_report_block{0x77, 0, 1, 6, 0, 0xABCD1234, 0x8000});  // DLSR 0.5 s

  // Cumulative loss beyond 24 bits is clamped in the block, not in lost().
  rtp_source_stats big(1);
  uint16_t seq = 0;
  CHECK(big.update(seq, 0, 0));
  for (int i = 0; i < 2800; ++i) {
    seq = static_cast<uint16_t>(seq + 2999);
    REQUIRE(big.update(seq, 0, 0));
  }
  CHECK(big.extended_highest_seq() == 2800u * 2999u);
  CHECK(big.lost() == int64_t{2800} * 2999 + 1 - 2801);
  CHECK(big.make_report_block(1, 0).cumulative_lost == 0x7FFFFF);
}

TEST_CASE("NTP helpers", "[dataplane][rtp_stats]") {
  CHECK(ntp_compact(0x0000ABCD'12340000ull) == 0xABCD1234u);
  CHECK(ntp_from_unix_ns(0) == 2'208'988'800ull << 32);
  CHECK(ntp_from_unix_ns(1'500'000'000) == ((2'208'988'801ull << 32) | 0x80000000u));
  CHECK(compact_ntp_to_us(0x8000) == 500'000);
  CHECK(compact_ntp_to_us(0x10000) == 1'000'000);
  CHECK(compact_ntp_to_us(1) == 15);
}

TEST_CASE("§6.4.1 RTT from LSR and DLSR", "[dataplane][rtp_stats]") {
  const uint64_t sent_at = ntp_from_unix_ns(1'700'000'000'250'000'000ull);
  rtcp_sr_log log;
  log.record(sent_at);
  const uint32_t lsr = ntp_compact(sent_at);

  rtcp_report_block b{};
  b.lsr = lsr;
  b.dlsr = 0x10000;  // the peer held our SR for 1 s
  auto rtt = rtcp_round_trip(b, lsr + 0x18000, log);  // back 1.5 s after we sent it
  REQUIRE(rtt);
  CHECK(*rtt == 0x8000);
  CHECK(compact_ntp_to_us(*rtt) == 500'000);
  CHECK(rtcp_round_trip(b, lsr + 0x10000, log) == std::optional<uint32_t>(0));
  // The peer claims to have held it longer than it has existed.
  CHECK_FALSE(rtcp_round_trip(b, lsr + 0xFFFF, log));
  // An arrival "before" the SR.
  CHECK_FALSE(rtcp_round_trip(b, lsr - 1, log));
  // No SR received by the peer yet, or not one of ours.
  b.lsr = 0;
  CHECK_FALSE(rtcp_round_trip(b, lsr + 0x18000, log));
  b.lsr = lsr + 1;
  CHECK_FALSE(rtcp_round_trip(b, lsr + 0x18000, log));

  // The log keeps the last 8 SRs.
  rtcp_sr_log eight;
  for (uint64_t i = 0; i < 9; ++i) eight.record(sent_at + (i << 16));
  CHECK_FALSE(eight.contains(lsr));
  for (uint32_t i = 1; i < 9; ++i) CHECK(eight.contains(lsr + i));
}
