// Registrar (RFC 3261 §10.3) and location service: add, refresh and remove contacts,
// expires clamping and 423, "*" removal, several contacts with q, CSeq ordering, expiry
// sweep and online/offline notifications.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "signalling/registrar.hpp"
#include "signalling/sip/message.hpp"

using namespace tutti::sig;

namespace {

constexpr uint64_t t0 = 1'700'000'000;

struct reg_request {
  std::string to = "sip:alice@example.com";
  std::string ruri = "sip:example.com";
  std::string call_id = "call-1@host";
  uint32_t cseq = 1;
  std::vector<std::string> contacts;
  std::string expires;  // Expires header value, "" for none
};

std::string text(const reg_request& r) {
  std::string m = "REGISTER " + r.ruri + " SIP/2.0\r\n";
  m += "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds7\r\n";
  m += "Max-Forwards: 70\r\n";
  m += "To: <" + r.to + ">\r\n";
  m += "From: <" + r.to + ">;tag=456248\r\n";
  m += "Call-ID: " + r.call_id + "\r\n";
  m += "CSeq: " + std::to_string(r.cseq) + " REGISTER\r\n";
  for (const auto& c : r.contacts) m += "Contact: " + c + "\r\n";
  if (!r.expires.empty()) m += "Expires: " + r.expires + "\r\n";
  m += "Content-Length: 0\r\n\r\n";
  return m;
}

struct fixture {
  location_service loc;
  registrar reg{registrar_config{{"example.com"}, 3600, 60, 3600, 3}, loc};
  request_context ctx;
  std::vector<std::pair<std::string, location_change>> events;
  fixture() {
    ctx.now_s = t0;
    ctx.transport = "udp";
    ctx.source_ip = "198.51.100.7";
    ctx.source_port = 40000;
    ctx.to_tag = "regtag";
    loc.on_change([this](std::string_view aor, location_change c) { events.emplace_back(std::string(aor), c); });
  }
  register_result send(const reg_request& r) {
    const std::string s = text(r);
    auto m = parse_message(s);
    REQUIRE(m);
    return reg.handle(*m, ctx);
  }
};

// The Contact values of a response, in order.
std::vector<std::string> contacts_of(const std::string& response) {
  auto m = parse_message(response);
  REQUIRE(m);
  std::vector<std::string> out;
  for (std::string_view v : m->values(header_id::contact)) out.emplace_back(v);
  return out;
}

std::string header_of(const std::string& response, header_id h) {
  auto m = parse_message(response);
  REQUIRE(m);
  const header_field* f = m->find(h);
  return f ? std::string(f->value) : std::string();
}

}  // namespace

TEST_CASE("registrar: aor_key normalises user and host", "[signalling][registrar]") {
  const auto u = parse_uri("sips:Al%69ce@EXAMPLE.Com;transport=tcp");
  REQUIRE(u);
  CHECK(aor_key(*u) == "Alice@example.com");
  CHECK_FALSE(aor_key(*parse_uri("sip:example.com")));
  CHECK_FALSE(aor_key(*parse_uri("tel:+15551234")));
}

TEST_CASE("registrar: add, refresh and remove one contact", "[signalling][registrar]") {
  fixture f;
  reg_request r;
  r.contacts = {"<sip:alice@192.0.2.10:5060>"};
  r.expires = "600";
  register_result res = f.send(r);
  CHECK(res.status == 200);
  CHECK(contacts_of(res.response) == std::vector<std::string>{"<sip:alice@192.0.2.10:5060>;expires=600"});
  CHECK(header_of(res.response, header_id::date) == "Tue, 14 Nov 2023 22:13:20 GMT");
  auto b = f.loc.lookup("alice@example.com", t0);
  REQUIRE(b.size() == 1);
  CHECK(b[0].contact == "sip:alice@192.0.2.10:5060");
  CHECK(b[0].source_ip == "198.51.100.7");
  CHECK(b[0].source_port == 40000);
  CHECK(b[0].transport == "udp");
  CHECK(b[0].expires_at_s == t0 + 600);
  CHECK(b[0].call_id == "call-1@host");
  CHECK(b[0].cseq == 1);
  REQUIRE(f.events.size() == 1);
  CHECK(f.events[0] == std::pair<std::string, location_change>{"alice@example.com", location_change::online});

  // Refresh later from a new source address (NAT rebinding): one binding, updated.
  f.ctx.now_s = t0 + 100;
  f.ctx.source_port = 40001;
  r.cseq = 2;
  res = f.send(r);
  CHECK(contacts_of(res.response) == std::vector<std::string>{"<sip:alice@192.0.2.10:5060>;expires=600"});
  b = f.loc.lookup("alice@example.com", t0 + 100);
  REQUIRE(b.size() == 1);
  CHECK(b[0].source_port == 40001);
  CHECK(b[0].expires_at_s == t0 + 700);
  CHECK(f.events.back().second == location_change::updated);

  // A query (no Contact) lists without changing anything.
  reg_request q;
  q.cseq = 3;
  res = f.send(q);
  CHECK(res.status == 200);
  CHECK(contacts_of(res.response) == std::vector<std::string>{"<sip:alice@192.0.2.10:5060>;expires=600"});
  CHECK(f.events.size() == 2);

  // Removal with expires=0 on the contact (an equivalent URI per §19.1.4).
  r.cseq = 4;
  r.contacts = {"<sip:alice@192.0.2.10:5060>;expires=0"};
  r.expires.clear();
  res = f.send(r);
  CHECK(res.status == 200);
  CHECK(contacts_of(res.response).empty());
  CHECK(f.loc.find("alice@example.com") == nullptr);
  CHECK(f.events.back().second == location_change::offline);
  CHECK(f.loc.binding_count() == 0);
}

