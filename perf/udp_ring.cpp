#include "perf/udp_ring.hpp"

#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/clock.hpp"

namespace tutti::perf {

namespace {

constexpr uint64_t tag_recv = uint64_t{1} << 62;
constexpr uint64_t tag_send = uint64_t{1} << 61;
constexpr uint64_t tag_mask = tag_recv | tag_send;
constexpr uint16_t buffer_group = 0;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

uint64_t realtime_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// CLOCK_REALTIME - CLOCK_MONOTONIC, from the tightest of a few bracketed reads.
int64_t clock_offset_ns() noexcept {
  int64_t best = 0;
  uint64_t best_width = UINT64_MAX;
  for (int i = 0; i < 16; ++i) {
    const uint64_t m0 = monotonic_ns();
    const uint64_t r = realtime_ns();
    const uint64_t m1 = monotonic_ns();
    if (m1 - m0 < best_width) {
      best_width = m1 - m0;
      best = static_cast<int64_t>(r) - static_cast<int64_t>(m0 + (m1 - m0) / 2);
    }
  }
  return best;
}

// One descriptor per participant: let the process have as many as the hard limit allows.
void raise_fd_limit(uint32_t wanted) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= wanted) return;
  rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, wanted);
  setrlimit(RLIMIT_NOFILE, &rl);
}

}  // namespace

result<std::unique_ptr<udp_ring>, std::string> udp_ring::create(const udp_ring_config& cfg) {
  std::unique_ptr<udp_ring> r(new udp_ring(cfg));
  std::string err;
  if (!r->setup(err)) return fail(std::move(err));
  return r;
}

bool udp_ring::setup(std::string& err) {
  if (cfg_.sockets == 0 || (cfg_.rx_buffers & (cfg_.rx_buffers - 1)) != 0 || cfg_.rx_buffers > 32768 ||
      cfg_.tx_buffers == 0) {
    err = "udp_ring: bad sizes";
    return false;
  }
  raise_fd_limit(cfg_.sockets + 64);
  realtime_minus_monotonic_ns_ = clock_offset_ns();

  fds_.reserve(cfg_.sockets);
  ports_.reserve(cfg_.sockets);
  for (uint32_t i = 0; i < cfg_.sockets; ++i) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      err = errno_text("socket") + " (participant " + std::to_string(i) + "; raise ulimit -n?)";
      return false;
    }
    fds_.push_back(fd);
    const int on = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0) {
      err = errno_text("setsockopt SO_TIMESTAMPNS");
      return false;
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(cfg_.local_ip);
    a.sin_port = htons(cfg_.local_port_base ? static_cast<uint16_t>(cfg_.local_port_base + i) : 0);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      err = errno_text("bind") + " (participant " + std::to_string(i) + ")";
      return false;
    }
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      err = errno_text("getsockname");
      return false;
    }
    ports_.push_back(ntohs(a.sin_port));
  }

  // Room for every socket's receive plus a period's sends of every participant in each queue.
  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL;
  const uint32_t sq = std::clamp<uint32_t>(cfg_.sockets * 2, 256, 16384);
  p.cq_entries = std::clamp<uint32_t>(sq * 4, 4096, 65536);
  int rc = io_uring_queue_init_params(sq, &ring_, &p);
  if (rc == -EINVAL) {  // a kernel before 5.19 lacks COOP_TASKRUN
    p = {};
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = std::clamp<uint32_t>(sq * 4, 4096, 65536);
    rc = io_uring_queue_init_params(sq, &ring_, &p);
  }
  if (rc < 0) {
    err = std::string("io_uring_queue_init: ") + std::strerror(-rc);
    return false;
  }
  ring_ok_ = true;
  wait_batch_ = std::max<uint32_t>(1, ring_.cq.ring_entries / 4);

  buf_ring_bytes_ = cfg_.rx_buffers * sizeof(io_uring_buf);
  void* br = ::mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  rx_mem_bytes_ = size_t{cfg_.rx_buffers} * cfg_.rx_buffer_bytes;
  void* mem = ::mmap(nullptr, rx_mem_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (br == MAP_FAILED || mem == MAP_FAILED) {
    if (br != MAP_FAILED) ::munmap(br, buf_ring_bytes_);
    if (mem != MAP_FAILED) ::munmap(mem, rx_mem_bytes_);
    err = "udp_ring: cannot map receive buffers";
    return false;
  }
  buf_ring_ = static_cast<io_uring_buf_ring*>(br);
  rx_mem_ = static_cast<uint8_t*>(mem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(buf_ring_);
  reg.ring_entries = cfg_.rx_buffers;
  reg.bgid = buffer_group;
  if ((rc = io_uring_register_buf_ring(&ring_, &reg, 0)) != 0) {
    err = std::string("io_uring_register_buf_ring: ") + std::strerror(-rc) + " (kernel 5.19+ needed)";
    return false;
  }
  io_uring_buf_ring_init(buf_ring_);
  for (uint32_t b = 0; b < cfg_.rx_buffers; ++b) return_buffer(b);
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(pending_returns_));
  pending_returns_ = 0;

  // Multishot recvmsg lays out each buffer as: io_uring_recvmsg_out, the source address
  // (msg_namelen bytes), the control messages (msg_controllen), then the payload.
  recv_template_.msg_namelen = sizeof(sockaddr_in);
  recv_template_.msg_controllen = CMSG_SPACE(sizeof(timespec));

  tx_mem_.resize(size_t{cfg_.tx_buffers} * cfg_.tx_buffer_bytes);
  tx_free_.resize(cfg_.tx_buffers);
  for (uint32_t s = 0; s < cfg_.tx_buffers; ++s) tx_free_[s] = cfg_.tx_buffers - 1 - s;
  tx_free_count_ = cfg_.tx_buffers;
  rearm_.reserve(cfg_.sockets);
  rearm_work_.reserve(cfg_.sockets);
  return true;
}

