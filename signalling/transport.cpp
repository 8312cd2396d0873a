#include "signalling/transport.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <numeric>

#include "signalling/sip/serializer.hpp"

namespace tutti::sig {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

std::string_view to_string(drop_reason r) noexcept {
  switch (r) {
    case drop_reason::connection_limit: return "connection_limit";
    case drop_reason::write_overflow: return "write_overflow";
    case drop_reason::send_failed: return "send_failed";
    case drop_reason::no_connection: return "no_connection";
    case drop_reason::count_: break;
  }
  return "?";
}

uint64_t transport_counters::malformed_total() const noexcept {
  return std::accumulate(malformed.begin(), malformed.end(), uint64_t{0});
}

struct transport::connection {
  explicit connection(tcp::socket s) : sock(std::move(s)) {}
  tcp::socket sock;
  uint64_t id = 0;
  peer remote;
  std::string remote_key;
  std::string rx;
  std::array<char, 16384> chunk{};
  std::deque<std::string> queue;
  size_t queued_bytes = 0;
  bool writing = false;
  bool connected = false;
  bool closed = false;
};

namespace {

std::string remote_key(const asio::ip::address& a, uint16_t port) {
  return a.to_string() + "|" + std::to_string(port);
}

}  // namespace

transport::transport(asio::io_context& io, receiver on_message, transport_limits limits)
    : io_(io), on_message_(std::move(on_message)), limits_(limits), udp_(io), acceptor_(io),
      udp_buffer_(udp_slots * udp_slot_bytes) {
  udp_limits_.max_message_bytes = limits_.max_message_bytes;
  udp_limits_.datagram = true;
  tcp_limits_.max_message_bytes = limits_.max_message_bytes;
  tcp_limits_.datagram = false;
  tag_seed_ = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(this)) ^ 0x5bd1e995u;
}

transport::~transport() { close(); }

