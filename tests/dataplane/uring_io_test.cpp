// uring_io against real kernel UDP sockets on loopback. Ports are chosen at run time (bind a
// plain socket to port 0, note the port, close it). Loops that wait for packets have a
// deadline only so a bug fails the test instead of hanging it; nothing asserts on time.
#include "dataplane/io/uring.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.hpp"

using namespace tutti::dp::io;

namespace {

constexpr uint32_t loopback = INADDR_LOOPBACK;
constexpr uint64_t deadline_ns = 10'000'000'000;  // anti-hang only

// A plain kernel UDP socket on 127.0.0.1, the uring ports' peer.
class plain_socket {
 public:
  plain_socket() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(loopback);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    socklen_t len = sizeof sa;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    port_ = ntohs(sa.sin_port);
    timeval tv{5, 0};  // recv gives up after 5 s (anti-hang)
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~plain_socket() { ::close(fd_); }
  plain_socket(const plain_socket&) = delete;
  plain_socket& operator=(const plain_socket&) = delete;

  uint16_t port() const { return port_; }

  void send_to(uint16_t port, const std::string& payload) const {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(loopback);
    sa.sin_port = htons(port);
    REQUIRE(::sendto(fd_, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&sa),
                     sizeof sa) == static_cast<ssize_t>(payload.size()));
  }

  // One datagram and its source port; empty string on timeout.
  std::string recv(uint16_t* from_port = nullptr) const {
    char buf[4096];
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    const ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&sa), &len);
    if (n < 0) return {};
    if (from_port) *from_port = ntohs(sa.sin_port);
    return std::string(buf, static_cast<size_t>(n));
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A UDP port that was free a moment ago.
uint16_t free_port() {
  plain_socket s;
  return s.port();
}

struct received {
  std::string payload;
  uint16_t local_port;
  endpoint remote;
  uint64_t rx_ns;
  uint16_t capacity;
};

// Copies out and releases everything one rx_burst returns.
size_t drain_once(uring_io& io, std::vector<received>& got) {
  packet* burst[32];
  const uint16_t n = io.rx_burst(burst, 32);
  for (uint16_t i = 0; i < n; ++i) {
    packet* p = burst[i];
    got.push_back({std::string(reinterpret_cast<char*>(p->data), p->len), p->local_port, p->remote,
                   p->rx_ns, p->capacity});
    io.release(p);
  }
  return n;
}

// Bursts until `want` packets have come up (or the anti-hang deadline passes).
std::vector<received> receive(uring_io& io, size_t want) {
  std::vector<received> got;
  const uint64_t end = tutti::monotonic_ns() + deadline_ns;
  while (got.size() < want && tutti::monotonic_ns() < end) drain_once(io, got);
  return got;
}

// Bursts until every send so far has completed.
void reap_sends(uring_io& io, uint64_t want_done) {
  std::vector<received> got;
  const uint64_t end = tutti::monotonic_ns() + deadline_ns;
  while (io.stats().tx_packets + io.stats().tx_dropped < want_done && tutti::monotonic_ns() < end) {
    drain_once(io, got);
  }
}

std::unique_ptr<uring_io> make(uring_config cfg = {}) {
  cfg.media_ip = loopback;
  auto r = uring_io::create(cfg);
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::string payload_for(size_t i) {
  // Lengths vary from 1 to ~1200 bytes; content depends on the index.
  std::string s(1 + (i * 37) % 1200, '\0');
  for (size_t k = 0; k < s.size(); ++k) s[k] = static_cast<char>('a' + (i + k) % 26);
  return s;
}

uring_config config_for(bool compat) {
  uring_config cfg;
  cfg.force_compat = compat;
  return cfg;
}

}  // namespace

TEST_CASE("uring_io rejects bad configurations", "[dataplane][uring]") {
  uring_config cfg;
  cfg.rx_buffers = 1000;  // not a power of two
  auto r = uring_io::create(cfg);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == uring_error::bad_config);
  cfg = {};
  cfg.rx_buffer_bytes = 40;  // no room for the header
  CHECK(uring_io::create(cfg).error() == uring_error::bad_config);
  cfg = {};
  cfg.max_ports = 0;
  CHECK(uring_io::create(cfg).error() == uring_error::bad_config);
}