udp_ring::~udp_ring() {
  if (ring_ok_) io_uring_queue_exit(&ring_);
  for (int fd : fds_) ::close(fd);
  if (buf_ring_) ::munmap(buf_ring_, buf_ring_bytes_);
  if (rx_mem_) ::munmap(rx_mem_, rx_mem_bytes_);
}

bool udp_ring::connect(uint32_t i, const dp::io::endpoint& peer, std::string& err) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(peer.ip);
  a.sin_port = htons(peer.port);
  if (::connect(fds_[i], reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    err = errno_text("connect");
    return false;
  }
  return true;
}

io_uring_sqe* udp_ring::get_sqe() noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {
    // The queue is full: hand what is there to the kernel and take a fresh slot.
    io_uring_submit(&ring_);
    ++stats_.enters;
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void udp_ring::arm(uint32_t socket) noexcept {
  io_uring_sqe* sqe = get_sqe();
  if (!sqe) {
    rearm_.push_back(socket);
    return;
  }
  io_uring_prep_recvmsg_multishot(sqe, fds_[socket], &recv_template_, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffer_group;
  io_uring_sqe_set_data64(sqe, tag_recv | socket);
}

bool udp_ring::start_receiving(std::string& err) {
  for (uint32_t i = 0; i < sockets(); ++i) arm(i);
  const int rc = io_uring_submit(&ring_);
  ++stats_.enters;
  if (rc < 0) {
    err = std::string("io_uring_submit: ") + std::strerror(-rc);
    return false;
  }
  return true;
}

uint8_t* udp_ring::tx_buffer(uint32_t& slot) noexcept {
  if (tx_free_count_ == 0) return nullptr;
  slot = tx_free_[--tx_free_count_];
  return tx_mem_.data() + size_t{slot} * cfg_.tx_buffer_bytes;
}

void udp_ring::send(uint32_t socket, uint32_t slot, uint32_t len) noexcept {
  io_uring_sqe* sqe = get_sqe();
  if (!sqe) {  // cannot happen after a submit; count it as a failed send
    ++stats_.send_errors;
    tx_free_[tx_free_count_++] = slot;
    return;
  }
  io_uring_prep_send(sqe, fds_[socket], tx_mem_.data() + size_t{slot} * cfg_.tx_buffer_bytes, len, 0);
  io_uring_sqe_set_data64(sqe, tag_send | slot);
}

void udp_ring::return_buffer(uint32_t bid) noexcept {
  io_uring_buf_ring_add(buf_ring_, rx_mem_ + size_t{bid} * cfg_.rx_buffer_bytes, cfg_.rx_buffer_bytes,
                        static_cast<unsigned short>(bid), io_uring_buf_ring_mask(cfg_.rx_buffers),
                        static_cast<int>(pending_returns_));
  ++pending_returns_;
}

void udp_ring::handle_recv(const io_uring_cqe& cqe, datagram_sink& sink, uint64_t reap_ns) noexcept {
  const auto socket = static_cast<uint32_t>(cqe.user_data & ~tag_mask);
  if (!(cqe.flags & IORING_CQE_F_MORE)) {
    rearm_.push_back(socket);
    ++stats_.rx_rearms;
  }
  if (cqe.res < 0) {
    // -ENOBUFS: the ring ran dry; -ECONNREFUSED: an ICMP error from the connected peer.
    if (cqe.res != -ENOBUFS) ++stats_.rx_errors;
    return;
  }
  if (!(cqe.flags & IORING_CQE_F_BUFFER)) return;
  const uint32_t bid = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
  uint8_t* buf = rx_mem_ + size_t{bid} * cfg_.rx_buffer_bytes;
  io_uring_recvmsg_out* o = io_uring_recvmsg_validate(buf, cqe.res, &recv_template_);
  if (!o) {
    ++stats_.rx_errors;
  } else if (o->flags & MSG_TRUNC) {
    ++stats_.rx_truncated;
  } else {
    uint64_t arrival = 0;
    for (cmsghdr* c = io_uring_recvmsg_cmsg_firsthdr(o, &recv_template_); c;
         c = io_uring_recvmsg_cmsg_nexthdr(o, &recv_template_, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec ts;
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        const int64_t real = int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
        arrival = static_cast<uint64_t>(real - realtime_minus_monotonic_ns_);
      }
    }
    if (arrival == 0) {
      ++stats_.rx_no_kernel_ts;
      arrival = reap_ns;
    }
    const auto* payload = static_cast<const uint8_t*>(io_uring_recvmsg_payload(o, &recv_template_));
    const uint32_t len = io_uring_recvmsg_payload_length(o, cqe.res, &recv_template_);
    ++stats_.received;
    sink.on_datagram(socket, payload, len, arrival);
  }
  return_buffer(bid);
}

uint32_t udp_ring::poll(uint64_t timeout_ns, datagram_sink& sink) noexcept {
  if (timeout_ns > 0) {
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{static_cast<int64_t>(timeout_ns / 1'000'000'000),
                         static_cast<long long>(timeout_ns % 1'000'000'000)};
    io_uring_submit_and_wait_timeout(&ring_, &cqe, wait_batch_, &ts, nullptr);
  } else {
    io_uring_submit_and_get_events(&ring_);
  }
  ++stats_.enters;
  const uint64_t reap_ns = monotonic_ns();
  uint32_t handled = 0, seen = 0;
  unsigned head;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++seen;
    if (cqe->user_data & tag_recv) {
      const uint64_t before = stats_.received;
      handle_recv(*cqe, sink, reap_ns);
      handled += static_cast<uint32_t>(stats_.received - before);
    } else if (cqe->user_data & tag_send) {
      tx_free_[tx_free_count_++] = static_cast<uint32_t>(cqe->user_data & ~tag_mask);
      if (cqe->res >= 0) {
        ++stats_.sent;
      } else {
        ++stats_.send_errors;
        if (cqe->res == -ECONNREFUSED) ++stats_.send_refused;
      }
    }
  }
  io_uring_cq_advance(&ring_, seen);
  if (pending_returns_) {
    io_uring_buf_ring_advance(buf_ring_, static_cast<int>(pending_returns_));
    pending_returns_ = 0;
  }
  // Re-arm after the buffers are back, or a receive that ended on -ENOBUFS ends again.
  if (!rearm_.empty()) {
    rearm_work_.swap(rearm_);
    for (uint32_t s : rearm_work_) arm(s);
    rearm_work_.clear();
  }
  return handled;
}

}  // namespace tutti::perf
