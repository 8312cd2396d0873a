// Rooms made and changed by clients, in process (a real SIP stack on loopback, the SQLite
// store): chat_service::refer (what the focus's REFER handler hands over for Refer-To
// method=MESSAGE / BYE) with each rule and refusal, the roster the chat serves to the
// conference event package, and MESSAGE dedup across transactions (digest-authenticated
// MESSAGEs from a UDP socket). The REFER's SIP side (202, NOTIFY sipfrag, Refer-Sub) runs
// against SIPp in tests/sip/run_chat.sh.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "control/chat_service.hpp"
#include "control/commands.hpp"
#include "control/conference_events.hpp"
#include "control/config.hpp"
#include "control/log.hpp"
#include "control/metrics.hpp"
#include "control/registrar_service.hpp"
#include "control/room_creation.hpp"
#include "control/sqlite_store.hpp"
#include "signalling/auth.hpp"
#include "signalling/digest.hpp"
#include "signalling/registrar.hpp"
#include "signalling/sip/serializer.hpp"
#include "signalling/sip_stack.hpp"
#include "tests/control/service_env.hpp"
#include "tests/control/sip_client_util.hpp"
#include "tests/control/test_util.hpp"

using namespace tutti;
using namespace tutti::ctl;
namespace asio = boost::asio;
namespace json = boost::json;
using udp = asio::ip::udp;
using namespace std::chrono_literals;

namespace {

uint64_t now_s() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

struct fixture : test::service_env {
  fixture() {
    cfg.domain = "example.net";
    cfg.sip_auth_order = "md5-first";
    auto s = sqlite_store::open(io, {dir / "tutti.db", cfg.domain, sqlite_sync::normal, 1024});
    REQUIRE(s.ok());
    db = std::move(s.value());
    REQUIRE(stack.start().ok());
    registrar = registrar_service::start(ctx, stack, creds);
    chat_settings cs;
    cs.retry_s = 3600;
    chat = chat_service::start(ctx, stack, *db, *registrar, cs);
    chat->on_roster_change([this](std::string_view room) { roster_changes.emplace_back(room); });
    for (auto u : {"alice", "bob", "carol", "erin"}) {
      bool done = false;
      db->user_add(u, "pw", "", [&](auto r) { REQUIRE(r.ok()); done = true; });
      REQUIRE(run_until([&] { return done; }));
      creds.add_password(u, cfg.domain, "pw");
    }
    sock.open(udp::v4());
    sock.bind(udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  }
  ~fixture() {
    bool stopped = false;
    chat->stop([&] { stopped = true; });
    db->close([] {});
    io.run_for(100ms);
    stack.stop();
  }

  template <typename P>
  bool run_until(P pred) {
    const auto end = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      io.run_for(2ms);
    }
    return pred();
  }

  // chat_service::refer, run to its answer.
  std::pair<uint16_t, std::string> refer(std::string room, std::string by, std::string user, bool remove = false) {
    std::optional<std::pair<uint16_t, std::string>> out;
    chat->refer({std::move(room), std::move(by), std::move(user), remove},
                [&](uint16_t st, std::string why) { out.emplace(st, std::move(why)); });
    REQUIRE(run_until([&] { return out.has_value(); }));
    return *out;
  }

  std::optional<std::vector<std::string>> members(const std::string& room) {
    std::optional<std::vector<std::string>> out;
    bool done = false;
    db->chat_show(room, [&](store_result<chat_record> r) {
      if (r) out = r->members;
      done = true;
    });
    REQUIRE(run_until([&] { return done; }));
    return out;
  }

  // The chat.status entry of `user` in `room` (null when absent).
  json::value status_of(const std::string& room, const std::string& user) {
    json::value out;
    commands.dispatch("chat.status", json::object{{"room", room}}, [&](command_result r) {
      REQUIRE(r.ok());
      for (auto& rm : r->as_object().at("rooms").as_array())
        for (auto& m : rm.as_object().at("members").as_array())
          if (m.as_object().at("user").as_string() == user) out = m;
    });
    return out;
  }

  void send_chat(const std::string& room, const std::string& body) {
    bool done = false;
    commands.dispatch("chat.send", json::object{{"room", room}, {"from", "alice"}, {"body", body}},
                      [&](command_result r) { REQUIRE(r.ok()); done = true; });
    REQUIRE(run_until([&] { return done; }));
  }

