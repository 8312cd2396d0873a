// RFC 3550 Appendix A reception statistics and §6.4.1 RTT; see rtp_stats.hpp.
#include "dataplane/rtp_stats.hpp"

#include <algorithm>

namespace tutti::dp {

namespace {

constexpr uint32_t seq_mod = 1u << 16;                // RTP_SEQ_MOD
constexpr uint64_t ntp_unix_offset_s = 2'208'988'800;  // 1900-01-01 to 1970-01-01

}  // namespace

uint64_t ntp_from_unix_ns(uint64_t unix_ns) noexcept {
  const uint64_t seconds = unix_ns / 1'000'000'000 + ntp_unix_offset_s;
  const uint64_t frac = ((unix_ns % 1'000'000'000) << 32) / 1'000'000'000;
  return (seconds << 32) | frac;
}

void rtp_source_stats::init_seq(uint16_t seq) noexcept {
  base_seq_ = seq;
  max_seq_ = seq;
  bad_seq_ = seq_mod + 1;  // matches no sequence number
  cycles_ = 0;
  received_ = 0;
  received_prior_ = 0;
  expected_prior_ = 0;
  // A restart usually brings a new timestamp base: measure jitter afresh from here.
  have_transit_ = false;
}

bool rtp_source_stats::update(uint16_t seq, uint32_t rtp_timestamp, uint32_t arrival_ts) noexcept {
  if (!started_) {
    // A.1: a new source starts on probation, as if the previous packet were seq - 1.
    started_ = true;
    init_seq(seq);
    max_seq_ = static_cast<uint16_t>(seq - 1);
    probation_ = min_sequential_;
  }

  const uint16_t udelta = static_cast<uint16_t>(seq - max_seq_);
  if (probation_) {
    // Wrap-safe form of A.1's `seq == max_seq + 1`.
    if (udelta == 1) {
      --probation_;
      max_seq_ = seq;
      if (probation_ == 0) {
        init_seq(seq);
        ++received_;
        have_transit_ = true;
        transit_ = arrival_ts - rtp_timestamp;
        return true;
      }
    } else {
      probation_ = static_cast<uint8_t>(min_sequential_ - 1);
      max_seq_ = seq;
    }
    return false;
  }
  if (udelta < max_dropout) {
    // In order, possibly with a gap; a smaller number than the highest means it wrapped.
    if (seq < max_seq_) cycles_ += seq_mod;
    max_seq_ = seq;
  } else if (udelta <= seq_mod - max_misorder) {
    // A big jump: either a restarted sender or garbage. Two sequential packets confirm.
    if (seq == bad_seq_) {
      init_seq(seq);
    } else {
      bad_seq_ = (seq + 1u) & (seq_mod - 1);
      return false;
    }
  }
  // else: a duplicate or a reordered packet (at most max_misorder behind); counted.
  ++received_;

  // A.8: D = difference of relative transit times of this and the previous packet;
  // J += (|D| - J) / 16, kept as 16 J in integers.
  const uint32_t transit = arrival_ts - rtp_timestamp;
  if (have_transit_) {
    const auto d = static_cast<int32_t>(transit - transit_);
    const uint64_t abs_d = d < 0 ? uint64_t{0} - static_cast<uint64_t>(static_cast<int64_t>(d))
                                 : static_cast<uint64_t>(d);
    jitter_q4_ = jitter_q4_ + abs_d - ((jitter_q4_ + 8) >> 4);
  }
  transit_ = transit;
  have_transit_ = true;
  return true;
}

uint32_t rtp_source_stats::expected() const noexcept {
  if (!valid()) return 0;
  return extended_highest_seq() - base_seq_ + 1;
}

uint32_t rtp_source_stats::jitter() const noexcept {
  return static_cast<uint32_t>(std::min<uint64_t>(jitter_q4_ >> 4, UINT32_MAX));
}

uint8_t rtp_source_stats::next_fraction_lost() noexcept {
  const uint32_t expected_now = expected();
  const uint32_t expected_interval = expected_now - expected_prior_;
  expected_prior_ = expected_now;
  const uint32_t received_interval = received_ - received_prior_;
  received_prior_ = received_;
  const int64_t lost_interval = int64_t{expected_interval} - received_interval;
  if (expected_interval == 0 || lost_interval <= 0) return 0;
  // A.3 computes (lost << 8) / expected, which is 256 when everything was lost: the 8-bit
  // field's largest value is 255.
  return static_cast<uint8_t>(std::min<int64_t>((lost_interval << 8) / expected_interval, 255));
}

void rtp_source_stats::on_sender_report(uint64_t ntp_timestamp, uint32_t arrival_compact) noexcept {
  have_sr_ = true;
  lsr_ = ntp_compact(ntp_timestamp);
  lsr_arrival_ = arrival_compact;
}

rtcp_report_block rtp_source_stats::make_report_block(uint32_t ssrc, uint32_t now_compact) noexcept {
  rtcp_report_block b{};
  b.ssrc = ssrc;
  b.fraction_lost = next_fraction_lost();
  b.cumulative_lost = static_cast<int32_t>(std::clamp<int64_t>(lost(), -0x800000, 0x7FFFFF));
  b.ext_highest_seq = extended_highest_seq();
  b.jitter = jitter();
  if (have_sr_) {
    b.lsr = lsr_;
    b.dlsr = now_compact - lsr_arrival_;
  }
  return b;
}

void rtcp_sr_log::record(uint64_t ntp_timestamp) noexcept {
  sent_[next_] = ntp_compact(ntp_timestamp);
  next_ = static_cast<uint8_t>((next_ + 1) % capacity);
  if (size_ < capacity) ++size_;
}

bool rtcp_sr_log::contains(uint32_t lsr) const noexcept {
  for (size_t i = 0; i < size_; ++i)
    if (sent_[i] == lsr) return true;
  return false;
}

std::optional<uint32_t> rtcp_round_trip(const rtcp_report_block& block, uint32_t arrival_compact,
                                        const rtcp_sr_log& sent) noexcept {
  if (block.lsr == 0 || !sent.contains(block.lsr)) return std::nullopt;
  // Time since we sent that SR; modulo 2^32, so "negative" shows up as huge.
  const uint32_t since_sr = arrival_compact - block.lsr;
  if (since_sr >= 0x80000000u || since_sr < block.dlsr) return std::nullopt;
  return since_sr - block.dlsr;
}

}  // namespace tutti::dp
