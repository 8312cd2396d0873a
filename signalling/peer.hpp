// Where a SIP message came from or goes to, and the one call the transaction layer makes
// to put bytes on the wire. Kept apart from transport.hpp so the transaction layer (and
// its tests, with a fake sender) never touch sockets.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace tutti::sig {

enum class transport_kind : uint8_t { udp, tcp };

std::string_view to_string(transport_kind k) noexcept;  // "UDP", "TCP" (as in a Via)

struct peer {
  transport_kind transport = transport_kind::udp;
  boost::asio::ip::address address;
  uint16_t port = 0;
  uint64_t connection = 0;  // TCP: the connection a message arrived on (0: none / open one)

  bool reliable() const noexcept { return transport != transport_kind::udp; }
  std::string to_string() const;  // "udp:127.0.0.1:5060"
};

// The wire, as the transaction layer sees it.
class message_sender {
 public:
  virtual ~message_sender() = default;
  // Sends one message; false when it could not be handed to the kernel or a connection.
  virtual bool send(const peer& to, std::string_view bytes) = 0;
  // The sent-by ("host:port") this box writes into a Via for the transport.
  virtual std::string sent_by(transport_kind k) const = 0;
};

}  // namespace tutti::sig