  std::vector<roster_user> roster_of(std::string_view room) {
    std::vector<roster_user> users;
    chat->roster().add_members(room, cfg.domain, users);
    return users;
  }

  // ---- a client's MESSAGEs ----

  std::string message_text(const std::string& room, const std::string& call_id, uint32_t cseq,
                           const std::string& body, const std::string& authorization) {
    return message_text(room, call_id, cseq, body, authorization, "text/plain");
  }
  std::string message_text(const std::string& room, const std::string& call_id, uint32_t cseq,
                           const std::string& body, const std::string& authorization, const std::string& type) {
    const std::string uri = "sip:" + room + "@127.0.0.1:" + std::to_string(stack.port());
    std::string m = "MESSAGE " + uri + " SIP/2.0\r\n";
    m += "Via: SIP/2.0/UDP 127.0.0.1:" + std::to_string(sock.local_endpoint().port()) + ";branch=z9hG4bK-m" +
         std::to_string(++branch) + ";rport\r\n";
    m += "From: <sip:alice@example.net>;tag=ft\r\nTo: <sip:" + room + "@example.net>\r\n";
    m += "Call-ID: " + call_id + "\r\nCSeq: " + std::to_string(cseq) + " MESSAGE\r\nMax-Forwards: 70\r\n";
    m += authorization;
    m += "Content-Type: " + type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    return m;
  }
  void send(const std::string& m) {
    sock.send_to(asio::buffer(m), udp::endpoint(asio::ip::make_address("127.0.0.1"), stack.port()));
  }
  std::string receive() { return test::receive_datagram(io, sock); }
  // The Authorization header for a MESSAGE to `room`, after a challenge to it.
  std::string credentials(const std::string& room, const std::string& challenge) {
    return test::digest_authorization(challenge, "MESSAGE", "sip:" + room + "@127.0.0.1:" + std::to_string(stack.port()),
                                      "alice", "pw");
  }
  // A MESSAGE as alice in two transactions (challenged, then with credentials), both with
  // Call-ID `call_id` and CSeq `cseq`, as a client that sends it again does; the final
  // response to the second.
  std::string message(const std::string& room, const std::string& call_id, uint32_t cseq, const std::string& body,
                      const std::string& type = "text/plain") {
    send(message_text(room, call_id, cseq, body, {}, type));
    const std::string auth = credentials(room, receive());
    send(message_text(room, call_id, cseq, body, auth, type));
    return receive();
  }

  test::temp_dir dir;
  std::unique_ptr<sqlite_store> db;
  sig::sip_stack stack{io, sig::stack_settings{}};
  sig::memory_credentials creds;
  std::unique_ptr<registrar_service> registrar;
  std::unique_ptr<chat_service> chat;
  std::vector<std::string> roster_changes;
  udp::socket sock{io};
  uint32_t branch = 0;
};

const std::string mixed = "multipart/mixed;boundary=\"b1\"";

// A creating MESSAGE's body: the text and a resource list of `uris`.
std::string creation_body(const std::string& text, const std::vector<std::string>& uris) {
  std::string list =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"\n"
      "    xmlns:cp=\"urn:ietf:params:xml:ns:copycontrol\">\n <list>\n";
  for (const auto& u : uris) list += "  <entry uri=\"" + u + "\" cp:copyControl=\"to\"/>\n";
  list += " </list>\n</resource-lists>\n";
  return "--b1\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\n" + text +
         "\r\n--b1\r\nContent-Type: application/resource-lists+xml\r\nContent-Disposition: recipient-list\r\n\r\n" +
         list + "\r\n--b1--\r\n";
}

std::string warning(const std::string& msg) {
  auto m = sig::parse_message(msg);
  if (!m) return "?";
  const auto* h = m->find("Warning");
  return h ? std::string(h->value) : "";
}

uint16_t status(const std::string& msg) {
  auto m = sig::parse_message(msg);
  return m && m->is_response() ? m->status() : 0;
}

std::string seq_of(const std::string& msg) {
  auto m = sig::parse_message(msg);
  if (!m) return "?";
  const auto* h = m->find("X-Tutti-Seq");
  return h ? std::string(h->value) : "";
}

sig::binding binding_for(const std::string& user, uint16_t port) {
  sig::binding b;
  b.contact = "sip:" + user + "@127.0.0.1:" + std::to_string(port);
  b.transport = "udp";
  b.source_ip = "127.0.0.1";
  b.source_port = port;
  b.expires_at_s = now_s() + 300;
  b.updated_s = now_s();
  return b;
}

}  // namespace

