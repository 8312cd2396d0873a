// The transaction layer against a fake wire and a fake clock: retransmission absorption,
// Timers A/B/D/E/F/G/H/I/J/K, ACK matching, response targets (RFC 3261 §17, §18.2.2,
// RFC 3581). Time moves only when a test advances it.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "signalling/transaction.hpp"

using namespace tutti::sig;
using namespace std::chrono_literals;

namespace {

struct fake_wire final : message_sender {
  struct sent_message {
    peer to;
    std::string bytes;
  };
  std::vector<sent_message> sent;
  bool fail = false;
  bool send(const peer& to, std::string_view bytes) override {
    if (fail) return false;
    sent.push_back({to, std::string(bytes)});
    return true;
  }
  std::string sent_by(transport_kind) const override { return "192.0.2.1:5070"; }
};

struct rig {
  fake_wire wire;
  time_point now = time_point{} + 1000s;
  transaction_layer layer{wire, [this] { return now; }};

  void advance(milliseconds d) {
    // Step 10 ms at a time so each timer fires at its own deadline.
    for (milliseconds t{0}; t < d; t += 10ms) {
      now += 10ms;
      layer.run_timers(now);
    }
  }
};

peer udp_peer(uint16_t port = 40000) {
  return peer{transport_kind::udp, boost::asio::ip::make_address("198.51.100.7"), port, 0};
}
peer tcp_peer() { return peer{transport_kind::tcp, boost::asio::ip::make_address("198.51.100.7"), 40001, 9}; }

std::string request(std::string_view method, std::string_view branch, std::string_view via_extra = "",
                    std::string_view cseq_method = {}) {
  std::string m(method);
  std::string r = m + " sip:alice@example.net SIP/2.0\r\n";
  r += "Via: SIP/2.0/UDP 198.51.100.7:5062;branch=" + std::string(branch) + std::string(via_extra) + "\r\n";
  r += "Max-Forwards: 70\r\nFrom: <sip:bob@example.net>;tag=f1\r\nTo: <sip:alice@example.net>\r\n";
  r += "Call-ID: c1@example.net\r\nCSeq: 7 " + std::string(cseq_method.empty() ? method : cseq_method) + "\r\n";
  r += "Content-Length: 0\r\n\r\n";
  return r;
}

message_view parse(const std::string& s) {
  auto m = parse_message(s);
  REQUIRE(m.ok());
  return *m;
}

uint16_t status_of(const std::string& s) { return static_cast<uint16_t>(std::stoi(s.substr(8, 3))); }

// A response to a request the layer sent, with the To tag given.
std::string response_to(const std::string& req_text, uint16_t status) {
  message_view req = parse(req_text);
  return make_response(req, status, {}, {"totag", {}}).finish();
}

}  // namespace

TEST_CASE("non-INVITE server transaction absorbs retransmissions and ends after Timer J", "[signalling][transaction]") {
  rig r;
  const std::string reg = request("REGISTER", "z9hG4bKreg1");
  auto m1 = r.layer.receive_request(parse(reg), udp_peer());
  REQUIRE(m1.what == transaction_layer::request_match::kind::created);
  REQUIRE(m1.tx->method() == sip_method::register_);
  CHECK(r.wire.sent.empty());  // no 100 for non-INVITE

  // Trying: a retransmission before any response is absorbed silently (§17.2.2).
  auto m2 = r.layer.receive_request(parse(reg), udp_peer());
  CHECK(m2.what == transaction_layer::request_match::kind::retransmission);
  CHECK(r.wire.sent.empty());

  REQUIRE(m1.tx->reply(401));
  REQUIRE(r.wire.sent.size() == 1);
  CHECK(status_of(r.wire.sent[0].bytes) == 401);
  CHECK(m1.tx->state() == server_state::completed);

  // Completed: the same request gets the same response again, byte for byte.
  auto m3 = r.layer.receive_request(parse(reg), udp_peer());
  CHECK(m3.what == transaction_layer::request_match::kind::retransmission);
  REQUIRE(r.wire.sent.size() == 2);
  CHECK(r.wire.sent[1].bytes == r.wire.sent[0].bytes);
  CHECK(r.layer.counters().requests_absorbed == 2);
  CHECK(r.layer.counters().responses_resent == 1);

  // A second final response is refused.
  CHECK_FALSE(m1.tx->reply(200));

  // Timer J = 64*T1 = 32 s over UDP.
  r.advance(31990ms);
  CHECK(r.layer.server_count() == 1);
  r.advance(20ms);
  CHECK(r.layer.server_count() == 0);
  CHECK(m1.tx->state() == server_state::terminated);
  // Afterwards the same branch is a new transaction.
  CHECK(r.layer.receive_request(parse(reg), udp_peer()).what == transaction_layer::request_match::kind::created);
}

