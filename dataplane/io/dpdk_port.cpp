// Setup side of the DPDK backend: the EAL and the port (device configuration, queues,
// pools, offload negotiation). Control-time code: may allocate and log through DPDK.
#include <rte_config.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "dataplane/io/dpdk.hpp"

namespace tutti::dp::io {

namespace {

const char* error_name(dpdk_error e) {
  switch (e) {
    case dpdk_error::bad_arguments: return "bad_arguments";
    case dpdk_error::eal_init_failed: return "eal_init_failed";
    case dpdk_error::no_such_device: return "no_such_device";
    case dpdk_error::bad_config: return "bad_config";
    case dpdk_error::pool_failed: return "pool_failed";
    case dpdk_error::port_failed: return "port_failed";
  }
  return "?";
}

failure<dpdk_failure> failed(dpdk_error what, std::string where, int code = 0) {
  return fail(dpdk_failure{what, std::move(where), code < 0 ? -code : code});
}

// Port by ethdev name, or by number when the name is all digits.
bool find_port(const std::string& device, uint16_t& port_id) {
  if (!device.empty() && std::all_of(device.begin(), device.end(),
                                     [](char c) { return c >= '0' && c <= '9'; })) {
    if (device.size() > 5) return false;
    const unsigned long id = std::stoul(device);
    if (id >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port(static_cast<uint16_t>(id)))
      return false;
    port_id = static_cast<uint16_t>(id);
    return true;
  }
  return rte_eth_dev_get_port_by_name(device.c_str(), &port_id) == 0;
}

}  // namespace

std::string dpdk_failure::describe() const {
  std::string s = error_name(what);
  if (!where.empty()) s += ": " + where;
  if (code != 0) s += std::string(": ") + rte_strerror(code);
  return s;
}

// ---- EAL -------------------------------------------------------------------------------

result<std::unique_ptr<dpdk_eal>, dpdk_failure> dpdk_eal::start(std::string_view args) {
  std::unique_ptr<dpdk_eal> eal(new dpdk_eal());
  eal->args_.emplace_back("tutti");
  size_t i = 0;
  while (i < args.size()) {
    while (i < args.size() && (args[i] == ' ' || args[i] == '\t' || args[i] == '\n')) ++i;
    size_t j = i;
    while (j < args.size() && args[j] != ' ' && args[j] != '\t' && args[j] != '\n') ++j;
    if (j > i) eal->args_.emplace_back(args.substr(i, j - i));
    i = j;
  }
  if (eal->args_.size() == 1) return failed(dpdk_error::bad_arguments, "empty EAL arguments");
  std::vector<char*> argv;
  for (auto& a : eal->args_) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(eal->args_.size()), argv.data()) < 0)
    return failed(dpdk_error::eal_init_failed, "rte_eal_init", rte_errno);
  eal->initialised_ = true;
  return eal;
}

dpdk_eal::~dpdk_eal() {
  // A failed start must not tear down an EAL that someone else initialised.
  if (initialised_) rte_eal_cleanup();
}

bool dpdk_eal::register_thread() noexcept { return rte_thread_register() == 0; }

// ---- port ------------------------------------------------------------------------------

uint16_t dpdk_port::mbuf_priv_size() noexcept {
  return static_cast<uint16_t>(RTE_ALIGN_CEIL(sizeof(packet), RTE_MBUF_PRIV_ALIGN));
}