TEST_CASE("uring_io uses the current operations on this kernel", "[dataplane][uring]") {
  // Kernel 6.0+ (see uring.hpp); forcing the fallback is honoured.
  CHECK(make()->path() == uring_path::current);
  CHECK(make(config_for(true))->path() == uring_path::compat);
}

TEST_CASE("uring_io receives datagrams with payload and source", "[dataplane][uring]") {
  const bool compat = GENERATE(false, true);
  auto io = make(config_for(compat));
  const uint16_t port = free_port();
  REQUIRE(io->open_port(port));
  CHECK(io->open_ports() == 1);
  plain_socket peer;

  constexpr size_t count = 500;
  std::vector<received> got;
  const uint64_t end = tutti::monotonic_ns() + deadline_ns;
  for (size_t sent = 0; sent < count; sent += 25) {
    // Twenty-five at a time keeps well inside the socket's receive buffer.
    for (size_t i = sent; i < sent + 25; ++i) peer.send_to(port, payload_for(i));
    while (got.size() < sent + 25 && tutti::monotonic_ns() < end) drain_once(*io, got);
  }
  REQUIRE(got.size() == count);
  for (size_t i = 0; i < count; ++i) {
    INFO("datagram " << i);
    CHECK(got[i].payload == payload_for(i));  // one sender, one socket: order is kept
    CHECK(got[i].local_port == port);
    CHECK(got[i].remote == endpoint{loopback, peer.port()});
    CHECK(got[i].rx_ns > 0);
    CHECK(got[i].capacity >= got[i].payload.size());
  }
  const io_stats st = io->stats();
  CHECK(st.rx_packets == count);
  CHECK(st.rx_dropped == 0);
  CHECK(io->rx_buffers_held() == 0);
  CHECK(io->extra_stats().bad_release == 0);
}

TEST_CASE("uring_io sends to a plain socket", "[dataplane][uring]") {
  const bool compat = GENERATE(false, true);
  auto io = make(config_for(compat));
  const uint16_t port = free_port();
  REQUIRE(io->open_port(port));
  plain_socket peer;

  constexpr size_t count = 200;
  for (size_t sent = 0; sent < count; sent += 20) {
    packet* burst[20];
    for (size_t i = 0; i < 20; ++i) {
      packet* p = io->alloc_tx();
      REQUIRE(p != nullptr);
      const std::string s = payload_for(sent + i);
      REQUIRE(p->capacity >= s.size());
      std::memcpy(p->data, s.data(), s.size());
      p->len = static_cast<uint16_t>(s.size());
      p->local_port = port;
      p->remote = {loopback, peer.port()};
      burst[i] = p;
    }
    CHECK(io->tx_burst(burst, 20) == 20);
    for (size_t i = 0; i < 20; ++i) {
      uint16_t from = 0;
      CHECK(peer.recv(&from) == payload_for(sent + i));
      CHECK(from == port);
    }
  }
  reap_sends(*io, count);
  const io_stats st = io->stats();
  CHECK(st.tx_packets == count);
  CHECK(st.tx_dropped == 0);
  CHECK(io->extra_stats().tx_errors == 0);
  CHECK(io->path() == (compat ? uring_path::compat : uring_path::current));  // no fallback
  // Every tx buffer is back: the whole pool can be taken again.
  std::vector<packet*> all;
  while (packet* p = io->alloc_tx()) all.push_back(p);
  CHECK(all.size() == uring_config{}.tx_buffers);
  for (packet* p : all) io->release(p);
}

