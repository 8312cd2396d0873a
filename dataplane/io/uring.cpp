// io_uring packet backend; the model is in uring.hpp.
#include "dataplane/io/uring.hpp"

#include <arpa/inet.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "base/clock.hpp"

namespace tutti::dp::io {

namespace {

// user_data layout. Receives: kind | compat bit | 23-bit generation | port | port slot; the
// generation tells completions of a closed port's receive from those of the slot's next port.
// Sends: kind | compat bit | packet slot index. Cancels: kind alone (completions ignored).
// The compat bit marks a request prepared for uring_path::compat.
constexpr uint64_t kind_shift = 56;
constexpr uint64_t kind_recv = 1;
constexpr uint64_t kind_send = 2;
constexpr uint64_t kind_cancel = 3;
constexpr uint64_t compat_bit = uint64_t{1} << 55;
constexpr uint32_t gen_mask = 0x7fffff;  // bits 32..54

constexpr uint16_t buffer_group = 0;

// Room for the one control message asked for: SO_RXQ_OVFL's socket drop counter (uint32).
constexpr uint32_t drops_cmsg_space = CMSG_SPACE(sizeof(uint32_t));

// Packet slot states: a tx slot on the free stack or an rx buffer on the ring; held by the
// worker; inside a send the kernel has not completed.
enum : uint8_t { slot_free = 0, slot_held = 1, slot_sending = 2 };

uint64_t recv_user_data(uint32_t gen, uint16_t port, uint32_t slot, bool single) noexcept {
  return (kind_recv << kind_shift) | (single ? compat_bit : 0) |
         (uint64_t{gen & gen_mask} << 32) | (uint64_t{port} << 16) | slot;
}

uint32_t round_up_pow2(uint32_t n) noexcept {
  uint32_t c = 1;
  while (c < n) c <<= 1;
  return c;
}

void* map_anonymous(size_t bytes) noexcept {
  // Populated up front: no page faults on the first packets.
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                 -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

}  // namespace

struct uring_io::port_slot {
  msghdr msg{};        // the receive's header: name length, and where single shot writes it
  sockaddr_in from{};  // single shot: the sender, written by the kernel on completion
  uint64_t armed_ud = 0;     // user_data of the receive in flight (for cancel)
  uint32_t gen = 0;          // bumped on close
  uint32_t socket_drops = 0;  // the socket's drop counter when last reported (SO_RXQ_OVFL)
  uint16_t port = 0;
  bool open = false;
  bool armed = false;    // a receive of the current generation is in flight
  bool queued = false;   // in arm_queue_
  bool starved = false;  // last receive ended with -ENOBUFS
};

struct uring_io::pkt_slot {
  packet pkt;
  msghdr msg{};  // sendmsg header, alive until the send completes
  iovec iov{};
  sockaddr_in addr{};
  uint32_t index = 0;
  uint8_t state = slot_free;
};

result<std::unique_ptr<uring_io>, uring_error> uring_io::create(const uring_config& cfg) noexcept {
  std::unique_ptr<uring_io> io(new (std::nothrow) uring_io(cfg));
  if (!io) return fail(uring_error::no_memory);
  uring_error e{};
  if (!io->setup(e)) return fail(e);
  return io;
}

uring_io::uring_io(const uring_config& cfg) noexcept : cfg_(cfg) {}

bool uring_io::setup(uring_error& err) noexcept {
  const auto failed = [&err](uring_error e) {
    err = e;
    return false;
  };
  const uring_config& c = cfg_;
  const bool pow2 = c.rx_buffers != 0 && (c.rx_buffers & (c.rx_buffers - 1)) == 0;
  // The header before a multishot payload: io_uring_recvmsg_out, a sockaddr_in, one cmsg.
  constexpr uint32_t rx_header =
      sizeof(io_uring_recvmsg_out) + sizeof(sockaddr_in) + drops_cmsg_space;
  if (!pow2 || c.rx_buffers > 32768 || c.rx_buffer_bytes < rx_header + 64 ||
      c.rx_buffer_bytes > 65535 || c.tx_buffers == 0 || c.tx_buffer_bytes == 0 ||
      c.tx_buffer_bytes > 65535 || c.max_ports == 0 || c.max_ports > 65535 || c.sq_entries == 0 ||
      c.sq_entries > 32768) {
    return failed(uring_error::bad_config);
  }
  rearm_free_ = c.rearm_free_buffers ? c.rearm_free_buffers : c.rx_buffers / 16;
  if (rearm_free_ == 0) rearm_free_ = 1;
  if (rearm_free_ > c.rx_buffers) rearm_free_ = c.rx_buffers;
  path_ = c.force_compat ? uring_path::compat : uring_path::current;

  // Pools.
  pkt_count_ = c.rx_buffers + c.tx_buffers;
  pkts_.reset(new (std::nothrow) pkt_slot[pkt_count_]);
  tx_free_.reset(new (std::nothrow) uint32_t[c.tx_buffers]);
  ports_.reset(new (std::nothrow) port_slot[c.max_ports]);
  port_index_.reset(new (std::nothrow) uint16_t[65536]());
  port_free_.reset(new (std::nothrow) uint32_t[c.max_ports]);
  arm_queue_.reset(new (std::nothrow) uint32_t[c.max_ports]);
  rx_mem_bytes_ = size_t{c.rx_buffers} * c.rx_buffer_bytes;
  tx_mem_bytes_ = size_t{c.tx_buffers} * c.tx_buffer_bytes;
  rx_mem_ = static_cast<uint8_t*>(map_anonymous(rx_mem_bytes_));
  tx_mem_ = static_cast<uint8_t*>(map_anonymous(tx_mem_bytes_));
  if (!pkts_ || !tx_free_ || !ports_ || !port_index_ || !port_free_ || !arm_queue_ || !rx_mem_ ||
      !tx_mem_) {
    return failed(uring_error::no_memory);
  }
  for (uint32_t i = 0; i < pkt_count_; ++i) {
    pkt_slot& s = pkts_[i];
    s.index = i;
    s.pkt.backend = &s;
    s.msg.msg_name = &s.addr;
    s.msg.msg_namelen = sizeof s.addr;
    s.msg.msg_iov = &s.iov;
    s.msg.msg_iovlen = 1;
    if (i >= c.rx_buffers) {
      const uint32_t t = i - c.rx_buffers;
      s.pkt.data = tx_mem_ + size_t{t} * c.tx_buffer_bytes;
      s.pkt.capacity = static_cast<uint16_t>(c.tx_buffer_bytes);
    }
  }
  for (uint32_t t = 0; t < c.tx_buffers; ++t) tx_free_[t] = c.rx_buffers + c.tx_buffers - 1 - t;
  tx_free_count_ = c.tx_buffers;
  for (uint32_t s = 0; s < c.max_ports; ++s) {
    port_free_[s] = c.max_ports - 1 - s;
    port_slot& p = ports_[s];
    p.msg.msg_name = &p.from;
    p.msg.msg_namelen = sizeof p.from;
  }
  port_free_count_ = c.max_ports;
  recv_template_.msg_namelen = sizeof(sockaddr_in);
  recv_template_.msg_controllen = drops_cmsg_space;

  // The ring. Completions outstanding at once are bounded by one per packet slot (a buffer is
  // either in a receive completion or in a send, not both) plus a termination and a cancel
  // per port, so the CQ is sized for that; the kernel also keeps overflow (IORING_FEAT_NODROP).
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL |
                 IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  params.cq_entries = round_up_pow2(pkt_count_ + 2 * c.max_ports + c.sq_entries);
  int r = io_uring_queue_init_params(c.sq_entries, &ring_, &params);
  if (r < 0) return failed(uring_error::ring_setup);
  ring_ok_ = true;

  // Ports live in the fixed-file table only: no descriptor per port, no fdget per operation.
  if (io_uring_register_files_sparse(&ring_, c.max_ports) < 0) return failed(uring_error::file_table);

  // liburing 2.3 has no io_uring_setup_buf_ring: map the ring ourselves and register it.
  buf_ring_bytes_ = size_t{c.rx_buffers} * sizeof(io_uring_buf);
  buf_ring_ = static_cast<io_uring_buf_ring*>(map_anonymous(buf_ring_bytes_));
  if (!buf_ring_) return failed(uring_error::no_memory);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uintptr_t>(buf_ring_);
  reg.ring_entries = c.rx_buffers;
  reg.bgid = buffer_group;
  if (io_uring_register_buf_ring(&ring_, &reg, 0) < 0) {
    munmap(buf_ring_, buf_ring_bytes_);
    buf_ring_ = nullptr;
    return failed(uring_error::buffer_ring);
  }
  io_uring_buf_ring_init(buf_ring_);
  const int mask = io_uring_buf_ring_mask(c.rx_buffers);
  for (uint32_t b = 0; b < c.rx_buffers; ++b) {
    io_uring_buf_ring_add(buf_ring_, rx_mem_ + size_t{b} * c.rx_buffer_bytes, c.rx_buffer_bytes,
                          static_cast<unsigned short>(b), mask, static_cast<int>(b));
  }
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(c.rx_buffers));
  return true;
}

uring_io::~uring_io() {
  if (ring_ok_) {
    // Cancel every receive, then wait (bounded) for them and for sends still reading our
    // buffers, so no request outlives the memory below.
    if (io_uring_sqe* sqe = get_sqe()) {
      io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
      sqe->user_data = kind_cancel << kind_shift;
    }
    io_uring_submit(&ring_);
    const uint64_t deadline = monotonic_ns() + 1'000'000'000;
    while (inflight_ > 0 && monotonic_ns() < deadline) {
      __kernel_timespec ts{0, 10'000'000};
      io_uring_cqe* cqe = nullptr;
      if (io_uring_wait_cqe_timeout(&ring_, &cqe, &ts) < 0 || !cqe) continue;
      unsigned head;
      unsigned seen = 0;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        const uint64_t kind = cqe->user_data >> kind_shift;
        if (kind == kind_send) {
          --inflight_;
        } else if (kind == kind_recv && !(cqe->flags & IORING_CQE_F_MORE)) {
          --inflight_;
        }
        ++seen;
      }
      io_uring_cq_advance(&ring_, seen);
    }
    io_uring_queue_exit(&ring_);
  }
  if (buf_ring_) munmap(buf_ring_, buf_ring_bytes_);
  if (rx_mem_) munmap(rx_mem_, rx_mem_bytes_);
  if (tx_mem_) munmap(tx_mem_, tx_mem_bytes_);
}

