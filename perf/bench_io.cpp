// Loopback throughput of the io_uring packet backend against plain socket batching.
//
// Scenarios (all on 127.0.0.1, payload 172 B = a G.711 20 ms RTP packet):
//   uring-pingpong   one thread, one uring_io, two ports: tx_burst 32 from A to B, rx_burst
//                    them back, release. Kernel loopback runs the receive path inside the send,
//                    so this is in + out on one core.
//   mmsg-pingpong    the same with two plain sockets, sendmmsg + recvmmsg (the baseline).
//   uring-spread256  as uring-pingpong, but each burst goes round-robin to 256 ports (one per
//                    participant, the media server's shape).
//   epoll-spread256  the same with plain sockets: sendmmsg, epoll_wait, recvmmsg per ready
//                    socket (about one syscall per datagram received).
//   uring-rx         a plain sendmmsg thread floods one uring port; the worker thread only
//                    rx_bursts and releases. The rate is bounded by the sender (the kernel's
//                    receive path runs in its send); the worker spins, so its CPU per packet
//                    is an upper bound that includes idle polling.
//   uring-tx         the worker tx_bursts 32 at a time to a plain socket nobody reads (the
//                    kernel drops at its queue; the send path runs in full).
//   mmsg-tx          the same with sendmmsg on a plain socket.
// Each runs --reps times for --seconds; the JSON gives median, min and max Mpps and CPU ns per
// packet on the measuring thread, and io_uring_enter calls per burst. Setup is outside the
// timed region.
//
// Entry point bench_io_main() is meant to be linked into tutti-bench; built with
// -DTUTTI_BENCH_IO_MAIN it is its own program (tutti-bench-io).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.hpp"
#include "dataplane/io/uring.hpp"
#include "perf/bench_io.hpp"

namespace {

using namespace tutti::dp::io;

constexpr uint16_t burst = 32;
constexpr uint16_t payload_bytes = 172;

struct sample {
  double mpps = 0;          // packets per microsecond
  double cpu_ns_per_pkt = 0;  // measuring thread's CPU time per packet
  double enters_per_burst = 0;  // system calls per burst of 32
};

uint64_t thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

int plain_socket(uint16_t* port, int rcvbuf = 0) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (rcvbuf) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    std::perror("socket/bind");
    std::exit(1);
  }
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  *port = ntohs(sa.sin_port);
  return fd;
}

uint16_t free_port() {
  uint16_t p;
  ::close(plain_socket(&p));
  return p;
}

std::unique_ptr<uring_io> make_io() {
  uring_config cfg;
  cfg.socket_rcvbuf_bytes = 4 << 20;
  auto r = uring_io::create(cfg);
  if (!r) {
    std::fprintf(stderr, "uring_io::create failed (%d)\n", int(r.error()));
    std::exit(1);
  }
  return std::move(r).value();
}

// Batches of `burst` datagrams of payload_bytes to one destination.
struct mmsg_batch {
  std::vector<uint8_t> bufs = std::vector<uint8_t>(size_t{burst} * 2048);
  iovec iov[burst];
  mmsghdr msgs[burst];
  sockaddr_in dst{};
  sockaddr_in src[burst];

  explicit mmsg_batch(uint16_t dst_port) {
    dst.sin_family = AF_INET;
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    dst.sin_port = htons(dst_port);
    std::memset(bufs.data(), 0x80, bufs.size());
    reset(payload_bytes, true);
  }
  void reset(size_t len, bool with_dst) {
    for (int i = 0; i < burst; ++i) {
      iov[i] = {bufs.data() + size_t(i) * 2048, len};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = with_dst ? static_cast<void*>(&dst) : static_cast<void*>(&src[i]);
      msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    }
  }
};