TEST_CASE("registrar: expires defaults, clamping and 423", "[signalling][registrar]") {
  fixture f;
  reg_request r;
  r.contacts = {"<sip:a@192.0.2.1>"};
  CHECK(contacts_of(f.send(r).response) == std::vector<std::string>{"<sip:a@192.0.2.1>;expires=3600"});
  r.cseq = 2;
  r.expires = "86400";  // over the maximum: shortened
  CHECK(contacts_of(f.send(r).response) == std::vector<std::string>{"<sip:a@192.0.2.1>;expires=3600"});
  r.cseq = 3;
  r.contacts = {"<sip:a@192.0.2.1>;expires=120"};  // the contact parameter wins over Expires
  CHECK(contacts_of(f.send(r).response) == std::vector<std::string>{"<sip:a@192.0.2.1>;expires=120"});
  r.cseq = 4;
  r.contacts = {"<sip:a@192.0.2.1>;expires=30"};
  const register_result brief = f.send(r);
  CHECK(brief.status == 423);
  CHECK(brief.reason == register_reason::interval_too_brief);
  CHECK(header_of(brief.response, header_id::min_expires) == "60");
  CHECK(f.loc.lookup("alice@example.com", t0)[0].expires_at_s == t0 + 120);  // untouched
  r.contacts = {"<sip:a@192.0.2.1>"};
  r.expires = "59";
  CHECK(f.send(r).status == 423);
  r.expires = "x";
  CHECK(f.send(r).status == 400);
}

TEST_CASE("registrar: several contacts, q order, star removal", "[signalling][registrar]") {
  fixture f;
  reg_request r;
  r.contacts = {"<sip:desk@192.0.2.1>;q=0.5", "<sip:mobile@192.0.2.2>;q=1.0, <sip:tablet@192.0.2.3>;q=0.25"};
  r.expires = "600";
  register_result res = f.send(r);
  CHECK(res.status == 200);
  CHECK(contacts_of(res.response) == std::vector<std::string>{"<sip:mobile@192.0.2.2>;expires=600",
                                                              "<sip:desk@192.0.2.1>;expires=600;q=0.5",
                                                              "<sip:tablet@192.0.2.3>;expires=600;q=0.25"});
  const auto b = f.loc.lookup("alice@example.com", t0);
  REQUIRE(b.size() == 3);
  CHECK(b[0].contact == "sip:mobile@192.0.2.2");
  CHECK(b[2].q == 250);

  // Another device (new Call-ID) adds a fourth: over max_bindings_per_aor (3).
  reg_request other;
  other.call_id = "call-2@host";
  other.contacts = {"<sip:laptop@192.0.2.4>"};
  CHECK(f.send(other).status == 403);
  CHECK(f.loc.binding_count() == 3);

  // "*" needs Expires: 0 and no other contact.
  reg_request star;
  star.cseq = 2;
  star.contacts = {"*"};
  CHECK(f.send(star).reason == register_reason::bad_star);
  star.expires = "0";
  star.contacts = {"*", "<sip:x@192.0.2.9>"};
  CHECK(f.send(star).reason == register_reason::bad_star);
  star.contacts = {"*"};
  res = f.send(star);
  CHECK(res.status == 200);
  CHECK(contacts_of(res.response).empty());
  CHECK(f.loc.aor_count() == 0);
  CHECK(f.events.back().second == location_change::offline);
}

