// The event service (RFC 6665 notifier) against a subscriber on a loopback UDP socket, with
// a test package whose authorization and state the test drives: pending → active on
// reauthorize, coalesced NOTIFYs, unsubscribe, expiry, rejection, noresource, 403/404.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <catch2/catch.hpp>
#include <map>

#include "control/commands.hpp"
#include "control/config.hpp"
#include "control/event_service.hpp"
#include "control/log.hpp"
#include "control/metrics.hpp"
#include "control/registrar_service.hpp"
#include "signalling/auth.hpp"
#include "signalling/digest.hpp"
#include "signalling/sip/serializer.hpp"
#include "signalling/sip_stack.hpp"
#include "tests/control/service_env.hpp"
#include "tests/control/sip_client_util.hpp"

using namespace tutti;
using namespace tutti::ctl;
namespace asio = boost::asio;
using asio::ip::udp;
using namespace std::chrono_literals;

namespace {

// Authorization per resource (allow unless set) and a value that stands for the state.
class test_package final : public event_package {
 public:
  std::map<std::string, authorization, std::less<>> auth;
  int value = 0;

  std::string_view name() const override { return "test"; }
  std::vector<std::string> content_types() const override { return {"text/plain"}; }
  sig::expires_policy expires() const override { return {1, 10, 20}; }
  std::chrono::milliseconds min_notify_interval() const override { return 200ms; }
  authorization authorize(std::string_view, std::string_view resource) override {
    auto it = auth.find(resource);
    return it == auth.end() ? authorization::allow : it->second;
  }
  event_body state(sig::subscription& sub, bool full) override {
    return {"text/plain", std::string(full ? "full " : "partial ") + std::to_string(sub.notifies()) +
                              " v=" + std::to_string(value)};
  }
};

struct fixture : test::service_env {
  sig::sip_stack stack{io, sig::stack_settings{}};
  sig::memory_credentials creds;
  std::unique_ptr<registrar_service> registrar;
  std::unique_ptr<event_service> events;
  test_package pkg;
  udp::socket sock{io};
  uint16_t client_port = 0;
  uint32_t branch = 0;

