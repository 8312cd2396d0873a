// The chat service's delivery streams, in process: a real SIP stack on loopback with short
// timers, the SQLite store, and UDP sockets standing in for members' devices. Messages are
// injected with chat.send (the SIPp scenarios in tests/sip/ cover MESSAGE with digest).
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/chat_service.hpp"
#include "control/commands.hpp"
#include "control/config.hpp"
#include "control/log.hpp"
#include "control/metrics.hpp"
#include "control/registrar_service.hpp"
#include "control/sqlite_store.hpp"
#include "signalling/auth.hpp"
#include "signalling/digest.hpp"
#include "signalling/registrar.hpp"
#include "signalling/sip/serializer.hpp"
#include "signalling/sip_stack.hpp"
#include "tests/control/service_env.hpp"
#include "tests/control/sip_client_util.hpp"
#include "tests/control/test_util.hpp"

using namespace tutti::ctl;
namespace asio = boost::asio;
namespace json = boost::json;
using udp = asio::ip::udp;

namespace {

uint64_t now_s() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

// A member's device: a UDP socket that records the room's MESSAGEs and answers on demand.
struct device {
  explicit device(asio::io_context& io) : sock(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    sock.non_blocking(true);
  }
  udp::socket sock;
  struct received {
    std::string text;
    udp::endpoint from;
    uint64_t seq = 0;
  };
  std::vector<received> messages;  // first copies only (retransmissions dropped)
  std::vector<std::string> responses;  // answers to what this device sent
  std::map<std::string, bool> seen_call_ids;

  uint16_t port() const { return sock.local_endpoint().port(); }
  void poll() {
    char buf[65536];
    for (;;) {
      udp::endpoint from;
      boost::system::error_code ec;
      size_t n = sock.receive_from(asio::buffer(buf), from, 0, ec);
      if (ec) return;
      std::string text(buf, n);
      auto m = tutti::sig::parse_message(text);
      REQUIRE(m.ok());
      if (m->is_response()) {
        responses.push_back(text);
        continue;
      }
      const std::string call_id(m->call_id());
      if (seen_call_ids[call_id]) continue;
      seen_call_ids[call_id] = true;
      const auto* seq = m->find("X-Tutti-Seq");
      REQUIRE(seq);
      messages.push_back({text, from, std::stoull(std::string(seq->value))});
    }
  }
  void answer(size_t i, uint16_t status = 200) {
    auto m = tutti::sig::parse_message(messages[i].text);
    REQUIRE(m.ok());
    std::string r = tutti::sig::make_response(*m, status, {}, {"dev", {}}).finish();
    sock.send_to(asio::buffer(r), messages[i].from);
  }
  std::vector<uint64_t> seqs() const {
    std::vector<uint64_t> v;
    for (auto& m : messages) v.push_back(m.seq);
    return v;
  }
  tutti::sig::binding binding(const std::string& user) const {
    tutti::sig::binding b;
    b.contact = "sip:" + user + "@127.0.0.1:" + std::to_string(port());
    b.transport = "udp";
    b.source_ip = "127.0.0.1";
    b.source_port = port();
    b.expires_at_s = now_s() + 300;
    b.updated_s = now_s();
    return b;
  }
};

struct fixture : tutti::ctl::test::service_env {
  fixture(uint32_t window) {
    cfg.domain = "example.net";
    auto s = sqlite_store::open(io, {dir / "tutti.db", cfg.domain, sqlite_sync::normal, 1024});
    REQUIRE(s.ok());
    db = std::move(s.value());
    tutti::sig::stack_settings st;
    st.timers.t1 = std::chrono::milliseconds(5);  // Timer F (64·T1) = 320 ms
    st.timers.t2 = std::chrono::milliseconds(40);
    st.timers.t4 = std::chrono::milliseconds(50);
    stack = std::make_unique<tutti::sig::sip_stack>(io, st);
    REQUIRE(stack->start().ok());
    registrar = registrar_service::start(ctx, *stack, creds);
    chat_settings cs;
    cs.window = window;
    cs.retry_s = 3600;  // only a registration resumes a paused stream in these tests
    chat = chat_service::start(ctx, *stack, *db, *registrar, cs);
    for (auto u : {"alice", "bob"}) {
      bool done = false;
      db->user_add(u, "pw", "", [&](auto r) { REQUIRE(r.ok()); done = true; });
      run_until([&] { return done; });
    }
    bool done = false;
    db->chat_create("lobby", {"alice", "bob"}, [&](auto r) { REQUIRE(r.ok()); done = true; });
    run_until([&] { return done; });
  }
  ~fixture() {
    bool stopped = false;
    chat->stop([&] { stopped = true; });
    db->close([&] { stopped = stopped && true; });
    io.run_for(std::chrono::milliseconds(100));
    stack->stop();
  }

