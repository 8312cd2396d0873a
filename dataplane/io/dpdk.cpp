// Worker side of the DPDK backend: bursts in and out of one queue pair. Hot path: no
// allocation, locks, logging or system calls beyond the PMD's burst functions and one
// vDSO clock read per received burst.
#include <rte_config.h>

#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <new>

#include "dataplane/io/dpdk.hpp"
#include "dataplane/net/icmp.hpp"

namespace tutti::dp::io {

namespace {

constexpr size_t overhead = net::udp_frame_overhead;

net::hw_check ip_check(uint64_t ol_flags) noexcept {
  switch (ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) {
    case RTE_MBUF_F_RX_IP_CKSUM_GOOD: return net::hw_check::good;
    case RTE_MBUF_F_RX_IP_CKSUM_BAD: return net::hw_check::bad;
    default: return net::hw_check::unknown;
  }
}

net::hw_check l4_check(uint64_t ol_flags) noexcept {
  switch (ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) {
    case RTE_MBUF_F_RX_L4_CKSUM_GOOD: return net::hw_check::good;
    case RTE_MBUF_F_RX_L4_CKSUM_BAD: return net::hw_check::bad;
    default: return net::hw_check::unknown;
  }
}

uint64_t monotonic_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

packet* handle_of(rte_mbuf* m) noexcept { return static_cast<packet*>(rte_mbuf_to_priv(m)); }

}  // namespace

const char* tx_drop_name(tx_drop r) noexcept {
  switch (r) {
    case tx_drop::too_long: return "too_long";
    case tx_drop::bad_buffer: return "bad_buffer";
    case tx_drop::no_route: return "no_route";
    case tx_drop::arp_unresolved: return "arp_unresolved";
    case tx_drop::queue_full: return "queue_full";
    case tx_drop::count_: break;
  }
  return "?";
}

result<std::unique_ptr<dpdk_io>, dpdk_failure> dpdk_io::open(dpdk_port& port, uint16_t queue) {
  if (queue >= port.config().queues)
    return fail(dpdk_failure{dpdk_error::bad_config, "queue beyond the port's queues", 0});
  return std::unique_ptr<dpdk_io>(new dpdk_io(port, queue));
}

dpdk_io::dpdk_io(dpdk_port& port, uint16_t queue)
    : port_(port),
      port_id_(port.port_id()),
      queue_(queue),
      pool_(port.pool(queue)),
      ip_(port.config().ip),
      mac_(port.mac()),
      tx_offload_(port.tx_offload()),
      tos_(static_cast<uint8_t>(port.config().dscp << 2)),
      max_payload_(static_cast<uint16_t>(port.config().mtu - net::ipv4_header_len -
                                         net::udp_header_len)) {
  if (port.flow_steering_needed() && queue > 0) flows_.assign(65536, nullptr);
}

dpdk_io::~dpdk_io() {
  for (uint32_t p = 0; p < flows_.size(); ++p)
    if (flows_[p] != nullptr) rte_flow_destroy(port_id_, flows_[p], nullptr);
}

bool dpdk_io::open_port(uint16_t p) noexcept {
  if (p == 0) return false;
  if (port_is_open(p)) return true;
  if (!flows_.empty()) {
    // Steer (our address, UDP port p) to this queue; everything else stays on queue 0.
    rte_flow_attr attr{};
    attr.ingress = 1;
    rte_flow_item_ipv4 ip_spec{}, ip_mask{};
    ip_spec.hdr.dst_addr = rte_cpu_to_be_32(ip_);
    ip_mask.hdr.dst_addr = UINT32_MAX;
    rte_flow_item_udp udp_spec{}, udp_mask{};
    udp_spec.hdr.dst_port = rte_cpu_to_be_16(p);
    udp_mask.hdr.dst_port = UINT16_MAX;
    rte_flow_item pattern[4]{};
    pattern[0].type = RTE_FLOW_ITEM_TYPE_ETH;
    pattern[1].type = RTE_FLOW_ITEM_TYPE_IPV4;
    pattern[1].spec = &ip_spec;
    pattern[1].mask = &ip_mask;
    pattern[2].type = RTE_FLOW_ITEM_TYPE_UDP;
    pattern[2].spec = &udp_spec;
    pattern[2].mask = &udp_mask;
    pattern[3].type = RTE_FLOW_ITEM_TYPE_END;
    rte_flow_action_queue to_queue{};
    to_queue.index = queue_;
    rte_flow_action actions[2]{};
    actions[0].type = RTE_FLOW_ACTION_TYPE_QUEUE;
    actions[0].conf = &to_queue;
    actions[1].type = RTE_FLOW_ACTION_TYPE_END;
    rte_flow_error err{};
    rte_flow* f = rte_flow_create(port_id_, &attr, pattern, actions, &err);
    if (f == nullptr) return false;
    flows_[p] = f;
  }
  open_[p >> 6] |= uint64_t{1} << (p & 63);
  return true;
}

void dpdk_io::close_port(uint16_t p) noexcept {
  open_[p >> 6] &= ~(uint64_t{1} << (p & 63));
  if (!flows_.empty() && flows_[p] != nullptr) {
    rte_flow_destroy(port_id_, flows_[p], nullptr);
    flows_[p] = nullptr;
  }
}

uint16_t dpdk_io::rx_burst(packet** out, uint16_t max) noexcept {
  // At most `max` frames come off the device per call, whatever becomes of them: a device
  // that never runs dry (net_null, a flood of frames that are all dropped or answered) must
  // not hold the worker here.
  uint16_t up = 0, taken = 0;
  while (taken < max) {
    const uint16_t want = std::min<uint16_t>(static_cast<uint16_t>(max - taken), burst);
    uint16_t got = 0;
    up = static_cast<uint16_t>(up + rx_chunk(out + up, want, got));
    taken = static_cast<uint16_t>(taken + got);
    if (got < want) break;
  }
  return up;
}

uint16_t dpdk_io::rx_chunk(packet** out, uint16_t max, uint16_t& received) noexcept {
  rte_mbuf* mbufs[burst];
  const uint16_t n = rte_eth_rx_burst(port_id_, queue_, mbufs, max);
  received = n;
  uint16_t up = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (i + 3 < n) rte_prefetch0(rte_pktmbuf_mtod(mbufs[i + 3], void*));
    rte_mbuf* m = mbufs[i];
    // The handle lives in the private area; a chained mbuf would need a copy to hand up.
    if (m->nb_segs != 1 || rte_pktmbuf_priv_size(m->pool) < sizeof(packet)) {
      bump(c_.rx_drops[static_cast<int>(net::rx_drop::unusable_buffer)]);
      rte_pktmbuf_free(m);
      continue;
    }
    uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
    const std::span<uint8_t> frame{data, m->data_len};
    net::rx_frame fr;
    net::rx_drop why;
    if (!net::classify_frame_into(frame, ip_, ip_check(m->ol_flags), l4_check(m->ol_flags), fr,
                                  why)) {
      bump(c_.rx_drops[static_cast<int>(why)]);
      rte_pktmbuf_free(m);
      continue;
    }
    const net::rx_frame* f = &fr;
    switch (f->kind) {
      case net::frame_kind::udp: {
        if (!port_is_open(f->dst_port)) {
          bump(c_.rx_drops[static_cast<int>(net::rx_drop::unknown_port)]);
          rte_pktmbuf_free(m);
          continue;
        }
        // A peer on our subnet that sends to us is a next hop we'll need (saves an ARP
        // round trip before the first reply); off-link sources' MAC is the router's.
        uint32_t hop;
        if (port_.next_hop(f->src_ip, hop) && hop == f->src_ip)
          port_.arp().learn(f->src_ip, f->src_mac, true);
        packet* p = new (handle_of(m)) packet{};
        p->data = data + f->payload_offset;
        p->len = f->payload_len;
        const auto room = static_cast<size_t>(static_cast<uint8_t*>(m->buf_addr) + m->buf_len -
                                              p->data);
        p->capacity = static_cast<uint16_t>(std::min<size_t>(room, max_payload_));
        p->local_port = f->dst_port;
        p->remote = endpoint{f->src_ip, f->src_port};
        p->backend = m;
        out[up++] = p;
        break;
      }
      case net::frame_kind::arp: {
        const net::arp_message a = *net::parse_arp(frame.subspan(net::eth_header_len));
        const bool to_us = a.target_ip == ip_;
        if (a.sender_ip == ip_) {  // someone else claims our address: never learn that
          bump(c_.rx_drops[static_cast<int>(net::rx_drop::bad_source)]);
          rte_pktmbuf_free(m);
          break;
        }
        if (!net::is_bad_source(a.sender_ip) && port_.arp().learn(a.sender_ip, a.sender_mac, to_us))
          bump(c_.arp_learned);
        if (to_us && a.op == net::arp_op_request) {
          net::make_arp_reply(frame, a, mac_, ip_);
          queue_reply(m);
          bump(c_.arp_replies);
        } else {
          if (!to_us) bump(c_.rx_drops[static_cast<int>(net::rx_drop::foreign_address)]);
          rte_pktmbuf_free(m);  // a reply to us: learned above, nothing to answer
        }
        break;
      }
      case net::frame_kind::icmp_echo_request:
        net::make_icmp_echo_reply(frame, f->l3_offset, f->ip_header_len, mac_);
        queue_reply(m);
        bump(c_.icmp_replies);
        break;
    }
  }
  if (up > 0) {
    const uint64_t now = monotonic_ns();
    for (uint16_t i = 0; i < up; ++i) out[i]->rx_ns = now;
    bump(c_.rx_packets, up);
  }
  flush_replies();
  return up;
}

