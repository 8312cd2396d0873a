// Test support for the DPDK backend: the one EAL of the test process, and ports built on
// rte_rings so a test injects frames and reads back what the port sent.
//
// DPDK's EAL initialises once per process and Catch2 runs every test of the dataplane
// binary in one process, so test_eal() is the process-wide guard (here, not in the
// library). It runs without hugepages, PCI or shared config, so it works as non-root.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/io/dpdk.hpp"

struct rte_ring;

namespace tutti::test {

// The EAL arguments the tests use (also what works on a VM without hugepages).
inline constexpr const char* test_eal_args =
    "--no-huge --no-pci --no-shconf -m 256 --no-telemetry --vdev=net_ring0 "
    "--log-level=lib.eal:warning";

// Starts the EAL on first use; the same object afterwards. Keeps the calling thread's CPU
// affinity (the EAL would pin it to one core for every later test).
dp::io::dpdk_eal& test_eal();

// DPDK's RX checksum flags, for inject() (so tests need no DPDK header).
uint64_t rx_flags(bool ip_good, bool ip_bad, bool l4_good, bool l4_bad);

// Where the frame of a received packet starts in its mbuf (zero-copy checks).
const uint8_t* frame_start(const dp::io::packet& p);

// A port from two rte_rings: frames enqueued on `rx` are what the port receives, frames
// the port sends land on `tx`.
class ring_port {
 public:
  // `queues` RX/TX rings and a dpdk_port on them with `cfg` (device is filled in).
  explicit ring_port(dp::io::dpdk_port_config cfg, uint16_t queues = 1);
  ~ring_port();

  dp::io::dpdk_port& port() { return *port_; }
  // Frame bytes → an mbuf from the port's pool → queue `q`'s RX ring. `ol_flags` stands for
  // what a NIC with checksum offload would have set (RTE_MBUF_F_RX_*).
  void inject(const std::vector<uint8_t>& frame, uint16_t q = 0, uint64_t ol_flags = 0);
  // Everything the port sent on queue `q` since the last call, as bytes.
  std::vector<std::vector<uint8_t>> sent(uint16_t q = 0);

 private:
  std::string name_;
  std::vector<rte_ring*> rx_, tx_;
  std::unique_ptr<dp::io::dpdk_port> port_;
};

}  // namespace tutti::test