TEST_CASE("server transactions are keyed by branch, sent-by and method", "[signalling][transaction]") {
  rig r;
  CHECK(r.layer.receive_request(parse(request("OPTIONS", "z9hG4bKa")), udp_peer()).what ==
        transaction_layer::request_match::kind::created);
  CHECK(r.layer.receive_request(parse(request("OPTIONS", "z9hG4bKb")), udp_peer()).what ==
        transaction_layer::request_match::kind::created);
  // Same branch, other method (a CANCEL for an INVITE shares its branch).
  CHECK(r.layer.receive_request(parse(request("INVITE", "z9hG4bKc")), udp_peer()).what ==
        transaction_layer::request_match::kind::created);
  const std::string cancel_text = request("CANCEL", "z9hG4bKc");  // the view points into it
  auto cancel = parse(cancel_text);
  CHECK(r.layer.receive_request(cancel, udp_peer()).what == transaction_layer::request_match::kind::created);
  REQUIRE(r.layer.find_invite(cancel) != nullptr);
  CHECK(r.layer.find_invite(cancel)->method() == sip_method::invite);
  CHECK(r.layer.server_count() == 4);
  // RFC 2543 requests (no magic cookie) match on Call-ID, CSeq, From tag and Via.
  CHECK(r.layer.receive_request(parse(request("OPTIONS", "old1")), udp_peer()).what ==
        transaction_layer::request_match::kind::created);
  CHECK(r.layer.receive_request(parse(request("OPTIONS", "old1")), udp_peer()).what ==
        transaction_layer::request_match::kind::retransmission);
}

TEST_CASE("INVITE server transaction: 100 at once, Timer G, ACK, Timer I", "[signalling][transaction]") {
  rig r;
  const std::string inv = request("INVITE", "z9hG4bKinv1");
  auto m = r.layer.receive_request(parse(inv), udp_peer());
  REQUIRE(m.what == transaction_layer::request_match::kind::created);
  REQUIRE(r.wire.sent.size() == 1);
  CHECK(status_of(r.wire.sent[0].bytes) == 100);
  CHECK(r.wire.sent[0].bytes.find("To: <sip:alice@example.net>\r\n") != std::string::npos);  // no To tag on 100

  // A retransmitted INVITE gets the 100 again.
  r.layer.receive_request(parse(inv), udp_peer());
  REQUIRE(r.wire.sent.size() == 2);
  CHECK(status_of(r.wire.sent[1].bytes) == 100);

  REQUIRE(m.tx->reply(486));
  REQUIRE(r.wire.sent.size() == 3);
  CHECK(r.wire.sent[2].bytes.find("To: <sip:alice@example.net>;tag=" + m.tx->to_tag()) != std::string::npos);
  // Timer G: T1, then 2*T1.
  r.advance(490ms);
  CHECK(r.wire.sent.size() == 3);
  r.advance(20ms);
  CHECK(r.wire.sent.size() == 4);
  r.advance(1000ms);
  CHECK(r.wire.sent.size() == 5);
  CHECK(r.layer.counters().response_retransmits == 2);

  // The ACK (same branch) ends retransmission; ACK retransmissions are absorbed too.
  auto ack = r.layer.receive_request(parse(request("ACK", "z9hG4bKinv1")), udp_peer());
  CHECK(ack.what == transaction_layer::request_match::kind::ack_matched);
  CHECK(m.tx->state() == server_state::confirmed);
  CHECK(r.layer.receive_request(parse(request("ACK", "z9hG4bKinv1")), udp_peer()).what ==
        transaction_layer::request_match::kind::ack_matched);
  r.advance(4990ms);
  CHECK(r.wire.sent.size() == 5);
  CHECK(r.layer.server_count() == 1);
  r.advance(20ms);  // Timer I = T4
  CHECK(r.layer.server_count() == 0);
  CHECK(r.layer.counters().server_timeouts == 0);
}

