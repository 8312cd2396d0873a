// URIs: RFC 3261 §19.1.3 examples, §19.1.4 comparison cases, tel: (RFC 3966), IPv6
// references (RFC 5118) and malformed input.
#include <catch2/catch.hpp>

#include "signalling/sip/uri.hpp"

using namespace tutti::sig;

namespace {

uri must(std::string_view s) {
  auto r = parse_uri(s);
  INFO(s);
  REQUIRE(r);
  return *r;
}

bool equal(std::string_view a, std::string_view b) {
  return uri_equal(must(a), must(b));
}

}  // namespace

TEST_CASE("RFC 3261 19.1.3 example URIs parse", "[signalling][sip]") {
  uri u = must("sip:alice:secretword@atlanta.com;transport=tcp");
  CHECK(u.scheme == uri_scheme::sip);
  CHECK(u.user == "alice");
  CHECK(u.password == "secretword");
  CHECK(u.host == "atlanta.com");
  CHECK(u.host_type == host_kind::name);
  CHECK_FALSE(u.has_port);
  CHECK(u.param("transport") == std::optional<std::string_view>("tcp"));
  CHECK(u.param("TRANSPORT") == std::optional<std::string_view>("tcp"));

  u = must("sips:alice@atlanta.com?subject=project%20x&priority=urgent");
  CHECK(u.scheme == uri_scheme::sips);
  CHECK(u.header("subject") == std::optional<std::string_view>("project%20x"));
  CHECK(u.header("priority") == std::optional<std::string_view>("urgent"));

  u = must("sip:+1-212-555-1212:1234@gateway.com;user=phone");
  CHECK(u.user == "+1-212-555-1212");
  CHECK(u.password == "1234");
  CHECK(u.param("user") == std::optional<std::string_view>("phone"));

  u = must("sip:alice@192.0.2.4");
  CHECK(u.host_type == host_kind::ipv4);

  u = must("sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com");
  CHECK_FALSE(u.has_user);
  CHECK(u.host == "atlanta.com");
  CHECK(u.param("method") == std::optional<std::string_view>("REGISTER"));

  u = must("sip:alice;day=tuesday@atlanta.com");
  CHECK(u.user == "alice;day=tuesday");
  CHECK(u.params.empty());

  u = must("sip:conf@[2001:db8::10]:5070;transport=tcp");
  CHECK(u.host == "2001:db8::10");
  CHECK(u.host_type == host_kind::ipv6);
  CHECK(u.port == 5070);
  CHECK(u.hostport() == "[2001:db8::10]:5070");

  // RFC 5118 §4.3: the colon-separated tail stays inside the brackets, not a port.
  u = must("sip:[2001:db8::10:5070]");
  CHECK(u.host == "2001:db8::10:5070");
  CHECK_FALSE(u.has_port);

  u = must("tel:+1-201-555-0123;ext=1234");
  CHECK(u.scheme == uri_scheme::tel);
  CHECK(u.user == "+1-201-555-0123");
  CHECK(u.param("ext") == std::optional<std::string_view>("1234"));
  u = must("tel:7042;phone-context=example.com");
  CHECK(u.user == "7042");

  u = must("urn:service:sos");
  CHECK(u.scheme == uri_scheme::other);
  CHECK(u.opaque == "service:sos");
}

TEST_CASE("Malformed URIs are refused with a reason", "[signalling][sip]") {
  const std::pair<const char*, uri_error> bad[] = {
      {"", uri_error::empty},
      {"sip:", uri_error::empty},
      {"alice@atlanta.com", uri_error::no_scheme},
      {"<sip:a@b>", uri_error::no_scheme},
      {"sip:alice@atlanta.com; lr", uri_error::bad_character},
      {"sip:al ice@atlanta.com", uri_error::bad_character},
      {"sip:@atlanta.com", uri_error::bad_user},
      {"sip:a%4@atlanta.com", uri_error::bad_user},
      {"sip:alice@", uri_error::bad_host},
      {"sip:alice@-bad.com", uri_error::bad_host},
      {"sip:alice@256.1.1.1", uri_error::bad_host},
      {"sip:alice@[2001:db8:::192.0.2.1]", uri_error::bad_host},  // RFC 5118 §4.10
      {"sip:2001:db8::10", uri_error::bad_host},                  // RFC 5118 §4.2: brackets required
      {"sip:alice@atlanta.com:65536", uri_error::bad_port},
      {"sip:alice@atlanta.com:", uri_error::bad_port},
      {"sip:alice@atlanta.com;=x", uri_error::bad_params},
      {"sip:alice@atlanta.com;a=", uri_error::bad_params},
      {"sip:alice@atlanta.com?noequals", uri_error::bad_headers},
      {"tel:", uri_error::empty},
      {"tel:+", uri_error::bad_user},
      {"tel:12x4", uri_error::bad_user},
  };
  for (const auto& [text, reason] : bad) {
    INFO(text);
    auto r = parse_uri(text);
    REQUIRE_FALSE(r);
    CHECK(to_string(r.error()) == to_string(reason));
  }
}

TEST_CASE("RFC 3261 19.1.4 equivalent URIs compare equal", "[signalling][sip]") {
  CHECK(equal("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
  CHECK(equal("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
  CHECK(equal("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"));
  CHECK(equal("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"));
  CHECK(equal("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
              "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
  CHECK(equal("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
              "sip:alice@atlanta.com?priority=urgent&subject=project%20x"));
  CHECK(equal("SIP:alice@atlanta.com", "sip:alice@ATLANTA.com"));
  CHECK(equal("sip:alice@[2001:db8::1]", "sip:alice@[2001:0db8:0:0:0:0:0:1]"));
  CHECK(equal("tel:+1-201-555-0123", "tel:+1.201.555.0123"));
  CHECK(equal("tel:7042;phone-context=example.com", "tel:7042;PHONE-CONTEXT=Example.com"));
}

TEST_CASE("RFC 3261 19.1.4 non-equivalent URIs compare unequal", "[signalling][sip]") {
  CHECK_FALSE(equal("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
  CHECK_FALSE(equal("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
  CHECK_FALSE(equal("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
  CHECK_FALSE(equal("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
  CHECK_FALSE(equal("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
  CHECK_FALSE(equal("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
  CHECK_FALSE(equal("sip:alice@atlanta.com", "sips:alice@atlanta.com"));
  CHECK_FALSE(equal("sip:alice@atlanta.com;maddr=239.255.255.1", "sip:alice@atlanta.com"));
  CHECK_FALSE(equal("sip:alice@atlanta.com;user=phone", "sip:alice@atlanta.com"));
  CHECK_FALSE(equal("sip:alice@atlanta.com;ttl=1", "sip:alice@atlanta.com;ttl=2"));
  CHECK_FALSE(equal("sip:alice:pw@atlanta.com", "sip:alice@atlanta.com"));
  CHECK_FALSE(equal("tel:+1-201-555-0123", "tel:+1-201-555-0124"));
  CHECK_FALSE(equal("tel:7042;phone-context=example.com", "tel:7042"));
}

TEST_CASE("percent_decode", "[signalling][sip]") {
  CHECK(percent_decode("I%20have%20spaces") == std::optional<std::string>("I have spaces"));
  CHECK(percent_decode("%41%4a%4A") == std::optional<std::string>("AJJ"));
  CHECK(percent_decode("null-%00-null") == std::optional<std::string>(std::string("null-\0-null", 11)));
  CHECK_FALSE(percent_decode("%4"));
  CHECK_FALSE(percent_decode("%zz"));
  CHECK(percent_decode("") == std::optional<std::string>(""));
}
