// The SIP stack's core: transport + transaction layer + a table of request handlers by
// method, on the control thread.
//
// Model: the transport hands every parsed message to the stack. Responses go to their
// client transaction. Requests go through the transaction layer (a retransmission is
// absorbed there, an ACK for a non-2xx ends there), then through the checks every UAS
// makes (RFC 3261 §8.2: Max-Forwards 0 → 483, Request-URI scheme → 416, Require → 420),
// then to the handler registered for the method. A handler gets the parsed request (valid
// during the call only), where it came from, and the server transaction, which it keeps as
// long as it likes to answer later (a registrar waiting for the store, a focus waiting for
// media). Without a handler: OPTIONS gets 200 with Allow/Accept/Supported (keep-alive
// probes, RFC 3261 §11), CANCEL is matched to its INVITE (§9.2), BYE gets 481 (no dialog
// can exist without an INVITE handler, §15.1.2), other RFC 3261-family methods 405 and
// unknown methods 501, both with Allow (§8.2.1).
//
// Plugging in (registrar, auth, presence, focus):
//   stack.on_request(sip_method::register_, [&](const message_view& req, const peer& from,
//                                               server_transaction_ptr tx) {
//     message_builder r = tx->response(401);
//     r.add(header_id::www_authenticate, challenge);
//     tx->send(r.finish());
//   });
// and UAC work (NOTIFY, dial-out INVITE) through send_request().
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "signalling/peer.hpp"
#include "signalling/transaction.hpp"
#include "signalling/transport.hpp"

namespace tutti::sig {

struct stack_settings {
  std::string host = "127.0.0.1";  // numeric listen address
  uint16_t port = 0;               // 0: ephemeral (tests)
  timer_settings timers;
  transport_limits limits;
  std::string accept = "application/sdp";  // OPTIONS' Accept (RFC 3261 §11.2)
  std::vector<std::string> supported;      // option tags this box supports (Supported, Require)
};

constexpr size_t method_count = static_cast<size_t>(sip_method::update) + 1;

// Counters of the stack core; see transport_counters and transaction_counters for the rest.
struct stack_counters {
  std::array<uint64_t, method_count> requests{};  // new requests by sip_method (0: unknown)
  std::array<uint64_t, 7> responses_sent{};       // by class, index 1..6 (retransmissions too)
  std::array<uint64_t, 7> responses_received{};   // by class, index 1..6
  uint64_t unmatched_acks = 0;      // ACK with no transaction and no ACK handler
  uint64_t too_many_hops = 0;       // answered 483
  uint64_t bad_extension = 0;       // answered 420
  uint64_t not_allowed = 0;         // answered 405 or 501
};

class sip_stack {
 public:
  using request_handler = std::function<void(const message_view& req, const peer& from, server_transaction_ptr tx)>;
  using ack_handler = std::function<void(const message_view& ack, const peer& from)>;

  sip_stack(boost::asio::io_context& io, stack_settings settings);
  ~sip_stack();
  sip_stack(const sip_stack&) = delete;
  sip_stack& operator=(const sip_stack&) = delete;

  // Binds UDP and TCP; returns the bound port.
  result<uint16_t, std::string> start();
  // Closes the sockets; live transactions stay until the stack is destroyed.
  void stop();

  // The handler for a method (replacing any); ACK, CANCEL and unknown methods are refused.
  bool on_request(sip_method m, request_handler h);
  // The handler registered for a method (empty when none), so a service that serves some
  // of a method's Request-URIs can pass the others on (MESSAGE: chat rooms, buddy lists).
  request_handler handler(sip_method m) const;
  // ACKs that match no server transaction: those for 2xx responses (RFC 3261 §13.3.1.4).
  void on_ack(ack_handler h) { ack_handler_ = std::move(h); }

  // Starts a client transaction (see transaction_layer::send_request).
  result<client_transaction_ptr, request_error> send_request(std::string request, const peer& to,
                                                             client_callback cb);
  // CANCELs an INVITE that has not been answered finally (RFC 3261 §9.1).
  result<client_transaction_ptr, request_error> send_cancel(const client_transaction_ptr& invite,
                                                            client_callback cb);
  // Sends a message outside any transaction (the ACK for a 2xx, RFC 3261 §13.2.2.4).
  bool send_stateless(const peer& to, std::string_view bytes);

  // "INVITE, ACK, CANCEL, ..." — the methods answered (Allow, RFC 3261 §20.5).
  const std::string& allow() const noexcept { return allow_; }
  uint16_t port() const noexcept { return transport_.port(); }
  const std::string& host() const noexcept { return transport_.host(); }

  const stack_counters& counters() const noexcept { return counters_; }
  const transport& wire() const noexcept { return transport_; }
  transport& wire() noexcept { return transport_; }  // receive() and set_tap() for tests, fuzzing
  const transaction_layer& transactions() const noexcept { return transactions_; }

 private:
  // Counts what goes out, then hands it to the transport.
  class counting_sender final : public message_sender {
   public:
    explicit counting_sender(sip_stack& s) : s_(s) {}
    bool send(const peer& to, std::string_view bytes) override;
    std::string sent_by(transport_kind k) const override { return s_.transport_.sent_by(k); }

   private:
    sip_stack& s_;
  };

  void on_message(const message_view& m, const peer& from);
  void dispatch(const message_view& req, const peer& from, const server_transaction_ptr& tx);
  void answer_options(const server_transaction_ptr& tx);
  void answer_cancel(const message_view& req, const server_transaction_ptr& tx);
  void rebuild_allow();
  void rearm();

  stack_settings settings_;
  transport transport_;
  counting_sender sender_;
  transaction_layer transactions_;
  boost::asio::steady_timer timer_;
  time_point armed_at_{};
  bool armed_ = false;
  std::array<request_handler, method_count> handlers_;
  ack_handler ack_handler_;
  std::string allow_;
  std::string supported_;
  stack_counters counters_;
};

}  // namespace tutti::sig