TEST_CASE("INVITE server transaction without ACK: Timer G doubles to T2, Timer H ends it", "[signalling][transaction]") {
  rig r;
  auto m = r.layer.receive_request(parse(request("INVITE", "z9hG4bKinv2")), udp_peer());
  REQUIRE(m.tx->reply(603));
  r.advance(33000ms);
  // Retransmits at 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5 s; H at 32 s.
  CHECK(r.layer.counters().response_retransmits == 10);
  CHECK(r.layer.counters().server_timeouts == 1);
  CHECK(r.layer.server_count() == 0);
}

TEST_CASE("INVITE 2xx: Accepted, retransmitted INVITE gets the 2xx, ends after Timer L", "[signalling][transaction]") {
  rig r;
  const std::string inv = request("INVITE", "z9hG4bKinv3");
  auto m = r.layer.receive_request(parse(inv), udp_peer());
  REQUIRE(m.tx->reply(200));
  CHECK(m.tx->state() == server_state::accepted);
  r.layer.receive_request(parse(inv), udp_peer());
  REQUIRE(r.wire.sent.size() == 3);
  CHECK(status_of(r.wire.sent[2].bytes) == 200);
  // An ACK for the 2xx has its own branch: the transaction user's.
  CHECK(r.layer.receive_request(parse(request("ACK", "z9hG4bKother")), udp_peer()).what ==
        transaction_layer::request_match::kind::ack_unmatched);
  r.advance(32010ms);
  CHECK(r.layer.server_count() == 0);
  CHECK(r.layer.counters().response_retransmits == 0);  // 2xx retransmission is not Timer G's
}

TEST_CASE("over TCP: no Timer G, Timer J and I are zero", "[signalling][transaction]") {
  rig r;
  auto opt = r.layer.receive_request(parse(request("OPTIONS", "z9hG4bKt1")), tcp_peer());
  REQUIRE(opt.tx->reply(200));
  CHECK(r.layer.server_count() == 0);
  CHECK(r.wire.sent[0].to.connection == 9);

  auto inv = r.layer.receive_request(parse(request("INVITE", "z9hG4bKt2")), tcp_peer());
  REQUIRE(inv.tx->reply(480));
  r.advance(5000ms);
  CHECK(r.layer.counters().response_retransmits == 0);
  CHECK(r.layer.receive_request(parse(request("ACK", "z9hG4bKt2")), tcp_peer()).what ==
        transaction_layer::request_match::kind::ack_matched);
  CHECK(r.layer.server_count() == 0);
}

TEST_CASE("responses go where RFC 3261 §18.2.2 and RFC 3581 say", "[signalling][transaction]") {
  rig r;
  // rport: the source port; no rport: the sent-by port; the Via records received/rport.
  auto a = r.layer.receive_request(parse(request("OPTIONS", "z9hG4bKr1", ";rport")), udp_peer(40000));
  a.tx->reply(200);
  CHECK(r.wire.sent.back().to.port == 40000);
  CHECK(r.wire.sent.back().bytes.find("Via: SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bKr1;rport=40000;received=198.51.100.7\r\n") !=
        std::string::npos);
  auto b = r.layer.receive_request(parse(request("OPTIONS", "z9hG4bKr2")), udp_peer(40000));
  b.tx->reply(200);
  CHECK(r.wire.sent.back().to.port == 5062);
  CHECK(r.wire.sent.back().to.address.to_string() == "198.51.100.7");
}

