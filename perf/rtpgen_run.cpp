#include "perf/rtpgen_run.hpp"

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "base/clock.hpp"
#include "perf/pcap_writer.hpp"

namespace tutti::perf {

namespace {

volatile std::sig_atomic_t stop_flag = 0;

double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

class receiver_sink final : public datagram_sink {
 public:
  explicit receiver_sink(rtp_receiver& rx) : rx_(rx) {}
  void on_datagram(uint32_t socket, const uint8_t* data, uint32_t len, uint64_t arrival_ns) noexcept override {
    rx_.on_packet(socket, data, len, arrival_ns);
  }

 private:
  rtp_receiver& rx_;
};

}  // namespace

void request_stop() noexcept { stop_flag = 1; }
bool stop_requested() noexcept { return stop_flag != 0; }

run_timeline make_timeline(const rtpgen_config& c, uint64_t start_ns) noexcept {
  run_timeline t;
  t.start_ns = start_ns;
  t.window_start_ns = start_ns + static_cast<uint64_t>(c.warmup_s * 1e9);
  t.window_end_ns = start_ns + static_cast<uint64_t>(std::llround(c.seconds * 50)) * rtp_period_ns;
  t.end_ns = t.window_end_ns + static_cast<uint64_t>(c.drain_s * 1e9);
  return t;
}

udp_run_result run_udp(const rtpgen_config& c, const run_timeline& t, rtp_sender& sender, udp_ring& ring,
                       rtp_receiver& rx, const run_hooks& hooks) {
  udp_run_result r;
  receiver_sink sink(rx);
  const uint32_t n = sender.participants();
  const uint64_t periods = sender.periods();
  const uint64_t step_ns = rtp_period_ns / c.batches;
  const double cpu0 = process_cpu_s();
  uint64_t period = 0;
  uint32_t next = 0;  // next participant to send in `period`
  uint64_t grid = t.start_ns;  // the wake point being served
  bool window_open = false, window_closed = false;
  uint64_t next_progress = t.start_ns + 1'000'000'000;
  uint64_t last_sent = 0, last_received = 0;
  uint64_t end_ns = t.end_ns;

  for (;;) {
    const uint64_t now = monotonic_ns();
    if (now >= grid) r.wake_lag.record(now - grid);
    if (stop_requested() && !r.stopped_early && period < periods) {
      r.stopped_early = true;
      end_ns = std::min(end_ns, now + static_cast<uint64_t>(c.drain_s * 1e9));
    }
    // Every packet due by now, in schedule order.
    while (period < periods && !r.stopped_early) {
      const uint64_t due = t.start_ns + period * rtp_period_ns + sender.phase_ns(next);
      if (due > now) break;
      uint32_t slot = 0;
      uint8_t* buf = ring.tx_buffer(slot);
      if (!buf) {
        // Every buffer is in a send not yet reaped (a long stall left many packets due at
        // once): submit and reap, then try again.
        ring.poll(0, sink);
        buf = ring.tx_buffer(slot);
      }
      if (!buf) {
        ++r.tx_no_buffer;
      } else {
        const size_t len = sender.build(next, period, buf, ring.tx_capacity());
        if (len > 0) {
          ring.send(next, slot, static_cast<uint32_t>(len));
          ++r.queued;
        } else {
          ring.release_tx(slot);
          ++r.dtx_skipped;
        }
      }
      if (++next == n) {
        next = 0;
        ++period;
      }
    }
    if (!window_open && now >= t.window_start_ns) {
      window_open = true;
      if (hooks.window_start) hooks.window_start();
    }
    if (!window_closed && now >= t.window_end_ns) {
      window_closed = true;
      if (hooks.window_end) hooks.window_end();
    }
    if (now >= next_progress) {
      const uint64_t sent = ring.stats().sent, received = rx.received();
      if (c.progress)
        std::fprintf(stderr, "rtpgen: %4.0f s  sent %llu (%llu/s)  received %llu (%llu/s)  send errors %llu  wake lag p99 %.2f ms\n",
                   double(now - t.start_ns) / 1e9, static_cast<unsigned long long>(sent),
                   static_cast<unsigned long long>(sent - last_sent), static_cast<unsigned long long>(received),
                   static_cast<unsigned long long>(received - last_received),
                   static_cast<unsigned long long>(ring.stats().send_errors), r.wake_lag.quantile_ns(0.99) / 1e6);
      last_sent = sent;
      last_received = received;
      next_progress += 1'000'000'000;
    }
    if ((period >= periods || r.stopped_early) && now >= end_ns) break;

    // Sleep until the first grid point at or after the next packet's deadline (or the end).
    uint64_t wake = end_ns;
    if (period < periods && !r.stopped_early) {
      const uint64_t due = t.start_ns + period * rtp_period_ns + sender.phase_ns(next);
      wake = t.start_ns + ((due - t.start_ns + step_ns - 1) / step_ns) * step_ns;
    }
    wake = std::min({wake, next_progress, window_open ? UINT64_MAX : t.window_start_ns,
                     window_closed ? UINT64_MAX : t.window_end_ns});
    grid = wake;
    const uint64_t after = monotonic_ns();
    ring.poll(wake > after ? wake - after : 0, sink);
  }
  // Sends still in flight complete in a moment; collect them for the counts.
  for (int k = 0; k < 100 && ring.sends_in_flight() > 0; ++k) ring.poll(1'000'000, sink);
  if (!window_closed && hooks.window_end) hooks.window_end();
  r.periods_done = period;
  r.io = ring.stats();
  r.generator_cpu_s = process_cpu_s() - cpu0;
  return r;
}

pcap_run_result write_pcap(const rtpgen_config& c, rtp_sender& sender) {
  pcap_run_result r;
  pcap_writer w;
  if (!w.open(c.pcap_path)) {
    r.error = "cannot create " + c.pcap_path + ": " + std::strerror(errno);
    return r;
  }
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  const uint64_t t0 = static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(now.tv_nsec);
  std::vector<uint8_t> rtp(1500), frame(1600);
  frame_addresses a{};
  std::memcpy(a.src_mac, c.pcap_src_mac, 6);
  std::memcpy(a.dst_mac, c.pcap_dst_mac, 6);
  uint16_t ip_id = 0;
  for (uint64_t k = 0; k < sender.periods() && !stop_requested(); ++k) {
    for (uint32_t i = 0; i < sender.participants(); ++i) {
      const size_t len = sender.build(i, k, rtp.data(), rtp.size());
      if (len == 0) continue;
      a.src = {c.pcap_src_ip, static_cast<uint16_t>(c.pcap_src_port + i)};
      a.dst = c.targets[i];
      const size_t flen = build_udp_frame(frame.data(), frame.size(), a, ip_id++, {rtp.data(), len});
      if (!w.write(t0 + k * rtp_period_ns + sender.phase_ns(i), {frame.data(), flen})) {
        r.error = "writing " + c.pcap_path + ": " + std::strerror(errno);
        return r;
      }
      r.bytes += flen;
    }
  }
  r.frames = w.frames();
  if (!w.close()) {
    r.error = "closing " + c.pcap_path + ": " + std::strerror(errno);
    return r;
  }
  r.ok = true;
  return r;
}

}  // namespace tutti::perf