  fixture() {
    cfg.domain = "localhost";
    cfg.sip_auth_order = "md5-first";
    REQUIRE(stack.start());
    creds.add_password("alice", "localhost", "pw");
    registrar = registrar_service::start(ctx, stack, creds);
    events = event_service::start(ctx, stack, *registrar);
    register_event_commands(ctx, *events);
    REQUIRE(events->add_package(pkg));
    sock.open(udp::v4());
    sock.bind(udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client_port = sock.local_endpoint().port();
  }
  ~fixture() {
    events->stop([] {});
    registrar->stop([] {});
    stack.stop();
  }

  void send(const std::string& m) {
    sock.send_to(asio::buffer(m), udp::endpoint(asio::ip::make_address("127.0.0.1"), stack.port()));
  }

  // The next message the client receives ("" after `limit`).
  std::string receive(std::chrono::milliseconds limit = 5000ms) { return test::receive_datagram(io, sock, limit); }

  std::string subscribe_text(std::string_view resource, uint32_t cseq, std::string_view to_tag,
                             std::string_view extra, std::string_view authorization) {
    std::string m = "SUBSCRIBE sip:" + std::string(resource) + "@127.0.0.1:" + std::to_string(stack.port()) +
                    " SIP/2.0\r\n";
    m += "Via: SIP/2.0/UDP 127.0.0.1:" + std::to_string(client_port) + ";branch=z9hG4bK-t" +
         std::to_string(++branch) + ";rport\r\n";
    m += "From: <sip:alice@localhost>;tag=ft\r\n";
    m += "To: <sip:" + std::string(resource) + "@localhost>";
    if (!to_tag.empty()) m += ";tag=" + std::string(to_tag);
    m += "\r\nCall-ID: call-" + std::string(resource) + "\r\n";
    m += "CSeq: " + std::to_string(cseq) + " SUBSCRIBE\r\n";
    m += "Contact: <sip:alice@127.0.0.1:" + std::to_string(client_port) + ">\r\n";
    m += "Event: test\r\nMax-Forwards: 70\r\n";
    m += extra;
    m += authorization;
    m += "Content-Length: 0\r\n\r\n";
    return m;
  }

  // A SUBSCRIBE, challenged (401) and sent again with credentials (CSeq + 1); the final
  // response to the second.
  std::string subscribe(std::string_view resource, uint32_t cseq, std::string_view to_tag = {},
                        std::string_view extra = "Expires: 10\r\n") {
    send(subscribe_text(resource, cseq, to_tag, extra, {}));
    const std::string challenge = receive();
    const std::string uri = "sip:" + std::string(resource) + "@127.0.0.1:" + std::to_string(stack.port());
    send(subscribe_text(resource, cseq + 1, to_tag, extra,
                        test::digest_authorization(challenge, "SUBSCRIBE", uri, "alice", "pw")));
    return receive();
  }

  // Receives a NOTIFY and answers it with `status`; returns its text.
  std::string notify(uint16_t status = 200) {
    const std::string n = receive();
    auto m = sig::parse_message(n);
    REQUIRE(m);
    REQUIRE(m->method() == sig::sip_method::notify);
    send(sig::make_response(*m, status).finish());
    return n;
  }
};

std::string header(const std::string& msg, sig::header_id id) {
  auto m = sig::parse_message(msg);
  if (!m) return "?";
  const auto* h = m->find(id);
  return h ? std::string(h->value) : "";
}

std::string body(const std::string& msg) {
  auto m = sig::parse_message(msg);
  return m ? std::string(m->body()) : "?";
}

std::string to_tag(const std::string& msg) {
  auto m = sig::parse_message(msg);
  return m ? std::string(m->to().tag) : "";
}

uint16_t status(const std::string& msg) {
  auto m = sig::parse_message(msg);
  return m && m->is_response() ? m->status() : 0;
}

}  // namespace

TEST_CASE("event service: pending until authorized, coalesced NOTIFYs, unsubscribe", "[control][events]") {
  fixture f;
  f.pkg.auth["r1"] = authorization::pending;
  const std::string ok = f.subscribe("r1", 1);
  REQUIRE(status(ok) == 200);
  CHECK(header(ok, sig::header_id::expires) == "10");
  const std::string tag = to_tag(ok);
  REQUIRE_FALSE(tag.empty());

  // Pending: a NOTIFY without state.
  std::string n = f.notify();
  CHECK(header(n, sig::header_id::subscription_state).rfind("pending;expires=", 0) == 0);
  CHECK(header(n, sig::header_id::event) == "test");
  CHECK(body(n).empty());
  CHECK(f.events->count("test", sig::sub_state::pending) == 1);

  // Authorized: active, full state.
  f.pkg.auth["r1"] = authorization::allow;
  f.events->reauthorize("test", "r1");
  n = f.notify();
  CHECK(header(n, sig::header_id::subscription_state).rfind("active;expires=", 0) == 0);
  CHECK(body(n) == "full 2 v=0");

  // Two changes inside the 200 ms interval: one NOTIFY with the latest state.
  f.pkg.value = 1;
  f.events->notify("test", "r1");
  f.pkg.value = 2;
  f.events->notify("test", "r1");
  n = f.notify();
  CHECK(body(n) == "partial 3 v=2");
  CHECK(f.events->counters("test").notifies_sent == 3);

  // Unsubscribe in the dialog: 200 with Expires: 0, then terminated with the state.
  const std::string bye = f.subscribe("r1", 3, tag, "Expires: 0\r\n");
  REQUIRE(status(bye) == 200);
  CHECK(header(bye, sig::header_id::expires) == "0");
  n = f.notify();
  CHECK(header(n, sig::header_id::subscription_state) == "terminated;reason=timeout");
  CHECK(body(n) == "full 4 v=2");
  CHECK(f.events->count("test", sig::sub_state::active) == 0);
  CHECK(f.events->counters("test").unsubscribed == 1);

  // The dialog is gone: a refresh now gets 481.
  CHECK(status(f.subscribe("r1", 5, tag)) == 481);
}

TEST_CASE("event service: expiry, rejection, noresource, 403 and 404", "[control][events]") {
  fixture f;
  // Expires: 1 (the package's minimum) runs out: terminated;reason=timeout.
  REQUIRE(status(f.subscribe("r2", 1, {}, "Expires: 1\r\n")) == 200);
  CHECK(body(f.notify()) == "full 1 v=0");
  std::string n = f.notify();  // waits for the expiry
  CHECK(header(n, sig::header_id::subscription_state) == "terminated;reason=timeout");
  CHECK(body(n).empty());
  CHECK(f.events->counters("test").expired == 1);

  // Authorization withdrawn: terminated;reason=rejected.
  REQUIRE(status(f.subscribe("r3", 1)) == 200);
  f.notify();
  f.pkg.auth["r3"] = authorization::deny;
  f.events->reauthorize("test", "r3");
  CHECK(header(f.notify(), sig::header_id::subscription_state) == "terminated;reason=rejected");

  // The resource went away: terminated;reason=noresource.
  REQUIRE(status(f.subscribe("r4", 1)) == 200);
  f.notify();
  f.events->terminate("test", "r4");
  CHECK(header(f.notify(), sig::header_id::subscription_state) == "terminated;reason=noresource");
  CHECK(f.events->count("test", sig::sub_state::active) == 0);
  CHECK(f.events->counters("test").terminated == 2);

  f.pkg.auth["secret"] = authorization::deny;
  f.pkg.auth["missing"] = authorization::not_found;
  CHECK(status(f.subscribe("secret", 1)) == 403);
  CHECK(status(f.subscribe("missing", 1)) == 404);
  CHECK(f.events->counters("test").refused == 2);
  CHECK(f.commands.contains("events.status"));
}
