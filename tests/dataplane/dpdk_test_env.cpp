#include <rte_config.h>

#include <rte_bus_vdev.h>
#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <sched.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "tests/dataplane/dpdk_test_env.hpp"

namespace tutti::test {

dp::io::dpdk_eal& test_eal() {
  static std::unique_ptr<dp::io::dpdk_eal> eal = [] {
    cpu_set_t saved;
    CPU_ZERO(&saved);
    const bool have_mask = sched_getaffinity(0, sizeof saved, &saved) == 0;
    auto r = dp::io::dpdk_eal::start(test_eal_args);
    if (have_mask) sched_setaffinity(0, sizeof saved, &saved);
    if (!r) throw std::runtime_error("EAL: " + r.error().describe());
    return std::move(r.value());
  }();
  return *eal;
}

const uint8_t* frame_start(const dp::io::packet& p) {
  return rte_pktmbuf_mtod(static_cast<const rte_mbuf*>(p.backend), const uint8_t*);
}

ring_port::ring_port(dp::io::dpdk_port_config cfg, uint16_t queues) {
  static std::atomic<int> serial{0};
  const int id = serial++;
  char name[16];
  std::snprintf(name, sizeof name, "t%d", id);
  name_ = name;
  test_eal();
  for (uint16_t q = 0; q < queues; ++q) {
    char rx_name[32], tx_name[32];
    std::snprintf(rx_name, sizeof rx_name, "rx_%d_%u", id, q);
    std::snprintf(tx_name, sizeof tx_name, "tx_%d_%u", id, q);
    rx_.push_back(rte_ring_create(rx_name, 1024, SOCKET_ID_ANY, 0));
    tx_.push_back(rte_ring_create(tx_name, 1024, SOCKET_ID_ANY, 0));
    if (rx_.back() == nullptr || tx_.back() == nullptr) throw std::runtime_error("rte_ring_create");
  }
  if (rte_eth_from_rings(name_.c_str(), rx_.data(), queues, tx_.data(), queues, 0) < 0)
    throw std::runtime_error("rte_eth_from_rings");
  cfg.device = "net_ring_" + name_;
  cfg.queues = queues;
  auto p = dp::io::dpdk_port::open(test_eal(), cfg);
  if (!p) throw std::runtime_error("dpdk_port::open: " + p.error().describe());
  port_ = std::move(p.value());
}

ring_port::~ring_port() {
  // Every mbuf back to its pool before the port frees the pools.
  for (auto* rings : {&rx_, &tx_})
    for (rte_ring* r : *rings) {
      void* m;
      while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
    }
  port_.reset();
  rte_vdev_uninit(("net_ring_" + name_).c_str());
  for (rte_ring* r : rx_) rte_ring_free(r);
  for (rte_ring* r : tx_) rte_ring_free(r);
}

uint64_t rx_flags(bool ip_good, bool ip_bad, bool l4_good, bool l4_bad) {
  uint64_t f = 0;
  if (ip_good) f |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
  if (ip_bad) f |= RTE_MBUF_F_RX_IP_CKSUM_BAD;
  if (l4_good) f |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  if (l4_bad) f |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
  return f;
}

void ring_port::inject(const std::vector<uint8_t>& frame, uint16_t q, uint64_t ol_flags) {
  rte_mbuf* m = rte_pktmbuf_alloc(port_->pool(q));
  if (m == nullptr) throw std::runtime_error("pool empty");
  char* d = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
  if (d == nullptr) throw std::runtime_error("frame too big");
  std::memcpy(d, frame.data(), frame.size());
  m->ol_flags = ol_flags;
  if (rte_ring_enqueue(rx_[q], m) != 0) throw std::runtime_error("rx ring full");
}

std::vector<std::vector<uint8_t>> ring_port::sent(uint16_t q) {
  std::vector<std::vector<uint8_t>> out;
  void* obj;
  while (rte_ring_dequeue(tx_[q], &obj) == 0) {
    auto* m = static_cast<rte_mbuf*>(obj);
    const auto* d = rte_pktmbuf_mtod(m, const uint8_t*);
    out.emplace_back(d, d + m->data_len);
    rte_pktmbuf_free(m);
  }
  return out;
}

}  // namespace tutti::test
