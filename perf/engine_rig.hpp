// The engine benchmark's workloads and the parts every engine benchmark shares, whatever
// carries the packets: the conferences and participants of a workload on one engine and the
// RTP each participant sends (engine_population), the engine-only rig (memory_io, packets
// injected untimed), the result of one trial and the capacity search.
//
// Model: a trial runs `warmup` untimed 20 ms periods then `periods` timed ones of a fixed
// participant count; its busy figure is CPU time over the periods' real-time budget. The
// capacity of a workload is the largest participant count whose busy stays at or below the
// target (0.8: the worker keeps 20 % of each period in reserve), found by doubling and then
// bisecting to the workload's granularity. tutti-bench engine runs it on memory_io;
// tutti-bench engine-dpdk runs it through dpdk_io too (perf/bench_engine_dpdk.cpp).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "dataplane/engine.hpp"
#include "dataplane/io/packet_io.hpp"

namespace tutti::perf {

struct engine_workload {
  const char* name;
  const char* description;
  dp::codec_id codec;
  uint32_t mix_rate_hz;
  uint32_t conference_size;  // 0: everyone in one conference
  bool levels;               // RFC 6464 audio levels on every packet
  uint32_t talkers;          // per conference; 0: everyone
  bool silent_send_dtx;      // the silent send Opus DTX (a TOC byte every 400 ms)
  uint32_t granularity;      // participant counts searched in steps of this
};

// Every named workload (pcmu-conf10, opus48-conf10, ...).
std::span<const engine_workload> engine_workloads() noexcept;
// The workload called `name`, or nullptr.
const engine_workload* find_engine_workload(std::string_view name) noexcept;

inline constexpr uint64_t bench_period_ns = 20'000'000;

struct encoded_frame {
  std::vector<uint8_t> payload;
  uint8_t level_dbov;
};
using encoded_stream = std::vector<encoded_frame>;

// What the participants of a workload send, encoded once before any trial.
struct prepared_workload {
  std::vector<encoded_stream> talk;  // one per voice
  encoded_stream quiet;              // room noise of a participant who is not talking
  std::vector<uint8_t> dtx;          // an Opus DTX frame (Opus workloads)
};
prepared_workload prepare_workload(const engine_workload& w);

// One trial at a fixed participant count.
struct run_result {
  uint32_t participants = 0;
  uint32_t conferences = 0;
  double busy = 0;                 // CPU time of the measured work over the periods' wall time
  double us_per_participant_frame = 0;
  double tick_p50_us = 0, tick_p99_us = 0, tick_max_us = 0;
  double period_p50_us = 0, period_p99_us = 0;
  uint64_t tx_packets = 0, expected_tx = 0, rx_dropped = 0;
  double decodes_per_tick = 0, shared_encodes_per_tick = 0, own_encodes_per_tick = 0,
         forwards_per_tick = 0;
  // Packet I/O paths that carry a generator on the same thread (tutti-bench engine-dpdk).
  bool has_generator = false;
  double gross_busy = 0;           // engine + I/O + generator
  double generator_busy = 0;       // the generator alone, subtracted from gross_busy
  uint64_t io_rx_dropped = 0, io_tx_dropped = 0;  // frames the backend refused
};
boost::json::object to_json(const run_result& r);
// One line per trial for the human-readable output.
void print_row(const run_result& r);

// The conferences and participants of `w` on one engine over `io`, and what each sends.
class engine_population {
 public:
  // Participant i listens on local port 1024 + i and sends from peer(i).
  using peer_fn = dp::io::endpoint (*)(uint32_t i);
  // 127.0.0.1:20000 + i % 40000: the engine-only rig's peers.
  static dp::io::endpoint loopback_peer(uint32_t i) noexcept;

  engine_population(const engine_workload& w, const prepared_workload& p, uint32_t participants,
                    dp::io::packet_io& io, peer_fn peer = loopback_peer);

  dp::engine& engine() noexcept { return engine_; }
  uint32_t size() const noexcept { return static_cast<uint32_t>(senders_.size()); }
  uint32_t conferences() const noexcept { return conferences_; }
  uint16_t local_port(uint32_t i) const noexcept { return senders_[i].port; }
  dp::io::endpoint peer(uint32_t i) const noexcept { return peer_(i); }

  // Writes sender i's RTP packet of `period` into `out` and returns its length; 0 when it
  // sends nothing this period (an Opus DTX gap). Call once per sender per period, in order:
  // it advances the sender's RTP timestamp (and sequence when it sends).
  uint16_t next_rtp(uint32_t i, uint32_t period, uint8_t* out, size_t capacity) noexcept;
  struct sender {
    uint16_t port;
    uint32_t ssrc;
    uint16_t sequence;
    uint32_t timestamp;
    const encoded_stream* stream;  // talking voice
    uint32_t offset;               // frame offset into the stream, so voices don't line up
    uint32_t position;             // index within its conference
  };
  // Sender state (sequence, timestamp) to restore after generating packets the engine never
  // saw (a generator measured alone), so the streams it then receives stay continuous.
  std::vector<sender> save_senders() const { return senders_; }
  void restore_senders(std::vector<sender> saved) { senders_ = std::move(saved); }

  // Brackets the measured periods: counters at mark(), results at finish().
  void mark();
  void finish(run_result& r, uint64_t busy_ns, uint32_t periods,
              const dp::latency_histogram& period_times);

 private:
  bool talking(const sender& s, uint32_t period) const noexcept;
  dp::conference_stats sum_conference_stats();

  const engine_workload& w_;
  const prepared_workload& p_;
  peer_fn peer_;
  dp::engine engine_;
  std::vector<sender> senders_;
  uint32_t conferences_ = 0;
  uint64_t tx_before_ = 0;
  dp::conference_stats before_{};
};

// Engine only: `n` participants of `w` on memory_io, everything but sockets measured.
run_result measure_engine_only(const engine_workload& w, const prepared_workload& p, uint32_t n,
                               double seconds);

struct capacity {
  run_result best;                  // the largest count at or below the target
  std::vector<run_result> trials;   // every trial, in the order run
};
// `fixed` > 0: one trial at that count. Otherwise doubles from a workload-specific start
// until busy exceeds `target_busy`, then bisects to within 2 % or one granularity step.
// `trial(n)` runs one trial; `on_trial` sees each result (progress output).
capacity find_capacity(const engine_workload& w, double target_busy, uint32_t fixed,
                       const std::function<run_result(uint32_t)>& trial,
                       const std::function<void(const run_result&)>& on_trial = {});

}  // namespace tutti::perf
