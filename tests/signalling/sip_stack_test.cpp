// The SIP stack on 127.0.0.1, an ephemeral port, driven by plain UDP and TCP sockets:
// OPTIONS, 405/501/481/483/420, malformed requests, handlers answering later, TCP framing
// and keep-alives, a client transaction against a second stack. The io_context runs on
// the test thread; waits are hang guards, never timing expectations.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "signalling/sip_stack.hpp"

using namespace tutti::sig;
namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

constexpr auto guard = std::chrono::seconds(5);

struct stack_rig {
  asio::io_context io;
  sip_stack stack{io, stack_settings{}};
  udp::socket client{io};
  uint16_t port = 0;

  stack_rig() {
    auto p = stack.start();
    REQUIRE(p.ok());
    port = p.value();
    REQUIRE(port != 0);
    client.open(udp::v4());
    client.bind(udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client.non_blocking(true);
  }
  udp::endpoint server() const { return {asio::ip::make_address("127.0.0.1"), port}; }
  uint16_t client_port() const { return client.local_endpoint().port(); }

  void send(const std::string& msg) { client.send_to(asio::buffer(msg), server()); }

  // The next datagram for the client, running the stack meanwhile; nullopt after the guard.
  std::optional<std::string> receive() {
    const auto end = std::chrono::steady_clock::now() + guard;
    char buf[65536];
    while (std::chrono::steady_clock::now() < end) {
      boost::system::error_code ec;
      udp::endpoint from;
      const size_t n = client.receive_from(asio::buffer(buf), from, 0, ec);
      if (!ec) return std::string(buf, n);
      io.run_for(std::chrono::milliseconds(5));
    }
    return std::nullopt;
  }
  std::string exchange(const std::string& msg) {
    send(msg);
    auto r = receive();
    REQUIRE(r.has_value());
    return *r;
  }
};

std::string req(std::string_view method, std::string_view branch, uint16_t client_port,
                std::string_view extra = "", std::string_view cseq_method = {}) {
  std::string r = std::string(method) + " sip:service@127.0.0.1 SIP/2.0\r\n";
  r += "Via: SIP/2.0/UDP 127.0.0.1:" + std::to_string(client_port) + ";branch=" + std::string(branch) + ";rport\r\n";
  r += "Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:service@127.0.0.1>\r\n";
  r += "Call-ID: " + std::string(branch) + "@test\r\nCSeq: 1 " + std::string(cseq_method.empty() ? method : cseq_method) + "\r\n";
  r += extra;
  r += "Content-Length: 0\r\n\r\n";
  return r;
}

uint16_t status(const std::string& resp) { return static_cast<uint16_t>(std::stoi(resp.substr(8, 3))); }

std::string header(const std::string& resp, std::string_view name) {
  auto m = parse_message(resp);
  REQUIRE(m.ok());
  const header_field* f = m->find(name);
  return f ? std::string(f->value) : std::string();
}

}  // namespace

TEST_CASE("OPTIONS gets 200 with Allow, Accept and Supported; rport is honoured", "[signalling][sip_stack]") {
  stack_rig r;
  const std::string resp = r.exchange(req("OPTIONS", "z9hG4bKo1", r.client_port()));
  CHECK(status(resp) == 200);
  CHECK(header(resp, "Allow") == "OPTIONS");
  CHECK(header(resp, "Accept") == "application/sdp");
  CHECK(header(resp, "Call-ID") == "z9hG4bKo1@test");
  CHECK(header(resp, "Via").find(";rport=" + std::to_string(r.client_port())) != std::string::npos);
  CHECK(r.stack.counters().requests[static_cast<size_t>(sip_method::options)] == 1);
  CHECK(r.stack.counters().responses_sent[2] == 1);

  // The retransmission is answered from the transaction, the handler table is not consulted.
  CHECK(r.exchange(req("OPTIONS", "z9hG4bKo1", r.client_port())) == resp);
  CHECK(r.stack.counters().requests[static_cast<size_t>(sip_method::options)] == 1);
  CHECK(r.stack.transactions().counters().requests_absorbed == 1);
}