TEST_CASE("uring_io echoes a received packet from its own buffer", "[dataplane][uring]") {
  const bool compat = GENERATE(false, true);
  auto io = make(config_for(compat));
  const uint16_t port = free_port();
  REQUIRE(io->open_port(port));
  plain_socket peer;
  peer.send_to(port, "ping-0123456789");

  packet* p = nullptr;
  const uint64_t end = tutti::monotonic_ns() + deadline_ns;
  while (tutti::monotonic_ns() < end && io->rx_burst(&p, 1) == 0) {
  }
  REQUIRE(p != nullptr);
  CHECK(io->rx_buffers_held() == 1);
  p->data[1] = 'o';  // rewrite in place and send back where it came from
  CHECK(io->tx_burst(&p, 1) == 1);
  uint16_t from = 0;
  CHECK(peer.recv(&from) == "pong-0123456789");
  CHECK(from == port);
  reap_sends(*io, 1);
  CHECK(io->stats().tx_packets == 1);
  CHECK(io->rx_buffers_held() == 0);  // the send's completion gave the buffer back
}

TEST_CASE("uring_io drops and counts what it cannot send", "[dataplane][uring]") {
  uring_config cfg;
  cfg.tx_buffers = 4;
  auto io = make(cfg);
  plain_socket peer;
  packet* p[4];
  for (auto& x : p) REQUIRE((x = io->alloc_tx()) != nullptr);
  CHECK(io->alloc_tx() == nullptr);
  CHECK(io->extra_stats().tx_no_buffer == 1);

  // From a port that is not open: dropped, buffer back in the pool.
  p[0]->len = 4;
  p[0]->local_port = free_port();
  p[0]->remote = {loopback, peer.port()};
  CHECK(io->tx_burst(p, 1) == 0);
  CHECK(io->stats().tx_dropped == 1);
  CHECK(io->stats().tx_packets == 0);
  packet* again = io->alloc_tx();
  CHECK(again != nullptr);

  // Releasing twice, or passing a packet already given away, is counted and ignored.
  io->release(again);
  io->release(again);
  CHECK(io->extra_stats().bad_release == 1);
  CHECK(io->tx_burst(&again, 1) == 0);
  CHECK(io->extra_stats().bad_release == 2);
  for (int i = 1; i < 4; ++i) io->release(p[i]);
}

TEST_CASE("uring_io survives buffer exhaustion and re-arms", "[dataplane][uring]") {
  const bool compat = GENERATE(false, true);
  uring_config cfg = config_for(compat);
  cfg.rx_buffers = 8;
  cfg.rearm_free_buffers = 4;
  auto io = make(cfg);
  const uint16_t port = free_port();
  REQUIRE(io->open_port(port));
  plain_socket peer;

  // Take all eight buffers and hold them.
  std::vector<packet*> held;
  uint64_t end = tutti::monotonic_ns() + deadline_ns;
  for (size_t i = 0; i < 8; ++i) peer.send_to(port, "held-" + std::to_string(i));
  while (held.size() < 8 && tutti::monotonic_ns() < end) {
    packet* burst[8];
    const uint16_t n = io->rx_burst(burst, 8);
    held.insert(held.end(), burst, burst + n);
  }
  REQUIRE(held.size() == 8);
  for (size_t i = 0; i < 8; ++i) {
    CHECK(std::string(reinterpret_cast<char*>(held[i]->data), held[i]->len) ==
          "held-" + std::to_string(i));
  }

  // More arrive with no buffer free: the receive ends with -ENOBUFS; the datagrams wait in the
  // socket's queue.
  for (size_t i = 0; i < 6; ++i) peer.send_to(port, "late-" + std::to_string(i));
  end = tutti::monotonic_ns() + deadline_ns;
  while (io->stats().rx_no_buffer == 0 && tutti::monotonic_ns() < end) {
    packet* burst[8];
    REQUIRE(io->rx_burst(burst, 8) == 0);
  }
  CHECK(io->stats().rx_no_buffer >= 1);
  // Still starved: releasing fewer than rearm_free_buffers does not re-arm.
  for (size_t i = 0; i < 3; ++i) io->release(held[i]);
  const uint64_t rearms_before = io->extra_stats().rx_rearms;
  packet* burst[8];
  CHECK(io->rx_burst(burst, 8) == 0);
  CHECK(io->extra_stats().rx_rearms == rearms_before);

  // Enough buffers back: re-armed, and the queued datagrams come up in order.
  for (size_t i = 3; i < 8; ++i) io->release(held[i]);
  const auto got = receive(*io, 6);
  REQUIRE(got.size() == 6);
  for (size_t i = 0; i < 6; ++i) CHECK(got[i].payload == "late-" + std::to_string(i));
  CHECK(io->extra_stats().rx_rearms > rearms_before);
  CHECK(io->stats().rx_dropped == 0);
  CHECK(io->stats().rx_packets == 14);
}

