// The DPDK packet backend: UDP over IPv4 on a NIC or virtual device, with the appliance
// answering ARP and ICMP echo for its own media address.
//
// Model: one dpdk_eal per process (DPDK's environment can be initialised only once), one
// dpdk_port per device, one dpdk_io per worker owning one RX/TX queue pair of that port and
// an mbuf pool sized at start. A received UDP payload is handed up in place: packet::data
// points into the mbuf and the packet handle lives in the mbuf's private area, so nothing
// is copied or allocated. Everything else that arrives is answered (ARP request, ICMP
// echo: inside rx_burst, sent on the same queue) or dropped and counted by reason. Sends
// build Ethernet/IPv4/UDP in the headroom in front of the payload, checksums by the NIC
// when it offers them, else in software; the next hop's MAC comes from an ARP cache the
// port's workers share.
//
// With several queues, traffic to a port opened by a worker on queue q > 0 is steered there
// by an rte_flow rule (dst address + UDP port); everything else reaches queue 0. A device
// without rte_flow support therefore works with one queue, or opens ports on queue 0 only.
//
// This header keeps DPDK's own headers out: only the .cpp files include them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "dataplane/io/packet_io.hpp"
#include "dataplane/net/arp_cache.hpp"
#include "dataplane/net/drop.hpp"
#include "dataplane/net/ethernet.hpp"
#include "dataplane/net/frame.hpp"

struct rte_mempool;
struct rte_mbuf;
struct rte_flow;

namespace tutti::dp::io {

enum class dpdk_error : uint8_t {
  bad_arguments,    // empty EAL argument string
  eal_init_failed,  // rte_eal_init refused: bad arguments, no memory, or already initialised
  no_such_device,   // the device name or number names no probed port
  bad_config,       // address 0, prefix > 32, queue count or pool size the device can't take
  pool_failed,      // no memory for an mbuf pool (raise -m / hugepages)
  port_failed,      // the driver refused configure, queue setup or start
};

struct dpdk_failure {
  dpdk_error what;
  std::string where;  // the DPDK call (or setting) that failed
  int code = 0;       // rte_errno or the driver's negative return, when there was one
  // "port_failed: rte_eth_dev_configure: Invalid argument" for logs.
  std::string describe() const;
};

// DPDK's environment abstraction layer. Construct once per process (the composition root
// owns it; tests share one); destroying it calls rte_eal_cleanup.
class dpdk_eal {
 public:
  // Initialises the EAL from whitespace-separated arguments, e.g. "--no-huge --no-pci
  // --no-shconf -m 256 --no-telemetry --vdev=net_ring0" (no quoting). Fails if the EAL was
  // already initialised in this process.
  static result<std::unique_ptr<dpdk_eal>, dpdk_failure> start(std::string_view args);
  ~dpdk_eal();
  dpdk_eal(const dpdk_eal&) = delete;
  dpdk_eal& operator=(const dpdk_eal&) = delete;

  // Registers a worker thread that DPDK didn't launch, so the mempool caches serve it.
  // Call once on each such thread before its first burst; false if DPDK refused.
  static bool register_thread() noexcept;

 private:
  dpdk_eal() = default;
  std::vector<std::string> args_;  // kept alive: the EAL may hold pointers into argv
  bool initialised_ = false;
};

struct dpdk_port_config {
  std::string device;               // ethdev name ("0000:03:00.0", "net_pcap0") or port number
  uint16_t queues = 1;              // RX/TX queue pairs: one per worker
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
  uint32_t mbufs_per_queue = 8191;  // descriptors + bursts + everything workers hold
  uint32_t ip = 0;                  // our media address, host order
  uint8_t prefix_len = 24;          // the on-link subnet around `ip`
  uint32_t gateway = 0;             // next hop for off-link destinations; 0: none
  net::mac_addr gateway_mac;        // non-zero: a static entry, the gateway is never ARPed
  uint8_t dscp = 46;                // EF (RFC 4594 §4.6: telephony) on every datagram sent
  uint16_t mtu = 1500;
  net::mac_addr mac;                // non-zero: replaces the device's address
  bool software_checksums = false;  // don't use NIC checksum offload even where offered
};

// Device counters that no single queue owns (rte_eth_stats).
struct dpdk_port_stats {
  uint64_t rx_no_mbuf = 0;  // frames lost because an RX queue's pool was empty
  uint64_t rx_missed = 0;   // frames the NIC dropped (RX ring full)
  uint64_t rx_errors = 0;   // frames the NIC found bad
  uint64_t tx_errors = 0;   // frames the NIC failed to send
};

class dpdk_port {
 public:
  // Configures and starts `cfg.device` with cfg.queues queue pairs and one pool per queue.
  static result<std::unique_ptr<dpdk_port>, dpdk_failure> open(const dpdk_eal& eal,
                                                                const dpdk_port_config& cfg);
  // Stops and closes the device and frees the pools: every mbuf must be back by then.
  ~dpdk_port();
  dpdk_port(const dpdk_port&) = delete;
  dpdk_port& operator=(const dpdk_port&) = delete;