int uring_io::submit() noexcept {
  ++extra_.enter_calls;
  return io_uring_submit(&ring_);
}

io_uring_sqe* uring_io::get_sqe() noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe) return sqe;
  submit();  // SQ full: hand the queued entries over and retry once
  return io_uring_get_sqe(&ring_);
}

bool uring_io::open_port(uint16_t port) noexcept {
  if (port == 0) return false;
  if (port_index_[port] != 0) return true;
  if (port_free_count_ == 0) return false;

  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(cfg_.media_ip);
  sa.sin_port = htons(port);
  bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
  // The kernel's count of datagrams this socket dropped (queue full while we were out of
  // buffers) comes with each datagram, so those drops are counted too.
  const int on = 1;
  if (ok) ok = ::setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on) == 0;
  if (ok && cfg_.socket_rcvbuf_bytes > 0) {
    ok = ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cfg_.socket_rcvbuf_bytes,
                      sizeof cfg_.socket_rcvbuf_bytes) == 0;
  }
  const uint32_t slot = port_free_[port_free_count_ - 1];
  // The fixed-file table keeps its own reference, so our descriptor can go right away.
  if (ok) ok = io_uring_register_files_update(&ring_, slot, &fd, 1) == 1;
  ::close(fd);
  if (!ok) return false;

  --port_free_count_;
  port_slot& ps = ports_[slot];
  ps.open = true;
  ps.port = port;
  ps.armed = false;
  ps.starved = false;
  ps.socket_drops = 0;
  port_index_[port] = static_cast<uint16_t>(slot + 1);
  ++open_count_;
  if (!arm(slot, true)) queue_arm(slot);
  submit();
  return true;
}