result<uint16_t, std::string> transport::open(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  const asio::ip::address addr = asio::ip::make_address(host, ec);
  if (ec) return fail("SIP address " + host + " is not a numeric IP address");
  // Port 0: the kernel picks the UDP port, TCP then binds the same number; another
  // process may hold it on TCP, so try a few.
  for (int attempt = 0; attempt < (port == 0 ? 16 : 1); ++attempt) {
    close();
    udp_.open(addr.is_v6() ? udp::v6() : udp::v4(), ec);
    if (!ec) udp_.bind(udp::endpoint(addr, port), ec);
    if (ec) return fail("SIP UDP bind " + host + ":" + std::to_string(port) + ": " + ec.message());
    const uint16_t bound = udp_.local_endpoint().port();
    acceptor_.open(addr.is_v6() ? tcp::v6() : tcp::v4(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(tcp::endpoint(addr, bound), ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      if (port == 0 && ec == asio::error::address_in_use) continue;
      close();
      return fail("SIP TCP bind " + host + ":" + std::to_string(bound) + ": " + ec.message());
    }
    udp_.non_blocking(true, ec);
    // A deep receive buffer absorbs bursts while the control thread is busy elsewhere.
    udp_.set_option(asio::socket_base::receive_buffer_size(4 << 20), ec);
    host_ = addr.to_string();
    port_ = bound;
    udp_v6_ = addr.is_v6();
    open_ = true;
    wait_udp();
    accept();
    return bound;
  }
  close();
  return fail(std::string("SIP: no ephemeral port free for both UDP and TCP"));
}

void transport::close() {
  open_ = false;
  boost::system::error_code ec;
  if (udp_.is_open()) udp_.close(ec);
  if (acceptor_.is_open()) acceptor_.close(ec);
  auto conns = std::move(conns_);
  conns_.clear();
  by_remote_.clear();
  for (auto& [id, c] : conns) {
    c->closed = true;
    c->sock.close(ec);
  }
}

std::string transport::sent_by(transport_kind) const {
  const bool v6 = host_.find(':') != std::string::npos;
  return (v6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

// ---- UDP ----

void transport::wait_udp() {
  udp_.async_wait(udp::socket::wait_read, [this](const boost::system::error_code& ec) {
    if (ec || !open_) return;
    read_udp();
    if (open_) wait_udp();
  });
}

void transport::read_udp() {
  // recvmmsg(2): up to udp_slots datagrams per system call, with their sources, instead of
  // one recvfrom each plus the one that finds the socket empty.
  std::array<mmsghdr, udp_slots> msgs;
  std::array<iovec, udp_slots> iov;
  std::array<sockaddr_storage, udp_slots> from;
  size_t taken = 0;
  while (taken < limits_.udp_batch && open_) {
    const size_t want = std::min(udp_slots, limits_.udp_batch - taken);
    for (size_t i = 0; i < want; ++i) {
      iov[i] = {udp_buffer_.data() + i * udp_slot_bytes, udp_slot_bytes};
      std::memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = ::recvmmsg(udp_.native_handle(), msgs.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // drained
    if (n <= 0) {
      // A pending socket error (an ICMP port unreachable from an earlier send) is
      // reported once; the datagrams behind it are still there.
      ++taken;
      continue;
    }
    for (int i = 0; i < n && open_; ++i) {
      ++counters_.udp_received;
      peer src{transport_kind::udp, {}, 0, 0};
      if (from[i].ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&from[i]);
        src.address = asio::ip::address_v4(ntohl(a->sin_addr.s_addr));
        src.port = ntohs(a->sin_port);
      } else if (from[i].ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&from[i]);
        asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), &a->sin6_addr, b.size());
        const asio::ip::address_v6 v6(b, a->sin6_scope_id);
        src.address = v6.is_v4_mapped() ? asio::ip::address(asio::ip::make_address_v4(asio::ip::v4_mapped, v6))
                                        : asio::ip::address(v6);
        src.port = ntohs(a->sin6_port);
      } else {
        continue;
      }
      receive(std::string_view(udp_buffer_.data() + static_cast<size_t>(i) * udp_slot_bytes, msgs[i].msg_len), src);
    }
    taken += static_cast<size_t>(n);
    if (static_cast<size_t>(n) < want) return;  // drained
  }
}

void transport::receive(std::string_view message, const peer& from) {
  const bool datagram = !from.reliable();
  auto m = parse_message(message, datagram ? udp_limits_ : tcp_limits_);
  if (!m) {
    if (m.error().reason == parse_reason::empty && datagram) ++counters_.keepalives;
    else malformed(m.error(), from);
    return;
  }
  on_message_(*m, from);
}

void transport::malformed(const parse_error& e, const peer& from) {
  ++counters_.malformed[static_cast<size_t>(e.reason)];
  if (!can_answer(e)) return;
  // The error goes back to the source address and port: the Via that §18.2.2 would use
  // may be what is malformed.
  tag_seed_ = tag_seed_ * 6364136223846793005ull + 1442695040888963407ull;
  char tag[17];
  for (int i = 0; i < 16; ++i) tag[i] = "0123456789abcdef"[(tag_seed_ >> (i * 4)) & 15];
  tag[16] = 0;
  std::string resp = make_error_response(e, tag);
  if (resp.empty()) return;
  if (send(from, resp)) ++counters_.malformed_answered;
}

bool transport::send_udp(const peer& to, std::string_view bytes) {
  if (!udp_.is_open()) return false;
  boost::system::error_code ec;
  asio::ip::address a = to.address;
  if (udp_v6_ && a.is_v4())
    a = asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4());
  udp_.send_to(asio::buffer(bytes.data(), bytes.size()), udp::endpoint(a, to.port), 0, ec);
  if (ec) {
    ++counters_.dropped[static_cast<size_t>(drop_reason::send_failed)];
    return false;
  }
  ++counters_.sent;
  return true;
}

bool transport::send(const peer& to, std::string_view bytes) {
  if (tap_) {
    if (!tap_(to, bytes)) return false;
    ++counters_.sent;
    return true;
  }
  return to.transport == transport_kind::udp ? send_udp(to, bytes) : send_tcp(to, bytes);
}

// ---- TCP ----

transport::connection_ptr transport::add_connection(tcp::socket sock, const peer& remote) {
  auto c = std::make_shared<connection>(std::move(sock));
  c->id = next_connection_++;
  c->remote = remote;
  c->remote.transport = transport_kind::tcp;
  c->remote.connection = c->id;
  c->remote_key = remote_key(remote.address, remote.port);
  conns_.emplace(c->id, c);
  by_remote_[c->remote_key] = c->id;
  return c;
}

void transport::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket sock) {
    // ec first: after close() the transport may already be gone.
    if (ec == asio::error::operation_aborted || !open_) return;
    if (!ec) {
      if (conns_.size() >= limits_.max_connections) {
        ++counters_.dropped[static_cast<size_t>(drop_reason::connection_limit)];
        boost::system::error_code ignored;
        sock.close(ignored);
      } else {
        boost::system::error_code e2;
        const tcp::endpoint rep = sock.remote_endpoint(e2);
        if (!e2) {
          ++counters_.tcp_accepted;
          sock.set_option(tcp::no_delay(true), e2);
          auto c = add_connection(std::move(sock), peer{transport_kind::tcp, rep.address(), rep.port(), 0});
          c->connected = true;
          start_reading(c);
        }
      }
    }
    accept();
  });
}