TEST_CASE("registrar: CSeq must grow within a Call-ID (§10.3 step 7)", "[signalling][registrar]") {
  fixture f;
  reg_request r;
  r.cseq = 5;
  r.contacts = {"<sip:a@192.0.2.1>"};
  CHECK(f.send(r).status == 200);
  r.contacts = {"<sip:a@192.0.2.1>;expires=0"};
  register_result res = f.send(r);  // same CSeq: a retransmission or replay, refused
  CHECK(res.status == 500);
  CHECK(res.reason == register_reason::out_of_order);
  r.cseq = 4;
  CHECK(f.send(r).status == 500);
  CHECK(f.loc.binding_count() == 1);
  // A star with the old CSeq is refused too; nothing changes (all or nothing).
  reg_request star;
  star.cseq = 5;
  star.contacts = {"*"};
  star.expires = "0";
  CHECK(f.send(star).status == 500);
  CHECK(f.loc.binding_count() == 1);
  // Another Call-ID (the device restarted) may write with any CSeq.
  reg_request restarted;
  restarted.call_id = "call-9@host";
  restarted.cseq = 1;
  restarted.contacts = {"<sip:a@192.0.2.1>;expires=100"};
  CHECK(f.send(restarted).status == 200);
  CHECK(f.loc.lookup("alice@example.com", t0)[0].call_id == "call-9@host");
  // The same contact twice in one request is one update, not an ordering error.
  restarted.cseq = 2;
  restarted.contacts = {"<sip:a@192.0.2.1>;expires=100", "<sip:a@192.0.2.1>;expires=200"};
  CHECK(f.send(restarted).status == 200);
  CHECK(f.loc.lookup("alice@example.com", t0)[0].expires_at_s == t0 + 200);
}

TEST_CASE("registrar: domain and AOR checks", "[signalling][registrar]") {
  fixture f;
  reg_request r;
  r.contacts = {"<sip:a@192.0.2.1>"};
  r.ruri = "sip:other.org";
  r.to = "sip:alice@other.org";
  CHECK(f.send(r).reason == register_reason::domain_not_served);
  CHECK(f.send(r).status == 403);
  r.ruri = "sip:EXAMPLE.com";
  r.to = "sip:alice@other.org";
  CHECK(f.send(r).status == 404);
  r.to = "sip:example.com";  // no user part
  CHECK(f.send(r).status == 404);
  r.to = "sip:alice@Example.COM";
  CHECK(f.send(r).status == 200);
  CHECK(f.loc.find("alice@example.com") != nullptr);
}

TEST_CASE("location service: expiry sweep and lookup skip what has expired", "[signalling][registrar]") {
  fixture f;
  reg_request r;
  r.contacts = {"<sip:short@192.0.2.1>;expires=60", "<sip:long@192.0.2.2>;expires=600"};
  CHECK(f.send(r).status == 200);
  reg_request bob;
  bob.to = "sip:bob@example.com";
  bob.contacts = {"<sip:bob@192.0.2.3>;expires=60"};
  CHECK(f.send(bob).status == 200);
  CHECK(f.loc.binding_count() == 3);
  f.events.clear();

  CHECK(f.loc.expire(t0 + 59) == 0);
  CHECK(f.loc.lookup("alice@example.com", t0 + 60).size() == 1);  // due, not yet swept
  CHECK(f.loc.expire(t0 + 60) == 2);
  CHECK(f.loc.binding_count() == 1);
  CHECK(f.loc.aor_count() == 1);
  REQUIRE(f.events.size() == 2);
  CHECK(f.events[0] == std::pair<std::string, location_change>{"alice@example.com", location_change::updated});
  CHECK(f.events[1] == std::pair<std::string, location_change>{"bob@example.com", location_change::offline});

  // The 200 lists remaining time.
  f.ctx.now_s = t0 + 100;
  reg_request q;
  q.cseq = 2;
  CHECK(contacts_of(f.send(q).response) == std::vector<std::string>{"<sip:long@192.0.2.2>;expires=500"});
  CHECK(f.loc.expire(t0 + 600) == 1);
  CHECK(f.loc.aor_count() == 0);
  CHECK(f.loc.expire(t0 + 10000) == 0);
}

TEST_CASE("registrar: an alias domain (the listen address) binds under the canonical domain", "[signalling][registrar]") {
  location_service loc;
  registrar reg{registrar_config{{"Example.com", "127.0.0.1"}, 3600, 60, 3600, 3}, loc};
  request_context ctx;
  ctx.now_s = t0;
  ctx.transport = "udp";
  ctx.source_ip = "127.0.0.1";
  ctx.source_port = 40000;
  ctx.to_tag = "regtag";
  const std::string s =
      "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKalias\r\n"
      "Max-Forwards: 70\r\nTo: <sip:alice@127.0.0.1>\r\nFrom: <sip:alice@127.0.0.1>;tag=1\r\n"
      "Call-ID: alias-1\r\nCSeq: 1 REGISTER\r\nContact: <sip:alice@127.0.0.1:5070>\r\nContent-Length: 0\r\n\r\n";
  auto m = parse_message(s);
  REQUIRE(m);
  CHECK(reg.handle(*m, ctx).status == 200);
  CHECK(loc.lookup("alice@example.com", t0).size() == 1);
  CHECK(loc.lookup("alice@127.0.0.1", t0).empty());
}
