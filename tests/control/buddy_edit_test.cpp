// Setting a buddy list over SIP (control/buddy_edit.hpp), in process: a real SIP stack on
// loopback, the SQLite store, the presence service and event notifier, and a UDP socket as
// alice's (or bob's) device. Every refusal with its status and Warning; the commit, the
// NOTIFY to the owner's list subscription and the watcher rule afterwards; 421 for a list
// SUBSCRIBE without Supported: eventlist; MESSAGEs to other URIs passed on.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "control/buddy_edit.hpp"
#include "control/commands.hpp"
#include "control/config.hpp"
#include "control/event_service.hpp"
#include "control/log.hpp"
#include "control/metrics.hpp"
#include "control/presence_service.hpp"
#include "control/registrar_service.hpp"
#include "control/store_service.hpp"
#include "signalling/auth.hpp"
#include "signalling/digest.hpp"
#include "signalling/sip/serializer.hpp"
#include "signalling/sip_stack.hpp"
#include "tests/control/service_env.hpp"
#include "tests/control/sip_client_util.hpp"
#include "tests/control/test_util.hpp"

using namespace tutti;
using namespace tutti::ctl;
namespace asio = boost::asio;
using asio::ip::udp;
using namespace std::chrono_literals;

namespace {

struct user_def {
  const char* name;
  const char* password;
};
constexpr user_def users_defs[] = {{"alice", "wonderland"}, {"bob", "builder"}, {"carol", "singer"}, {"dan", "d"}};

struct fixture : test::service_env {
  test::temp_dir dir;
  sig::sip_stack stack{io, sig::stack_settings{}};
  sig::memory_credentials creds;
  std::unique_ptr<store_service> store;
  std::unique_ptr<registrar_service> registrar;
  std::unique_ptr<event_service> events;
  std::unique_ptr<presence_service> presence;
  std::unique_ptr<buddy_edit_service> edits;
  udp::socket sock{io};
  uint16_t client_port = 0;
  uint32_t branch = 0;
  int passed_on = 0;  // MESSAGEs that reached the handler registered before (the chat's)

