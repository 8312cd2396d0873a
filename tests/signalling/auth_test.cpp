// Digest authenticator: challenge format, MD5 and SHA-256 responses computed as a client
// would, stale and forged nonces, nonce-count replay, unknown users, identity checks.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "signalling/auth.hpp"
#include "signalling/digest.hpp"
#include "signalling/sip/message.hpp"

using namespace tutti::sig;

namespace {

constexpr uint64_t t0 = 1'700'000'000;

std::string request(std::string_view method, std::string_view to_user, std::string_view from_user,
                    std::string_view auth_header = {}, uint32_t cseq = 1,
                    std::string_view ruri = "sip:example.com") {
  std::string m;
  m.append(method).append(" ").append(ruri).append(" SIP/2.0\r\n");
  m += "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n";
  m += "Max-Forwards: 70\r\n";
  m.append("To: <sip:").append(to_user).append("@example.com>\r\n");
  m.append("From: <sip:").append(from_user).append("@example.com>;tag=1928301774\r\n");
  m += "Call-ID: a84b4c76e66710@pc33.example.com\r\n";
  m.append("CSeq: ").append(std::to_string(cseq)).append(" ").append(method).append("\r\n");
  m += "Contact: <sip:u@192.0.2.10:5060>\r\n";
  if (!auth_header.empty()) m.append(auth_header).append("\r\n");
  m += "Content-Length: 0\r\n\r\n";
  return m;
}

message_view parse(const std::string& s) {
  auto m = parse_message(s);
  REQUIRE(m);
  return *m;
}

std::vector<digest_challenge> challenges(const std::string& response, header_id h = header_id::www_authenticate) {
  const message_view r = parse(response);
  std::vector<digest_challenge> out;
  for (const header_field& f : r.headers())
    if (f.id == h) {
      auto c = parse_challenge(f.value);
      REQUIRE(c);
      out.push_back(*c);
    }
  return out;
}

uint16_t status_of(const std::string& response) { return parse(response).status(); }

// The Authorization header a client would send for this challenge.
std::string authorization(const digest_challenge& ch, std::string_view user, std::string_view password,
                          std::string_view method, uint32_t nc = 1, std::string_view uri = "sip:example.com",
                          std::string_view header = "Authorization") {
  digest_credentials c;
  c.username = std::string(user);
  c.realm = ch.realm;
  c.nonce = ch.nonce;
  c.uri = std::string(uri);
  c.cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
  c.opaque = ch.opaque;
  c.qop = "auth";
  char ncbuf[9];
  std::snprintf(ncbuf, sizeof ncbuf, "%08x", nc);
  c.nc = ncbuf;
  c.nc_value = nc;
  c.algorithm = ch.algorithm;
  const std::string ha1 = digest_ha1(ch.algorithm, user, ch.realm, password);
  c.response = digest_response(ch.algorithm, ha1, digest_input{method, c.uri, c.nonce, c.nc, c.cnonce, c.qop, {}});
  return std::string(header) + ": " + format_credentials(c);
}

struct fixture {
  memory_credentials users;
  authenticator auth;
  request_context ctx;
  explicit fixture(auth_config cfg = {"example.com", "test secret", 300, 64, false, true})
      : auth((users.add_password("alice", "example.com", "Circle of Life"),
              users.add_password("bob", "example.com", "hunter2"), std::move(cfg)),
             users) {
    ctx.now_s = t0;
    ctx.to_tag = "srvtag";
  }
  // First round trip: the challenge for an unauthenticated request, SHA-256 one first.
  std::vector<digest_challenge> challenge_for(std::string_view method = "REGISTER") {
    const std::string req = request(method, "alice", "alice");
    const auth_outcome o = auth.check(parse(req), ctx);
    REQUIRE(o.status == auth_status::challenge);
    return challenges(o.response);
  }
  auth_outcome send(std::string_view method, std::string_view to, std::string_view auth_header,
                    std::string_view ruri = "sip:example.com") {
    const std::string req = request(method, to, to, auth_header, 2, ruri);
    return auth.check(parse(req), ctx);
  }
};

}  // namespace