result<std::unique_ptr<dpdk_port>, dpdk_failure> dpdk_port::open(const dpdk_eal&,
                                                                  const dpdk_port_config& cfg) {
  if (cfg.ip == 0 || cfg.prefix_len > 32 || cfg.queues == 0 || cfg.mtu < 576)
    return failed(dpdk_error::bad_config, "address, prefix, queues or MTU");
  std::unique_ptr<dpdk_port> port(new dpdk_port());
  port->cfg_ = cfg;
  port->netmask_ = cfg.prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - cfg.prefix_len);
  if (!find_port(cfg.device, port->port_id_))
    return failed(dpdk_error::no_such_device, "device '" + cfg.device + "'");
  const uint16_t pid = port->port_id_;

  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(pid, &info); rc != 0)
    return failed(dpdk_error::port_failed, "rte_eth_dev_info_get", rc);
  if (cfg.queues > info.max_rx_queues || cfg.queues > info.max_tx_queues)
    return failed(dpdk_error::bad_config, "more queues than the device has");
  if (cfg.mtu < info.min_mtu || cfg.mtu > info.max_mtu)
    return failed(dpdk_error::bad_config, "MTU outside the device's range");

  rte_eth_conf conf{};
  conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;  // unsteered traffic goes to queue 0
  conf.rxmode.mtu = cfg.mtu;
  if (!cfg.software_checksums) {
    port->tx_offload_.nic_ip = (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
    port->tx_offload_.nic_udp = (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0;
    port->rx_ip_offload_ = (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0;
    port->rx_l4_offload_ = (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_UDP_CKSUM) != 0;
  }
  if (port->tx_offload_.nic_ip) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  if (port->tx_offload_.nic_udp) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  if (port->rx_ip_offload_) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
  if (port->rx_l4_offload_) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_UDP_CKSUM;

  if (int rc = rte_eth_dev_configure(pid, cfg.queues, cfg.queues, &conf); rc != 0)
    return failed(dpdk_error::port_failed, "rte_eth_dev_configure", rc);
  uint16_t rxd = cfg.rx_descriptors, txd = cfg.tx_descriptors;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &rxd, &txd); rc != 0)
    return failed(dpdk_error::port_failed, "rte_eth_dev_adjust_nb_rx_tx_desc", rc);
  // A NIC fills every RX descriptor at start and holds sent mbufs until it recycles them;
  // the workers' share is what's left.
  if (cfg.mbufs_per_queue < uint32_t{rxd} + txd + 4u * 32u)
    return failed(dpdk_error::bad_config, "mbufs_per_queue below descriptors + bursts");

  int socket = rte_eth_dev_socket_id(pid);
  if (socket < 0) socket = SOCKET_ID_ANY;
  const uint32_t data_room = std::max<uint32_t>(
      RTE_MBUF_DEFAULT_BUF_SIZE, RTE_PKTMBUF_HEADROOM + cfg.mtu + RTE_ETHER_HDR_LEN + 4u);
  if (data_room > UINT16_MAX) return failed(dpdk_error::bad_config, "MTU too large");
  const unsigned cache = std::min(256u, cfg.mbufs_per_queue / 2);
  for (uint16_t q = 0; q < cfg.queues; ++q) {
    char name[RTE_MEMPOOL_NAMESIZE];
    std::snprintf(name, sizeof name, "tutti_p%u_q%u", pid, q);
    // A LIFO pool ("stack" ops) hands out the buffer freed last, still in cache: the TX
    // buffer a worker allocates is usually the RX buffer it just released. The default ring
    // is FIFO and cycles through the whole pool (tens of MB), a cache miss per buffer once
    // bursts overflow the per-lcore cache. Falls back to the default where the stack
    // driver isn't available.
    rte_mempool* mp = rte_pktmbuf_pool_create_by_ops(name, cfg.mbufs_per_queue, cache,
                                                     mbuf_priv_size(),
                                                     static_cast<uint16_t>(data_room), socket,
                                                     "stack");
    if (mp == nullptr)
      mp = rte_pktmbuf_pool_create(name, cfg.mbufs_per_queue, cache, mbuf_priv_size(),
                                   static_cast<uint16_t>(data_room), socket);
    if (mp == nullptr) return failed(dpdk_error::pool_failed, name, rte_errno);
    port->pools_.push_back(mp);
    if (int rc = rte_eth_rx_queue_setup(pid, q, rxd, static_cast<unsigned>(socket), nullptr, mp);
        rc != 0)
      return failed(dpdk_error::port_failed, "rte_eth_rx_queue_setup", rc);
    if (int rc = rte_eth_tx_queue_setup(pid, q, txd, static_cast<unsigned>(socket), nullptr);
        rc != 0)
      return failed(dpdk_error::port_failed, "rte_eth_tx_queue_setup", rc);
  }
  if (int rc = rte_eth_dev_start(pid); rc != 0)
    return failed(dpdk_error::port_failed, "rte_eth_dev_start", rc);
  port->started_ = true;

  rte_ether_addr mac{};
  if (int rc = rte_eth_macaddr_get(pid, &mac); rc != 0)
    return failed(dpdk_error::port_failed, "rte_eth_macaddr_get", rc);
  if (!cfg.mac.is_zero()) {
    std::memcpy(mac.addr_bytes, cfg.mac.bytes.data(), 6);
    if (int rc = rte_eth_dev_default_mac_addr_set(pid, &mac); rc != 0)
      return failed(dpdk_error::port_failed, "rte_eth_dev_default_mac_addr_set", rc);
  } else if (rte_is_zero_ether_addr(&mac)) {
    // Virtual devices (the ring PMD) may have none; answering ARP needs one. A random
    // locally administered unicast address; whether the device can store it doesn't
    // matter for a device that filters nothing.
    rte_eth_random_addr(mac.addr_bytes);
    rte_eth_dev_default_mac_addr_set(pid, &mac);
  }
  std::memcpy(port->mac_.bytes.data(), mac.addr_bytes, 6);
  if (cfg.gateway != 0 && !cfg.gateway_mac.is_zero())
    port->arp_.set_static(cfg.gateway, cfg.gateway_mac);
  return port;
}

dpdk_port::~dpdk_port() {
  if (started_) {
    rte_eth_dev_stop(port_id_);
    rte_eth_dev_close(port_id_);
  }
  for (rte_mempool* mp : pools_) rte_mempool_free(mp);
}

bool dpdk_port::next_hop(uint32_t dst, uint32_t& hop) const noexcept {
  // Media goes to unicast peers only: no multicast (224/4, 240/4) or limited broadcast.
  if (dst == 0 || (dst >> 28) >= 0xe || dst == cfg_.ip) return false;
  if (((dst ^ cfg_.ip) & netmask_) == 0) {
    // The subnet's directed broadcast has no single MAC (prefixes /31 and /32 have none).
    if (cfg_.prefix_len < 31 && (dst | netmask_) == ~uint32_t{0}) return false;
    hop = dst;
    return true;
  }
  if (cfg_.gateway == 0) return false;
  hop = cfg_.gateway;
  return true;
}

dpdk_port_stats dpdk_port::stats() const noexcept {
  rte_eth_stats s{};
  dpdk_port_stats out;
  if (rte_eth_stats_get(port_id_, &s) != 0) return out;
  out.rx_no_mbuf = s.rx_nombuf;
  out.rx_missed = s.imissed;
  out.rx_errors = s.ierrors;
  out.tx_errors = s.oerrors;
  return out;
}

}  // namespace tutti::dp::io