TEST_CASE("an unanswered non-INVITE server transaction is dropped after 64*T1", "[signalling][transaction]") {
  rig r;
  auto m = r.layer.receive_request(parse(request("MESSAGE", "z9hG4bKm1")), udp_peer());
  r.advance(32010ms);
  CHECK(r.layer.server_count() == 0);
  CHECK_FALSE(m.tx->reply(200));
  CHECK(r.wire.sent.empty());
}

TEST_CASE("non-INVITE client transaction: Timer E, final response, Timer K", "[signalling][transaction]") {
  rig r;
  std::vector<client_event::kind> events;
  std::vector<uint16_t> statuses;
  auto tx = r.layer.send_request(
      "OPTIONS sip:carol@example.net SIP/2.0\r\nMax-Forwards: 70\r\nFrom: <sip:focus@example.net>;tag=a\r\n"
      "To: <sip:carol@example.net>\r\nCall-ID: k1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
      udp_peer(5080), [&](const client_event& e) {
        events.push_back(e.what);
        statuses.push_back(e.status);
      });
  REQUIRE(tx.ok());
  REQUIRE(r.wire.sent.size() == 1);
  const std::string sent = r.wire.sent[0].bytes;
  CHECK(sent.find("Via: SIP/2.0/UDP 192.0.2.1:5070;branch=" + tx.value()->branch() + ";rport\r\n") != std::string::npos);
  CHECK(tx.value()->branch().substr(0, 7) == "z9hG4bK");
  r.advance(510ms);
  CHECK(r.wire.sent.size() == 2);  // E at T1
  r.advance(1000ms);
  CHECK(r.wire.sent.size() == 3);  // then 2*T1
  CHECK(r.wire.sent[2].bytes == sent);

  std::string resp = response_to(sent, 180);
  CHECK(r.layer.receive_response(parse(resp), udp_peer(5080)));
  resp = response_to(sent, 200);
  CHECK(r.layer.receive_response(parse(resp), udp_peer(5080)));
  CHECK(r.layer.receive_response(parse(resp), udp_peer(5080)));  // retransmission absorbed
  REQUIRE(events.size() == 2);
  CHECK(events[0] == client_event::kind::provisional);
  CHECK(events[1] == client_event::kind::final_response);
  CHECK(statuses[1] == 200);
  r.advance(5010ms);  // Timer K = T4
  CHECK(r.layer.client_count() == 0);
  CHECK(r.wire.sent.size() == 3);

  // A response for no transaction is stray.
  CHECK_FALSE(r.layer.receive_response(parse(resp), udp_peer(5080)));
  CHECK(r.layer.counters().stray_responses == 1);
}

TEST_CASE("non-INVITE client transaction times out with Timer F", "[signalling][transaction]") {
  rig r;
  int timeouts = 0;
  auto tx = r.layer.send_request(
      "MESSAGE sip:carol@example.net SIP/2.0\r\nMax-Forwards: 70\r\nFrom: <sip:focus@example.net>;tag=a\r\n"
      "To: <sip:carol@example.net>\r\nCall-ID: k2\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n",
      udp_peer(5080), [&](const client_event& e) {
        if (e.what == client_event::kind::timeout && e.status == 408) ++timeouts;
      });
  REQUIRE(tx.ok());
  r.advance(31990ms);
  CHECK(timeouts == 0);
  r.advance(20ms);
  CHECK(timeouts == 1);
  // 0.5, 1.5, 3.5, 7.5, 11.5, ... 31.5 s: ten retransmissions (E capped at T2).
  CHECK(r.layer.counters().request_retransmits == 10);
  CHECK(r.layer.client_count() == 0);
}