TEST_CASE("uring_io counts datagrams its socket dropped while starved", "[dataplane][uring]") {
  uring_config cfg;
  cfg.rx_buffers = 8;
  cfg.socket_rcvbuf_bytes = 1;  // the kernel's minimum: a few datagrams
  auto io = make(cfg);
  REQUIRE(io->path() == uring_path::current);  // compat has no drop counter
  const uint16_t port = free_port();
  REQUIRE(io->open_port(port));
  plain_socket peer;

  std::vector<packet*> held;
  uint64_t end = tutti::monotonic_ns() + deadline_ns;
  for (size_t i = 0; i < 8; ++i) peer.send_to(port, "held");
  while (held.size() < 8 && tutti::monotonic_ns() < end) {
    packet* burst[8];
    const uint16_t n = io->rx_burst(burst, 8);
    held.insert(held.end(), burst, burst + n);
  }
  REQUIRE(held.size() == 8);
  // No buffers: the socket queue fills and the kernel drops the rest.
  constexpr size_t flood = 100;
  for (size_t i = 0; i < flood; ++i) peer.send_to(port, "flood");
  for (packet* p : held) io->release(p);
  // A datagram queued after the drops carries the socket's drop count. Markers are sent
  // until one gets through (the first may find the queue still full and be dropped too).
  std::vector<received> got;
  size_t markers = 0;
  end = tutti::monotonic_ns() + deadline_ns;
  while ((got.empty() || got.back().payload != "marker") && tutti::monotonic_ns() < end) {
    peer.send_to(port, "marker");
    ++markers;
    for (int i = 0; i < 100 && (got.empty() || got.back().payload != "marker"); ++i) {
      drain_once(*io, got);
    }
  }
  REQUIRE_FALSE(got.empty());
  CHECK(got.back().payload == "marker");
  const uring_stats ex = io->extra_stats();
  const io_stats st = io->stats();
  CHECK(ex.rx_socket_drops > 0);
  CHECK(st.rx_dropped == ex.rx_socket_drops);
  // Every datagram sent is accounted for: handed up or counted as dropped.
  CHECK(st.rx_packets + ex.rx_socket_drops == 8 + flood + markers);
}

TEST_CASE("uring_io drops datagrams longer than a buffer", "[dataplane][uring]") {
  const bool compat = GENERATE(false, true);
  uring_config cfg = config_for(compat);
  cfg.rx_buffer_bytes = 256;
  auto io = make(cfg);
  const uint16_t port = free_port();
  REQUIRE(io->open_port(port));
  plain_socket peer;
  peer.send_to(port, std::string(300, 'x'));
  peer.send_to(port, "fits");
  const auto got = receive(*io, 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].payload == "fits");
  CHECK(io->stats().rx_dropped == 1);
  CHECK(io->extra_stats().rx_truncated == 1);
  CHECK(io->rx_buffers_held() == 0);
}

