#include <catch2/catch.hpp>

#include "signalling/rlmi.hpp"

using namespace tutti::sig;

TEST_CASE("rlmi build and parse round-trip (RFC 4662 §5.2)", "[signalling][rlmi]") {
  rlmi::list l;
  l.uri = "sip:alice-buddies@example.com";
  l.version = 3;
  l.full_state = true;
  l.name = "Alice's buddies";
  l.resources.push_back({"sip:bob@example.com", "Bob", {{"b1", rlmi::instance_state::active, "", "bob@x"}}});
  l.resources.push_back({"sip:carol@example.com", "", {{"c1", rlmi::instance_state::pending, "", ""}}});
  l.resources.push_back({"sip:dan@example.com", "", {{"d1", rlmi::instance_state::terminated, "rejected", ""}}});
  const std::string text = rlmi::build(l);
  CHECK(text.find(R"(<list xmlns="urn:ietf:params:xml:ns:rlmi" uri="sip:alice-buddies@example.com" version="3" fullState="true">)") !=
        std::string::npos);
  CHECK(text.find(R"(<instance id="d1" state="terminated" reason="rejected"/>)") != std::string::npos);
  auto r = rlmi::parse(text);
  REQUIRE(r.ok());
  CHECK(*r == l);
}

TEST_CASE("rlmi parse refuses bad documents", "[signalling][rlmi]") {
  auto reason_of = [](const char* s) {
    auto r = rlmi::parse(s);
    REQUIRE_FALSE(r.ok());
    return r.error();
  };
  CHECK(reason_of("<list") == rlmi::reason::xml);
  CHECK(reason_of(R"(<list uri="a" version="1" fullState="true"/>)") == rlmi::reason::not_rlmi);
  CHECK(reason_of(R"(<list xmlns="urn:ietf:params:xml:ns:rlmi" version="1" fullState="true"/>)") == rlmi::reason::missing_uri);
  CHECK(reason_of(R"(<list xmlns="urn:ietf:params:xml:ns:rlmi" uri="a" version="x" fullState="true"/>)") ==
        rlmi::reason::bad_version);
  CHECK(reason_of(R"(<list xmlns="urn:ietf:params:xml:ns:rlmi" uri="a" version="1" fullState="yes"/>)") ==
        rlmi::reason::bad_full_state);
  CHECK(reason_of(R"(<list xmlns="urn:ietf:params:xml:ns:rlmi" uri="a" version="1" fullState="true"><resource uri="b"><instance id="i" state="odd"/></resource></list>)") ==
        rlmi::reason::bad_instance);
}

TEST_CASE("multipart/related build and parse (RFC 2387, RFC 4662 §5.1)", "[signalling][rlmi]") {
  std::vector<rlmi::part> parts = {
      {"root@x", "application/rlmi+xml;charset=\"UTF-8\"", "<list/>"},
      {"bob@x", "application/pidf+xml", "<presence/>\r\nsecond line"},
      {"", "", ""},
  };
  const rlmi::multipart m = rlmi::build_related("b0und", parts);
  CHECK(m.content_type == R"(multipart/related;type="application/rlmi+xml";start="<root@x>";boundary="b0und")");
  CHECK(rlmi::boundary_of(m.content_type) == "b0und");
  CHECK(rlmi::boundary_of("multipart/related; Boundary=abc ;type=x") == "abc");
  auto r = rlmi::parse_multipart("b0und", m.body);
  REQUIRE(r.ok());
  CHECK(*r == parts);
  CHECK_FALSE(rlmi::parse_multipart("b0und", "--b0und\r\nContent-Type: x\r\n\r\nno end").ok());
  CHECK_FALSE(rlmi::parse_multipart("other", m.body).ok());
  CHECK(rlmi::parse_multipart("b0und", m.body, 2).error() == rlmi::reason::too_many_parts);
}
