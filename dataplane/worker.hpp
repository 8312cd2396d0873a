// A data-plane worker: one thread (pinned when asked), one packet backend, one engine, and
// the two rings to and from the control thread. It runs to completion:
//   rx bursts -> engine (classify, jitter buffers) -> commands -> due ticks -> tx bursts ->
//   messages out (ringing the control thread's doorbell once per loop at most)
// When there is nothing to do it waits in the backend (io_uring: for a completion) until the
// next tick is due or 1 ms passes, so commands are taken within a millisecond; with
// busy_poll (DPDK) it never sleeps.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "base/doorbell.hpp"
#include "base/spsc_ring.hpp"
#include "dataplane/api.hpp"
#include "dataplane/engine.hpp"

namespace tutti::dp {

struct worker_config {
  unsigned index = 0;
  int cpu = -1;                 // pin to this CPU; -1: leave it to the scheduler
  bool busy_poll = false;       // never sleep (DPDK); else wait in the backend when idle
  size_t ring_capacity = 4096;  // commands in, messages out
  engine_config engine;
  void (*thread_init)() = nullptr;  // run first on the worker thread (DPDK: register it)
};

// Upper bounds of worker_snapshot::tick_buckets (the last bucket holds slower ticks).
inline constexpr std::array<uint64_t, 10> tick_bucket_bounds_ns = {
    25'000, 50'000, 100'000, 200'000, 500'000, 1'000'000, 2'000'000, 5'000'000, 10'000'000, 20'000'000};

// What the control thread may read of a running worker, published every 100 ms through a
// sequence lock of relaxed atomic words (one writer, any reader, nobody blocks).
struct worker_snapshot {
  uint64_t uptime_ns = 0;
  uint64_t busy_ns = 0;         // wall time spent receiving, commanding and ticking
  uint64_t load_ns = 0;         // busy_ns less the time the thread was not running (see
                                // worker::publish): the CPU time its work took
  uint64_t cpu_ns = 0;          // the thread's CPU time (a busy-polling worker: ~uptime)
  uint64_t loops = 0;
  uint64_t conferences = 0;
  uint64_t participants = 0;
  uint64_t rx_rtp = 0, rx_rtcp = 0, tx_rtp = 0, ticks = 0, late_ticks = 0;
  uint64_t rx_dropped = 0;      // all engine rx drop reasons
  uint64_t io_rx = 0, io_tx = 0, io_rx_dropped = 0, io_tx_dropped = 0, io_rx_no_buffer = 0;
  uint64_t messages_dropped = 0;  // events lost to a full message ring
  uint64_t tick_p50_ns = 0, tick_p99_ns = 0, tick_max_ns = 0;
  // Tick processing times as a histogram: ticks per bucket (not cumulative) whose upper
  // bounds are tick_bucket_bounds_ns, the last for slower ticks; their sum in ns.
  std::array<uint64_t, tick_bucket_bounds_ns.size() + 1> tick_buckets{};
  uint64_t tick_sum_ns = 0;
  // Codec calls timed on sampled ticks (dp::codec_time) and the time they took.
  uint64_t decode_ns = 0, decodes_timed = 0, encode_ns = 0, encodes_timed = 0;
  // Mean packets waiting per jitter buffer over the last publish interval, x1000.
  uint64_t jitter_depth_milli = 0;
  uint64_t tx_no_buffer = 0, tx_no_destination = 0;  // engine_stats: RTP not sent, why
  std::array<uint64_t, static_cast<size_t>(rx_drop::count)> rx_drops{};
};

class worker final : private event_sink {
 public:
  // `bell` is rung when messages are waiting; it may be shared by every worker.
  worker(const worker_config& config, std::unique_ptr<io::packet_io> io, doorbell& bell);
  ~worker() override;
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  unsigned index() const noexcept { return config_.index; }
  void start();
  // Stops and joins the thread; objects it still holds are destroyed with it.
  void stop();

  // Control thread: queues a command; false when the ring is full.
  bool submit(const command& c) noexcept;
  // Control thread: takes up to `max` messages.
  size_t drain(worker_message* out, size_t max) noexcept;
  bool has_messages() const noexcept { return !messages_.empty(); }

  worker_snapshot snapshot() const noexcept;

 private:
  void run() noexcept;
  size_t take_commands() noexcept;
  void execute(const command& c) noexcept;
  void reply(const command& c, bool ok, conference* conf = nullptr, participant* part = nullptr,
             output_group* group = nullptr) noexcept;
  void send(const worker_message& m) noexcept;
  void post(const engine_event& e) noexcept override;
  void publish(uint64_t now_ns) noexcept;

  worker_config config_;
  std::unique_ptr<io::packet_io> io_;
  doorbell& bell_;
  engine engine_;
  spsc_ring<command> commands_;
  spsc_ring<worker_message> messages_;
  bool rang_ = false;  // pushed messages this loop
  std::atomic<bool> stop_{false};
  std::thread thread_;
  uint64_t started_ns_ = 0, busy_ns_ = 0, loops_ = 0, messages_dropped_ = 0;
  uint64_t published_depth_sum_ = 0, published_depth_samples_ = 0, depth_milli_ = 0;
  // At the last publish: wall clock, busy_ns_, the thread's CPU time; and the load so far.
  uint64_t published_ns_ = 0, published_busy_ns_ = 0, published_cpu_ns_ = 0, load_ns_ = 0;

  static constexpr size_t snapshot_words = sizeof(worker_snapshot) / sizeof(uint64_t);
  std::atomic<uint64_t> snapshot_seq_{0};
  std::array<std::atomic<uint64_t>, snapshot_words> snapshot_words_{};
};

}  // namespace tutti::dp