void transport::start_reading(const connection_ptr& c) {
  c->sock.async_read_some(asio::buffer(c->chunk), [this, c](const boost::system::error_code& ec, size_t n) {
    if (c->closed) return;
    if (ec) {
      drop_connection(c);
      return;
    }
    c->rx.append(c->chunk.data(), n);
    on_stream_data(c);
    if (!c->closed) start_reading(c);
  });
}

void transport::on_stream_data(const connection_ptr& c) {
  size_t off = 0;
  while (!c->closed) {
    const std::string_view data = std::string_view(c->rx).substr(off);
    const stream_frame fr = frame_stream(data, tcp_limits_);
    if (fr.status == stream_frame::state::need_more) break;
    if (fr.status == stream_frame::state::keepalive) {
      ++counters_.keepalives;
      off += fr.skip;
      // RFC 5626 §3.5.1: a CRLFCRLF ping gets a CRLF pong; a lone CRLF (a pong) gets nothing.
      if (fr.skip >= 4) send_tcp(c->remote, "\r\n");
      continue;
    }
    if (fr.status == stream_frame::state::error) {
      // Framing lost: nothing after this can be trusted, so the connection goes.
      ++counters_.malformed[static_cast<size_t>(fr.reason)];
      drop_connection(c);
      return;
    }
    const std::string_view msg = data.substr(fr.skip, fr.length);
    off += fr.skip + fr.length;
    ++counters_.tcp_received;
    receive(msg, c->remote);
  }
  if (!c->closed) c->rx.erase(0, off);
}

void transport::drop_connection(const connection_ptr& c) {
  if (c->closed) return;
  c->closed = true;
  ++counters_.tcp_closed;
  if (!c->queue.empty() && !c->connected)
    counters_.dropped[static_cast<size_t>(drop_reason::no_connection)] += c->queue.size();
  boost::system::error_code ec;
  c->sock.close(ec);
  conns_.erase(c->id);
  auto it = by_remote_.find(c->remote_key);
  if (it != by_remote_.end() && it->second == c->id) by_remote_.erase(it);
}

bool transport::send_tcp(const peer& to, std::string_view bytes) {
  if (!open_) return false;
  connection_ptr c;
  if (auto it = conns_.find(to.connection); to.connection != 0 && it != conns_.end()) c = it->second;
  if (!c)
    if (auto it = by_remote_.find(remote_key(to.address, to.port)); it != by_remote_.end())
      if (auto ci = conns_.find(it->second); ci != conns_.end()) c = ci->second;
  if (!c) {
    // RFC 3261 §18.2.2: the connection is gone, so open one to the received address and
    // sent-by port (the caller's peer says which).
    if (conns_.size() >= limits_.max_connections) {
      ++counters_.dropped[static_cast<size_t>(drop_reason::connection_limit)];
      return false;
    }
    boost::system::error_code ec;
    tcp::socket sock(io_);
    sock.open(to.address.is_v6() ? tcp::v6() : tcp::v4(), ec);
    if (ec) {
      ++counters_.dropped[static_cast<size_t>(drop_reason::send_failed)];
      return false;
    }
    c = add_connection(std::move(sock), to);
    ++counters_.tcp_opened;
    c->sock.async_connect(tcp::endpoint(to.address, to.port), [this, c](const boost::system::error_code& e) {
      if (c->closed) return;
      if (e) {
        drop_connection(c);
        return;
      }
      c->connected = true;
      boost::system::error_code ignored;
      c->sock.set_option(tcp::no_delay(true), ignored);
      start_reading(c);
      write_next(c);
    });
  }
  if (c->queued_bytes + bytes.size() > limits_.max_write_queue_bytes) {
    ++counters_.dropped[static_cast<size_t>(drop_reason::write_overflow)];
    return false;
  }
  c->queue.emplace_back(bytes);
  c->queued_bytes += bytes.size();
  ++counters_.sent;
  if (c->connected) write_next(c);
  return true;
}

void transport::write_next(const connection_ptr& c) {
  if (c->writing || c->queue.empty() || c->closed) return;
  c->writing = true;
  asio::async_write(c->sock, asio::buffer(c->queue.front()), [this, c](const boost::system::error_code& ec, size_t) {
    c->writing = false;
    if (c->closed) return;
    if (ec) {
      drop_connection(c);
      return;
    }
    c->queued_bytes -= c->queue.front().size();
    c->queue.pop_front();
    write_next(c);
  });
}

}  // namespace tutti::sig