TEST_CASE("INVITE client transaction: Timer A doubles, non-2xx is ACKed, Timer D", "[signalling][transaction]") {
  rig r;
  std::vector<uint16_t> finals;
  auto tx = r.layer.send_request(
      "INVITE sip:carol@example.net SIP/2.0\r\nMax-Forwards: 70\r\nRoute: <sip:proxy.example.net;lr>\r\n"
      "From: <sip:focus@example.net>;tag=a\r\nTo: <sip:carol@example.net>\r\nCall-ID: k3\r\n"
      "CSeq: 4 INVITE\r\nContent-Length: 0\r\n\r\n",
      udp_peer(5080), [&](const client_event& e) {
        if (e.what == client_event::kind::final_response) finals.push_back(e.status);
      });
  REQUIRE(tx.ok());
  const std::string sent = r.wire.sent[0].bytes;
  r.advance(3600ms);  // A at 0.5, 1.5, 3.5 s
  CHECK(r.layer.counters().request_retransmits == 3);

  r.layer.receive_response(parse(response_to(sent, 486)), udp_peer(5080));
  REQUIRE(finals == std::vector<uint16_t>{486});
  REQUIRE(r.wire.sent.size() == 5);
  const std::string ack = r.wire.sent[4].bytes;
  auto am = parse(ack);
  CHECK(am.method() == sip_method::ack);
  CHECK(am.top_via().branch == tx.value()->branch());  // same branch as the INVITE
  CHECK(am.to().tag == "totag");
  CHECK(am.cseq().number == 4);
  CHECK(am.cseq().method == sip_method::ack);
  CHECK(am.find(header_id::route) != nullptr);
  // A retransmitted 486 is ACKed again and not reported.
  r.layer.receive_response(parse(response_to(sent, 486)), udp_peer(5080));
  CHECK(r.wire.sent.size() == 6);
  CHECK(r.wire.sent[5].bytes == ack);
  CHECK(finals.size() == 1);
  r.advance(32010ms);  // Timer D
  CHECK(r.layer.client_count() == 0);
}

TEST_CASE("INVITE client transaction: 1xx stops Timers A and B, every 2xx reaches the user", "[signalling][transaction]") {
  rig r;
  int provisional = 0, finals = 0, retrans = 0, timeouts = 0;
  auto tx = r.layer.send_request(
      "INVITE sip:carol@example.net SIP/2.0\r\nMax-Forwards: 70\r\nFrom: <sip:focus@example.net>;tag=a\r\n"
      "To: <sip:carol@example.net>\r\nCall-ID: k4\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
      udp_peer(5080), [&](const client_event& e) {
        if (e.what == client_event::kind::provisional) ++provisional;
        if (e.what == client_event::kind::final_response) ++finals, retrans += e.retransmission;
        if (e.what == client_event::kind::timeout) ++timeouts;
      });
  REQUIRE(tx.ok());
  const std::string sent = r.wire.sent[0].bytes;
  r.layer.receive_response(parse(response_to(sent, 180)), udp_peer(5080));
  r.advance(40000ms);
  CHECK(timeouts == 0);
  CHECK(r.wire.sent.size() == 1);
  r.layer.receive_response(parse(response_to(sent, 200)), udp_peer(5080));
  r.layer.receive_response(parse(response_to(sent, 200)), udp_peer(5080));
  CHECK(provisional == 1);
  CHECK(finals == 2);
  CHECK(retrans == 1);
  CHECK(r.wire.sent.size() == 1);  // the ACK for 2xx is the user's
  r.advance(32010ms);              // Timer M
  CHECK(r.layer.client_count() == 0);
}