TEST_CASE("chat REFER: the first creates the room with the referrer and the user", "[control][chat]") {
  fixture f;
  CHECK_FALSE(f.members("party"));
  CHECK(f.refer("party", "alice", "bob") == std::make_pair(uint16_t(200), std::string("OK")));
  CHECK(f.members("party") == std::vector<std::string>{"alice", "bob"});
  // The next REFER of the referrer adds to the room it made.
  CHECK(f.refer("party", "alice", "carol").first == 200);
  CHECK(f.members("party") == std::vector<std::string>{"alice", "bob", "carol"});
  CHECK(f.chat->counters().joined == 2);
  // The running service took the change: carol has a stream.
  CHECK(f.status_of("party", "carol").is_object());
}

TEST_CASE("chat REFER refusals: unknown user 404, non-member 403, bad room name 400", "[control][chat]") {
  fixture f;
  CHECK(f.refer("party", "alice", "mallory") == std::make_pair(uint16_t(404), std::string("no such user")));
  CHECK_FALSE(f.members("party"));  // nothing created for a REFER that fails
  REQUIRE(f.refer("party", "alice", "bob").first == 200);
  CHECK(f.refer("party", "erin", "carol") ==
        std::make_pair(uint16_t(403), std::string("only a member may add to this chat room")));
  CHECK(f.refer("party", "erin", "erin").first == 403);  // not even oneself
  CHECK(f.members("party") == std::vector<std::string>{"alice", "bob"});
  CHECK(f.refer("bad room", "alice", "bob").first == 400);
  // Adding a member again changes nothing and succeeds.
  CHECK(f.refer("party", "bob", "alice").first == 200);
  CHECK(f.chat->counters().joined == 1);
}

TEST_CASE("chat REFER method=BYE: a member leaves or is removed; others may not", "[control][chat]") {
  fixture f;
  REQUIRE(f.refer("party", "alice", "bob").first == 200);
  REQUIRE(f.refer("party", "alice", "carol").first == 200);
  CHECK(f.refer("party", "erin", "bob", true) ==
        std::make_pair(uint16_t(403), std::string("only a member may remove from this chat room")));
  CHECK(f.refer("party", "alice", "erin", true) ==
        std::make_pair(uint16_t(404), std::string("not a member of this chat room")));
  CHECK(f.refer("attic", "alice", "bob", true) == std::make_pair(uint16_t(404), std::string("no such chat room")));
  CHECK(f.refer("party", "carol", "carol", true).first == 200);  // leaving
  CHECK(f.refer("party", "alice", "bob", true).first == 200);    // removed by a member
  CHECK(f.members("party") == std::vector<std::string>{"alice"});
  CHECK(f.chat->counters().left == 2);
  CHECK(f.status_of("party", "bob").is_null());
  // A former member is an outsider again.
  CHECK(f.refer("party", "bob", "bob").first == 403);
}

TEST_CASE("chat REFER: a new member starts at the room's newest message", "[control][chat]") {
  fixture f;
  REQUIRE(f.refer("party", "alice", "bob").first == 200);
  f.send_chat("party", "one");
  f.send_chat("party", "two");
  REQUIRE(f.refer("party", "alice", "carol").first == 200);
  const json::value carol = f.status_of("party", "carol");
  REQUIRE(carol.is_object());
  CHECK(carol.at("delivered").as_uint64() == 2);
  CHECK(carol.at("next").as_uint64() == 3);
  CHECK(f.status_of("party", "bob").at("delivered").as_uint64() == 0);  // offline: his backlog waits
}