TEST_CASE("uring_io close_port stops receiving and frees the port", "[dataplane][uring]") {
  const bool compat = GENERATE(false, true);
  auto io = make(config_for(compat));
  const uint16_t port = free_port();
  REQUIRE(io->open_port(port));
  CHECK(io->open_port(port));  // already open: fine, still one
  CHECK(io->open_ports() == 1);
  plain_socket peer;
  peer.send_to(port, "before");
  REQUIRE(receive(*io, 1).size() == 1);

  io->close_port(port);
  CHECK(io->open_ports() == 0);
  // The socket is really gone: a plain socket can bind the port now.
  {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(loopback);
    sa.sin_port = htons(port);
    CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    ::close(fd);
  }
  // Sending from it is refused.
  packet* p = io->alloc_tx();
  REQUIRE(p);
  p->len = 1;
  p->local_port = port;
  p->remote = {loopback, peer.port()};
  CHECK(io->tx_burst(&p, 1) == 0);
  CHECK(io->stats().tx_dropped == 1);
  // Closing again is harmless; reopening the same port receives again.
  io->close_port(port);
  REQUIRE(io->open_port(port));
  peer.send_to(port, "after");
  const auto got = receive(*io, 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].payload == "after");
  CHECK(io->extra_stats().rx_errors == 0);
}

TEST_CASE("uring_io serves many ports at once", "[dataplane][uring]") {
  const bool compat = GENERATE(false, true);
  uring_config cfg = config_for(compat);
  cfg.max_ports = 64;
  auto io = make(cfg);
  // Hold 64 probe sockets at once so the ports are distinct, then free them all.
  std::vector<uint16_t> ports;
  {
    std::vector<std::unique_ptr<plain_socket>> probes;
    for (int i = 0; i < 64; ++i) probes.push_back(std::make_unique<plain_socket>());
    for (auto& s : probes) ports.push_back(s->port());
  }
  for (uint16_t port : ports) REQUIRE(io->open_port(port));
  CHECK(io->open_ports() == 64);
  CHECK_FALSE(io->open_port(free_port()));  // table full

  plain_socket peer;
  for (int round = 0; round < 3; ++round) {
    for (uint16_t port : ports) peer.send_to(port, std::to_string(port) + "/" + std::to_string(round));
  }
  const auto got = receive(*io, 64 * 3);
  REQUIRE(got.size() == 64 * 3);
  std::vector<int> per_port(65536, 0);
  for (const received& r : got) {
    const std::string want_prefix = std::to_string(r.local_port) + "/";
    CHECK(r.payload.rfind(want_prefix, 0) == 0);  // arrived on the port it was sent to
    ++per_port[r.local_port];
  }
  for (uint16_t port : ports) CHECK(per_port[port] == 3);

  // Replies go out from each port.
  std::vector<packet*> burst;
  for (uint16_t port : ports) {
    packet* p = io->alloc_tx();
    REQUIRE(p);
    const std::string s = std::to_string(port);
    std::memcpy(p->data, s.data(), s.size());
    p->len = static_cast<uint16_t>(s.size());
    p->local_port = port;
    p->remote = {loopback, peer.port()};
    burst.push_back(p);
  }
  CHECK(io->tx_burst(burst.data(), static_cast<uint16_t>(burst.size())) == 64);
  for (size_t i = 0; i < 64; ++i) {
    uint16_t from = 0;
    const std::string reply = peer.recv(&from);
    CHECK(reply == std::to_string(from));
  }

  for (uint16_t port : ports) io->close_port(port);
  CHECK(io->open_ports() == 0);
  CHECK(io->open_port(ports[0]));
}

TEST_CASE("uring_io built and destroyed on one thread, driven on another", "[dataplane][uring]") {
  // The worker model: control constructs, the worker opens ports and moves packets, control
  // destroys after the worker has stopped, with a receive and sends still in flight.
  auto io = make();
  plain_socket peer;
  const uint16_t port = free_port();
  size_t got = 0;
  std::thread worker([&] {
    REQUIRE(io->open_port(port));
    for (int i = 0; i < 10; ++i) peer.send_to(port, "to-worker");
    got = receive(*io, 10).size();
    packet* p = io->alloc_tx();
    REQUIRE(p);
    p->len = 3;
    std::memcpy(p->data, "bye", 3);
    p->local_port = port;
    p->remote = {loopback, peer.port()};
    CHECK(io->tx_burst(&p, 1) == 1);
  });
  worker.join();
  CHECK(got == 10);
  CHECK(peer.recv() == "bye");
  io.reset();  // must neither hang nor touch freed memory (ASan build)
}