void dpdk_io::queue_reply(rte_mbuf* m) noexcept {
  if (n_replies_ == burst) flush_replies();
  m->ol_flags = 0;  // checksums of answers are done in software
  replies_[n_replies_++] = m;
}

void dpdk_io::flush_replies() noexcept {
  if (n_replies_ == 0) return;
  const uint16_t sent = rte_eth_tx_burst(port_id_, queue_, replies_.data(), n_replies_);
  for (uint16_t i = sent; i < n_replies_; ++i) rte_pktmbuf_free(replies_[i]);
  if (sent < n_replies_) bump(c_.replies_dropped, n_replies_ - sent);
  n_replies_ = 0;
}

void dpdk_io::maybe_request_arp(uint32_t hop) noexcept {
  if (!port_.arp().should_request(hop, monotonic_ns())) return;
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) {
    bump(c_.replies_dropped);
    return;
  }
  auto* d = rte_pktmbuf_mtod(m, uint8_t*);
  const size_t len = net::build_arp_request({d, net::eth_min_frame_len}, mac_, ip_, hop);
  m->data_len = static_cast<uint16_t>(len);
  m->pkt_len = static_cast<uint32_t>(len);
  queue_reply(m);
  bump(c_.arp_requests);
}

packet* dpdk_io::alloc_tx() noexcept {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) {
    bump(c_.alloc_failed);
    return nullptr;
  }
  packet* p = new (handle_of(m)) packet{};
  p->data = rte_pktmbuf_mtod(m, uint8_t*) + overhead;
  const size_t room = m->buf_len - m->data_off - overhead;
  p->capacity = static_cast<uint16_t>(std::min<size_t>(room, max_payload_));
  p->backend = m;
  return p;
}