void uring_io::close_port(uint16_t port) noexcept {
  const uint16_t idx = port_index_[port];
  if (idx == 0) return;
  const uint32_t slot = idx - 1u;
  port_slot& ps = ports_[slot];
  if (ps.armed) {
    if (io_uring_sqe* sqe = get_sqe()) {
      io_uring_prep_cancel64(sqe, ps.armed_ud, 0);
      sqe->user_data = kind_cancel << kind_shift;
      sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    }
  }
  submit();
  // Requests already issued keep the socket alive until they finish; the slot is free now.
  int none = -1;
  io_uring_register_files_update(&ring_, slot, &none, 1);
  ps.open = false;
  ps.armed = false;
  ps.starved = false;
  ++ps.gen;
  port_index_[port] = 0;
  port_free_[port_free_count_++] = slot;
  --open_count_;
}

bool uring_io::arm(uint32_t slot, bool poll_first) noexcept {
  port_slot& ps = ports_[slot];
  io_uring_sqe* sqe = get_sqe();
  if (!sqe) return false;  // SQ still full after a submit
  const bool single = path_ == uring_path::compat;
  // Single shot asks for MSG_TRUNC so a datagram longer than the buffer reports its real
  // length and can be dropped as truncated; multishot reports that in io_uring_recvmsg_out.
  // Multishot writes name and control into the buffer and takes only their lengths from
  // ps.msg; single shot writes the name to ps.from and asks for no control data.
  ps.msg.msg_control = nullptr;
  ps.msg.msg_controllen = single ? 0 : drops_cmsg_space;
  io_uring_prep_recvmsg(sqe, static_cast<int>(slot), &ps.msg, single ? MSG_TRUNC : 0);
  if (!single) sqe->ioprio |= IORING_RECV_MULTISHOT;
  // A new socket has nothing queued: skip the first non-blocking attempt and go to poll.
  if (poll_first) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
  sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffer_group;
  sqe->user_data = recv_user_data(ps.gen, ps.port, slot, single);
  ps.armed_ud = sqe->user_data;
  ps.armed = true;
  ps.starved = false;
  ++inflight_;
  return true;
}

