// SIP transactions (RFC 3261 §17, with the RFC 6026 Accepted states): the state machines
// that absorb retransmitted requests, retransmit over UDP, and time out.
//
// Model: one transaction_layer on the control thread owns every live transaction in two
// hash maps (server: branch + sent-by + method, §17.2.3; client: branch + CSeq method,
// §17.1.3). It knows no sockets and no clock of its own: bytes go out through a
// message_sender, time comes from an injected now() function, and every timer of every
// transaction (A, B, D, E, F, G, H, I, J, K, L, M) lives in one min-heap of deadlines with
// lazy cancellation — a transaction has at most one live heap entry, its earliest
// deadline. The owner arms one steady_timer for next_deadline() and calls run_timers();
// tests drive a fake clock the same way. Cost per transaction: one allocation, one heap
// push per state change, no OS timer.
//
// Server transactions are handed to the transaction user (sip_stack's method handlers)
// as a server_transaction_ptr; the handler answers at once or later by calling send().
// Client transactions report provisional and final responses, timeouts and transport
// errors through a callback.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.hpp"
#include "signalling/peer.hpp"
#include "signalling/sip/message.hpp"
#include "signalling/sip/serializer.hpp"

namespace tutti::sig {

using sip_clock = std::chrono::steady_clock;
using time_point = sip_clock::time_point;
using std::chrono::milliseconds;

// RFC 3261 §17.1.1.1 timer base values.
struct timer_settings {
  milliseconds t1{500};   // RTT estimate
  milliseconds t2{4000};  // longest retransmit interval for non-INVITE requests and INVITE responses
  milliseconds t4{5000};  // longest time a message stays in the network
  milliseconds timer_d{32000};  // client INVITE: wait for final-response retransmissions (UDP)
};

class transaction_layer;

enum class server_state : uint8_t { trying, proceeding, completed, confirmed, accepted, terminated };

// One server transaction: the request's identity and the headers every response copies.
class server_transaction : public std::enable_shared_from_this<server_transaction> {
 public:
  sip_method method() const noexcept { return method_; }
  std::string_view method_text() const noexcept { return method_text_; }
  const peer& source() const noexcept { return source_; }
  server_state state() const noexcept { return state_; }
  bool final_sent() const noexcept { return last_status_ >= 200; }
  uint16_t last_status() const noexcept { return last_status_; }

  // The To tag written into every response but 100 (random unless set before the first).
  const std::string& to_tag() const noexcept { return to_tag_; }
  void set_to_tag(std::string tag) { to_tag_ = std::move(tag); }

  // A response carrying the request's Via (received/rport stamped), From, To (+ tag),
  // Call-ID and CSeq (RFC 3261 §8.2.6.2); the caller adds headers and calls finish().
  message_builder response(uint16_t status, std::string_view reason = {}) const;
  // Sends a response (from response()); the state machine follows its status code. A
  // second final response, or any after the transaction ended, is ignored (false).
  bool send(std::string message);
  // response(status, reason).finish() sent at once.
  bool reply(uint16_t status, std::string_view reason = {});

  // Called when a CANCEL matches this INVITE before its final response (RFC 3261 §9.2).
  // Unset: the stack answers the INVITE 487 itself.
  std::function<void()> on_cancel;

 private:
  friend class transaction_layer;
  server_transaction() = default;
  void on_timer(time_point now);

  transaction_layer* layer_ = nullptr;  // nullptr once the layer is gone
  std::string key_;
  sip_method method_ = sip_method::unknown;
  std::string method_text_;
  peer source_;  // where the request came from
  peer target_;  // where responses go (RFC 3261 §18.2.2, RFC 3581 §4)
  server_state state_ = server_state::trying;
  std::vector<std::string> vias_;  // the first one stamped
  std::string from_, to_, call_id_, cseq_, timestamp_;
  bool to_has_tag_ = false;
  std::string to_tag_;
  std::string last_response_;
  uint16_t last_status_ = 0;
  time_point retransmit_at_{}, end_at_{};
  milliseconds interval_{0};
  uint64_t timer_gen_ = 0;
};
using server_transaction_ptr = std::shared_ptr<server_transaction>;

// What a client transaction reports.
struct client_event {
  enum class kind : uint8_t { provisional, final_response, timeout, transport_error } what;
  uint16_t status = 0;                    // response status; 408 for timeout, 503 for transport_error
  const message_view* response = nullptr; // valid during the callback only
  bool retransmission = false;            // a further 2xx to an INVITE (RFC 6026 Accepted)
};
using client_callback = std::function<void(const client_event&)>;

enum class client_state : uint8_t { calling, trying, proceeding, completed, accepted, terminated };

class client_transaction {
 public:
  sip_method method() const noexcept { return method_; }
  client_state state() const noexcept { return state_; }
  const std::string& branch() const noexcept { return branch_; }