TEST_CASE("chat roster: members as message endpoints, connected when registered; changes are announced",
          "[control][chat]") {
  fixture f;
  const roster_source& src = f.chat->roster();
  CHECK_FALSE(src.has("party"));
  REQUIRE(f.refer("party", "alice", "bob").first == 200);
  REQUIRE(f.run_until([&] { return src.has("party"); }));
  CHECK(f.roster_changes == std::vector<std::string>{"party"});
  CHECK(src.may_watch("party", "alice"));
  CHECK(src.may_watch("party", "bob"));
  CHECK_FALSE(src.may_watch("party", "erin"));

  f.registrar->locations().set("alice@example.net", {binding_for("alice", 5999)});
  REQUIRE(f.run_until([&] { return f.roster_changes.size() == 2; }));
  CHECK(f.roster_changes.back() == "party");  // alice came online
  std::vector<roster_user> users = f.roster_of("party");
  REQUIRE(users.size() == 2);
  CHECK(users[0].entity == "sip:alice@example.net");
  CHECK(users[0].display_text == "alice");
  REQUIRE(users[0].endpoints.size() == 1);
  CHECK(users[0].endpoints[0].entity == "sip:alice@example.net;chat");
  CHECK(users[0].endpoints[0].status == "connected");
  CHECK(users[0].endpoints[0].media == std::vector<roster_media>{{"chat-alice", "message", "sendrecv", false}});
  CHECK(users[1].entity == "sip:bob@example.net");
  CHECK(users[1].endpoints[0].status == "disconnected");

  // The document the conference package writes for it.
  roster r;
  r.entity = "sip:party@example.net";
  r.users = users;
  const std::string doc = build_conference_info(r, 1, true);
  CHECK(doc.find("   <endpoint entity=\"sip:alice@example.net;chat\" state=\"full\">\n"
                 "    <status>connected</status>\n"
                 "    <media id=\"chat-alice\">\n"
                 "     <type>message</type>\n"
                 "     <status>sendrecv</status>\n") != std::string::npos);

  REQUIRE(f.refer("party", "bob", "bob", true).first == 200);
  REQUIRE(f.run_until([&] { return f.roster_changes.size() == 3; }));
  CHECK_FALSE(src.may_watch("party", "bob"));
  CHECK(f.roster_of("party").size() == 1);
  // A change through the CLI path (the store) reaches the roster too.
  bool done = false;
  f.db->chat_add_member("party", "carol", [&](store_result<bool> r) { REQUIRE(r.ok()); done = true; });
  REQUIRE(f.run_until([&] { return done && f.roster_changes.size() == 4; }));
  CHECK(src.may_watch("party", "carol"));
  CHECK_FALSE(src.has("attic"));
}

TEST_CASE("chat MESSAGE sent again in a new transaction: 200 with the original seq, stored once", "[control][chat]") {
  fixture f;
  REQUIRE(f.refer("party", "alice", "bob").first == 200);
  const std::string first = f.message("party", "c1@client", 7, "hello");
  REQUIRE(status(first) == 200);
  CHECK(seq_of(first) == "1");
  const std::string other = f.message("party", "c2@client", 7, "world");
  CHECK(seq_of(other) == "2");
  // The same Call-ID and CSeq again (a client whose transaction timed out before our 200).
  const std::string again = f.message("party", "c1@client", 7, "hello");
  CHECK(status(again) == 200);
  CHECK(seq_of(again) == "1");
  // A new CSeq in the same Call-ID is a new message.
  CHECK(seq_of(f.message("party", "c1@client", 8, "hello")) == "3");
  CHECK(f.chat->counters().duplicates == 1);
  std::vector<uint64_t> seqs;
  bool done = false;
  f.db->history("party", 0, 10, [&](store_result<std::vector<message_record>> h) {
    REQUIRE(h.ok());
    for (auto& m : *h) seqs.push_back(m.seq);
    done = true;
  });
  REQUIRE(f.run_until([&] { return done; }));
  CHECK(seqs == std::vector<uint64_t>{1, 2, 3});
  // A MESSAGE to a room that does not exist stays 404.
  CHECK(status(f.message("attic", "c3@client", 1, "hi")) == 404);
}