  // Runs the control thread until `pred` holds (10 s at most), polling the devices.
  template <typename P>
  bool run_until(P pred) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < end) {
      for (auto* d : devices) d->poll();
      if (pred()) return true;
      io.run_for(std::chrono::milliseconds(2));
    }
    return pred();
  }
  void run_for(std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) {
      for (auto* dev : devices) dev->poll();
      io.run_for(std::chrono::milliseconds(2));
    }
  }
  void send(const std::string& body) {
    bool done = false;
    commands.dispatch("chat.send", json::object{{"room", "lobby"}, {"from", "alice"}, {"body", body}},
                      [&](command_result r) { REQUIRE(r.ok()); done = true; });
    REQUIRE(run_until([&] { return done; }));
  }
  // A MESSAGE from `dev` as `user` to the room, as a client sends it: challenged, sent again
  // with digest credentials; answers the final response to the second.
  std::string message_from(device& dev, const std::string& user, const std::string& body) {
    const std::string uri = "sip:lobby@example.net";
    auto text = [&](uint32_t cseq, const std::string& authorization) {
      std::string m = "MESSAGE " + uri + " SIP/2.0\r\n";
      m += "Via: SIP/2.0/UDP 127.0.0.1:" + std::to_string(dev.port()) + ";branch=z9hG4bK-" + body + "-" + std::to_string(cseq) +
           ";rport\r\n";
      m += "From: <sip:" + user + "@example.net>;tag=mt\r\nTo: <" + uri + ">\r\nCall-ID: msg-" + body + "\r\n";
      m += "CSeq: " + std::to_string(cseq) + " MESSAGE\r\nMax-Forwards: 70\r\n" + authorization;
      m += "Content-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      return m;
    };
    const udp::endpoint to(asio::ip::make_address("127.0.0.1"), stack->port());
    auto exchange = [&](const std::string& m) {
      dev.responses.clear();
      dev.sock.send_to(asio::buffer(m), to);
      REQUIRE(run_until([&] { return !dev.responses.empty(); }));
      return dev.responses.front();
    };
    const std::string challenge = exchange(text(1, {}));
    return exchange(text(2, tutti::ctl::test::digest_authorization(challenge, "MESSAGE", uri, user, "pw")));
  }
  json::object member(const std::string& user) {
    std::optional<json::object> out;
    commands.dispatch("chat.status", json::object{{"room", "lobby"}}, [&](command_result r) {
      REQUIRE(r.ok());
      for (auto& m : r->as_object().at("rooms").as_array()[0].as_object().at("members").as_array())
        if (m.as_object().at("user").as_string() == user) out = m.as_object();
    });
    REQUIRE(out);
    return *out;
  }

  test::temp_dir dir;
  std::unique_ptr<sqlite_store> db;
  std::unique_ptr<tutti::sig::sip_stack> stack;
  tutti::sig::memory_credentials creds;
  std::unique_ptr<registrar_service> registrar;
  std::unique_ptr<chat_service> chat;
  std::vector<device*> devices;
};

}  // namespace

TEST_CASE("chat delivery: in seq order, at most `window` unanswered, the room as From", "[control][chat]") {
  fixture f(2);
  device bob(f.io);
  f.devices = {&bob};
  f.registrar->locations().set("bob@example.net", {bob.binding("bob")});
  for (int i = 1; i <= 3; ++i) f.send("hello " + std::to_string(i));

  REQUIRE(f.run_until([&] { return bob.messages.size() == 2; }));
  f.run_for(std::chrono::milliseconds(50));
  CHECK(bob.seqs() == std::vector<uint64_t>{1, 2});  // seq 3 waits for an answer
  auto m = tutti::sig::parse_message(bob.messages[0].text);
  REQUIRE(m.ok());
  CHECK(m->from().uri.text == "sip:lobby@example.net");
  CHECK(m->from().display_text() == "alice");
  CHECK(m->to().uri.text == "sip:bob@example.net");
  CHECK(m->request_uri().text == "sip:bob@127.0.0.1:" + std::to_string(bob.port()));
  REQUIRE(m->find(tutti::sig::header_id::p_asserted_identity));
  CHECK(m->find(tutti::sig::header_id::p_asserted_identity)->value == "<sip:alice@example.net>");
  CHECK(m->body() == "hello 1");
  CHECK(m->content_type()->is("text", "plain"));

  bob.answer(0);
  REQUIRE(f.run_until([&] { return bob.messages.size() == 3; }));
  CHECK(bob.seqs() == std::vector<uint64_t>{1, 2, 3});
  bob.answer(1);
  bob.answer(2);
  REQUIRE(f.run_until([&] { return f.member("bob").at("delivered").as_uint64() == 3; }));
  CHECK(f.chat->counters().delivered == 3);
  CHECK(f.chat->counters().failed == 0);
  // alice has no device: offline, her cursor stays.
  CHECK(f.member("alice").at("delivered").as_uint64() == 0);
  CHECK_FALSE(f.member("alice").at("online").as_bool());
}