 private:
  friend class transaction_layer;
  void on_timer(time_point now);
  void finish(client_event e);
  transaction_layer* layer_ = nullptr;
  std::string key_, branch_;
  sip_method method_ = sip_method::unknown;
  peer target_;
  std::string request_;
  std::string ack_head_;  // INVITE: ACK start line, Via, Route, From, Call-ID (To comes from the response)
  uint32_t cseq_ = 0;
  client_state state_ = client_state::trying;
  client_callback cb_;
  time_point retransmit_at_{}, end_at_{};
  milliseconds interval_{0};
  uint64_t timer_gen_ = 0;
};
using client_transaction_ptr = std::shared_ptr<client_transaction>;

// Counters of the layer; each field counts since creation.
struct transaction_counters {
  uint64_t server_created = 0;
  uint64_t client_created = 0;
  uint64_t requests_absorbed = 0;       // retransmitted requests matched to a server transaction
  uint64_t responses_resent = 0;        // last response sent again for such a retransmission
  uint64_t response_retransmits = 0;    // Timer G
  uint64_t request_retransmits = 0;     // Timers A and E
  uint64_t acks_matched = 0;            // ACKs absorbed by an INVITE server transaction (non-2xx)
  uint64_t server_timeouts = 0;         // Timer H: no ACK for a non-2xx final response
  uint64_t client_timeouts = 0;         // Timers B and F
  uint64_t stray_responses = 0;         // responses matching no client transaction
  uint64_t send_failures = 0;           // sender refused a message
};

enum class request_error : uint8_t { malformed, no_transport };

class transaction_layer {
 public:
  transaction_layer(message_sender& out, std::function<time_point()> now, timer_settings t = {});
  ~transaction_layer();
  transaction_layer(const transaction_layer&) = delete;
  transaction_layer& operator=(const transaction_layer&) = delete;

  // A received request: a new server transaction (INVITE: 100 Trying already sent), a
  // retransmission (absorbed, last response resent), or an ACK.
  struct request_match {
    enum class kind : uint8_t { created, retransmission, ack_matched, ack_unmatched } what;
    server_transaction_ptr tx;  // when created
  };
  request_match receive_request(const message_view& req, const peer& from);

  // A received response; false when it matches no client transaction (stray).
  bool receive_response(const message_view& resp, const peer& from);

  // The INVITE server transaction a CANCEL targets (same branch and sent-by), or nullptr.
  server_transaction_ptr find_invite(const message_view& cancel) const;

  // Starts a client transaction. `request` is a complete request without a Via (built with
  // message_builder); a Via with a fresh branch and rport is inserted as the top header.
  result<client_transaction_ptr, request_error> send_request(std::string request, const peer& to,
                                                             client_callback cb);

  // CANCELs an INVITE client transaction still waiting for its final response (RFC 3261
  // §9.1): a CANCEL with the INVITE's top Via (same branch), Request-URI, From, To, Call-ID,
  // CSeq number and Route, as a non-INVITE client transaction of its own. The INVITE still
  // ends through its own responses (487, or a 2xx that raced the CANCEL).
  result<client_transaction_ptr, request_error> send_cancel(const client_transaction_ptr& invite,
                                                            client_callback cb);

  // Earliest timer deadline (possibly of a cancelled timer: waking early is harmless).
  std::optional<time_point> next_deadline() const;
  // Fires every timer due at `now`.
  void run_timers(time_point now);
  // Called whenever a timer is scheduled earlier than every pending one (also from
  // responses a handler sends later), so the owner can re-arm its single OS timer.
  void on_earlier_deadline(std::function<void()> hook) { deadline_hook_ = std::move(hook); }

  size_t server_count() const noexcept { return servers_.size(); }
  size_t client_count() const noexcept { return clients_.size(); }
  const transaction_counters& counters() const noexcept { return counters_; }
  const timer_settings& timers() const noexcept { return t_; }

  // A random token for branches and tags (RFC 3261 §19.3: at least 32 bits of randomness).
  std::string random_token();

 private:
  friend class server_transaction;
  friend class client_transaction;
  struct timer_entry {
    time_point at;
    uint64_t gen;
    server_transaction_ptr server;
    client_transaction_ptr client;
    bool operator>(const timer_entry& o) const noexcept { return at > o.at; }
  };
  void schedule(server_transaction& tx);
  void schedule(client_transaction& tx);
  void terminate(server_transaction& tx);
  void terminate(client_transaction& tx);
  bool transmit(const peer& to, std::string_view bytes);
  result<client_transaction_ptr, request_error> launch(std::string&& request, const message_view& m,
                                                       const std::string& branch, const std::string& via_value,
                                                       const peer& to, client_callback cb);

  message_sender& out_;
  std::function<time_point()> now_;
  timer_settings t_;
  std::unordered_map<std::string, server_transaction_ptr> servers_;
  std::unordered_map<std::string, client_transaction_ptr> clients_;
  std::priority_queue<timer_entry, std::vector<timer_entry>, std::greater<>> timers_;
  transaction_counters counters_;
  uint64_t rng_state_;
  std::function<void()> deadline_hook_;
};

// Where responses to a request go (RFC 3261 §18.2.2, RFC 3581 §4): the connection it came
// on (TCP); the source address and port with rport; else the source address (what
// received= records) and the sent-by port, 5060 by default.
peer response_target(const via& top, const peer& source) noexcept;

}  // namespace tutti::sig
