// The one burst interface between a data-plane worker and its packets, whatever moves them:
// io_uring over kernel UDP sockets (the default) or DPDK on a NIC or virtual device.
//
// Model: a worker owns one packet_io. rx_burst hands it up to `max` received UDP payloads;
// each one is then either released or reused for sending. alloc_tx gives an empty buffer to
// fill; tx_burst takes ownership of every packet passed (sent, or dropped and counted).
// One virtual call per burst, never per packet. Nothing here allocates after construction:
// buffers come from pools sized at start. Only the owning worker calls any of it, except the
// constructor and destructor.
#pragma once

#include <cstdint>

namespace tutti::dp::io {

// IPv4 address and UDP port, both in host byte order.
struct endpoint {
  uint32_t ip = 0;
  uint16_t port = 0;
  friend bool operator==(const endpoint&, const endpoint&) = default;
};

struct packet {
  uint8_t* data = nullptr;   // UDP payload
  uint16_t len = 0;          // payload bytes
  uint16_t capacity = 0;     // writable bytes from data (for tx)
  uint16_t local_port = 0;   // our UDP port: the one it arrived on, or the one it leaves from
  endpoint remote;           // sender on rx, destination on tx
  uint64_t rx_ns = 0;        // CLOCK_MONOTONIC arrival time (0 on tx)
  void* backend = nullptr;   // the backend's own handle (mbuf, ring slot); not for callers
};

struct io_stats {
  uint64_t rx_packets = 0;      // payloads handed to the worker
  uint64_t tx_packets = 0;      // payloads handed to the kernel or NIC
  uint64_t rx_dropped = 0;      // arrived but not handed up (bad frame, no buffer, unknown port)
  uint64_t tx_dropped = 0;      // passed to tx_burst but not sent (queue full, no route)
  uint64_t rx_no_buffer = 0;    // receive ran out of buffers (io_uring ENOBUFS, mbuf pool empty)
};

class packet_io {
 public:
  virtual ~packet_io() = default;

  // Starts receiving on local UDP port `port` (a participant's media port). Worker thread,
  // control time: may make system calls, never per packet. False if the port can't be used.
  virtual bool open_port(uint16_t port) noexcept = 0;
  // Stops receiving on `port`; packets already received may still come up once.
  virtual void close_port(uint16_t port) noexcept = 0;

  // Up to `max` received packets into `out`; returns how many. Never blocks.
  virtual uint16_t rx_burst(packet** out, uint16_t max) noexcept = 0;
  // An empty buffer for sending, or nullptr when the pool is exhausted (counted).
  virtual packet* alloc_tx() noexcept = 0;
  // Sends `n` packets (each with data/len/local_port/remote set) and takes ownership of all.
  // Returns how many were accepted for sending; the rest were dropped and counted.
  virtual uint16_t tx_burst(packet** pkts, uint16_t n) noexcept = 0;
  // Gives back a received packet, or a tx buffer that will not be sent.
  virtual void release(packet* p) noexcept = 0;

  // Waits up to `timeout_ns` for something to receive, for a worker with nothing to do. The
  // default just sleeps; a backend that can block on its completions (io_uring) does that.
  virtual void wait(uint64_t timeout_ns) noexcept;

  virtual io_stats stats() const noexcept = 0;
};

}  // namespace tutti::dp::io