TEST_CASE("unhandled methods: 501 unknown, 405 known, 481 BYE, 483, 420, 416", "[signalling][sip_stack]") {
  stack_rig r;
  r.stack.on_request(sip_method::message, [](const message_view&, const peer&, server_transaction_ptr tx) {
    tx->reply(202);
  });
  std::string resp = r.exchange(req("FROB", "z9hG4bKu1", r.client_port()));
  CHECK(status(resp) == 501);
  CHECK(header(resp, "Allow") == "OPTIONS, MESSAGE");
  resp = r.exchange(req("SUBSCRIBE", "z9hG4bKu2", r.client_port(), "Event: presence\r\n"));
  CHECK(status(resp) == 405);
  CHECK(header(resp, "Allow") == "OPTIONS, MESSAGE");
  CHECK(status(r.exchange(req("BYE", "z9hG4bKu3", r.client_port()))) == 481);
  CHECK(status(r.exchange(req("MESSAGE", "z9hG4bKu4", r.client_port()))) == 202);
  // Max-Forwards 0: 483, except OPTIONS, which is answered (RFC 3261 §11).
  std::string mf0 = req("MESSAGE", "z9hG4bKu5", r.client_port());
  mf0.replace(mf0.find("Max-Forwards: 70"), 16, "Max-Forwards: 0");
  CHECK(status(r.exchange(mf0)) == 483);
  std::string opt0 = req("OPTIONS", "z9hG4bKu6", r.client_port());
  opt0.replace(opt0.find("Max-Forwards: 70"), 16, "Max-Forwards: 0");
  CHECK(status(r.exchange(opt0)) == 200);
  resp = r.exchange(req("MESSAGE", "z9hG4bKu7", r.client_port(), "Require: foo, 100rel\r\n"));
  CHECK(status(resp) == 420);
  CHECK(header(resp, "Unsupported") == "foo, 100rel");
  std::string mailto = req("MESSAGE", "z9hG4bKu8", r.client_port());
  mailto.replace(0, mailto.find(" SIP/2.0"), "MESSAGE mailto:a@example.net");
  CHECK(status(r.exchange(mailto)) == 416);
  CHECK(r.stack.counters().not_allowed == 2);
}

TEST_CASE("a handler answers later; retransmissions meanwhile are absorbed", "[signalling][sip_stack]") {
  stack_rig r;
  server_transaction_ptr held;
  int calls = 0;
  r.stack.on_request(sip_method::register_, [&](const message_view& m, const peer& from, server_transaction_ptr tx) {
    ++calls;
    CHECK(m.method() == sip_method::register_);
    CHECK(from.transport == transport_kind::udp);
    held = std::move(tx);
  });
  const std::string reg = req("REGISTER", "z9hG4bKr1", r.client_port());
  r.send(reg);
  r.send(reg);
  for (int i = 0; i < 20 && calls == 0; ++i) r.io.run_for(std::chrono::milliseconds(5));
  r.io.run_for(std::chrono::milliseconds(20));
  REQUIRE(calls == 1);
  REQUIRE(held);
  asio::post(r.io, [&] {
    message_builder b = held->response(401);
    b.add(header_id::www_authenticate, "Digest realm=\"localhost\", nonce=\"n\"");
    held->send(b.finish());
  });
  const auto resp = r.receive();
  REQUIRE(resp);
  CHECK(status(*resp) == 401);
  CHECK(header(*resp, "To").find(";tag=" + held->to_tag()) != std::string::npos);
  CHECK(r.stack.transactions().counters().requests_absorbed == 1);
  CHECK(calls == 1);
}