TEST_CASE("auth: md5_only offers MD5 alone; md5_first puts it first", "[signalling][auth]") {
  auth_config only{"example.com", "test secret", 300, 64, false, true};
  only.md5_only = true;
  fixture f(only);
  const std::string req = request("REGISTER", "alice", "alice");
  const auto ch = challenges(f.auth.check(parse(req), f.ctx).response);
  REQUIRE(ch.size() == 1);
  CHECK(ch[0].algorithm == digest_algorithm::md5);
  auth_config first{"example.com", "test secret", 300, 64, false, true};
  first.md5_first = true;
  fixture g(first);
  const auto ch2 = challenges(g.auth.check(parse(req), g.ctx).response);
  REQUIRE(ch2.size() == 2);
  CHECK(ch2[0].algorithm == digest_algorithm::md5);
  CHECK(ch2[1].algorithm == digest_algorithm::sha256);
}

TEST_CASE("auth: challenge offers SHA-256 then MD5 with one nonce, qop=auth, opaque", "[signalling][auth]") {
  fixture f;
  const std::string req = request("REGISTER", "alice", "alice");
  const auth_outcome o = f.auth.check(parse(req), f.ctx);
  CHECK(o.status == auth_status::challenge);
  CHECK(o.reason == auth_reason::no_credentials);
  const message_view r = parse(o.response);
  CHECK(r.status() == 401);
  CHECK(r.to().tag == "srvtag");
  CHECK(r.call_id() == "a84b4c76e66710@pc33.example.com");
  const auto ch = challenges(o.response);
  REQUIRE(ch.size() == 2);
  CHECK(ch[0].algorithm == digest_algorithm::sha256);
  CHECK(ch[1].algorithm == digest_algorithm::md5);
  for (const auto& c : ch) {
    CHECK(c.realm == "example.com");
    CHECK(c.qop_auth);
    CHECK_FALSE(c.qop_auth_int);
    CHECK_FALSE(c.stale);
    CHECK(c.opaque == f.auth.opaque());
    CHECK(c.nonce.size() == 48);
  }
  CHECK(ch[0].nonce == ch[1].nonce);
  const auto info = f.auth.read_nonce(ch[0].nonce);
  REQUIRE(info);
  CHECK(info->issued_s == t0);
  // Each challenge carries a new nonce.
  CHECK(f.challenge_for()[0].nonce != ch[0].nonce);
}

TEST_CASE("auth: SHA-256 and MD5 responses are accepted for every authenticated method", "[signalling][auth]") {
  fixture f;
  for (std::string_view method : {"REGISTER", "INVITE", "SUBSCRIBE", "PUBLISH", "MESSAGE"}) {
    const auto ch = f.challenge_for(method);
    uint32_t nc = 0;  // both challenges share the nonce, so its count goes on
    for (const auto& c : ch) {
      const auth_outcome o = f.send(method, "alice", authorization(c, "alice", "Circle of Life", method, ++nc));
      CHECK(o.status == auth_status::ok);
      CHECK(o.user == "alice");
      CHECK(o.response.empty());
    }
  }
}

