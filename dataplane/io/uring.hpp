// The default packet backend: kernel UDP sockets driven through one io_uring per worker.
//
// Model: each open media port is a non-blocking UDP socket bound to the media address, held
// only as a registered ("fixed") file so thousands of ports cost no descriptors. Every port
// has one multishot recvmsg in flight that takes its buffers from a single provided-buffer
// ring shared by all ports; each completion carries the source address (io_uring_recvmsg_out)
// and the payload in one buffer, which the worker owns until release() (or until a send that
// reuses it completes) puts it back on the ring. When the ring runs dry the kernel ends the
// multishot receives with -ENOBUFS; they are counted and re-armed once enough buffers are back.
// Sends are one IORING_OP_SEND with a destination address per packet (no msghdr to copy in:
// ~5% less CPU per packet than sendmsg here) from a fixed pool of tx buffers or from a reused
// rx buffer, submitted once per burst. Completions of both kinds are reaped in rx_burst.
// Each datagram also brings its socket's drop counter (SO_RXQ_OVFL), so datagrams the kernel
// dropped while the worker held every buffer are counted too.
//
// Kernel: 5.19 at least (provided-buffer rings, cooperative task running); multishot recvmsg
// and send-with-address need 6.0. On an older kernel the first of those fails with -EINVAL
// and the backend falls back, for good, to single-shot recvmsg re-armed per completion and
// sendmsg (uring_path::compat; the packet that failed is counted as dropped).
//
// System calls: none per packet. rx_burst enters the kernel only when SQEs are pending or the
// ring flags deferred completion work (IORING_SQ_TASKRUN; the ring runs COOP_TASKRUN, so the
// kernel never interrupts the worker to deliver completions); tx_burst enters once per burst.
//
// Threads: create() and the destructor may run on any thread (control); everything else only
// on the owning worker, and the worker must have stopped calling before destruction.
// Buffers: every rx buffer a worker holds is one the kernel cannot fill, so hand packets
// back promptly (a jitter buffer copies payloads rather than holding packets).
#pragma once

#include <liburing.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>

#include "base/result.hpp"
#include "dataplane/io/packet_io.hpp"

namespace tutti::dp::io {

// The set of io_uring operations in use.
enum class uring_path : uint8_t {
  current,  // multishot recvmsg; send with a destination address (kernel 6.0+)
  compat,   // single-shot recvmsg re-armed per datagram; sendmsg (kernel 5.19)
};

struct uring_config {
  uint32_t media_ip = INADDR_LOOPBACK;  // IPv4 address media ports bind to (host order)
  uint32_t sq_entries = 1024;           // submission queue slots; a burst larger than this costs
                                        // an extra submit, never a drop
  uint32_t rx_buffers = 4096;           // provided receive buffers (power of two, <= 32768)
  uint32_t rx_buffer_bytes = 2048;      // each: 56 B header (source address, drop count),
                                        // then the payload
  uint32_t tx_buffers = 1024;           // send buffers handed out by alloc_tx
  uint32_t tx_buffer_bytes = 2048;      // payload capacity of each
  uint32_t max_ports = 1024;            // media ports open at once (<= 65535)
  uint32_t rearm_free_buffers = 0;      // after -ENOBUFS, re-arm once this many buffers are
                                        // back on the ring (0: rx_buffers / 16, at least 1)
  int socket_rcvbuf_bytes = 0;          // SO_RCVBUF for each port (0: the kernel default)
  bool force_compat = false;            // start on uring_path::compat (tests, old kernels)
};

enum class uring_error : uint8_t {
  bad_config,   // a size out of range (see uring_config)
  no_memory,    // buffer pools could not be mapped
  ring_setup,   // io_uring_queue_init_params failed (io_uring disabled, kernel too old)
  buffer_ring,  // io_uring_register_buf_ring failed (kernel older than 5.19)
  file_table,   // io_uring_register_files_sparse failed
};

// Counters beyond io_stats, for tests and benchmarks. Same threading rule as stats().
struct uring_stats {
  uint64_t rx_rearms = 0;      // receives armed again after ending (-ENOBUFS, no F_MORE)
  uint64_t rx_truncated = 0;   // datagrams longer than a buffer (also counted in rx_dropped)
  uint64_t rx_errors = 0;      // receive completions with another error
  uint64_t rx_socket_drops = 0;  // dropped by a port's socket, queue full (SO_RXQ_OVFL; multishot
                                 // only; also counted in rx_dropped)
  uint64_t tx_errors = 0;      // sends the kernel failed (also counted in tx_dropped)
  uint64_t tx_no_buffer = 0;   // alloc_tx found the pool empty
  uint64_t enter_calls = 0;    // io_uring_enter system calls made by rx_burst/tx_burst
  uint64_t bad_release = 0;    // release()/tx_burst() of a packet not held by the caller
};

class uring_io final : public packet_io {
 public:
  // Builds the ring, pools and buffer ring. Setup time; allocates and makes system calls.
  static result<std::unique_ptr<uring_io>, uring_error> create(const uring_config& cfg) noexcept;
  ~uring_io() override;
  uring_io(const uring_io&) = delete;
  uring_io& operator=(const uring_io&) = delete;