void uring_io::queue_arm(uint32_t slot) noexcept {
  port_slot& ps = ports_[slot];
  if (ps.queued) return;
  ps.queued = true;
  arm_queue_[arm_queue_count_++] = slot;
}

void uring_io::rearm_pending() noexcept {
  if (arm_queue_count_ == 0) return;
  const uint32_t free_buffers = cfg_.rx_buffers - rx_held_;
  uint32_t kept = 0;
  uint32_t i = 0;
  for (; i < arm_queue_count_; ++i) {
    const uint32_t slot = arm_queue_[i];
    port_slot& ps = ports_[slot];
    if (!ps.open || ps.armed) {
      ps.queued = false;
      continue;
    }
    // After -ENOBUFS wait for a few buffers: re-arming onto an empty ring ends at once.
    if (ps.starved && free_buffers < rearm_free_) {
      arm_queue_[kept++] = slot;
      continue;
    }
    if (!arm(slot, false)) break;  // SQ full even after a submit: the rest wait a burst
    ps.queued = false;
    ++extra_.rx_rearms;
  }
  for (; i < arm_queue_count_; ++i) arm_queue_[kept++] = arm_queue_[i];
  arm_queue_count_ = kept;
}

void uring_io::return_rx_buffer(uint32_t bid) noexcept {
  io_uring_buf_ring_add(buf_ring_, rx_mem_ + size_t{bid} * cfg_.rx_buffer_bytes,
                        cfg_.rx_buffer_bytes, static_cast<unsigned short>(bid),
                        io_uring_buf_ring_mask(cfg_.rx_buffers),
                        static_cast<int>(pending_returns_));
  ++pending_returns_;
  --rx_held_;
}

void uring_io::flush_buffer_returns() noexcept {
  if (pending_returns_ == 0) return;
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(pending_returns_));
  pending_returns_ = 0;
}

void uring_io::recycle(pkt_slot& s) noexcept {
  s.state = slot_free;
  if (s.index < cfg_.rx_buffers) {
    return_rx_buffer(s.index);
  } else {
    tx_free_[tx_free_count_++] = s.index;
  }
}

void uring_io::release(packet* p) noexcept {
  pkt_slot* s = p ? static_cast<pkt_slot*>(p->backend) : nullptr;
  if (!s || s < pkts_.get() || s >= pkts_.get() + pkt_count_ || s->state != slot_held) {
    ++extra_.bad_release;
    return;
  }
  recycle(*s);
}

packet* uring_io::alloc_tx() noexcept {
  if (tx_free_count_ == 0) {
    ++extra_.tx_no_buffer;
    return nullptr;
  }
  pkt_slot& s = pkts_[tx_free_[--tx_free_count_]];
  s.state = slot_held;
  packet& p = s.pkt;
  p.data = tx_mem_ + size_t{s.index - cfg_.rx_buffers} * cfg_.tx_buffer_bytes;
  p.capacity = static_cast<uint16_t>(cfg_.tx_buffer_bytes);
  p.len = 0;
  p.local_port = 0;
  p.remote = {};
  p.rx_ns = 0;
  return &p;
}

