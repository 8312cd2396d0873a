// tutti-rtpgen's packet transport: one UDP socket per participant, all driven through one
// io_uring so that neither sending nor receiving costs a system call per packet.
//
// Model: each socket is bound (127.0.0.1:0 by default) and, once its peer is known, connected
// to it, so a send needs no address and only the peer's datagrams arrive. Sends are queued
// as IORING_OP_SEND from a pool of tx buffers and submitted together by poll(), one
// io_uring_enter per batch. Every socket has one multishot recvmsg in flight taking buffers
// from a shared provided-buffer ring; each datagram comes with the kernel's receive time
// (SO_TIMESTAMPNS, converted to CLOCK_MONOTONIC), so arrival times measure the sender and the
// network, not when this thread got round to looking. Single thread: everything but create()
// and the destructor runs on the thread that polls.
#pragma once

#include <liburing.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "dataplane/io/packet_io.hpp"

namespace tutti::perf {

struct udp_ring_config {
  uint32_t sockets = 1;
  uint32_t local_ip = INADDR_LOOPBACK;  // host order
  uint16_t local_port_base = 0;         // 0: ephemeral ports; else socket i binds base + i
  uint32_t rx_buffers = 8192;           // provided receive buffers (power of two)
  uint32_t rx_buffer_bytes = 2048;
  uint32_t tx_buffers = 4096;           // send buffers, each tx_buffer_bytes
  uint32_t tx_buffer_bytes = 1536;
};

struct udp_ring_stats {
  uint64_t sent = 0;           // sends the kernel completed
  uint64_t send_errors = 0;    // sends the kernel failed (ECONNREFUSED included)
  uint64_t send_refused = 0;   // of those: ECONNREFUSED (nobody listened at the peer port)
  uint64_t received = 0;       // datagrams handed to the sink
  uint64_t rx_truncated = 0;   // longer than a receive buffer (dropped)
  uint64_t rx_errors = 0;      // receive completions with an error (re-armed)
  uint64_t rx_rearms = 0;      // multishot receives armed again after ending
  uint64_t rx_no_kernel_ts = 0;  // datagrams without SO_TIMESTAMPNS (reap time used)
  uint64_t enters = 0;         // io_uring_enter calls made by poll()
};

// Receives each datagram poll() reaps.
class datagram_sink {
 public:
  virtual ~datagram_sink() = default;
  virtual void on_datagram(uint32_t socket, const uint8_t* data, uint32_t len, uint64_t arrival_ns) noexcept = 0;
};

class udp_ring {
 public:
  // Opens and binds the sockets and sets up the ring; an operator-readable error on failure.
  static result<std::unique_ptr<udp_ring>, std::string> create(const udp_ring_config& cfg);
  ~udp_ring();
  udp_ring(const udp_ring&) = delete;
  udp_ring& operator=(const udp_ring&) = delete;

  uint32_t sockets() const noexcept { return static_cast<uint32_t>(fds_.size()); }
  // The port socket i is bound to (host order).
  uint16_t local_port(uint32_t i) const noexcept { return ports_[i]; }
  // Connects socket i to its peer; false with `err` set on failure.
  bool connect(uint32_t i, const dp::io::endpoint& peer, std::string& err);
  // Arms every socket's receive; datagrams then reach the sink through poll().
  bool start_receiving(std::string& err);

  // A free send buffer (capacity tx_buffer_bytes), or nullptr when all are in flight.
  uint8_t* tx_buffer(uint32_t& slot) noexcept;
  // Queues a send of `len` bytes of buffer `slot` on socket i; poll() submits it.
  void send(uint32_t socket, uint32_t slot, uint32_t len) noexcept;
  // Gives back a buffer from tx_buffer() that will not be sent.
  void release_tx(uint32_t slot) noexcept { tx_free_[tx_free_count_++] = slot; }
  uint32_t tx_capacity() const noexcept { return cfg_.tx_buffer_bytes; }

  // Submits queued work, waits up to `timeout_ns` (0: not at all), then handles every
  // completion ready, handing datagrams to `sink`; returns datagrams handled. The wait ends
  // early only when a quarter of the completion queue has filled, so datagrams arriving
  // meanwhile are handled in one batch (their kernel timestamps keep the arrival times).
  uint32_t poll(uint64_t timeout_ns, datagram_sink& sink) noexcept;

  const udp_ring_stats& stats() const noexcept { return stats_; }
  uint32_t sends_in_flight() const noexcept { return cfg_.tx_buffers - tx_free_count_; }

 private:
  explicit udp_ring(const udp_ring_config& cfg) : cfg_(cfg) {}
  bool setup(std::string& err);
  io_uring_sqe* get_sqe() noexcept;
  void arm(uint32_t socket) noexcept;
  void handle_recv(const io_uring_cqe& cqe, datagram_sink& sink, uint64_t reap_ns) noexcept;
  void return_buffer(uint32_t bid) noexcept;

  udp_ring_config cfg_;
  io_uring ring_{};
  bool ring_ok_ = false;
  std::vector<int> fds_;
  std::vector<uint16_t> ports_;
  msghdr recv_template_{};
  int64_t realtime_minus_monotonic_ns_ = 0;
  uint32_t wait_batch_ = 1;  // completions that end a wait early

  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  uint8_t* rx_mem_ = nullptr;
  size_t rx_mem_bytes_ = 0;
  uint32_t pending_returns_ = 0;

  std::vector<uint8_t> tx_mem_;
  std::vector<uint32_t> tx_free_;
  uint32_t tx_free_count_ = 0;
  std::vector<uint32_t> rearm_;  // sockets whose receive ended
  std::vector<uint32_t> rearm_work_;

  udp_ring_stats stats_{};
};

}  // namespace tutti::perf