  bool open_port(uint16_t port) noexcept override;
  void close_port(uint16_t port) noexcept override;
  uint16_t rx_burst(packet** out, uint16_t max) noexcept override;
  packet* alloc_tx() noexcept override;
  uint16_t tx_burst(packet** pkts, uint16_t n) noexcept override;
  void release(packet* p) noexcept override;
  // Blocks in io_uring_enter until a completion arrives or the timeout passes.
  void wait(uint64_t timeout_ns) noexcept override;
  io_stats stats() const noexcept override { return stats_; }

  // Backend-specific counters.
  uring_stats extra_stats() const noexcept { return extra_; }
  // The operations in use now: current until the kernel refuses one, then compat for good.
  uring_path path() const noexcept { return path_; }
  // Ports open now.
  uint32_t open_ports() const noexcept { return open_count_; }
  // Receive buffers held by the worker (handed up and not yet released or sent).
  uint32_t rx_buffers_held() const noexcept { return rx_held_; }

 private:
  struct port_slot;
  struct pkt_slot;

  explicit uring_io(const uring_config& cfg) noexcept;
  bool setup(uring_error& err) noexcept;

  io_uring_sqe* get_sqe() noexcept;
  bool arm(uint32_t slot, bool poll_first) noexcept;
  void queue_arm(uint32_t slot) noexcept;
  void rearm_pending() noexcept;
  void flush_buffer_returns() noexcept;
  void return_rx_buffer(uint32_t bid) noexcept;
  void recycle(pkt_slot& s) noexcept;
  int submit() noexcept;
  bool handle_recv(const io_uring_cqe& cqe, packet*& out, uint64_t now_ns) noexcept;
  void handle_send(const io_uring_cqe& cqe) noexcept;
  void count_socket_drops(io_uring_recvmsg_out* o, port_slot& ps) noexcept;

  uring_config cfg_;
  io_uring ring_{};
  bool ring_ok_ = false;
  uring_path path_ = uring_path::current;

  // Provided-buffer ring (group 0) and the rx buffer memory, both mmap'd.
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  uint8_t* rx_mem_ = nullptr;
  size_t rx_mem_bytes_ = 0;
  uint8_t* tx_mem_ = nullptr;
  size_t tx_mem_bytes_ = 0;
  uint32_t pending_returns_ = 0;  // buffers added to the ring but not yet published
  uint32_t rx_held_ = 0;          // buffers out of the ring, owned by the worker or a send
  uint32_t rearm_free_ = 1;
  uint32_t inflight_ = 0;  // receives and sends the kernel has not finished

  // Packet slots: [0, rx_buffers) are rx buffers by buffer id, then tx buffers.
  std::unique_ptr<pkt_slot[]> pkts_;
  uint32_t pkt_count_ = 0;
  std::unique_ptr<uint32_t[]> tx_free_;  // stack of free tx slot indices
  uint32_t tx_free_count_ = 0;

  // Ports: slot i is registered file i. port_index_ maps a UDP port to its slot + 1 (0: none).
  std::unique_ptr<port_slot[]> ports_;
  std::unique_ptr<uint16_t[]> port_index_;
  std::unique_ptr<uint32_t[]> port_free_;  // stack of free port slots
  uint32_t port_free_count_ = 0;
  std::unique_ptr<uint32_t[]> arm_queue_;  // port slots waiting to be (re-)armed
  uint32_t arm_queue_count_ = 0;
  uint32_t open_count_ = 0;
  msghdr recv_template_{};  // name/control lengths every multishot receive was armed with

  io_stats stats_{};
  uring_stats extra_{};
};

}  // namespace tutti::dp::io
