// `tutti-bench dpdk`: UDP packets per second through dpdk_io on one lcore, on DPDK's ring
// device: each packet is received (parse, checksum verify, port lookup, handed up in place)
// and sent back as the reply (headers and checksums rebuilt, transmitted) — one rx + one tx.
//
// The generator side (mbuf alloc, frame copy, ring enqueue; ring dequeue and free of what
// was sent) runs on the same core; its cost is measured alone with the same rings and
// subtracted, so the figure is the backend's own cost. Times are thread CPU time.
// Output: one JSON object on stdout.
#include <rte_config.h>

#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "dataplane/io/dpdk.hpp"
#include "dataplane/net/frame.hpp"
#include "perf/bench_dpdk.hpp"


namespace {

using namespace tutti::dp;
// Thread CPU time, not wall time: on a shared machine a descheduled slice would otherwise
// count as packet cost (the loop never blocks, so CPU time is its whole cost).
struct clock_type {
  static double now() noexcept {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
  }
};

struct options {
  uint64_t packets = 10'000'000;  // per run
  int runs = 5;
  uint16_t payload = 172;  // RTP header + 20 ms of G.711
  uint16_t ports = 64;     // distinct local ports (and peers) the traffic spreads over
  bool offload_free = false;
  std::string eal = "--no-huge --no-pci --no-shconf -m 512 --no-telemetry "
                    "--log-level=lib.eal:warning";
};

constexpr uint16_t burst = 32;
constexpr uint32_t our_ip = 0x0a000002;  // 10.0.0.2/24; peers 10.0.1.x are on-link

int usage() {
  std::fprintf(stderr,
               "usage: tutti-bench dpdk [--packets N] [--runs R] [--payload BYTES] "
               "[--ports N] [--eal \"ARGS\"]\n");
  return 2;
}

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    if (a == "--packets") o.packets = std::strtoull(v, nullptr, 10);
    else if (a == "--runs") o.runs = std::atoi(v);
    else if (a == "--payload") o.payload = static_cast<uint16_t>(std::atoi(v));
    else if (a == "--ports") o.ports = static_cast<uint16_t>(std::atoi(v));
    else if (a == "--eal") o.eal = v;
    else return false;
  }
  return o.packets >= burst && o.runs > 0 && o.payload >= 1 && o.payload <= 1472 &&
         o.ports >= 1 && o.ports <= 1000;
}

// Frames from peer k (10.0.1.k:5004) to our port 40000+k, valid checksums.
std::vector<std::vector<uint8_t>> make_frames(const options& o, const net::mac_addr& our_mac) {
  std::vector<std::vector<uint8_t>> frames;
  for (uint16_t k = 0; k < o.ports; ++k) {
    std::vector<uint8_t> f(net::udp_frame_overhead + o.payload);
    for (size_t i = net::udp_frame_overhead; i < f.size(); ++i) f[i] = static_cast<uint8_t>(i);
    net::udp_send s;
    s.dst_mac = our_mac;
    const auto host = static_cast<uint8_t>(k % 250 + 1);
    s.src_mac = net::mac_addr{{0x02, 0, 0, 0, 1, host}};
    s.src_ip = 0x0a000100u + host;
    s.dst_ip = our_ip;
    s.src_port = 5004;
    s.dst_port = static_cast<uint16_t>(40000 + k);
    s.tos = 0xb8;
    net::write_udp_headers(f, s, {});
    frames.push_back(std::move(f));
  }
  return frames;
}

struct rig {
  rte_ring* rx;
  rte_ring* tx;
  rte_mempool* pool;
  const std::vector<std::vector<uint8_t>>* frames;
  size_t next = 0;