TEST_CASE("chat delivery: a device that does not answer pauses the stream; a new registration resumes it from the cursor",
          "[control][chat]") {
  fixture f(4);
  device dead(f.io), fresh(f.io);
  f.devices = {&dead, &fresh};
  f.registrar->locations().set("bob@example.net", {dead.binding("bob")});
  for (int i = 1; i <= 3; ++i) f.send("m" + std::to_string(i));
  REQUIRE(f.run_until([&] { return dead.messages.size() == 3; }));
  // Timer F ends each transaction; the stream pauses with nothing delivered.
  REQUIRE(f.run_until([&] { return f.chat->counters().failed == 3; }));
  CHECK(f.member("bob").at("paused").as_bool());
  CHECK(f.member("bob").at("delivered").as_uint64() == 0);

  // A refusal is counted and skipped, not retried.
  f.registrar->locations().set("bob@example.net", {fresh.binding("bob")});
  REQUIRE(f.run_until([&] { return fresh.messages.size() == 3; }));
  CHECK(fresh.seqs() == std::vector<uint64_t>{1, 2, 3});
  fresh.answer(0);
  fresh.answer(1, 488);
  fresh.answer(2);
  REQUIRE(f.run_until([&] { return f.member("bob").at("delivered").as_uint64() == 3; }));
  CHECK_FALSE(f.member("bob").at("paused").as_bool());
  CHECK(f.chat->counters().delivered == 2);
  CHECK(f.chat->counters().rejected == 1);
  // The cursor reaches the store.
  std::optional<uint64_t> stored;
  REQUIRE(f.run_until([&] {
    if (stored == 3u) return true;
    f.db->chat_load("lobby", [&](store_result<chat_state> st) {
      for (auto& m : st->members)
        if (m.user == "bob") stored = m.delivered_seq;
    });
    return false;
  }));
}

// baresip registers and sends from one socket: the sender's only device is the message's
// origin and gets no copy. Its stream must still advance past the seq (once: this used to
// resend the same seq to no device without end, a stack overflow on the first MESSAGE).
TEST_CASE("chat delivery: a MESSAGE from the sender's only device skips that device and advances its cursor",
          "[control][chat]") {
  fixture f(4);
  device alice(f.io), bob(f.io);
  f.devices = {&alice, &bob};
  f.creds.add_password("alice", "example.net", "pw");
  f.registrar->locations().set("alice@example.net", {alice.binding("alice")});
  f.registrar->locations().set("bob@example.net", {bob.binding("bob")});
  for (int i = 1; i <= 3; ++i) {
    const std::string answer = f.message_from(alice, "alice", "m" + std::to_string(i));
    auto ok = tutti::sig::parse_message(answer);
    REQUIRE(ok.ok());
    CHECK(ok->status() == 200);
    REQUIRE(ok->find("X-Tutti-Seq"));
    CHECK(ok->find("X-Tutti-Seq")->value == std::to_string(i));
  }
  REQUIRE(f.run_until([&] { return bob.messages.size() == 3; }));
  CHECK(bob.seqs() == std::vector<uint64_t>{1, 2, 3});
  for (size_t i = 0; i < 3; ++i) bob.answer(i);
  REQUIRE(f.run_until([&] { return f.member("bob").at("delivered").as_uint64() == 3; }));
  REQUIRE(f.run_until([&] { return f.member("alice").at("delivered").as_uint64() == 3; }));
  f.run_for(std::chrono::milliseconds(50));
  CHECK(alice.messages.empty());
  CHECK(f.chat->counters().sent == 3);
  CHECK(f.chat->counters().delivered == 3);
  CHECK(f.chat->counters().failed == 0);
}
