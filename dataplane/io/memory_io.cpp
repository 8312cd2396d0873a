#include "dataplane/io/memory_io.hpp"

#include <cstring>

namespace tutti::dp::io {

memory_io::memory_io(size_t buffers, uint16_t buffer_bytes)
    : memory_(buffers * buffer_bytes), packets_(buffers), rx_queue_(buffers), open_(65536) {
  free_.reserve(buffers);
  for (size_t i = 0; i < buffers; ++i) {
    packets_[i].data = memory_.data() + i * buffer_bytes;
    packets_[i].capacity = buffer_bytes;
    free_.push_back(&packets_[buffers - 1 - i]);
  }
}

memory_io::~memory_io() = default;

packet* memory_io::take() noexcept {
  if (free_.empty()) return nullptr;
  packet* p = free_.back();
  free_.pop_back();
  uint8_t* data = p->data;
  const uint16_t cap = p->capacity;
  *p = packet{};
  p->data = data;
  p->capacity = cap;
  return p;
}

bool memory_io::inject(uint16_t local_port, endpoint remote, const uint8_t* data, uint16_t len,
                       uint64_t rx_ns) noexcept {
  if (!open_[local_port]) {
    ++stats_.rx_dropped;
    return true;  // the kernel would have dropped it: not the caller's problem
  }
  packet* p = take();
  if (!p || len > p->capacity) {
    if (p) free_.push_back(p);
    ++stats_.rx_no_buffer;
    return false;
  }
  std::memcpy(p->data, data, len);
  p->len = len;
  p->local_port = local_port;
  p->remote = remote;
  p->rx_ns = rx_ns;
  rx_queue_[(rx_head_ + rx_count_) % rx_queue_.size()] = p;
  ++rx_count_;
  return true;
}

bool memory_io::open_port(uint16_t port) noexcept {
  if (open_[port]) return false;
  open_[port] = true;
  return true;
}

void memory_io::close_port(uint16_t port) noexcept { open_[port] = false; }

uint16_t memory_io::rx_burst(packet** out, uint16_t max) noexcept {
  uint16_t n = 0;
  while (n < max && rx_count_ > 0) {
    out[n++] = rx_queue_[rx_head_];
    rx_head_ = (rx_head_ + 1) % rx_queue_.size();
    --rx_count_;
  }
  stats_.rx_packets += n;
  return n;
}

packet* memory_io::alloc_tx() noexcept {
  packet* p = take();
  if (!p) ++stats_.tx_dropped;
  return p;
}

uint16_t memory_io::tx_burst(packet** pkts, uint16_t n) noexcept {
  for (uint16_t i = 0; i < n; ++i) {
    if (sink_) sink_(*pkts[i]);
    free_.push_back(pkts[i]);
  }
  stats_.tx_packets += n;
  return n;
}

void memory_io::release(packet* p) noexcept { free_.push_back(p); }

}  // namespace tutti::dp::io