TEST_CASE("send_request refuses malformed requests and reports a dead wire", "[signalling][transaction]") {
  rig r;
  CHECK(r.layer.send_request("garbage", udp_peer(), {}).error() == request_error::malformed);
  CHECK(r.layer.send_request("OPTIONS sip:x SIP/2.0\r\n\r\n", udp_peer(), {}).error() == request_error::malformed);
  r.wire.fail = true;
  CHECK(r.layer.send_request("OPTIONS sip:x@example.net SIP/2.0\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@example.net>\r\n"
                             "Call-ID: z\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
                             udp_peer(), {})
            .error() == request_error::no_transport);
  CHECK(r.layer.client_count() == 0);
}

TEST_CASE("CANCEL of an INVITE client transaction: same branch, only after a provisional", "[signalling][transaction]") {
  rig r;
  std::vector<uint16_t> invite_statuses, cancel_statuses;
  auto inv = r.layer.send_request(
      "INVITE sip:carol@192.0.2.9:5090 SIP/2.0\r\nMax-Forwards: 70\r\nRoute: <sip:proxy.example.net;lr>\r\n"
      "From: <sip:room@example.net>;tag=f9\r\nTo: <sip:carol@example.net>\r\nCall-ID: d1\r\nCSeq: 1 INVITE\r\n"
      "Content-Length: 0\r\n\r\n",
      udp_peer(5090), [&](const client_event& e) { invite_statuses.push_back(e.status); });
  REQUIRE(inv.ok());
  const std::string invite = r.wire.sent[0].bytes;
  // Not before a provisional response would be fine per transaction state (Calling), but a
  // completed transaction cannot be cancelled.
  CHECK(r.layer.receive_response(parse(response_to(invite, 180)), udp_peer(5090)));
  auto cancel = r.layer.send_cancel(inv.value(), [&](const client_event& e) { cancel_statuses.push_back(e.status); });
  REQUIRE(cancel.ok());
  REQUIRE(r.wire.sent.size() == 2);
  const message_view c = parse(r.wire.sent[1].bytes);
  CHECK(c.method() == sip_method::cancel);
  CHECK(c.request_uri().text == "sip:carol@192.0.2.9:5090");
  CHECK(c.top_via().branch == inv.value()->branch());  // RFC 3261 §9.1
  CHECK(c.cseq().number == 1);
  CHECK(c.cseq().method_text == "CANCEL");
  CHECK(c.call_id() == "d1");
  CHECK(c.from().tag == "f9");
  CHECK_FALSE(c.to().has_tag);
  CHECK(c.count(header_id::route) == 1);
  CHECK(r.wire.sent[1].to.port == 5090);
  // The CANCEL's 200 and the INVITE's 487 go to their own transactions.
  CHECK(r.layer.receive_response(parse(response_to(r.wire.sent[1].bytes, 200)), udp_peer(5090)));
  CHECK(r.layer.receive_response(parse(response_to(invite, 487)), udp_peer(5090)));
  REQUIRE(cancel_statuses.size() == 1);
  CHECK(cancel_statuses[0] == 200);
  REQUIRE(invite_statuses.size() == 2);
  CHECK(invite_statuses[1] == 487);
  // Completed now (ACK sent for the 487): nothing left to cancel.
  CHECK_FALSE(r.layer.send_cancel(inv.value(), [](const client_event&) {}).ok());
}

TEST_CASE("CANCEL is refused for a non-INVITE transaction", "[signalling][transaction]") {
  rig r;
  auto tx = r.layer.send_request(
      "OPTIONS sip:carol@example.net SIP/2.0\r\nMax-Forwards: 70\r\nFrom: <sip:focus@example.net>;tag=a\r\n"
      "To: <sip:carol@example.net>\r\nCall-ID: k9\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
      udp_peer(5080), [](const client_event&) {});
  REQUIRE(tx.ok());
  CHECK_FALSE(r.layer.send_cancel(tx.value(), [](const client_event&) {}).ok());
  CHECK_FALSE(r.layer.send_cancel(nullptr, [](const client_event&) {}).ok());
}