TEST_CASE("auth: stored HA1 is the RFC 7616 §3.9.1 value", "[signalling][auth]") {
  memory_credentials users;
  users.add_password("Mufasa", "http-auth@example.org", "Circle of Life");
  const auto u = users.lookup("Mufasa", "http-auth@example.org");
  REQUIRE(u);
  const digest_input in{"GET", "/dir/index.html", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001",
                        "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "auth", {}};
  CHECK(digest_response(digest_algorithm::md5, u->ha1_md5, in) == "8ca523f5e9506fed4657c9700eebdbec");
  CHECK(digest_response(digest_algorithm::sha256, u->ha1_sha256, in) ==
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
  CHECK_FALSE(users.lookup("Mufasa", "other"));
  CHECK(users.remove("Mufasa", "http-auth@example.org"));
  CHECK_FALSE(users.lookup("Mufasa", "http-auth@example.org"));
}

TEST_CASE("auth: wrong password and unknown user get the same fresh 401", "[signalling][auth]") {
  fixture f;
  const auto ch = f.challenge_for();
  const auth_outcome wrong = f.send("REGISTER", "alice", authorization(ch[0], "alice", "guess", "REGISTER"));
  CHECK(wrong.status == auth_status::challenge);
  CHECK(wrong.reason == auth_reason::wrong_response);
  CHECK(status_of(wrong.response) == 401);
  CHECK_FALSE(challenges(wrong.response)[0].stale);
  // Unknown user: 401 as for a wrong password (documented choice: existence is not leaked).
  const auth_outcome unknown = f.send("REGISTER", "mallory", authorization(ch[0], "mallory", "x", "REGISTER"));
  CHECK(unknown.status == auth_status::challenge);
  CHECK(unknown.reason == auth_reason::unknown_user);
  CHECK(status_of(unknown.response) == 401);
  CHECK(challenges(unknown.response).size() == 2);
  CHECK(f.auth.refused(auth_reason::wrong_response) == 1);
  CHECK(f.auth.refused(auth_reason::unknown_user) == 1);
}

TEST_CASE("auth: an expired nonce is answered stale=true only with the right password", "[signalling][auth]") {
  fixture f;
  const auto ch = f.challenge_for();
  f.ctx.now_s = t0 + 300;  // the last second of its life
  CHECK(f.send("REGISTER", "alice", authorization(ch[0], "alice", "Circle of Life", "REGISTER")).status ==
        auth_status::ok);
  f.ctx.now_s = t0 + 301;
  const auth_outcome o = f.send("REGISTER", "alice", authorization(ch[0], "alice", "Circle of Life", "REGISTER", 2));
  CHECK(o.status == auth_status::stale);
  CHECK(o.reason == auth_reason::nonce_expired);
  const auto again = challenges(o.response);
  REQUIRE(again.size() == 2);
  CHECK(again[0].stale);
  CHECK(again[1].stale);
  CHECK(f.auth.read_nonce(again[0].nonce)->issued_s == t0 + 301);
  const auth_outcome wrong = f.send("REGISTER", "alice", authorization(ch[0], "alice", "nope", "REGISTER", 3));
  CHECK(wrong.status == auth_status::challenge);
  CHECK_FALSE(challenges(wrong.response)[0].stale);
}

TEST_CASE("auth: nonce-count must increase per nonce", "[signalling][auth]") {
  fixture f;
  const auto ch = f.challenge_for();
  const std::string a1 = authorization(ch[0], "alice", "Circle of Life", "REGISTER", 1);
  CHECK(f.send("REGISTER", "alice", a1).status == auth_status::ok);
  const auth_outcome replay = f.send("REGISTER", "alice", a1);
  CHECK(replay.status == auth_status::challenge);
  CHECK(replay.reason == auth_reason::replay);
  CHECK(status_of(replay.response) == 401);
  CHECK(f.send("REGISTER", "alice", authorization(ch[0], "alice", "Circle of Life", "REGISTER", 3)).status ==
        auth_status::ok);
  // Lower than the highest seen, though never used: refused too.
  CHECK(f.send("REGISTER", "alice", authorization(ch[0], "alice", "Circle of Life", "REGISTER", 2)).reason ==
        auth_reason::replay);
  // The MD5 challenge shares the nonce, so shares its count.
  CHECK(f.send("REGISTER", "alice", authorization(ch[1], "alice", "Circle of Life", "REGISTER", 3)).reason ==
        auth_reason::replay);
  CHECK(f.send("REGISTER", "alice", authorization(ch[1], "alice", "Circle of Life", "REGISTER", 4)).status ==
        auth_status::ok);
}

TEST_CASE("auth: a nonce evicted from the replay table is answered stale", "[signalling][auth]") {
  fixture f(auth_config{"example.com", "s", 300, 2, false, true});
  const auto n1 = f.challenge_for();
  const auto n2 = f.challenge_for();
  const auto n3 = f.challenge_for();
  const auto ok = [&](const digest_challenge& c, uint32_t nc) {
    return f.send("REGISTER", "alice", authorization(c, "alice", "Circle of Life", "REGISTER", nc));
  };
  CHECK(ok(n1[0], 1).status == auth_status::ok);
  CHECK(ok(n2[0], 1).status == auth_status::ok);
  CHECK(ok(n1[0], 2).status == auth_status::ok);  // n1 most recently used, n2 least
  CHECK(ok(n3[0], 1).status == auth_status::ok);  // evicts n2
  const auth_outcome o = ok(n2[0], 2);
  CHECK(o.status == auth_status::stale);
  CHECK(o.reason == auth_reason::nonce_forgotten);
  CHECK(challenges(o.response)[0].stale);
  CHECK(ok(n1[0], 3).status == auth_status::ok);  // survived
}

TEST_CASE("auth: nonce_count_table keeps the most recently used nonces", "[signalling][auth]") {
  nonce_count_table t(3);
  using v = nonce_count_table::verdict;
  CHECK(t.update(10, 1) == v::fresh);
  CHECK(t.update(11, 1) == v::fresh);
  CHECK(t.update(12, 1) == v::fresh);
  CHECK(t.update(10, 2) == v::fresh);  // 11 is now the oldest
  CHECK(t.update(13, 1) == v::fresh);  // evicts 11
  CHECK(t.size() == 3);
  CHECK(t.update(11, 5) == v::forgotten);
  CHECK(t.update(12, 1) == v::replay);
  CHECK(t.update(10, 2) == v::replay);
  CHECK(t.update(10, 3) == v::fresh);
  CHECK(t.update(14, 1) == v::fresh);  // evicts 13 (12 was touched by the replay check)
  CHECK(t.update(13, 2) == v::forgotten);
  // Many more: the table never grows and stays consistent.
  for (uint64_t s = 100; s < 1100; ++s) CHECK(t.update(s, 1) == v::fresh);
  CHECK(t.size() == 3);
  CHECK(t.update(1099, 1) == v::replay);
  CHECK(t.update(1098, 2) == v::fresh);
  CHECK(t.update(1096, 2) == v::forgotten);
}

TEST_CASE("auth: forged, foreign and malformed credentials", "[signalling][auth]") {
  fixture f;
  auto ch = f.challenge_for();
  SECTION("tampered nonce") {
    digest_challenge c = ch[0];
    c.nonce[5] = c.nonce[5] == 'A' ? 'B' : 'A';
    const auth_outcome o = f.send("REGISTER", "alice", authorization(c, "alice", "Circle of Life", "REGISTER"));
    CHECK(o.status == auth_status::challenge);
    CHECK(o.reason == auth_reason::bad_nonce);
  }
  SECTION("nonce from another secret") {
    memory_credentials u2;
    authenticator other(auth_config{"example.com", "another secret", 300, 64, false, true}, u2);
    digest_challenge c = ch[0];
    c.nonce = other.make_nonce(t0);
    CHECK(f.send("REGISTER", "alice", authorization(c, "alice", "Circle of Life", "REGISTER")).reason ==
          auth_reason::bad_nonce);
  }
  SECTION("another realm's credentials are not ours") {
    digest_challenge c = ch[0];
    c.realm = "elsewhere.org";
    CHECK(f.send("REGISTER", "alice", authorization(c, "alice", "Circle of Life", "REGISTER")).reason ==
          auth_reason::no_credentials);
  }
  SECTION("wrong opaque") {
    digest_challenge c = ch[0];
    c.opaque = "x";
    CHECK(f.send("REGISTER", "alice", authorization(c, "alice", "Circle of Life", "REGISTER")).reason ==
          auth_reason::bad_opaque);
  }
  SECTION("algorithm not offered") {
    digest_challenge c = ch[0];
    c.algorithm = digest_algorithm::sha512_256;
    CHECK(f.send("REGISTER", "alice", authorization(c, "alice", "Circle of Life", "REGISTER")).reason ==
          auth_reason::unsupported_algorithm);
  }
  SECTION("digest uri is not the Request-URI: 400") {
    const auth_outcome o = f.send("REGISTER", "alice",
                                  authorization(ch[0], "alice", "Circle of Life", "REGISTER", 1, "sip:other.org"));
    CHECK(o.status == auth_status::bad_request);
    CHECK(o.reason == auth_reason::bad_uri);
    CHECK(status_of(o.response) == 400);
  }
  SECTION("an equivalent uri (RFC 3261 §19.1.4) is accepted") {
    const auth_outcome o =
        f.send("REGISTER", "alice", authorization(ch[0], "alice", "Circle of Life", "REGISTER", 1, "sip:EXAMPLE.com"));
    CHECK(o.status == auth_status::ok);
  }
  SECTION("malformed Digest header: 400") {
    const auth_outcome o = f.send("REGISTER", "alice", "Authorization: Digest username=\"alice\", realm");
    CHECK(o.status == auth_status::bad_request);
    CHECK(o.reason == auth_reason::malformed);
    CHECK(status_of(o.response) == 400);
  }
  SECTION("another scheme is ignored: challenge") {
    CHECK(f.send("REGISTER", "alice", "Authorization: Basic YWxpY2U6eA==").reason == auth_reason::no_credentials);
  }
  SECTION("no qop (RFC 2069 style) is refused") {
    const std::string h = authorization(ch[0], "alice", "Circle of Life", "REGISTER");
    auto c = parse_credentials(std::string_view(h).substr(15));
    REQUIRE(c);
    c->qop.clear();
    c->nc.clear();
    c->cnonce.clear();
    c->response = digest_response(c->algorithm, digest_ha1(c->algorithm, "alice", "example.com", "Circle of Life"),
                                  digest_input{"REGISTER", c->uri, c->nonce, {}, {}, {}, {}});
    CHECK(f.send("REGISTER", "alice", "Authorization: " + format_credentials(*c)).reason ==
          auth_reason::unsupported_qop);
  }
}

TEST_CASE("auth: a user may act only as itself", "[signalling][auth]") {
  fixture f;
  const auto ch = f.challenge_for();
  // bob's valid credentials on a REGISTER for alice's AOR: 403.
  const auth_outcome o = f.send("REGISTER", "alice", authorization(ch[0], "bob", "hunter2", "REGISTER"));
  CHECK(o.status == auth_status::forbidden);
  CHECK(o.reason == auth_reason::identity_mismatch);
  CHECK(status_of(o.response) == 403);
  // Off: delegated identities pass.
  fixture g(auth_config{"example.com", "s", 300, 64, false, false});
  const auto ch2 = g.challenge_for();
  CHECK(g.send("REGISTER", "alice", authorization(ch2[0], "bob", "hunter2", "REGISTER")).status == auth_status::ok);
}

TEST_CASE("auth: proxy mode uses 407 and Proxy-Authorization", "[signalling][auth]") {
  fixture f(auth_config{"example.com", "s", 300, 64, true, true});
  const std::string req = request("INVITE", "alice", "alice");
  const auth_outcome o = f.auth.check(parse(req), f.ctx);
  CHECK(status_of(o.response) == 407);
  const auto ch = challenges(o.response, header_id::proxy_authenticate);
  REQUIRE(ch.size() == 2);
  // Credentials in Authorization are not looked at by a proxy.
  CHECK(f.send("INVITE", "alice", authorization(ch[0], "alice", "Circle of Life", "INVITE")).reason ==
        auth_reason::no_credentials);
  CHECK(f.send("INVITE", "alice",
               authorization(ch[0], "alice", "Circle of Life", "INVITE", 1, "sip:example.com", "Proxy-Authorization"))
            .status == auth_status::ok);
}
