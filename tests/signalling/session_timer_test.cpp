// RFC 4028 session timers as the focus answers them: parsing Session-Expires, 422 for a too
// small interval, the refresher chosen, and when the non-refresher gives up.
#include "signalling/session_timer.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "signalling/sip/message.hpp"

using namespace tutti::sig;

namespace {

std::string invite(std::string_view extra) {
  std::string r = "INVITE sip:room@example.net SIP/2.0\r\n"
                  "Via: SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bKst1\r\n"
                  "Max-Forwards: 70\r\nFrom: <sip:alice@example.net>;tag=a\r\nTo: <sip:room@example.net>\r\n"
                  "Call-ID: st1\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@198.51.100.7:5062>\r\n";
  r += extra;
  r += "Content-Length: 0\r\n\r\n";
  return r;
}

session_timer_answer answer(std::string_view extra, session_timer_policy p = {}) {
  const std::string text = invite(extra);
  auto m = parse_message(text);
  REQUIRE(m.ok());
  return answer_session_timer(*m, p);
}

}  // namespace

TEST_CASE("Session-Expires parses delta and refresher", "[signalling][session_timer]") {
  auto a = parse_session_expires("1800;refresher=uas");
  REQUIRE(a.ok());
  CHECK(a->delta_s == 1800);
  REQUIRE(a->who);
  CHECK(*a->who == refresher::uas);
  auto b = parse_session_expires(" 90 ; foo=bar ;Refresher=UAC");
  REQUIRE(b.ok());
  CHECK(b->delta_s == 90);
  CHECK(*b->who == refresher::uac);
  auto c = parse_session_expires("600");
  REQUIRE(c.ok());
  CHECK_FALSE(c->who);
  CHECK_FALSE(parse_session_expires("abc").ok());
  CHECK_FALSE(parse_session_expires("").ok());
  CHECK_FALSE(parse_session_expires("600;refresher=me").ok());
  auto huge = parse_session_expires("99999999999999");  // delta-seconds saturate (RFC 3261 §20.19)
  REQUIRE(huge.ok());
  CHECK(huge->delta_s == 4294967295u);
}

TEST_CASE("a UAC supporting timers gets its interval, refresher=uac by default", "[signalling][session_timer]") {
  auto a = answer("Supported: timer\r\nSession-Expires: 600\r\n");
  CHECK_FALSE(a.too_small);
  CHECK(a.active);
  CHECK(a.interval_s == 600);
  CHECK(a.who == refresher::uac);
  CHECK(a.header_value() == "600;refresher=uac");

  auto b = answer("Supported: 100rel, timer\r\nSession-Expires: 300;refresher=uas\r\n");
  CHECK(b.active);
  CHECK(b.who == refresher::uas);  // a refresher the request names is kept
  CHECK(b.header_value() == "300;refresher=uas");

  auto c = answer("Supported: timer\r\n");  // no interval asked: ours
  CHECK(c.active);
  CHECK(c.interval_s == 1800);
  CHECK(c.who == refresher::uac);

  auto d = answer("Supported: timer\r\nSession-Expires: 200\r\nMin-SE: 250\r\n");
  CHECK(d.active);
  CHECK(d.interval_s == 250);  // never below the request's own Min-SE
}

TEST_CASE("too small an interval is refused with our Min-SE", "[signalling][session_timer]") {
  auto a = answer("Supported: timer\r\nSession-Expires: 60\r\n");
  CHECK(a.too_small);
  CHECK(a.min_se_s == 90);
  session_timer_policy p;
  p.min_se_s = 120;
  auto b = answer("Session-Expires: 100\r\n", p);
  CHECK(b.too_small);
  CHECK(b.min_se_s == 120);
  p.min_se_s = 10;  // never below the RFC's 90
  auto c = answer("Supported: timer\r\nSession-Expires: 60\r\n", p);
  CHECK(c.too_small);
  CHECK(c.min_se_s == 90);
}

TEST_CASE("no session timer without Supported: timer", "[signalling][session_timer]") {
  auto a = answer("Session-Expires: 600\r\n");
  CHECK_FALSE(a.too_small);
  CHECK_FALSE(a.active);
  CHECK_FALSE(answer("").active);
  CHECK(answer("Require: timer\r\nSession-Expires: 600\r\n").active);
}

TEST_CASE("when the non-refresher hangs up, when the refresher refreshes", "[signalling][session_timer]") {
  CHECK(bye_after_s(1800) == 1768);  // RFC 4028 §10: minus min(32, SE/3)
  CHECK(bye_after_s(90) == 60);
  CHECK(refresh_after_s(1800) == 900);
  CHECK(refresh_after_s(90) == 45);
  CHECK(refresh_after_s(1) == 1);
}