void dpdk_io::release(packet* p) noexcept {
  if (p != nullptr && p->backend != nullptr) rte_pktmbuf_free(static_cast<rte_mbuf*>(p->backend));
}

uint16_t dpdk_io::tx_burst(packet** pkts, uint16_t n) noexcept {
  const uint64_t ol_flags = RTE_MBUF_F_TX_IPV4 |
                            (tx_offload_.nic_ip ? RTE_MBUF_F_TX_IP_CKSUM : 0) |
                            (tx_offload_.nic_udp ? RTE_MBUF_F_TX_UDP_CKSUM : 0);
  const bool any_offload = tx_offload_.nic_ip || tx_offload_.nic_udp;
  net::udp_send s;
  s.src_mac = mac_;
  s.src_ip = ip_;
  s.tos = tos_;
  // Most of a burst goes to one next hop (the gateway): remember the last resolution.
  uint32_t last_hop = 0;
  net::mac_addr last_mac;

  uint16_t accepted = 0;
  for (uint16_t base = 0; base < n; base = static_cast<uint16_t>(base + burst)) {
    const uint16_t count = std::min<uint16_t>(static_cast<uint16_t>(n - base), burst);
    rte_mbuf* out[burst];
    uint16_t n_out = 0;
    for (uint16_t i = 0; i < count; ++i) {
      packet* p = pkts[base + i];
      auto* m = static_cast<rte_mbuf*>(p->backend);
      if (m == nullptr) {
        bump(c_.tx_drops[static_cast<int>(tx_drop::bad_buffer)]);
        continue;
      }
      auto* buf = static_cast<uint8_t*>(m->buf_addr);
      tx_drop why = tx_drop::count_;
      uint32_t hop = 0;
      if (p->len > max_payload_) {
        why = tx_drop::too_long;
      } else if (p->data < buf + overhead || p->data + p->len > buf + m->buf_len ||
                 m->nb_segs != 1) {
        why = tx_drop::bad_buffer;
      } else if (!port_.next_hop(p->remote.ip, hop)) {
        why = tx_drop::no_route;
      } else if (hop != last_hop) {
        if (port_.arp().lookup(hop, last_mac)) {
          last_hop = hop;
        } else {
          maybe_request_arp(hop);
          why = tx_drop::arp_unresolved;
        }
      }
      if (why != tx_drop::count_) {
        bump(c_.tx_drops[static_cast<int>(why)]);
        rte_pktmbuf_free(m);
        continue;
      }
      uint8_t* hdr = p->data - overhead;
      size_t frame_len = overhead + p->len;
      s.dst_mac = last_mac;
      s.dst_ip = p->remote.ip;
      s.src_port = p->local_port;
      s.dst_port = p->remote.port;
      s.ip_id = ip_id_++;
      net::write_udp_headers({hdr, frame_len}, s, tx_offload_);
      // Pad runts to the Ethernet minimum ourselves: virtual devices don't.
      if (frame_len < net::eth_min_frame_len && hdr + net::eth_min_frame_len <= buf + m->buf_len) {
        std::memset(hdr + frame_len, 0, net::eth_min_frame_len - frame_len);
        frame_len = net::eth_min_frame_len;
      }
      m->data_off = static_cast<uint16_t>(hdr - buf);
      m->data_len = static_cast<uint16_t>(frame_len);
      m->pkt_len = static_cast<uint32_t>(frame_len);
      m->ol_flags = any_offload ? ol_flags : 0;
      m->l2_len = net::eth_header_len;
      m->l3_len = net::ipv4_header_len;
      out[n_out++] = m;
    }
    const uint16_t sent = rte_eth_tx_burst(port_id_, queue_, out, n_out);
    for (uint16_t i = sent; i < n_out; ++i) rte_pktmbuf_free(out[i]);
    if (sent < n_out) bump(c_.tx_drops[static_cast<int>(tx_drop::queue_full)], n_out - sent);
    accepted = static_cast<uint16_t>(accepted + sent);
  }
  bump(c_.tx_packets, accepted);
  flush_replies();  // ARP requests for next hops found unresolved above
  return accepted;
}