// Bursts from port `from` through io_uring to `to` (round robin), each received on the
// same ring: the data plane's send and receive paths in one loop.
sample uring_flood(double seconds, uint16_t from, const std::vector<uint16_t>& to) {
  auto io = make_io();
  if (!io->open_port(from)) std::exit(1);
  for (uint16_t p : to)
    if (!io->open_port(p)) std::exit(1);
  packet* pkts[burst];
  uint64_t received = 0, bursts = 0, next = 0;
  const uint64_t enters0 = io->extra_stats().enter_calls;
  const uint64_t cpu0 = thread_cpu_ns(), t0 = tutti::monotonic_ns();
  const uint64_t end = t0 + uint64_t(seconds * 1e9);
  uint64_t now = t0;
  while (now < end) {
    uint16_t n = 0;
    for (; n < burst; ++n) {
      packet* p = io->alloc_tx();
      if (!p) break;
      std::memset(p->data, 0x80, payload_bytes);
      p->len = payload_bytes;
      p->local_port = from;
      p->remote = {INADDR_LOOPBACK, to[next++ % to.size()]};
      pkts[n] = p;
    }
    io->tx_burst(pkts, n);
    const uint16_t got = io->rx_burst(pkts, burst);
    for (uint16_t i = 0; i < got; ++i) io->release(pkts[i]);
    received += got;
    ++bursts;
    now = tutti::monotonic_ns();
  }
  const uint64_t cpu = thread_cpu_ns() - cpu0;
  sample s;
  s.mpps = double(received) / double(now - t0) * 1e3;
  s.cpu_ns_per_pkt = received ? double(cpu) / double(received) : 0;
  s.enters_per_burst = double(io->extra_stats().enter_calls - enters0) / double(bursts);
  return s;
}

sample uring_pingpong(double seconds) { return uring_flood(seconds, free_port(), {free_port()}); }

sample mmsg_pingpong(double seconds) {
  uint16_t pa, pb;
  const int a = plain_socket(&pa), b = plain_socket(&pb, 4 << 20);
  mmsg_batch tx(pb), rx(0);
  rx.reset(2048, false);
  uint64_t received = 0, bursts = 0;
  const uint64_t cpu0 = thread_cpu_ns(), t0 = tutti::monotonic_ns();
  const uint64_t end = t0 + uint64_t(seconds * 1e9);
  uint64_t now = t0;
  while (now < end) {
    ::sendmmsg(a, tx.msgs, burst, 0);
    const int got = ::recvmmsg(b, rx.msgs, burst, 0, nullptr);
    if (got > 0) received += uint64_t(got);
    ++bursts;
    now = tutti::monotonic_ns();
  }
  const uint64_t cpu = thread_cpu_ns() - cpu0;
  ::close(a);
  ::close(b);
  sample s;
  s.mpps = double(received) / double(now - t0) * 1e3;
  s.cpu_ns_per_pkt = received ? double(cpu) / double(received) : 0;
  s.enters_per_burst = 2;
  return s;
}

// The media-server shape: datagrams spread over many ports (one per participant).
constexpr int spread_ports = 256;

sample uring_spread(double seconds) {
  const uint16_t from = free_port();
  std::vector<uint16_t> ports;
  for (int i = 0; i < spread_ports; ++i) ports.push_back(free_port());
  return uring_flood(seconds, from, ports);
}