TEST_CASE("malformed datagrams are answered 400 or counted, and the stack keeps answering", "[signalling][sip_stack]") {
  stack_rig r;
  const auto& mal = r.stack.wire().counters().malformed;
  const auto count = [&](parse_reason p) { return mal[static_cast<size_t>(p)]; };

  // Missing Call-ID: nothing to build a response from, so a counted drop.
  std::string no_callid = req("OPTIONS", "z9hG4bKm1", r.client_port());
  no_callid.erase(no_callid.find("Call-ID:"), no_callid.find("\r\n", no_callid.find("Call-ID:")) + 2 - no_callid.find("Call-ID:"));
  r.send(no_callid);
  CHECK(status(r.exchange(req("OPTIONS", "z9hG4bKm2", r.client_port()))) == 200);
  CHECK(count(parse_reason::missing_header) == 1);

  // A Via that does not parse: dropped as well.
  std::string bad_via = req("OPTIONS", "z9hG4bKm3", r.client_port());
  bad_via.replace(bad_via.find("SIP/2.0/UDP"), 11, "SIP/2.0/UDP/@@");
  r.send(bad_via);
  CHECK(status(r.exchange(req("OPTIONS", "z9hG4bKm4", r.client_port()))) == 200);
  CHECK(count(parse_reason::bad_via) == 1);

  // Content-Length beyond the datagram: answerable, so 400.
  std::string huge = req("OPTIONS", "z9hG4bKm5", r.client_port());
  huge.replace(huge.find("Content-Length: 0"), 17, "Content-Length: 4294967295");
  const std::string resp = r.exchange(huge);
  CHECK(status(resp) == 400);
  CHECK(header(resp, "Call-ID") == "z9hG4bKm5@test");
  CHECK(count(parse_reason::body_truncated) + count(parse_reason::message_too_large) == 1);
  CHECK(r.stack.wire().counters().malformed_answered == 1);

  // Truncated in the middle of the headers.
  std::string cut = req("OPTIONS", "z9hG4bKm6", r.client_port());
  r.send(cut.substr(0, cut.find("CSeq")));
  CHECK(status(r.exchange(req("OPTIONS", "z9hG4bKm7", r.client_port()))) == 200);
  CHECK(r.stack.wire().counters().malformed_total() == 4);

  // SIP/3.0: 505.
  std::string v3 = req("OPTIONS", "z9hG4bKm8", r.client_port());
  v3.replace(v3.find("SIP/2.0\r\n"), 7, "SIP/3.0");
  CHECK(status(r.exchange(v3)) == 505);

  // Garbage and an empty keep-alive datagram.
  r.send(std::string("\x01\x02garbage\xff", 11));
  r.send("\r\n\r\n");
  CHECK(status(r.exchange(req("OPTIONS", "z9hG4bKm9", r.client_port()))) == 200);
  CHECK(r.stack.wire().counters().keepalives == 1);
  CHECK(r.stack.counters().requests[static_cast<size_t>(sip_method::options)] == 4);
}

TEST_CASE("TCP: framing, pipelining, keep-alive, answers on the same connection", "[signalling][sip_stack]") {
  stack_rig r;
  tcp::socket s(r.io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), r.port));
  s.non_blocking(true);
  const auto read_some = [&](size_t want) {
    std::string got;
    const auto end = std::chrono::steady_clock::now() + guard;
    char buf[4096];
    while (got.size() < want && std::chrono::steady_clock::now() < end) {
      boost::system::error_code ec;
      const size_t n = s.read_some(asio::buffer(buf), ec);
      if (!ec) got.append(buf, n);
      else r.io.run_for(std::chrono::milliseconds(5));
    }
    return got;
  };
  std::string a = req("OPTIONS", "z9hG4bKt1", 1);
  std::string b = req("FROB", "z9hG4bKt2", 1);
  for (std::string* m : {&a, &b}) m->replace(m->find("SIP/2.0/UDP"), 11, "SIP/2.0/TCP");
  // Two requests in one write, the second split across two writes.
  const std::string both = a + b;
  asio::write(s, asio::buffer(both.data(), a.size() + 10));
  r.io.run_for(std::chrono::milliseconds(20));
  asio::write(s, asio::buffer(both.data() + a.size() + 10, b.size() - 10));
  std::string got = read_some(1);
  while (got.find("SIP/2.0 501") == std::string::npos) {
    const std::string more = read_some(got.size() + 1);
    REQUIRE(more.size() > 0);
    got += more;
  }
  CHECK(got.find("SIP/2.0 200 OK") == 0);
  CHECK(got.find("SIP/2.0 501") != std::string::npos);
  CHECK(r.stack.wire().counters().tcp_received == 2);

  // RFC 5626 ping → pong.
  asio::write(s, asio::buffer(std::string("\r\n\r\n")));
  CHECK(read_some(2) == "\r\n");

  // No Content-Length on a stream: framing is lost, the connection closes.
  std::string nocl = req("OPTIONS", "z9hG4bKt3", 1);
  nocl.erase(nocl.find("Content-Length: 0\r\n"), 19);
  asio::write(s, asio::buffer(nocl));
  for (int i = 0; i < 200 && r.stack.wire().connection_count() != 0; ++i) r.io.run_for(std::chrono::milliseconds(5));
  CHECK(r.stack.wire().connection_count() == 0);
  CHECK(r.stack.wire().counters().malformed[static_cast<size_t>(parse_reason::missing_content_length)] == 1);
}