  uint16_t port_id() const noexcept { return port_id_; }
  const net::mac_addr& mac() const noexcept { return mac_; }
  const dpdk_port_config& config() const noexcept { return cfg_; }
  // Where checksums are computed on send (NIC offload as negotiated).
  net::tx_checksums tx_offload() const noexcept { return tx_offload_; }
  // Whether the NIC verifies received IPv4 / UDP checksums.
  bool rx_ip_offload() const noexcept { return rx_ip_offload_; }
  bool rx_l4_offload() const noexcept { return rx_l4_offload_; }
  bool flow_steering_needed() const noexcept { return cfg_.queues > 1; }
  // The pool of `queue` (RX buffers and alloc_tx). Tests and benchmarks inject frames from
  // it into virtual devices: its mbufs have room for the packet handle.
  rte_mempool* pool(uint16_t queue) const noexcept { return pools_[queue]; }
  net::arp_cache& arp() noexcept { return arp_; }
  // The next hop for `dst`: itself on-link, else the gateway; false when unreachable
  // (off-link with no gateway, multicast or broadcast).
  bool next_hop(uint32_t dst, uint32_t& hop) const noexcept;
  dpdk_port_stats stats() const noexcept;

  // Bytes of mbuf private area a packet handle needs (pools for injected frames).
  static uint16_t mbuf_priv_size() noexcept;

 private:
  dpdk_port() = default;

  dpdk_port_config cfg_;
  uint16_t port_id_ = 0;
  bool started_ = false;
  net::mac_addr mac_;
  uint32_t netmask_ = 0;
  net::tx_checksums tx_offload_;
  bool rx_ip_offload_ = false;
  bool rx_l4_offload_ = false;
  std::vector<rte_mempool*> pools_;
  net::arp_cache arp_;
};

// Why a packet passed to tx_burst was not sent.
enum class tx_drop : uint8_t {
  too_long,        // payload beyond the MTU or the buffer
  bad_buffer,      // data/len outside its mbuf (a caller bug), or no mbuf at all
  no_route,        // off-link without a gateway, or a multicast/broadcast destination
  arp_unresolved,  // next hop's MAC not known yet (an ARP request went out)
  queue_full,      // the TX queue took fewer than offered
  count_
};
inline constexpr int tx_drop_count = static_cast<int>(tx_drop::count_);
const char* tx_drop_name(tx_drop r) noexcept;

// A worker's view of its queue's counters (single writer, read with relaxed loads).
struct dpdk_io_stats {
  uint64_t rx_packets = 0;                           // UDP payloads handed up
  uint64_t tx_packets = 0;                           // UDP datagrams accepted by the TX queue
  std::array<uint64_t, net::rx_drop_count> rx_drops{};  // by net::rx_drop
  std::array<uint64_t, tx_drop_count> tx_drops{};       // by tx_drop
  uint64_t arp_replies = 0;      // ARP requests for our address answered
  uint64_t icmp_replies = 0;     // ICMP echo requests answered
  uint64_t arp_requests = 0;     // ARP requests sent for unresolved next hops
  uint64_t arp_learned = 0;      // ARP messages the cache learned from
  uint64_t replies_dropped = 0;  // answers or ARP requests lost: no mbuf or TX queue full
  uint64_t alloc_failed = 0;     // alloc_tx found the pool empty
};

class dpdk_io final : public packet_io {
 public:
  // The worker end of `queue` on `port`; `port` must outlive it.
  static result<std::unique_ptr<dpdk_io>, dpdk_failure> open(dpdk_port& port, uint16_t queue);
  ~dpdk_io() override;

  bool open_port(uint16_t port) noexcept override;
  void close_port(uint16_t port) noexcept override;
  uint16_t rx_burst(packet** out, uint16_t max) noexcept override;
  packet* alloc_tx() noexcept override;
  uint16_t tx_burst(packet** pkts, uint16_t n) noexcept override;
  void release(packet* p) noexcept override;
  io_stats stats() const noexcept override;

  dpdk_io_stats detailed_stats() const noexcept;
  uint16_t queue() const noexcept { return queue_; }

 private:
  static constexpr uint16_t burst = 32;
  using counter = std::atomic<uint64_t>;
  static void bump(counter& c, uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  dpdk_io(dpdk_port& port, uint16_t queue);
  bool port_is_open(uint16_t p) const noexcept { return (open_[p >> 6] >> (p & 63)) & 1; }
  // One rte_eth_rx_burst of up to `max` (≤ burst) frames, `received` of them; returns how
  // many UDP payloads it handed up.
  uint16_t rx_chunk(packet** out, uint16_t max, uint16_t& received) noexcept;
  // Queues an answer built in a received mbuf; sent at the end of the RX chunk.
  void queue_reply(rte_mbuf* m) noexcept;
  void flush_replies() noexcept;
  // Queues an ARP request for `hop` if the shared cache says it's this worker's turn.
  void maybe_request_arp(uint32_t hop) noexcept;

  dpdk_port& port_;
  uint16_t port_id_;
  uint16_t queue_;
  rte_mempool* pool_;
  uint32_t ip_;
  net::mac_addr mac_;
  net::tx_checksums tx_offload_;
  uint8_t tos_;
  uint16_t max_payload_;
  uint16_t ip_id_ = 0;
  std::array<uint64_t, 65536 / 64> open_{};  // local UDP port → open, one bit each
  std::vector<rte_flow*> flows_;            // per local port, queues > 0 of a multi-queue port
  std::array<rte_mbuf*, burst> replies_{};
  uint16_t n_replies_ = 0;

  struct counters {
    counter rx_packets{0}, tx_packets{0};
    std::array<counter, net::rx_drop_count> rx_drops{};
    std::array<counter, tx_drop_count> tx_drops{};
    counter arp_replies{0}, icmp_replies{0}, arp_requests{0}, arp_learned{0};
    counter replies_dropped{0}, alloc_failed{0};
  };
  counters c_;
};

}  // namespace tutti::dp::io