// The classic alternative: sendmmsg to many ports, epoll_wait, recvmmsg on each ready socket.
sample epoll_spread(double seconds) {
  uint16_t pa;
  const int a = plain_socket(&pa);
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<int> socks;
  std::vector<sockaddr_in> dsts(spread_ports);
  for (int i = 0; i < spread_ports; ++i) {
    uint16_t p;
    socks.push_back(plain_socket(&p));
    dsts[size_t(i)] = {};
    dsts[size_t(i)].sin_family = AF_INET;
    dsts[size_t(i)].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    dsts[size_t(i)].sin_port = htons(p);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = uint32_t(i);
    ::epoll_ctl(ep, EPOLL_CTL_ADD, socks.back(), &ev);
  }
  mmsg_batch tx(0), rx(0);
  rx.reset(2048, false);
  uint64_t received = 0, bursts = 0, syscalls = 0, next = 0;
  const uint64_t cpu0 = thread_cpu_ns(), t0 = tutti::monotonic_ns();
  const uint64_t end = t0 + uint64_t(seconds * 1e9);
  uint64_t now = t0;
  epoll_event evs[burst];
  while (now < end) {
    for (int i = 0; i < burst; ++i) tx.msgs[i].msg_hdr.msg_name = &dsts[next++ % spread_ports];
    ::sendmmsg(a, tx.msgs, burst, 0);
    const int ready = ::epoll_wait(ep, evs, burst, 0);
    syscalls += 2;
    for (int i = 0; i < ready; ++i) {
      const int got = ::recvmmsg(socks[evs[i].data.u32], rx.msgs, burst, 0, nullptr);
      ++syscalls;
      if (got > 0) received += uint64_t(got);
    }
    ++bursts;
    now = tutti::monotonic_ns();
  }
  const uint64_t cpu = thread_cpu_ns() - cpu0;
  for (int fd : socks) ::close(fd);
  ::close(ep);
  ::close(a);
  sample s;
  s.mpps = double(received) / double(now - t0) * 1e3;
  s.cpu_ns_per_pkt = received ? double(cpu) / double(received) : 0;
  s.enters_per_burst = double(syscalls) / double(bursts);
  return s;
}

sample uring_rx(double seconds) {
  auto io = make_io();
  const uint16_t port = free_port();
  if (!io->open_port(port)) std::exit(1);
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    uint16_t p;
    const int fd = plain_socket(&p);
    mmsg_batch tx(port);
    while (!stop.load(std::memory_order_relaxed)) ::sendmmsg(fd, tx.msgs, burst, 0);
    ::close(fd);
  });
  packet* pkts[burst];
  uint64_t received = 0, bursts = 0;
  const uint64_t enters0 = io->extra_stats().enter_calls;
  const uint64_t cpu0 = thread_cpu_ns(), t0 = tutti::monotonic_ns();
  const uint64_t end = t0 + uint64_t(seconds * 1e9);
  uint64_t now = t0;
  while (now < end) {
    const uint16_t got = io->rx_burst(pkts, burst);
    for (uint16_t i = 0; i < got; ++i) io->release(pkts[i]);
    received += got;
    ++bursts;
    now = tutti::monotonic_ns();
  }
  const uint64_t cpu = thread_cpu_ns() - cpu0;
  stop = true;
  sender.join();
  sample s;
  s.mpps = double(received) / double(now - t0) * 1e3;
  s.cpu_ns_per_pkt = received ? double(cpu) / double(received) : 0;
  s.enters_per_burst = double(io->extra_stats().enter_calls - enters0) / double(bursts);
  return s;
}

sample uring_tx(double seconds) {
  auto io = make_io();
  const uint16_t port = free_port();
  uint16_t sink_port;
  const int sink = plain_socket(&sink_port);  // never read: the kernel drops once it is full
  if (!io->open_port(port)) std::exit(1);
  packet* pkts[burst];
  uint64_t bursts = 0;
  const uint64_t enters0 = io->extra_stats().enter_calls;
  const uint64_t sent0 = io->stats().tx_packets;
  const uint64_t cpu0 = thread_cpu_ns(), t0 = tutti::monotonic_ns();
  const uint64_t end = t0 + uint64_t(seconds * 1e9);
  uint64_t now = t0;
  while (now < end) {
    uint16_t n = 0;
    for (; n < burst; ++n) {
      packet* p = io->alloc_tx();
      if (!p) break;
      std::memset(p->data, 0x80, payload_bytes);
      p->len = payload_bytes;
      p->local_port = port;
      p->remote = {INADDR_LOOPBACK, sink_port};
      pkts[n] = p;
    }
    io->tx_burst(pkts, n);
    io->rx_burst(pkts, burst);  // reaps send completions
    ++bursts;
    now = tutti::monotonic_ns();
  }
  const uint64_t sent = io->stats().tx_packets - sent0;
  const uint64_t cpu = thread_cpu_ns() - cpu0;
  ::close(sink);
  sample s;
  s.mpps = double(sent) / double(now - t0) * 1e3;
  s.cpu_ns_per_pkt = sent ? double(cpu) / double(sent) : 0;
  s.enters_per_burst = double(io->extra_stats().enter_calls - enters0) / double(bursts);
  return s;
}

