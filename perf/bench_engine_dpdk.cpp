// tutti-bench engine-dpdk: the engine benchmark's workload (perf/engine_rig.hpp) with packet
// I/O through DPDK. Every RTP packet enters as an Ethernet/IPv4/UDP frame on a net_ring
// virtual device; dpdk_io parses and checks it (software checksums: the ring device offloads
// nothing) and hands the payload up in place; the engine classifies it by local UDP port,
// mixes, and its packets leave through dpdk_io's tx_burst as frames with headers and
// checksums built. No NIC is needed.
//
// The generator runs on the same thread, as a NIC would fill the RX ring between polls:
// per 256 participants it allocates mbufs, writes their frames (RTP from the population,
// UDP/IPv4/Ethernet with checksums) and enqueues them on the RX ring; the worker then polls
// until the ring is empty. The period's ticks run slot by slot (1 ms apart in the engine's
// clock), and after each slot the wire side dequeues and frees what was sent. Periods run
// back to back, as in the engine-only rig (--paced: each starts at its real 20 ms boundary,
// the thread sleeping in between). The generator's
// own work (the same allocs, frame writes and ring operations, frames moved from the RX ring
// to the TX ring untouched and freed) is measured alone over as many periods and subtracted,
// as tutti-bench dpdk does, so busy is engine + dpdk_io. Times are thread CPU time.
//
// Both capacities are searched the same way (engine_rig.hpp: largest count at or below the
// target busy), engine-only first, in the same process; the ratio is DPDK / engine-only.
#include "perf/bench_engine_dpdk.hpp"

#include <rte_config.h>

#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <sched.h>

#include <algorithm>
#include <functional>
#include <boost/json.hpp>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>
#include <ctime>

#include "base/clock.hpp"
#include "dataplane/io/dpdk.hpp"
#include "dataplane/net/frame.hpp"
#include "perf/bench_options.hpp"
#include "perf/bench_util.hpp"
#include "perf/engine_rig.hpp"
#include "simd/target.hpp"

namespace tutti::perf {

namespace {

namespace net = dp::net;

constexpr uint32_t our_ip = 0x0a000002;      // 10.0.0.2/24
constexpr uint32_t gateway_ip = 0x0a000001;  // every peer is off-link, behind 10.0.0.1
const net::mac_addr gateway_mac{{0x02, 0, 0, 0, 0, 0x01}};
constexpr uint16_t chunk = 256;          // frames posted between two polls of the worker
constexpr unsigned rx_ring_size = 1024;  // holds a chunk
constexpr unsigned tx_ring_size = 16384; // holds a slot's packets (1/20 of a period) up to 60000
constexpr uint32_t mbufs = 16383;
constexpr uint64_t slot_ns = bench_period_ns / dp::engine::phase_slots;

// Peer i: 10.1.0.0 + i + 1, port 20000 + i % 40000, reached through the gateway (so the ARP
// cache holds one entry, as for a carrier's media behind a router).
dp::io::endpoint dpdk_peer(uint32_t i) noexcept {
  return {0x0a010000u + i + 1, static_cast<uint16_t>(20000 + i % 40000)};
}

struct ring_device {
  rte_ring* rx = nullptr;
  rte_ring* tx = nullptr;
};

// Dequeues and frees everything on `r`; returns how many.
uint64_t drain(rte_ring* r) noexcept {
  uint64_t total = 0;
  for (;;) {
    void* m[64];
    const unsigned n = rte_ring_sc_dequeue_burst(r, m, 64, nullptr);
    if (n == 0) return total;
    rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(m), n);
    total += n;
  }
}

class dpdk_rig {
 public:
  dpdk_rig(dp::io::dpdk_port& port, ring_device rings, const engine_workload& w,
           const prepared_workload& p, uint32_t participants)
      : rings_(rings), pool_(port.pool(0)), io_(open_io(port)),
        pop_(w, p, participants, *io_, dpdk_peer) {
    frame_.dst_mac = port.mac();
    frame_.src_mac = gateway_mac;
    frame_.dst_ip = our_ip;
    frame_.tos = 0xb8;
  }
  ~dpdk_rig() {
    drain(rings_.rx);
    drain(rings_.tx);
  }
  dpdk_rig(const dpdk_rig&) = delete;
  dpdk_rig& operator=(const dpdk_rig&) = delete;