dpdk_io_stats dpdk_io::detailed_stats() const noexcept {
  constexpr auto r = std::memory_order_relaxed;
  dpdk_io_stats s;
  s.rx_packets = c_.rx_packets.load(r);
  s.tx_packets = c_.tx_packets.load(r);
  for (int i = 0; i < net::rx_drop_count; ++i) s.rx_drops[i] = c_.rx_drops[i].load(r);
  for (int i = 0; i < tx_drop_count; ++i) s.tx_drops[i] = c_.tx_drops[i].load(r);
  s.arp_replies = c_.arp_replies.load(r);
  s.icmp_replies = c_.icmp_replies.load(r);
  s.arp_requests = c_.arp_requests.load(r);
  s.arp_learned = c_.arp_learned.load(r);
  s.replies_dropped = c_.replies_dropped.load(r);
  s.alloc_failed = c_.alloc_failed.load(r);
  return s;
}

io_stats dpdk_io::stats() const noexcept {
  const dpdk_io_stats d = detailed_stats();
  io_stats s;
  s.rx_packets = d.rx_packets;
  s.tx_packets = d.tx_packets;
  for (uint64_t v : d.rx_drops) s.rx_dropped += v;
  for (uint64_t v : d.tx_drops) s.tx_dropped += v;
  // The device counts empty-pool losses per port, not per queue: queue 0 reports them.
  if (queue_ == 0) s.rx_no_buffer = port_.stats().rx_no_mbuf;
  return s;
}

}  // namespace tutti::dp::io