sample mmsg_tx(double seconds) {
  uint16_t pa, sink_port;
  const int a = plain_socket(&pa);
  const int sink = plain_socket(&sink_port);
  mmsg_batch tx(sink_port);
  uint64_t sent = 0, bursts = 0;
  const uint64_t cpu0 = thread_cpu_ns(), t0 = tutti::monotonic_ns();
  const uint64_t end = t0 + uint64_t(seconds * 1e9);
  uint64_t now = t0;
  while (now < end) {
    const int n = ::sendmmsg(a, tx.msgs, burst, 0);
    if (n > 0) sent += uint64_t(n);
    ++bursts;
    now = tutti::monotonic_ns();
  }
  const uint64_t cpu = thread_cpu_ns() - cpu0;
  ::close(a);
  ::close(sink);
  sample s;
  s.mpps = double(sent) / double(now - t0) * 1e3;
  s.cpu_ns_per_pkt = sent ? double(cpu) / double(sent) : 0;
  s.enters_per_burst = 1;
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

// Runs the scenarios and prints one JSON object. Options: --seconds S (per rep, default 1),
// --reps N (default 5), --only NAME.
int bench_io_main(int argc, char** argv) {
  double seconds = 1.0;
  int reps = 5;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--seconds S] [--reps N] [--only NAME]\n", argv[0]);
      return 2;
    }
  }
  if (reps < 1 || seconds <= 0) return 2;
  struct scenario {
    const char* name;
    sample (*run)(double);
  };
  const scenario scenarios[] = {
      {"uring-pingpong", uring_pingpong}, {"mmsg-pingpong", mmsg_pingpong},
      {"uring-spread256", uring_spread},  {"epoll-spread256", epoll_spread},
      {"uring-rx", uring_rx},             {"uring-tx", uring_tx},
      {"mmsg-tx", mmsg_tx},
  };
  // Repetitions are interleaved across scenarios so a noisy neighbour hits all of them alike.
  std::vector<const scenario*> chosen;
  for (const scenario& sc : scenarios) {
    if (only.empty() || only == sc.name) chosen.push_back(&sc);
  }
  std::vector<std::vector<sample>> samples(chosen.size());
  for (int r = 0; r < reps; ++r) {
    for (size_t i = 0; i < chosen.size(); ++i) samples[i].push_back(chosen[i]->run(seconds));
  }
  std::printf("{\"bench\":\"io\",\"burst\":%u,\"payload_bytes\":%u,\"seconds\":%g,\"reps\":%d,"
              "\"results\":[",
              burst, payload_bytes, seconds, reps);
  for (size_t i = 0; i < chosen.size(); ++i) {
    std::vector<double> mpps, cpu, enters;
    for (const sample& s : samples[i]) {
      mpps.push_back(s.mpps);
      cpu.push_back(s.cpu_ns_per_pkt);
      enters.push_back(s.enters_per_burst);
    }
    std::printf("%s\n {\"name\":\"%s\",\"mpps_median\":%.4f,\"mpps_min\":%.4f,\"mpps_max\":%.4f,"
                "\"cpu_ns_per_pkt_median\":%.1f,\"cpu_ns_per_pkt_min\":%.1f,"
                "\"enters_per_burst_median\":%.2f}",
                i ? "," : "", chosen[i]->name, median(mpps), *std::min_element(mpps.begin(), mpps.end()),
                *std::max_element(mpps.begin(), mpps.end()), median(cpu),
                *std::min_element(cpu.begin(), cpu.end()), median(enters));
  }
  std::printf("\n]}\n");
  return 0;
}

#ifdef TUTTI_BENCH_IO_MAIN
int main(int argc, char** argv) { return bench_io_main(argc, argv); }
#endif