  // `paced`: each period starts no earlier than its real-time 20 ms boundary, so the arrival
  // times dpdk_io stamps (real time) match the RTP timestamps as on a wire; otherwise periods
  // run back to back as in the engine-only rig.
  run_result run(uint32_t warmup, uint32_t periods, bool paced) {
    dp::engine& engine = pop_.engine();
    // The generator alone, over the periods to be measured; then the senders are put back
    // so the engine sees continuous streams.
    const auto saved = pop_.save_senders();
    const uint64_t g0 = thread_cpu_ns();
    for (uint32_t k = warmup; k < warmup + periods; ++k) generator_period(k);
    const uint64_t generator_ns = thread_cpu_ns() - g0;
    pop_.restore_senders(saved);

    uint64_t now = monotonic_ns();  // the engine's clock: period k starts at now + 20 ms * k
    engine.start(now);
    auto wait = [&](uint64_t until) {
      if (!paced) return;
      const timespec ts{static_cast<time_t>(until / 1'000'000'000u),
                        static_cast<long>(until % 1'000'000'000u)};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
    };
    for (uint32_t k = 0; k < warmup; ++k, now += bench_period_ns) {
      wait(now);
      worker_period(k, now);
    }

    const dp::io::io_stats io_before = io_->stats();
    pop_.mark();
    uint64_t gross_ns = 0;
    dp::latency_histogram period_times;
    const uint64_t generator_per_period = generator_ns / periods;
    for (uint32_t k = warmup; k < warmup + periods; ++k, now += bench_period_ns) {
      wait(now);
      const uint64_t t0 = thread_cpu_ns();
      worker_period(k, now);
      const uint64_t spent = thread_cpu_ns() - t0;
      gross_ns += spent;
      period_times.record(spent > generator_per_period ? spent - generator_per_period : 0);
    }
    const uint64_t net_ns = gross_ns > generator_ns ? gross_ns - generator_ns : 0;
    run_result r;
    pop_.finish(r, net_ns, periods, period_times);
    const double budget = double(uint64_t{periods} * bench_period_ns);
    r.has_generator = true;
    r.gross_busy = double(gross_ns) / budget;
    r.generator_busy = double(generator_ns) / budget;
    const dp::io::io_stats io_after = io_->stats();
    r.io_rx_dropped = io_after.rx_dropped - io_before.rx_dropped + generator_drops_;
    r.io_tx_dropped = io_after.tx_dropped - io_before.tx_dropped;
    return r;
  }

 private:
  static std::unique_ptr<dp::io::dpdk_io> open_io(dp::io::dpdk_port& port) {
    auto io = dp::io::dpdk_io::open(port, 0);
    if (!io) throw std::runtime_error("dpdk_io: " + io.error().describe());
    return std::move(io.value());
  }

  // What a NIC does for free: `count` participants' frames of `period` onto the RX ring.
  void post(uint32_t period, uint32_t first, uint16_t count) noexcept {
    rte_mbuf* m[chunk];
    if (rte_pktmbuf_alloc_bulk(pool_, m, count) != 0) {
      generator_drops_ += count;
      return;
    }
    rte_mbuf* ready[chunk];
    uint16_t n_ready = 0, n_idle = 0;
    for (uint16_t j = 0; j < count; ++j) {
      const uint32_t i = first + j;
      auto* frame = rte_pktmbuf_mtod(m[j], uint8_t*);
      const size_t room = rte_pktmbuf_tailroom(m[j]) - net::udp_frame_overhead;
      const uint16_t len = pop_.next_rtp(i, period, frame + net::udp_frame_overhead, room);
      if (len == 0) {
        m[n_idle++] = m[j];  // nothing sent this period (DTX): given back below
        continue;
      }
      const dp::io::endpoint peer = pop_.peer(i);
      frame_.src_ip = peer.ip;
      frame_.src_port = peer.port;
      frame_.dst_port = pop_.local_port(i);
      frame_.ip_id = ip_id_++;
      const size_t frame_len = net::udp_frame_overhead + len;
      net::write_udp_headers({frame, frame_len}, frame_, {});
      m[j]->data_len = static_cast<uint16_t>(frame_len);
      m[j]->pkt_len = static_cast<uint32_t>(frame_len);
      ready[n_ready++] = m[j];
    }
    if (n_idle) rte_pktmbuf_free_bulk(m, n_idle);
    const unsigned sent =
        rte_ring_sp_enqueue_burst(rings_.rx, reinterpret_cast<void**>(ready), n_ready, nullptr);
    if (sent < n_ready) {
      rte_pktmbuf_free_bulk(ready + sent, n_ready - sent);
      generator_drops_ += n_ready - sent;
    }
  }

  // One 20 ms period of the worker with the generator beside it.
  void worker_period(uint32_t period, uint64_t now) noexcept {
    dp::engine& engine = pop_.engine();
    const uint32_t n = pop_.size();
    for (uint32_t first = 0; first < n; first += chunk) {
      post(period, first, static_cast<uint16_t>(std::min<uint32_t>(chunk, n - first)));
      while (engine.poll_rx(64) > 0) {
      }
    }
    for (uint64_t s = 0; s < dp::engine::phase_slots; ++s) {
      engine.run_due_ticks(now + s * slot_ns);
      drain(rings_.tx);  // the wire takes what was sent
    }
  }

  // The generator's share of worker_period alone: frames moved from the RX ring to the TX
  // ring untouched, then dequeued and freed.
  void generator_period(uint32_t period) noexcept {
    const uint32_t n = pop_.size();
    for (uint32_t first = 0; first < n; first += chunk) {
      post(period, first, static_cast<uint16_t>(std::min<uint32_t>(chunk, n - first)));
      void* m[chunk];
      const unsigned got = rte_ring_sc_dequeue_burst(rings_.rx, m, chunk, nullptr);
      const unsigned put = rte_ring_sp_enqueue_burst(rings_.tx, m, got, nullptr);
      if (put < got) rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(m) + put, got - put);
      drain(rings_.tx);
    }
  }

  ring_device rings_;
  rte_mempool* pool_;
  std::unique_ptr<dp::io::dpdk_io> io_;
  engine_population pop_;  // after io_: its engine closes ports and flushes into io_
  net::udp_send frame_;
  uint16_t ip_id_ = 0;
  uint64_t generator_drops_ = 0;
};

// The EAL, the rings and the port for the whole run.
struct dpdk_env {
  std::unique_ptr<dp::io::dpdk_eal> eal;
  ring_device rings;
  std::unique_ptr<dp::io::dpdk_port> port;

  explicit dpdk_env(const std::string& eal_args) {
    // The EAL pins the calling thread to one core; the engine-only trials ran unpinned, so
    // keep the scheduler's choice for both.
    cpu_set_t saved;
    CPU_ZERO(&saved);
    const bool have_mask = sched_getaffinity(0, sizeof saved, &saved) == 0;
    auto e = dp::io::dpdk_eal::start(eal_args);
    if (have_mask) sched_setaffinity(0, sizeof saved, &saved);
    if (!e) throw std::runtime_error("EAL: " + e.error().describe());
    eal = std::move(e.value());
    rings.rx = rte_ring_create("engine_rx", rx_ring_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rings.tx = rte_ring_create("engine_tx", tx_ring_size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!rings.rx || !rings.tx || rte_eth_from_rings("engine", &rings.rx, 1, &rings.tx, 1, 0) < 0)
      throw std::runtime_error("ring device setup failed");
    dp::io::dpdk_port_config cfg;
    cfg.device = "net_ring_engine";
    cfg.ip = our_ip;
    cfg.prefix_len = 24;
    cfg.gateway = gateway_ip;
    cfg.gateway_mac = gateway_mac;
    cfg.rx_descriptors = 256;
    cfg.tx_descriptors = 256;
    cfg.mbufs_per_queue = mbufs;
    auto p = dp::io::dpdk_port::open(*eal, cfg);
    if (!p) throw std::runtime_error("dpdk_port: " + p.error().describe());
    port = std::move(p.value());
  }
  ~dpdk_env() {
    port.reset();
    rte_ring_free(rings.rx);
    rte_ring_free(rings.tx);
  }
};

boost::json::object capacity_json(const capacity& c) {
  boost::json::array all;
  for (const auto& r : c.trials) all.push_back(to_json(r));
  return {{"max_participants_per_core", c.best.participants},
          {"us_per_participant_frame", c.best.us_per_participant_frame},
          {"at_max", to_json(c.best)},
          {"trials", all}};
}

// The median trial by cost per participant-frame.
run_result median_trial(std::vector<run_result> trials) {
  std::sort(trials.begin(), trials.end(), [](const run_result& a, const run_result& b) {
    return a.us_per_participant_frame < b.us_per_participant_frame;
  });
  return trials[trials.size() / 2];
}

int run_checked(std::span<const std::string_view> args) {
  std::string name = "pcmu-conf10";
  std::string eal_args =
      "--no-huge --no-pci --no-shconf -m 256 --no-telemetry --log-level=lib.eal:warning";
  std::string path = "both";
  bool json = false, paced = false;
  uint32_t fixed = 0, repeat = 1;
  double seconds = 3.0, target = 0.8;
  for (bench_options o(args); o.next();) {
    if (o.is("--workload")) name = o.value();
    else if (o.is("--json")) json = true;
    else if (o.is("--participants")) fixed = o.u32();
    else if (o.is("--repeat")) repeat = o.u32();
    else if (o.is("--seconds")) seconds = o.real();
    else if (o.is("--target-busy")) target = o.real();
    else if (o.is("--eal")) eal_args = o.value();
    else if (o.is("--path")) path = o.value();
    else if (o.is("--paced")) paced = true;
    else if (o.is("--help") || o.is("-h")) {
      std::printf(
          "usage: tutti-bench engine-dpdk [--workload NAME] [--participants N [--repeat R]]\n"
          "         [--seconds S] [--target-busy F] [--path both|engine|dpdk] [--paced]\n"
          "         [--eal \"ARGS\"] [--json]\n\n"
          "The engine workload (default pcmu-conf10; see tutti-bench engine --help) with every\n"
          "packet a frame through dpdk_io on a net_ring device, and engine only (memory_io) in\n"
          "the same run. Without --participants, searches each one's capacity (largest count at\n"
          "or below --target-busy, default 0.8); with it, runs R trials of each, alternating,\n"
          "and compares the median cost per participant-frame. Periods run back to back as in\n"
          "the engine-only rig; --paced starts each DPDK period at its real-time boundary\n"
          "(sleeping between: on a shared core that lets other processes cool the caches).\n");
      return 0;
    } else {
      o.unknown();
    }
  }
  const engine_workload* w = find_engine_workload(name);
  if (!w) throw std::invalid_argument("unknown --workload (see tutti-bench engine --help)");
  if (fixed > 60000) throw std::invalid_argument("--participants: at most 60000");
  if (repeat == 0 || (repeat > 1 && !fixed)) throw std::invalid_argument("--repeat needs --participants");
  const bool run_engine = path != "dpdk", run_dpdk = path != "engine";
  if (!run_engine && !run_dpdk) throw std::invalid_argument("--path: both, engine or dpdk");
  dpdk_env env(eal_args);
  const prepared_workload prepared = prepare_workload(*w);
  const auto periods = std::max<uint32_t>(static_cast<uint32_t>(seconds * 50), 10);
  auto engine_trial = [&](uint32_t n) { return measure_engine_only(*w, prepared, n, seconds); };
  auto dpdk_trial = [&](uint32_t n) {
    dpdk_rig rig(*env.port, env.rings, *w, prepared, n);
    return rig.run(50, periods, paced);
  };
  auto row = [&](const char* what) {
    return [json, what](const run_result& r) {
      if (json) return;
      std::printf("%-7s", what);
      print_row(r);
    };
  };
  if (!json)
    std::printf("%s: engine only (memory_io) and through dpdk_io on net_ring (%s, generator "
                "subtracted)\n", w->name, paced ? "paced" : "unpaced");

  capacity engine_only, dpdk;
  if (fixed) {
    // Alternating, so a change in the machine's load hits both alike.
    for (uint32_t k = 0; k < repeat; ++k) {
      if (run_engine) engine_only.trials.push_back(engine_trial(fixed));
      if (run_engine) row("engine")(engine_only.trials.back());
      if (run_dpdk) dpdk.trials.push_back(dpdk_trial(fixed));
      if (run_dpdk) row("dpdk")(dpdk.trials.back());
    }
    if (run_engine) engine_only.best = median_trial(engine_only.trials);
    if (run_dpdk) dpdk.best = median_trial(dpdk.trials);
  } else {
    if (run_engine) engine_only = find_capacity(*w, target, 0, engine_trial, row("engine"));
    if (run_dpdk) dpdk = find_capacity(*w, target, 0, dpdk_trial, row("dpdk"));
  }

  // With --participants the figures are per participant-frame; otherwise capacities.
  double ratio = 0;
  if (run_engine && run_dpdk)
    ratio = fixed ? engine_only.best.us_per_participant_frame / dpdk.best.us_per_participant_frame
                  : double(dpdk.best.participants) / double(engine_only.best.participants);
  uint64_t io_drops = 0;
  for (const auto& r : dpdk.trials) io_drops += r.io_rx_dropped + r.io_tx_dropped;
  if (json) {
    boost::json::object out{{"benchmark", "engine-dpdk"},
                            {"workload", w->name},
                            {"simd_target", simd::dispatched_target_name()},
                            {"device", "net_ring"},
                            {"tx_checksum", env.port->tx_offload().nic_udp ? "nic" : "software"},
                            {"paced", paced},
                            {"target_busy", target},
                            {"seconds_per_trial", seconds},
                            {"ratio_of", fixed ? "us_per_participant_frame (engine / dpdk)"
                                               : "max_participants_per_core (dpdk / engine)"},
                            {"ratio", ratio},
                            {"io_drops", io_drops}};
    if (run_engine) out["engine_only"] = capacity_json(engine_only);
    if (run_dpdk) out["dpdk"] = capacity_json(dpdk);
    std::printf("%s\n", boost::json::serialize(out).c_str());
  } else if (fixed) {
    std::printf("%s at %u participants, median of %u: %.3f us per participant-frame engine only, "
                "%.3f through DPDK; ratio %.2f\n",
                w->name, fixed, repeat, engine_only.best.us_per_participant_frame,
                dpdk.best.us_per_participant_frame, ratio);
  } else {
    std::printf("%s: engine only %u, through DPDK %u participants per core at <= %.0f%% busy "
                "(%.3f vs %.3f us per participant-frame); ratio %.2f\n",
                w->name, engine_only.best.participants, dpdk.best.participants, 100 * target,
                engine_only.best.us_per_participant_frame, dpdk.best.us_per_participant_frame,
                ratio);
  }
  return io_drops == 0 ? 0 : 1;
}

}  // namespace

int run_engine_dpdk(std::span<const std::string_view> args) {
  try {
    return run_checked(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tutti-bench engine-dpdk: %s\n", e.what());
    return 2;
  }
}

}  // namespace tutti::perf