uint16_t uring_io::tx_burst(packet** pkts, uint16_t n) noexcept {
  uint16_t accepted = 0;
  for (uint16_t i = 0; i < n; ++i) {
    packet* p = pkts[i];
    pkt_slot* s = p ? static_cast<pkt_slot*>(p->backend) : nullptr;
    if (!s || s < pkts_.get() || s >= pkts_.get() + pkt_count_ || s->state != slot_held) {
      ++extra_.bad_release;
      continue;
    }
    const uint16_t idx = port_index_[p->local_port];
    io_uring_sqe* sqe = idx != 0 && p->len <= p->capacity ? get_sqe() : nullptr;
    if (!sqe) {
      ++stats_.tx_dropped;
      recycle(*s);
      continue;
    }
    s->addr.sin_family = AF_INET;
    s->addr.sin_addr.s_addr = htonl(p->remote.ip);
    s->addr.sin_port = htons(p->remote.port);
    if (path_ == uring_path::current) {
      io_uring_prep_send(sqe, idx - 1, p->data, p->len, 0);
      // liburing 2.3 lacks io_uring_prep_send_set_addr: these are the fields it sets.
      sqe->addr2 = reinterpret_cast<uintptr_t>(&s->addr);
      sqe->addr_len = sizeof s->addr;
      sqe->user_data = (kind_send << kind_shift) | s->index;
    } else {
      s->iov.iov_base = p->data;
      s->iov.iov_len = p->len;
      io_uring_prep_sendmsg(sqe, idx - 1, &s->msg, 0);
      sqe->user_data = (kind_send << kind_shift) | compat_bit | s->index;
    }
    sqe->flags |= IOSQE_FIXED_FILE;
    s->state = slot_sending;
    ++inflight_;
    ++accepted;
  }
  if (io_uring_sq_ready(&ring_) > 0) submit();
  return accepted;
}

bool uring_io::handle_recv(const io_uring_cqe& cqe, packet*& out, uint64_t now_ns) noexcept {
  const uint64_t ud = cqe.user_data;
  const uint32_t slot = static_cast<uint32_t>(ud & 0xffff);
  const uint16_t port = static_cast<uint16_t>(ud >> 16);
  const uint32_t gen = static_cast<uint32_t>(ud >> 32) & gen_mask;
  const bool single = (ud & compat_bit) != 0;
  port_slot& ps = ports_[slot];
  const bool current = ps.open && ps.armed && (ps.gen & gen_mask) == gen;
  const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
  if (!more) {
    --inflight_;
    if (current) ps.armed = false;
  }

  bool handed_up = false;
  if (cqe.flags & IORING_CQE_F_BUFFER) {
    const uint32_t bid = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
    pkt_slot& s = pkts_[bid];
    ++rx_held_;
    s.state = slot_held;
    uint8_t* buf = rx_mem_ + size_t{bid} * cfg_.rx_buffer_bytes;
    uint8_t* payload = nullptr;
    uint32_t len = 0;
    sockaddr_in from{};
    bool good = cqe.res >= 0;
    if (good && !single) {
      io_uring_recvmsg_out* o = io_uring_recvmsg_validate(buf, cqe.res, &recv_template_);
      good = o != nullptr && o->namelen >= sizeof from;
      if (good && (o->flags & MSG_TRUNC)) {
        ++extra_.rx_truncated;
        good = false;
      }
      if (o != nullptr && current) count_socket_drops(o, ps);
      if (good) {
        std::memcpy(&from, io_uring_recvmsg_name(o), sizeof from);
        payload = static_cast<uint8_t*>(io_uring_recvmsg_payload(o, &recv_template_));
        len = io_uring_recvmsg_payload_length(o, cqe.res, &recv_template_);
      }
    } else if (good) {
      // A stale single-shot completion's address field may already belong to the slot's
      // next port: drop it rather than report a wrong sender.
      if (static_cast<uint32_t>(cqe.res) > cfg_.rx_buffer_bytes) {
        ++extra_.rx_truncated;
        good = false;
      } else if ((ps.gen & gen_mask) != gen) {
        good = false;
      } else {
        std::memcpy(&from, &ps.from, sizeof from);
        payload = buf;
        len = static_cast<uint32_t>(cqe.res);
      }
    }
    if (good && from.sin_family == AF_INET) {
      packet& p = s.pkt;
      p.data = payload;
      p.len = static_cast<uint16_t>(len);
      p.capacity = static_cast<uint16_t>(buf + cfg_.rx_buffer_bytes - payload);
      p.local_port = port;
      p.remote.ip = ntohl(from.sin_addr.s_addr);
      p.remote.port = ntohs(from.sin_port);
      p.rx_ns = now_ns;
      out = &p;
      ++stats_.rx_packets;
      handed_up = true;
    } else {
      ++stats_.rx_dropped;
      recycle(s);
    }
  } else if (cqe.res < 0) {
    switch (-cqe.res) {
      case ENOBUFS:
        ++stats_.rx_no_buffer;
        if (current) ps.starved = true;
        break;
      case ECANCELED:
        break;
      case EINVAL:
        // A kernel before 6.0 rejects IORING_RECV_MULTISHOT: fall back for good.
        if (!single) {
          path_ = uring_path::compat;
          break;
        }
        ++extra_.rx_errors;
        break;
      default:
        ++extra_.rx_errors;
        break;
    }
  }
  if (!more && current) queue_arm(slot);
  return handed_up;
}

