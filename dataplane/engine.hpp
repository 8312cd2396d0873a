// The media engine of one worker: the conferences it owns, the map from local UDP port to
// participant, and the two halves of the worker loop that are not packet I/O:
//   receive(): classify each received packet by local port, check its source (no RTP bleed),
//              validate RTP, recognise DTMF, and put audio into the participant's jitter buffer;
//   run_due_ticks(): run every conference whose 20 ms tick is due (ticks are staggered over
//              20 phase slots of 1 ms, conferences placed on the least loaded), then build
//              each outgoing RTP packet and send them in bursts.
// Control-time calls (add/remove) take objects allocated elsewhere and hand removed ones
// back; nothing on the packet or tick path allocates, locks or logs.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/conference.hpp"
#include "dataplane/events.hpp"
#include "dataplane/io/packet_io.hpp"
#include "dataplane/latency_histogram.hpp"
#include "dataplane/rtp.hpp"

namespace tutti::dp {

// Why a received packet did not reach a jitter buffer. Counter index.
enum class rx_drop : uint8_t {
  unknown_port,         // no participant on that local port
  wrong_source,         // not from the participant's negotiated or latched address
  not_rtp,              // failed RTP validation (see rtp_drops for the reason)
  unknown_payload_type, // neither its codec, comfort noise nor telephone-event
  bad_payload,          // the codec rejects the payload (e.g. invalid Opus TOC)
  jitter_refused,       // duplicate, too late, too large or buffer full
  count
};
const char* to_string(rx_drop reason) noexcept;

struct engine_config {
  uint32_t max_participants = 4096;  // across all conferences of this worker
  uint64_t tick_period_ns = 20'000'000;
  uint32_t max_catch_up_ticks = 5;   // after a stall, ticks run back to back at most this many
  uint32_t rtp_timeout_ms = 30000;   // no RTP this long: rtp_timeout event (0: never)
  uint32_t rtcp_interval_ticks = 250;  // our SR/RR to each participant every 5 s (0: never)
};

// Counters of one worker's engine; single writer.
struct engine_stats {
  uint64_t rx_rtp = 0;                 // RTP packets put into jitter buffers
  uint64_t rx_rtcp = 0;                // RTCP packets (muxed) accepted
  uint64_t tx_rtp = 0;                 // RTP packets built and queued for sending
  uint64_t tx_packets = 0;             // packets (RTP and RTCP) the backend accepted
  uint64_t tx_no_buffer = 0;           // alloc_tx failed
  uint64_t tx_no_destination = 0;      // participant's address not known yet (latching)
  uint64_t ticks = 0;                  // conference ticks run
  uint64_t late_ticks = 0;             // ticks run more than a slot (1 ms) after due
  uint64_t skipped_periods = 0;        // whole 20 ms periods dropped after a long stall
  uint64_t tx_rtcp = 0;                // RTCP reports sent
  uint64_t rtp_timeouts = 0;           // participants that went silent past rtp_timeout_ms
  codec_time codec;                    // summed over sampled conference ticks (see codec_time)
  uint64_t jitter_depth_sum = 0;       // packets waiting in each jitter buffer after its tick,
  uint64_t jitter_depth_samples = 0;   //   summed, and how many buffers were counted
  std::array<uint64_t, static_cast<size_t>(rx_drop::count)> rx_drops{};
  std::array<uint64_t, static_cast<size_t>(rtp_drop::count)> rtp_drops{};
};

class engine {
 public:
  static constexpr size_t phase_slots = 20;  // 1 ms slots of the 20 ms period
  static constexpr uint16_t burst = 32;

  engine(io::packet_io& io, const engine_config& config, event_sink* events);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // Control time. Conferences and participants come fully allocated and leave the same way.
  bool add_conference(std::unique_ptr<conference>& c) noexcept;
  std::unique_ptr<conference> remove_conference(uint32_t id,
                                                std::vector<std::unique_ptr<participant>>& members);
  conference* find_conference(uint32_t id) noexcept;
  // Opens the participant's port and joins it; false (nothing taken) when the conference is
  // missing or full, the port is taken or cannot be opened, or capacity is reached.
  bool add_participant(uint32_t conference_id, std::unique_ptr<participant>& p,
                       std::unique_ptr<output_group>& group) noexcept;
  std::unique_ptr<participant> remove_participant(uint32_t conference_id, uint32_t participant_id) noexcept;
  participant* find_participant_by_port(uint16_t port) noexcept { return by_port_[port].p; }
  size_t participant_count() const noexcept { return participants_; }
  size_t conference_count() const noexcept { return conferences_.size(); }
  // Participants per phase slot: the load the placement balances.
  const std::array<uint32_t, phase_slots>& slot_load() const noexcept { return slot_load_; }

  // Data path.
  void receive(io::packet** pkts, uint16_t n) noexcept;
  // Pulls bursts from the packet backend until it has nothing more (at most `max_bursts`).
  size_t poll_rx(size_t max_bursts = 8) noexcept;
  // Runs every tick due at `now_ns` and sends what they produced. Returns ticks run.
  size_t run_due_ticks(uint64_t now_ns) noexcept;
  // The time the next tick is due.
  uint64_t next_due_ns() const noexcept;
  // Starts the tick clock; the first period begins at `now_ns`.
  void start(uint64_t now_ns) noexcept;

  const engine_stats& stats() const noexcept { return stats_; }
  const latency_histogram& tick_times() const noexcept { return tick_times_; }
  latency_histogram& tick_times() noexcept { return tick_times_; }

 private:
  struct port_entry {
    participant* p = nullptr;
    conference* c = nullptr;
  };
  struct placed_conference {
    std::unique_ptr<conference> conf;
    uint8_t slot;
  };

  void receive_one(io::packet& pkt) noexcept;
  void drop(rx_drop reason) noexcept { ++stats_.rx_drops[static_cast<size_t>(reason)]; }
  void run_slot(size_t slot, uint64_t now_ns) noexcept;
  void send(const tx_desc* tx, size_t n) noexcept;
  // Per participant after its conference's tick: RTP timeout and RTCP reports.
  void housekeeping(conference& c, uint64_t now_ns) noexcept;
  void send_rtcp(participant& p) noexcept;
  void flush_tx() noexcept;

  io::packet_io& io_;
  engine_config config_;
  event_sink* events_;
  engine_stats stats_;
  latency_histogram tick_times_;

  std::vector<port_entry> by_port_;  // 65536 entries: a flat table, one load per packet
  std::vector<placed_conference> conferences_;
  std::array<std::vector<conference*>, phase_slots> slots_;
  std::array<uint32_t, phase_slots> slot_load_{};
  size_t participants_ = 0;

  bool started_ = false;
  uint64_t period_start_ns_ = 0;
  size_t next_slot_ = 0;

  std::vector<tx_desc> tx_descs_;
  io::packet* tx_burst_[burst];
  uint16_t tx_pending_ = 0;
  io::packet* rx_burst_[burst];
};

}  // namespace tutti::dp