  // What a NIC would do for free: fill `burst` buffers with frames and post them.
  void inject() noexcept {
    rte_mbuf* m[burst];
    if (rte_pktmbuf_alloc_bulk(pool, m, burst) != 0) return;
    for (auto* mb : m) {
      const auto& f = (*frames)[next];
      next = next + 1 == frames->size() ? 0 : next + 1;
      std::memcpy(rte_pktmbuf_mtod(mb, void*), f.data(), f.size());
      mb->data_len = static_cast<uint16_t>(f.size());
      mb->pkt_len = static_cast<uint32_t>(f.size());
    }
    const unsigned n = rte_ring_sp_enqueue_burst(rx, reinterpret_cast<void**>(m), burst, nullptr);
    if (n < burst) rte_pktmbuf_free_bulk(m + n, burst - n);
  }
  // What the wire would do: take what was sent and give the buffers back.
  unsigned drain(rte_ring* r) noexcept {
    rte_mbuf* m[burst * 2];
    const unsigned n = rte_ring_sc_dequeue_burst(r, reinterpret_cast<void**>(m), burst * 2, nullptr);
    rte_pktmbuf_free_bulk(m, n);
    return n;
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int bench_dpdk_main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) return usage();
  auto eal = io::dpdk_eal::start(o.eal);
  if (!eal) {
    std::fprintf(stderr, "bench dpdk: %s\n", eal.error().describe().c_str());
    return 1;
  }
  rte_ring* rx = rte_ring_create("bench_rx", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* tx = rte_ring_create("bench_tx", 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (rx == nullptr || tx == nullptr || rte_eth_from_rings("bench", &rx, 1, &tx, 1, 0) < 0) {
    std::fprintf(stderr, "bench dpdk: ring device setup failed\n");
    return 1;
  }
  io::dpdk_port_config cfg;
  cfg.device = "net_ring_bench";
  cfg.ip = our_ip;
  cfg.prefix_len = 16;
  cfg.rx_descriptors = 256;
  cfg.tx_descriptors = 256;
  cfg.mbufs_per_queue = 4095;
  auto port = io::dpdk_port::open(*eal.value(), cfg);
  if (!port) {
    std::fprintf(stderr, "bench dpdk: %s\n", port.error().describe().c_str());
    return 1;
  }
  auto dio = io::dpdk_io::open(*port.value(), 0);
  if (!dio) return 1;
  io::dpdk_io& w = *dio.value();
  for (uint16_t k = 0; k < o.ports; ++k) w.open_port(static_cast<uint16_t>(40000 + k));
  const auto frames = make_frames(o, port.value()->mac());
  rig r{rx, tx, port.value()->pool(0), &frames};

  // Warm up: every peer's MAC learned from its first datagram, caches hot.
  io::packet* pkts[burst];
  for (int i = 0; i < 1000; ++i) {
    r.inject();
    const uint16_t n = w.rx_burst(pkts, burst);
    w.tx_burst(pkts, n);
    r.drain(tx);
  }

  const uint64_t iterations = o.packets / burst;
  std::vector<double> total_ns, harness_ns;
  uint64_t echoed = 0;
  for (int run = 0; run < o.runs; ++run) {
    // Harness alone: the same allocs, copies and ring operations, frames moved from the RX
    // ring to the TX ring untouched.
    auto t0 = clock_type::now();
    for (uint64_t i = 0; i < iterations; ++i) {
      r.inject();
      void* m[burst];
      const unsigned n = rte_ring_sc_dequeue_burst(rx, m, burst, nullptr);
      rte_ring_sp_enqueue_burst(tx, m, n, nullptr);
      r.drain(tx);
    }
    auto t1 = clock_type::now();
    harness_ns.push_back((t1 - t0) / static_cast<double>(iterations * burst));

    // Echo through dpdk_io: the received packet is the reply (payload reused in place).
    const uint64_t before = w.stats().tx_packets;
    t0 = clock_type::now();
    for (uint64_t i = 0; i < iterations; ++i) {
      r.inject();
      const uint16_t n = w.rx_burst(pkts, burst);
      w.tx_burst(pkts, n);
      r.drain(tx);
    }
    t1 = clock_type::now();
    const uint64_t done = w.stats().tx_packets - before;
    echoed += done;
    total_ns.push_back((t1 - t0) / static_cast<double>(done == 0 ? 1 : done));
  }

  std::vector<double> io_ns;
  for (int i = 0; i < o.runs; ++i) io_ns.push_back(total_ns[i] - harness_ns[i]);
  const auto s = w.detailed_stats();
  uint64_t rx_drops = 0, tx_drops = 0;
  for (auto v : s.rx_drops) rx_drops += v;
  for (auto v : s.tx_drops) tx_drops += v;
  const double med_io = median(io_ns);
  std::printf("{\"bench\":\"dpdk\",\"device\":\"net_ring\",\"payload_bytes\":%u,\"ports\":%u,"
              "\"packets_per_run\":%llu,\"runs\":%d,\"tx_checksum\":\"%s\","
              "\"echoed\":%llu,\"rx_drops\":%llu,\"tx_drops\":%llu,"
              "\"loop_ns_per_pkt_median\":%.2f,\"harness_ns_per_pkt_median\":%.2f,"
              "\"dpdk_io_ns_per_pkt\":{\"median\":%.2f,\"min\":%.2f,\"max\":%.2f},"
              "\"dpdk_io_mpps_rx_plus_tx\":%.2f,\"loop_mpps\":%.2f}\n",
              o.payload, o.ports, static_cast<unsigned long long>(iterations * burst), o.runs,
              port.value()->tx_offload().nic_udp ? "nic" : "software",
              static_cast<unsigned long long>(echoed), static_cast<unsigned long long>(rx_drops),
              static_cast<unsigned long long>(tx_drops), median(total_ns), median(harness_ns),
              med_io, *std::min_element(io_ns.begin(), io_ns.end()),
              *std::max_element(io_ns.begin(), io_ns.end()), 1e3 / med_io,
              1e3 / median(total_ns));

  r.drain(rx);
  r.drain(tx);
  dio.value().reset();
  port.value().reset();
  rte_ring_free(rx);
  rte_ring_free(tx);
  return rx_drops + tx_drops == 0 ? 0 : 1;
}
