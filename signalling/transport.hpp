// SIP transports (RFC 3261 §18) on Boost.Asio: one UDP socket and one TCP listener on the
// same address and port, plus the TCP connections accepted or opened.
//
// Model: everything runs on the control thread's io_context; nothing is locked. UDP is
// read in batches (wait for readable, then recvmmsg until empty or udp_batch) into 16
// slots of 64 KiB; TCP connections keep a receive buffer framed by frame_stream() (RFC 3261
// §18.3) and a bounded write queue. Every message that parses goes to the receiver with
// the peer it came from (the message_view is valid during the call only). One that does
// not parse is counted by reason and, when parse_error::answerable, answered with
// make_error_response() (400, 505 or 513); a TCP framing error closes the connection.
// send() reuses the connection a request arrived on (§18.2.2), else one open to that
// address and port, else opens one.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.hpp"
#include "signalling/peer.hpp"
#include "signalling/sip/message.hpp"

namespace tutti::sig {

struct transport_limits {
  size_t max_message_bytes = 65535;        // a message over it is refused (UDP: 513 when answerable)
  size_t max_connections = 1024;           // TCP connections, accepted and opened together
  size_t max_write_queue_bytes = 1 << 20;  // per TCP connection; over it the message is dropped
  size_t udp_batch = 64;                   // datagrams read per wake-up before yielding
};

// Why the transport dropped something other than a malformed message.
enum class drop_reason : uint8_t {
  connection_limit,  // TCP accept or connect refused: max_connections reached
  write_overflow,    // TCP write queue over max_write_queue_bytes
  send_failed,       // the kernel refused a datagram (would block, unreachable, ...)
  no_connection,     // TCP: connect failed, the queued messages went with it
  count_
};
std::string_view to_string(drop_reason r) noexcept;

struct transport_counters {
  uint64_t udp_received = 0;      // datagrams read
  uint64_t tcp_received = 0;      // messages framed on TCP connections
  uint64_t keepalives = 0;        // CRLF keep-alives (RFC 5626 §3.5.1) seen
  uint64_t tcp_accepted = 0;
  uint64_t tcp_opened = 0;
  uint64_t tcp_closed = 0;
  uint64_t sent = 0;              // messages handed to the kernel or a write queue
  std::array<uint64_t, static_cast<size_t>(parse_reason::count_)> malformed{};  // by parse reason
  uint64_t malformed_answered = 0;  // of which answered with 400/505/513
  std::array<uint64_t, static_cast<size_t>(drop_reason::count_)> dropped{};     // by drop reason
  uint64_t malformed_total() const noexcept;
};

class transport final : public message_sender {
 public:
  using receiver = std::function<void(const message_view&, const peer&)>;

  transport(boost::asio::io_context& io, receiver on_message, transport_limits limits = {});
  ~transport() override;
  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;

  // Binds UDP and TCP to host (numeric) and port; port 0 picks one ephemeral port free for
  // both. Returns the bound port.
  result<uint16_t, std::string> open(const std::string& host, uint16_t port);
  // Closes the sockets and every connection; receive handlers stop.
  void close();

  const std::string& host() const noexcept { return host_; }
  uint16_t port() const noexcept { return port_; }
  size_t connection_count() const noexcept { return conns_.size(); }
  const transport_counters& counters() const noexcept { return counters_; }

  bool send(const peer& to, std::string_view bytes) override;
  std::string sent_by(transport_kind k) const override;

  // One message as a socket delivers it (a datagram, or a frame of a TCP stream): parsed,
  // counted, answered when malformed, else handed to the receiver. The socket paths call
  // it; tests and the stack fuzz target enter here without a socket.
  void receive(std::string_view message, const peer& from);
  // When set, every outgoing message goes to the tap instead of the network (tests, fuzzing).
  using tap = std::function<bool(const peer& to, std::string_view bytes)>;
  void set_tap(tap t) { tap_ = std::move(t); }

 private:
  struct connection;
  using connection_ptr = std::shared_ptr<connection>;

  void wait_udp();
  void read_udp();
  void accept();
  void start_reading(const connection_ptr& c);
  void on_stream_data(const connection_ptr& c);
  void write_next(const connection_ptr& c);
  void drop_connection(const connection_ptr& c);
  connection_ptr add_connection(boost::asio::ip::tcp::socket sock, const peer& remote);
  void malformed(const parse_error& e, const peer& from);
  bool send_udp(const peer& to, std::string_view bytes);
  bool send_tcp(const peer& to, std::string_view bytes);

  boost::asio::io_context& io_;
  receiver on_message_;
  transport_limits limits_;
  parse_limits udp_limits_, tcp_limits_;
  boost::asio::ip::udp::socket udp_;
  boost::asio::ip::tcp::acceptor acceptor_;
  static constexpr size_t udp_slots = 16;           // datagrams per recvmmsg
  static constexpr size_t udp_slot_bytes = 65536;   // a whole datagram (truncated ones fail to parse)
  std::vector<char> udp_buffer_;                    // udp_slots slots of udp_slot_bytes
  std::unordered_map<uint64_t, connection_ptr> conns_;
  std::unordered_map<std::string, uint64_t> by_remote_;  // "addr|port" -> connection id
  uint64_t next_connection_ = 1;
  std::string host_;
  uint16_t port_ = 0;
  bool open_ = false;
  bool udp_v6_ = false;  // the UDP socket is IPv6: IPv4 peers are written v4-mapped
  transport_counters counters_;
  uint64_t tag_seed_ = 0;
  tap tap_;
};

}  // namespace tutti::sig