void uring_io::count_socket_drops(io_uring_recvmsg_out* o, port_slot& ps) noexcept {
  for (cmsghdr* c = io_uring_recvmsg_cmsg_firsthdr(o, &recv_template_); c != nullptr;
       c = io_uring_recvmsg_cmsg_nexthdr(o, &recv_template_, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL ||
        c->cmsg_len < CMSG_LEN(sizeof(uint32_t))) {
      continue;
    }
    uint32_t drops;
    std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
    // A running total taken when the datagram was queued: add what is new (mod 2^32).
    const uint32_t fresh = drops - ps.socket_drops;
    if (fresh < 0x80000000u) {
      ps.socket_drops = drops;
      stats_.rx_dropped += fresh;
      extra_.rx_socket_drops += fresh;
    }
  }
}

void uring_io::handle_send(const io_uring_cqe& cqe) noexcept {
  const uint32_t index = static_cast<uint32_t>(cqe.user_data);
  if (index >= pkt_count_) return;
  pkt_slot& s = pkts_[index];
  --inflight_;
  if (cqe.res < 0) {
    ++stats_.tx_dropped;
    ++extra_.tx_errors;
    // A kernel before 6.0 rejects a send with an address: sendmsg from now on.
    if (cqe.res == -EINVAL && !(cqe.user_data & compat_bit)) path_ = uring_path::compat;
  } else {
    ++stats_.tx_packets;
  }
  recycle(s);
}

uint16_t uring_io::rx_burst(packet** out, uint16_t max) noexcept {
  flush_buffer_returns();
  rearm_pending();
  // Enter only with work for the kernel: queued SQEs, or completion work it has parked for us
  // (COOP_TASKRUN sets IORING_SQ_TASKRUN instead of interrupting this thread).
  if (io_uring_sq_ready(&ring_) > 0 ||
      (IO_URING_READ_ONCE(*ring_.sq.kflags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW))) {
    submit();
  }
  const uint64_t now = monotonic_ns();
  uint16_t n = 0;
  unsigned head;
  unsigned seen = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    const uint64_t kind = cqe->user_data >> kind_shift;
    if (kind == kind_recv) {
      if (n == max && (cqe->flags & IORING_CQE_F_BUFFER)) break;  // leave it for the next burst
      packet* p = nullptr;
      if (handle_recv(*cqe, p, now)) out[n++] = p;
    } else if (kind == kind_send) {
      handle_send(*cqe);
    }
    ++seen;
  }
  io_uring_cq_advance(&ring_, seen);
  // Buffers of completed sends and dropped datagrams go straight back.
  flush_buffer_returns();
  return n;
}

void uring_io::wait(uint64_t timeout_ns) noexcept {
  if (io_uring_cq_ready(&ring_) > 0) return;
  __kernel_timespec ts{static_cast<long long>(timeout_ns / 1'000'000'000),
                       static_cast<long long>(timeout_ns % 1'000'000'000)};
  io_uring_cqe* cqe = nullptr;
  ++extra_.enter_calls;
  // Submits pending SQEs too; with IORING_FEAT_EXT_ARG the timeout costs no SQE.
  io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
}

}  // namespace tutti::dp::io