TEST_CASE("room creation body: the text part and the listed users", "[control][chat]") {
  auto c = parse_room_creation(mixed, creation_body("hi all", {"sip:bob@example.net", "sips:c%61rol@127.0.0.1",
                                                               "sip:bob@example.net"}));
  REQUIRE(c.ok());
  CHECK(c->content_type == "text/plain;charset=UTF-8");
  CHECK(c->text == "hi all");
  CHECK(c->users == std::vector<listed_user>{{"bob", "example.net"}, {"carol", "127.0.0.1"}});

  CHECK(parse_room_creation("multipart/mixed", creation_body("x", {})).error() == room_creation_error::bad_multipart);
  CHECK(parse_room_creation(mixed, "no parts here").error() == room_creation_error::bad_multipart);
  const std::string text_only = "--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b1--\r\n";
  CHECK(parse_room_creation(mixed, text_only).error() == room_creation_error::no_list);
  const std::string list_only =
      "--b1\r\nContent-Type: application/resource-lists+xml\r\n\r\n"
      "<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"/>\r\n--b1--\r\n";
  CHECK(parse_room_creation(mixed, list_only).error() == room_creation_error::no_text);
  CHECK(parse_room_creation(mixed, creation_body("x", {"tel:+15551234"})).error() == room_creation_error::bad_entry);
  CHECK(parse_room_creation(mixed, creation_body("x", {"sip:example.net"})).error() == room_creation_error::bad_entry);
  CHECK(parse_room_creation(mixed, creation_body("x", {"sip:a@x", "sip:b@x", "sip:c@x"}), 2).error() ==
        room_creation_error::too_many);
  // Not a resource-lists document, or not well-formed.
  CHECK(parse_resource_list("<list xmlns=\"urn:ietf:params:xml:ns:resource-lists\"/>").error() ==
        room_creation_error::bad_list);
  CHECK(parse_resource_list("<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"><entry>").error() ==
        room_creation_error::bad_list);
  CHECK(parse_resource_list("<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"><list><entry/></list>"
                            "</resource-lists>").error() == room_creation_error::bad_list);
}

TEST_CASE("chat MESSAGE with a resource list creates the room; its text is seq 1", "[control][chat]") {
  fixture f;
  const std::string body = creation_body("welcome", {"sip:bob@example.net", "sip:carol@example.net"});
  const std::string ok = f.message("party", "k1@client", 1, body, mixed);
  REQUIRE(status(ok) == 200);
  CHECK(seq_of(ok) == "1");
  CHECK(f.members("party") == std::vector<std::string>{"alice", "bob", "carol"});
  bool done = false;
  std::vector<std::pair<std::string, std::string>> h;
  f.db->history("party", 0, 10, [&](store_result<std::vector<message_record>> r) {
    REQUIRE(r.ok());
    for (auto& m : *r) h.emplace_back(m.body, m.content_type);
    done = true;
  });
  REQUIRE(f.run_until([&] { return done; }));
  CHECK(h == std::vector<std::pair<std::string, std::string>>{{"welcome", "text/plain;charset=UTF-8"}});
  // Sent again in a new transaction: the same answer, nothing stored twice.
  CHECK(seq_of(f.message("party", "k1@client", 1, body, mixed)) == "1");
  // To the existing room the list is ignored and the text posted.
  CHECK(seq_of(f.message("party", "k2@client", 1, creation_body("again", {"sip:erin@example.net"}), mixed)) == "2");
  CHECK(f.members("party") == std::vector<std::string>{"alice", "bob", "carol"});
}

TEST_CASE("chat MESSAGE creating a room: refusals create nothing", "[control][chat]") {
  fixture f;
  const std::string unknown = f.message("party", "k1@client", 1, creation_body("x", {"sip:mallory@example.net"}), mixed);
  CHECK(status(unknown) == 404);
  CHECK(warning(unknown) == "399 tutti \"no such user: mallory\"");
  const std::string foreign = f.message("party", "k2@client", 1, creation_body("x", {"sip:bob@elsewhere.org"}), mixed);
  CHECK(status(foreign) == 403);
  const std::string bad = f.message("party", "k3@client", 1, creation_body("x", {"tel:+15551234"}), mixed);
  CHECK(status(bad) == 400);
  CHECK(warning(bad) == "399 tutti \"a list entry is not a sip: URI with a user\"");
  CHECK(status(f.message("party", "k4@client", 1, "--b1--\r\n", mixed)) == 400);
  CHECK_FALSE(f.members("party"));
  // A plain MESSAGE to a room that does not exist stays 404.
  CHECK(status(f.message("party", "k5@client", 1, "hello")) == 404);
  CHECK_FALSE(f.members("party"));
}