  fixture() {
    cfg.domain = "localhost";
    cfg.sip_auth_order = "md5-first";
    cfg.state_dir = dir.path();
    REQUIRE(stack.start());
    auto st = store_service::start(ctx);
    REQUIRE(st.ok());
    store = std::move(st.value());
    for (const auto& u : users_defs) {
      creds.add_password(u.name, "localhost", u.password);
      bool done = false;
      store->db().user_add(u.name, u.password, "", [&](store_result<user_record> r) {
        REQUIRE(r.ok());
        done = true;
      });
      while (!done) io.run_one_for(20ms);
    }
    registrar = registrar_service::start(ctx, stack, creds);
    events = event_service::start(ctx, stack, *registrar);
    presence = presence_service::start(ctx, stack, *registrar, *store, *events, 0ms);
    bool loaded = false;
    presence->reload([&] { loaded = true; });
    while (!loaded) io.run_one_for(20ms);
    stack.on_request(sig::sip_method::message, [this](const sig::message_view&, const sig::peer&,
                                                      sig::server_transaction_ptr tx) {
      ++passed_on;
      tx->reply(202);
    });
    edits = buddy_edit_service::start(ctx, stack, *registrar, store->db(), *presence, 4);
    sock.open(udp::v4());
    sock.bind(udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client_port = sock.local_endpoint().port();
  }
  ~fixture() {
    edits->stop([] {});
    presence->stop([] {});
    events->stop([] {});
    registrar->stop([] {});
    bool closed = false;
    store->stop([&] { closed = true; });
    while (!closed) io.run_one_for(20ms);
    stack.stop();
  }

  void send(const std::string& m) {
    sock.send_to(asio::buffer(m), udp::endpoint(asio::ip::make_address("127.0.0.1"), stack.port()));
  }

  // The next message the client receives ("" after `limit`).
  std::string receive(std::chrono::milliseconds limit = 5000ms) { return test::receive_datagram(io, sock, limit); }

  std::string request_text(std::string_view method, std::string_view user, std::string_view target, uint32_t cseq,
                           std::string_view extra, std::string_view body, std::string_view authorization) {
    std::string m = std::string(method) + " sip:" + std::string(target) + "@127.0.0.1:" + std::to_string(stack.port()) +
                    " SIP/2.0\r\n";
    m += "Via: SIP/2.0/UDP 127.0.0.1:" + std::to_string(client_port) + ";branch=z9hG4bK-b" +
         std::to_string(++branch) + ";rport\r\n";
    m += "From: <sip:" + std::string(user) + "@localhost>;tag=f" + std::to_string(branch) + "\r\n";
    m += "To: <sip:" + std::string(target) + "@localhost>\r\n";
    m += "Call-ID: call-" + std::to_string(branch) + "\r\n";
    m += "CSeq: " + std::to_string(cseq) + " " + std::string(method) + "\r\n";
    m += "Contact: <sip:" + std::string(user) + "@127.0.0.1:" + std::to_string(client_port) + ">\r\n";
    m += "Max-Forwards: 70\r\n";
    m += extra;
    m += authorization;
    m += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    m += body;
    return m;
  }

  // A request, challenged (401) and sent again with `user`'s credentials; the final
  // response to the second.
  std::string request(std::string_view method, std::string_view user, std::string_view target,
                      std::string_view extra, std::string_view body = {}) {
    send(request_text(method, user, target, 1, extra, body, {}));
    const std::string challenge = receive();
    const std::string uri = "sip:" + std::string(target) + "@127.0.0.1:" + std::to_string(stack.port());
    std::string password;
    for (const auto& u : users_defs)
      if (user == u.name) password = u.password;
    send(request_text(method, user, target, 2, extra, body,
                      test::digest_authorization(challenge, method, uri, user, password)));
    return receive();
  }

  std::string set_list(std::string_view user, std::string_view target, std::string_view body,
                       std::string_view type = "application/resource-lists+xml") {
    return request("MESSAGE", user, target, "Content-Type: " + std::string(type) + "\r\n", body);
  }

  // Receives a NOTIFY, answers 200, returns its text.
  std::string notify() {
    const std::string n = receive();
    auto m = sig::parse_message(n);
    REQUIRE(m);
    REQUIRE(m->method() == sig::sip_method::notify);
    send(sig::make_response(*m, 200).finish());
    return n;
  }

  std::vector<std::string> stored(const std::string& owner) {
    std::vector<std::string> out;
    bool done = false;
    store->db().buddy_list(owner, [&](store_result<std::vector<std::string>> r) {
      REQUIRE(r.ok());
      out = *r;
      done = true;
    });
    while (!done) io.run_one_for(20ms);
    return out;
  }
};

uint16_t status(const std::string& msg) {
  auto m = sig::parse_message(msg);
  return m && m->is_response() ? m->status() : 0;
}

std::string header(const std::string& msg, sig::header_id id) {
  auto m = sig::parse_message(msg);
  if (!m) return "?";
  const auto* h = m->find(id);
  return h ? std::string(h->value) : "";
}

std::string lists(std::initializer_list<const char*> uris) {
  std::string s = R"(<?xml version="1.0" encoding="UTF-8"?><resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list>)";
  for (const char* u : uris) s += std::string("<entry uri=\"") + u + "\"/>";
  return s + "</list></resource-lists>";
}

using list = std::vector<std::string>;

}  // namespace

TEST_CASE("buddy edit: a MESSAGE replaces the list, commits, NOTIFYs, and moves the watcher rule",
          "[control][buddy_edit]") {
  fixture f;
  // alice's list subscription: 421 without Supported: eventlist (RFC 4662 §4.1), then 200.
  const std::string sub_extra = "Event: presence\r\nExpires: 300\r\n";
  const std::string refused = f.request("SUBSCRIBE", "alice", "alice-buddies", sub_extra);
  CHECK(status(refused) == 421);
  CHECK(header(refused, sig::header_id::require) == "eventlist");
  CHECK(status(f.request("SUBSCRIBE", "alice", "alice-buddies", sub_extra + "Supported: eventlist\r\n")) == 200);
  CHECK(f.notify().find("<resource ") == std::string::npos);  // empty so far
  CHECK_FALSE(f.presence->may_watch("bob", "alice"));

  // bob twice (once at the listen-address alias, once sips:), carol: folded to two.
  const std::string ok =
      f.set_list("alice", "alice-buddies",
                 lists({"sip:bob@localhost", "sip:carol@LOCALHOST;transport=tcp", "sips:bob@127.0.0.1"}));
  CHECK(status(ok) == 200);
  CHECK(f.stored("alice") == list{"bob", "carol"});
  CHECK(f.presence->buddies("alice") == list{"bob", "carol"});
  const std::string n = f.notify();
  CHECK(n.find("<resource uri=\"sip:bob@localhost\">") != std::string::npos);
  CHECK(n.find("<resource uri=\"sip:carol@localhost\">") != std::string::npos);
  CHECK(n.find("version=\"1\"") != std::string::npos);
  // W may watch U when U has W on U's list.
  CHECK(f.presence->may_watch("bob", "alice"));
  CHECK(f.presence->may_watch("carol", "alice"));
  CHECK_FALSE(f.presence->may_watch("dan", "alice"));

  // The empty list clears.
  CHECK(status(f.set_list("alice", "alice-buddies", lists({}))) == 200);
  CHECK(f.stored("alice").empty());
  CHECK(f.presence->buddies("alice").empty());
  CHECK(f.notify().find("<resource ") == std::string::npos);
  CHECK_FALSE(f.presence->may_watch("bob", "alice"));
  CHECK(f.edits->counters().accepted == 2);
  CHECK(f.passed_on == 0);
}

TEST_CASE("buddy edit: every refusal, and the list unchanged after it", "[control][buddy_edit]") {
  fixture f;
  REQUIRE(status(f.set_list("alice", "alice-buddies", lists({"sip:dan@localhost"}))) == 200);
  struct want {
    std::string user, target, body, type;
    uint16_t status;
    std::string warning;  // "" when none is expected
  };
  const std::string lol = R"(<!DOCTYPE r [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>)"
                          R"(<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list>)"
                          R"(<entry uri="&b;"/></list></resource-lists>)";
  const std::vector<want> cases = {
      {"bob", "alice-buddies", lists({"sip:carol@localhost"}), "", 403, "only its owner sets a buddy list"},
      {"alice", "zed-buddies", lists({"sip:carol@localhost"}), "", 404, "no such buddy list"},
      {"alice", "alice-buddies", "hello", "text/plain", 415, ""},
      {"alice", "alice-buddies", "<resource-lists", "", 400, "invalid resource-lists: xml (malformed)"},
      {"alice", "alice-buddies", lol, "", 400, "invalid resource-lists: xml (doctype)"},
      {"alice", "alice-buddies", "", "", 400, "invalid resource-lists: xml (malformed)"},
      {"alice", "alice-buddies", R"(<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list><external anchor="http://x/"/></list></resource-lists>)",
       "", 400, "invalid resource-lists: reference"},
      {"alice", "alice-buddies", lists({"sip:bob@localhost", "tel:+15551234"}), "", 400,
       "entry 2 is not a sip: or sips: URI of a user"},
      {"alice", "alice-buddies", lists({"sip:localhost"}), "", 400, "entry 1 is not a sip: or sips: URI of a user"},
      {"alice", "alice-buddies", lists({"sip:bob@example.org"}), "", 400, "entry 1 is not of this domain"},
      {"alice", "alice-buddies", lists({"sip:bob@localhost", "sip:alice@127.0.0.1"}), "", 400,
       "entry 2 is the list's owner"},
      {"alice", "alice-buddies", lists({"sip:bob@localhost", "sip:zed@localhost", "sip:yan@localhost"}), "", 404,
       "no user 'zed'"},
      {"alice", "alice-buddies",
       lists({"sip:bob@localhost", "sip:carol@localhost", "sip:dan@localhost", "sip:bob@localhost", "sip:x@localhost"}),
       "", 403, "a buddy list holds at most 4 entries"},
  };
  for (const auto& c : cases) {
    INFO(c.user << " -> " << c.target << ": " << c.body);
    const std::string type = c.type.empty() ? "application/resource-lists+xml" : c.type;
    const std::string r = f.set_list(c.user, c.target, c.body, type);
    CHECK(status(r) == c.status);
    if (!c.warning.empty()) CHECK(header(r, sig::header_id::warning) == "399 tutti \"" + c.warning + "\"");
    if (c.status == 415) CHECK(header(r, sig::header_id::accept) == "application/resource-lists+xml");
    CHECK(f.stored("alice") == list{"dan"});
  }
  const auto& n = f.edits->counters();
  CHECK(n.accepted == 1);
  CHECK(n.forbidden == 2);
  CHECK(n.not_found == 2);
  CHECK(n.bad_type == 1);
  CHECK(n.bad_body == 8);
  CHECK(f.passed_on == 0);
}

TEST_CASE("buddy edit: other MESSAGEs go to the handler registered before", "[control][buddy_edit]") {
  fixture f;
  // A chat room, a user's own URI, and a "-buddies" URI of nobody with a text body: the
  // test's stand-in handler answers 202 without a challenge.
  for (const char* target : {"lobby", "bob", "zed-buddies"}) {
    f.send(f.request_text("MESSAGE", "alice", target, 1, "Content-Type: text/plain\r\n", "hi", {}));
    CHECK(status(f.receive()) == 202);
  }
  CHECK(f.passed_on == 3);
  CHECK(f.edits->counters().received == 0);
}

TEST_CASE("presence: a list set during a reload wins over what the reload read", "[control][buddy_edit]") {
  fixture f;
  bool done = false;
  f.presence->reload([&] { done = true; });
  // As if committed just now: the reload in flight may have read the store before.
  f.presence->set_buddies("alice", {"carol", "bob", "carol"});
  CHECK(f.presence->buddies("alice") == list{"bob", "carol"});
  while (!done) f.io.run_one_for(20ms);
  CHECK(f.presence->buddies("alice") == list{"bob", "carol"});
  // A reload that starts afterwards takes the store's word (alice's stored list is empty).
  done = false;
  f.presence->reload([&] { done = true; });
  while (!done) f.io.run_one_for(20ms);
  CHECK(f.presence->buddies("alice").empty());
}

TEST_CASE("watchers under presence.watchers = consent: listing someone waits (pending) until they list you back",
          "[control][buddy_edit]") {
  fixture f;
  using permission = presence_service::permission;
  // bob lists alice; under the default rule that alone lets him watch her.
  CHECK(status(f.set_list("bob", "bob-buddies", lists({"sip:alice@localhost"}))) == 200);
  CHECK(f.presence->watch_permission("bob", "alice") == permission::allow);
  f.cfg.presence.watchers = "consent";
  CHECK(f.presence->watch_permission("bob", "alice") == permission::pending);
  CHECK(f.presence->watch_permission("dan", "alice") == permission::deny);
  CHECK(f.presence->watch_permission("alice", "alice") == permission::allow);

  // His subscription is accepted but pending: a NOTIFY without state (RFC 6665 §4.2.1.3).
  const std::string sub_extra = "Event: presence\r\nAccept: application/pidf+xml\r\nExpires: 300\r\n";
  CHECK(status(f.request("SUBSCRIBE", "bob", "alice", sub_extra)) == 200);
  const std::string pending = f.notify();
  CHECK(header(pending, sig::header_id::subscription_state).rfind("pending;expires=", 0) == 0);
  CHECK(pending.find("<presence") == std::string::npos);
  // dan, on nobody's list, is refused.
  CHECK(status(f.request("SUBSCRIBE", "dan", "alice", sub_extra)) == 403);

  // alice lists bob: his subscription turns active and carries her presence.
  CHECK(status(f.set_list("alice", "alice-buddies", lists({"sip:bob@localhost"}))) == 200);
  CHECK(f.presence->watch_permission("bob", "alice") == permission::allow);
  const std::string active = f.notify();
  CHECK(header(active, sig::header_id::subscription_state).rfind("active;expires=", 0) == 0);
  CHECK(active.find("entity=\"sip:alice@localhost\"") != std::string::npos);

  // In bob's own list view, a buddy who has not listed him back is a pending instance.
  CHECK(status(f.set_list("bob", "bob-buddies", lists({"sip:alice@localhost", "sip:carol@localhost"}))) == 200);
  CHECK(status(f.request("SUBSCRIBE", "bob", "bob-buddies", sub_extra + "Supported: eventlist\r\n")) == 200);
  std::string listed;
  for (int i = 0; i < 3 && listed.find("multipart/related") == std::string::npos; ++i) listed = f.notify();
  CHECK(listed.find("<instance id=\"alice\" state=\"active\"") != std::string::npos);
  CHECK(listed.find("<instance id=\"carol\" state=\"pending\"") != std::string::npos);
}