TEST_CASE("a client transaction between two stacks, over UDP and TCP", "[signalling][sip_stack]") {
  asio::io_context io;
  sip_stack server(io, stack_settings{}), client(io, stack_settings{});
  REQUIRE(server.start().ok());
  REQUIRE(client.start().ok());
  server.on_request(sip_method::message, [](const message_view& m, const peer&, server_transaction_ptr tx) {
    tx->reply(m.body() == "hello" ? 200 : 488);
  });
  for (transport_kind k : {transport_kind::udp, transport_kind::tcp}) {
    std::optional<uint16_t> final_status;
    const std::string msg = message_builder::request("MESSAGE", "sip:room@127.0.0.1")
                                .add(header_id::max_forwards, 70)
                                .add(header_id::from, "<sip:focus@127.0.0.1>;tag=x")
                                .add(header_id::to, "<sip:room@127.0.0.1>")
                                .add(header_id::call_id, std::string("cx-") + std::string(to_string(k)))
                                .add(header_id::cseq, "1 MESSAGE")
                                .finish("hello", "text/plain");
    auto tx = client.send_request(msg, peer{k, asio::ip::make_address("127.0.0.1"), server.port(), 0},
                                  [&](const client_event& e) {
                                    if (e.what != client_event::kind::provisional) final_status = e.status;
                                  });
    REQUIRE(tx.ok());
    const auto end = std::chrono::steady_clock::now() + guard;
    while (!final_status && std::chrono::steady_clock::now() < end) io.run_for(std::chrono::milliseconds(5));
    REQUIRE(final_status);
    CHECK(*final_status == 200);
  }
  CHECK(client.counters().responses_received[2] == 2);
  CHECK(server.counters().requests[static_cast<size_t>(sip_method::message)] == 2);
}

TEST_CASE("receive() without a socket: answers go to the tap, malformed ones too", "[signalling][sip_stack]") {
  asio::io_context io;
  sip_stack stack{io, stack_settings{}};
  std::vector<std::pair<peer, std::string>> out;
  stack.wire().set_tap([&](const peer& to, std::string_view bytes) {
    out.emplace_back(to, std::string(bytes));
    return true;
  });
  const peer from{transport_kind::udp, asio::ip::make_address("127.0.0.1"), 5999, 0};
  stack.wire().receive(req("OPTIONS", "z9hG4bKt1", 5999), from);
  REQUIRE(out.size() == 1);
  CHECK(status(out[0].second) == 200);
  CHECK(out[0].first.port == 5999);
  CHECK(stack.counters().requests[static_cast<size_t>(sip_method::options)] == 1);
  // Another SIP version is answered 505 (RFC 3261 §21.5.6) through the same tap.
  std::string bad = req("OPTIONS", "z9hG4bKt2", 5999);
  bad.replace(bad.find("SIP/2.0\r\n"), 7, "SIP/3.0");
  stack.wire().receive(bad, from);
  REQUIRE(out.size() == 2);
  CHECK(status(out[1].second) == 505);
  CHECK(stack.wire().counters().malformed_total() == 1);
  CHECK(stack.wire().counters().sent == 2);
  // A CRLF keep-alive datagram is counted, not answered.
  stack.wire().receive("\r\n\r\n", from);
  CHECK(out.size() == 2);
  CHECK(stack.wire().counters().keepalives == 1);
}
