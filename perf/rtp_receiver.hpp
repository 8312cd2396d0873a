// What tutti-rtpgen's participants receive, checked packet by packet: loss from RTP sequence
// numbers (RFC 3550 §A.1 extended sequence numbers), interarrival jitter (RFC 3550 §A.8),
// packets per second, and drift: whether arrivals fall further and further behind the
// 20 ms cadence the RTP timestamps promise (a mixer that cannot keep up builds a backlog).
//
// Model: one state per participant, updated in place per packet (no allocation after
// construction). Only packets arriving inside the measurement window count; before it the
// sequence and timestamp bases are learnt. Drift: each packet's transit time (arrival minus
// RTP timestamp in ns) relative to the stream's first; per 250 ms bin the minimum is kept
// (a late packet raises the mean, never the floor, so scheduling noise drops out, while a
// standing queue raises the floor). The run's drift is the least-squares slope over the
// bins of the participants' median; backlog_ms is its growth from the first bin to the last.
// With `keep_payloads`, the latest packets in the window are kept for the tone check.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "dataplane/media_format.hpp"

namespace tutti::perf {

// A received payload kept for decoding, with its extended sequence number.
struct kept_payload {
  int64_t sequence;
  std::span<const uint8_t> payload;
};

struct rx_participant_summary {
  uint64_t packets = 0;          // every packet received (window or not)
  uint64_t window_packets = 0;   // distinct packets in the window
  uint64_t expected = 0;         // sequence span in the window (RFC 3550 §A.3)
  uint64_t lost = 0;
  uint64_t duplicates = 0;
  uint64_t bad = 0;              // not RTP
  uint32_t ssrc_changes = 0;
  uint32_t timestamp_jumps = 0;  // transit changed by over 500 ms at once: re-based
  double jitter_ms = 0;          // RFC 3550 jitter at the end
  uint32_t pps_min = 0, pps_max = 0;  // over whole seconds of the window
  double drift_ms_per_s = 0;     // this participant's slope
};

struct rx_summary {
  uint64_t received = 0, window_received = 0, expected = 0, lost = 0, duplicates = 0, bad = 0;
  double loss_pct = 0;
  double jitter_p50_ms = 0, jitter_p99_ms = 0, jitter_max_ms = 0;
  bool drift_valid = false;      // enough bins for a slope (3 at least)
  double drift_ms_per_s = 0;
  double backlog_ms = 0;
  uint32_t drift_bins = 0;
  uint32_t pps_min = 0, pps_max = 0;
  uint32_t whole_seconds = 0;    // seconds of the window the pps figures cover
  uint32_t silent = 0;           // participants that received nothing in the window
  std::vector<rx_participant_summary> participants;
};

class rtp_receiver {
 public:
  static constexpr uint64_t drift_bin_ns = 250'000'000;
  static constexpr uint32_t kept_packets = 60;  // 1.2 s of 20 ms packets
  static constexpr uint32_t kept_bytes = 640;   // per kept packet; longer ones are not kept

  rtp_receiver(dp::codec_id codec, uint32_t participants, uint64_t window_start_ns,
               uint64_t window_end_ns, bool keep_payloads);

  // One datagram for participant i arriving at `arrival_ns` (CLOCK_MONOTONIC).
  void on_packet(uint32_t i, const uint8_t* data, uint32_t len, uint64_t arrival_ns) noexcept;

  // Totals so far, for progress lines.
  uint64_t received() const noexcept { return received_; }

  rx_summary summarize() const;

  // Participant i's kept payloads in sequence order (tone check), oldest first.
  std::vector<kept_payload> kept(uint32_t i) const;

 private:
  struct state {
    uint64_t packets = 0, bad = 0, duplicates = 0;
    bool started = false;
    uint32_t ssrc = 0;
    uint32_t ssrc_changes = 0;
    int64_t max_seq = 0;          // extended
    uint16_t last_seq16 = 0;
    uint64_t seen_bits = 0;       // bit k: max_seq - k was received
    bool in_window = false;
    int64_t win_first = 0, win_max = 0;
    uint64_t win_packets = 0;
    uint32_t last_ts = 0;
    int64_t ts_ext = 0;           // unwrapped timestamp of the last packet
    int64_t last_transit_ns = 0;
    int64_t first_transit_ns = 0;
    uint32_t timestamp_jumps = 0;
    double jitter_ns = 0;
    uint32_t kept_next = 0;
  };

  void keep(uint32_t i, int64_t seq, const uint8_t* payload, uint32_t len) noexcept;
  void jitter_sample(double jitter_ns) noexcept;

  dp::codec_id codec_;
  double ns_per_tick_;
  uint64_t window_start_ns_, window_end_ns_;
  uint32_t drift_bins_, seconds_;
  bool keep_;
  std::vector<state> st_;
  std::vector<int64_t> drift_min_;   // [participant][bin]: min relative transit, INT64_MAX none
  std::vector<uint32_t> per_second_; // [participant][second]: packets
  std::vector<uint64_t> jitter_hist_;  // 10 us buckets up to 200 ms, then one overflow bucket
  double jitter_max_ns_ = 0;
  std::vector<int64_t> kept_seq_;    // [participant][slot]
  std::vector<uint16_t> kept_len_;
  std::vector<uint8_t> kept_data_;
  uint64_t received_ = 0;
};

// Least-squares slope of y over x; 0 with fewer than two points.
double least_squares_slope(std::span<const double> x, std::span<const double> y) noexcept;

}  // namespace tutti::perf
