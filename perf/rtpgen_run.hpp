// tutti-rtpgen's two ways to run: the paced UDP loop (send, receive, a progress line a second)
// and the pcap writer.
//
// Model (UDP): one thread. Participant i's packet of period k is due at start + k * 20 ms +
// phase(i). The thread wakes on a grid of `batches` points per period (CLOCK_MONOTONIC,
// absolute: a late wake never shifts later deadlines), queues every packet due by then and
// submits them with one io_uring_enter that also waits for the next grid point, handing
// datagrams to the receiver as they complete. How late each wake was is recorded: if the
// generator itself falls behind, the result says so.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "dataplane/latency_histogram.hpp"
#include "perf/rtp_receiver.hpp"
#include "perf/rtp_sender.hpp"
#include "perf/udp_ring.hpp"

namespace tutti::perf {

// Set from a SIGINT/SIGTERM handler: stop sending and finish early.
void request_stop() noexcept;
bool stop_requested() noexcept;

struct run_timeline {
  uint64_t start_ns = 0;         // period 0 begins
  uint64_t window_start_ns = 0;  // measurement window
  uint64_t window_end_ns = 0;    // = the end of sending
  uint64_t end_ns = 0;           // receiving ends (after the drain)
};

run_timeline make_timeline(const rtpgen_config& c, uint64_t start_ns) noexcept;

struct udp_run_result {
  uint64_t queued = 0;           // sends handed to the ring
  uint64_t dtx_skipped = 0;      // periods a participant sent nothing (DTX)
  uint64_t tx_no_buffer = 0;     // packets not sent: every send buffer was in flight
  uint64_t periods_done = 0;
  bool stopped_early = false;
  dp::latency_histogram wake_lag;  // how late each wake was against its grid point
  udp_ring_stats io;
  double generator_cpu_s = 0;    // this process's CPU time during the run
};

struct run_hooks {
  std::function<void()> window_start;  // called once when the window opens
  std::function<void()> window_end;    // and when it closes
};

// Sends every period of `sender` through `ring` to the connected peers and feeds what comes
// back to `rx`, from t.start_ns until t.end_ns.
udp_run_result run_udp(const rtpgen_config& c, const run_timeline& t, rtp_sender& sender, udp_ring& ring,
                       rtp_receiver& rx, const run_hooks& hooks);

struct pcap_run_result {
  bool ok = false;
  std::string error;
  uint64_t frames = 0;
  uint64_t bytes = 0;
};

// Writes every packet of the run into c.pcap_path in send order, participant i from
// pcap_src_ip:(pcap_src_port + i) to c.targets[i], timestamped on the send schedule.
pcap_run_result write_pcap(const rtpgen_config& c, rtp_sender& sender);

}  // namespace tutti::perf
