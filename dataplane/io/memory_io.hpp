// A packet backend in memory: the caller injects received datagrams and collects what the
// worker sends. The engine benchmark runs everything but sockets through it, and tests use it
// to drive the engine packet by packet. Buffers come from a pool sized at construction.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "dataplane/io/packet_io.hpp"

namespace tutti::dp::io {

class memory_io final : public packet_io {
 public:
  // `buffers` packets of `buffer_bytes` each, shared by rx and tx.
  explicit memory_io(size_t buffers = 4096, uint16_t buffer_bytes = 2048);
  ~memory_io() override;

  // Queues a datagram for rx_burst. False when the pool is exhausted (counted as rx_no_buffer).
  bool inject(uint16_t local_port, endpoint remote, const uint8_t* data, uint16_t len,
              uint64_t rx_ns) noexcept;
  // Every packet tx_burst takes is given to `sink` (if set) before its buffer is freed.
  void on_transmit(std::function<void(const packet&)> sink) { sink_ = std::move(sink); }
  size_t queued() const noexcept { return rx_count_; }
  bool port_open(uint16_t port) const noexcept { return open_[port]; }

  bool open_port(uint16_t port) noexcept override;
  void close_port(uint16_t port) noexcept override;
  uint16_t rx_burst(packet** out, uint16_t max) noexcept override;
  packet* alloc_tx() noexcept override;
  uint16_t tx_burst(packet** pkts, uint16_t n) noexcept override;
  void release(packet* p) noexcept override;
  io_stats stats() const noexcept override { return stats_; }

 private:
  packet* take() noexcept;

  std::vector<uint8_t> memory_;
  std::vector<packet> packets_;
  std::vector<packet*> free_;
  std::vector<packet*> rx_queue_;  // ring
  size_t rx_head_ = 0, rx_count_ = 0;
  std::vector<bool> open_;
  std::function<void(const packet&)> sink_;
  io_stats stats_;
};

}  // namespace tutti::dp::io
