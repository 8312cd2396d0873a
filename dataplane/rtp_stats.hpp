// Reception statistics of one incoming RTP source (RFC 3550 Appendix A) and round-trip time
// from RTCP report blocks (§6.4.1): what a conference endpoint needs to send receiver
// reports about each participant and to read the ones they send back.
//
// Model: rtp_source_stats is fed every packet of its source that parsed as RTP, in arrival
// order, with its arrival time already converted to RTP timestamp units. It keeps the A.1
// sequence state (probation, MAX_DROPOUT, MAX_MISORDER, restart after two sequential
// packets), A.3 loss counts and A.8 jitter, and the last SR heard for LSR/DLSR. RTT needs
// a record of the SRs we sent (rtcp_sr_log). NTP times are 32.32 fixed point; "compact"
// NTP is their middle 32 bits (16.16 seconds). All fixed-size, noexcept, no allocation.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "dataplane/rtcp.hpp"

namespace tutti::dp {

// Middle 32 bits of a 64-bit NTP timestamp (§6.4.1 LSR, 1/65536 s units).
constexpr uint32_t ntp_compact(uint64_t ntp_timestamp) noexcept {
  return static_cast<uint32_t>(ntp_timestamp >> 16);
}

// 64-bit NTP timestamp of a Unix time in nanoseconds (NTP's era starts 70 years earlier).
uint64_t ntp_from_unix_ns(uint64_t unix_ns) noexcept;

// Microseconds in a compact NTP duration (RTT, DLSR), rounded down.
constexpr uint64_t compact_ntp_to_us(uint32_t compact) noexcept {
  return (uint64_t{compact} * 1'000'000) >> 16;
}

class rtp_source_stats {
 public:
  static constexpr uint16_t max_dropout = 3000;  // A.1: larger forward jumps need confirming
  static constexpr uint16_t max_misorder = 100;  // A.1: smaller backward steps are reordering

  // min_sequential: packets in sequence before the source is valid (A.1 MIN_SEQUENTIAL);
  // 1 accepts a source at once (e.g. when signalling announced its SSRC).
  explicit rtp_source_stats(uint8_t min_sequential = 2) noexcept
      : min_sequential_(min_sequential ? min_sequential : 1) {}

  // Feeds one packet. False when A.1 does not count it: the source is still on probation,
  // or the sequence jumped and waits for a second packet to confirm a restart. The caller
  // decides whether to play such a packet; statistics ignore it.
  bool update(uint16_t seq, uint32_t rtp_timestamp, uint32_t arrival_ts) noexcept;

  bool valid() const noexcept { return started_ && probation_ == 0; }
  // Highest sequence number received, with wrap count in the top 16 bits (A.3).
  uint32_t extended_highest_seq() const noexcept { return cycles_ + max_seq_; }
  // Packets expected since the (re)start: extended highest - base + 1 (A.3); 0 before valid.
  uint32_t expected() const noexcept;
  // Packets counted since the (re)start, duplicates included (so lost can go negative).
  uint32_t received() const noexcept { return received_; }
  // Cumulative lost, expected - received, unclamped (A.3).
  int64_t lost() const noexcept { return int64_t{expected()} - received_; }
  // Interarrival jitter in timestamp units (A.8).
  uint32_t jitter() const noexcept;

  // A.3 fraction lost since the previous call, 8-bit fixed point; starts a new interval.
  uint8_t next_fraction_lost() noexcept;

  // Notes an SR from this source, arriving at `arrival_compact` on our NTP clock.
  void on_sender_report(uint64_t ntp_timestamp, uint32_t arrival_compact) noexcept;

  // The report block about this source for a report we send at `now_compact` (our NTP
  // clock): starts a new A.3 interval; cumulative lost clamped to 24 bits.
  rtcp_report_block make_report_block(uint32_t ssrc, uint32_t now_compact) noexcept;

 private:
  void init_seq(uint16_t seq) noexcept;

  uint8_t min_sequential_;
  bool started_ = false;
  bool have_transit_ = false;
  bool have_sr_ = false;
  uint8_t probation_ = 0;
  uint16_t max_seq_ = 0;        // highest sequence number seen
  uint32_t bad_seq_ = 0;        // last "bad" sequence number + 1 (A.1), 65537: none
  uint32_t cycles_ = 0;         // wraps of the sequence number, shifted left 16
  uint32_t base_seq_ = 0;       // first counted sequence number
  uint32_t received_ = 0;
  uint32_t expected_prior_ = 0;  // expected at the last report (A.3)
  uint32_t received_prior_ = 0;  // received at the last report (A.3)
  uint32_t transit_ = 0;        // arrival - timestamp of the previous counted packet (A.8)
  uint64_t jitter_q4_ = 0;      // jitter × 16 (A.8 integer form), 64 bits so jumps can't wrap
  uint32_t lsr_ = 0;            // compact NTP time of the last SR from this source
  uint32_t lsr_arrival_ = 0;    // when it arrived, compact NTP on our clock
};

// The last few SRs we sent on one stream, by compact NTP time: a report block whose LSR is
// not among them is about an SR we don't know (too old, or not ours) and gives no RTT.
class rtcp_sr_log {
 public:
  static constexpr size_t capacity = 8;
  // Records an SR we send, by its NTP timestamp.
  void record(uint64_t ntp_timestamp) noexcept;
  bool contains(uint32_t lsr) const noexcept;

 private:
  std::array<uint32_t, capacity> sent_{};
  uint8_t next_ = 0;
  uint8_t size_ = 0;
};

// §6.4.1 round trip, 1/65536 s: arrival - LSR - DLSR, for a report block about our stream
// arriving at `arrival_compact`. Nothing when the block has no SR yet (LSR 0), names an SR
// not in `sent`, or claims more delay than has passed since that SR.
std::optional<uint32_t> rtcp_round_trip(const rtcp_report_block& block, uint32_t arrival_compact,
                                        const rtcp_sr_log& sent) noexcept;

}  // namespace tutti::dp
