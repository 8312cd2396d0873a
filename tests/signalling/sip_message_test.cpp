// The SIP message layer beyond the torture vectors: compact forms, folding, quoted
// strings, lists, limits, typed headers, responses built from requests, stream framing.
#include <catch2/catch.hpp>

#include <string>

#include "signalling/sip/message.hpp"
#include "signalling/sip/serializer.hpp"

using namespace tutti::sig;

namespace {

std::string crlf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\r\n";
    else out += c;
  }
  return out;
}

const std::string invite = crlf(R"(INVITE sip:conf-1@tutti.example.com SIP/2.0
Via: SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bK776asdhds;rport
Via: SIP/2.0/TCP proxy.example.net;branch=z9hG4bKnashds8;received=192.0.2.9
Max-Forwards: 70
To: "Conference" <sip:conf-1@tutti.example.com>
From: "Alice" <sip:alice@example.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.example.com
CSeq: 314159 INVITE
Contact: <sip:alice@198.51.100.7:5062;transport=udp>;expires=3600;q=0.7
Timestamp: 54
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY
Supported: replaces, timer
Content-Type: application/sdp
Content-Length: 4

v=0
)");

}  // namespace

TEST_CASE("A typical INVITE parses into typed fields", "[signalling][sip]") {
  auto r = parse_message(invite);
  REQUIRE(r);
  const message_view& m = *r;
  CHECK(m.method() == sip_method::invite);
  CHECK(m.request_uri().scheme == uri_scheme::sip);
  CHECK(m.request_uri().user == "conf-1");
  CHECK(m.top_via().host == "198.51.100.7");
  CHECK(m.top_via().port == 5062);
  CHECK(m.top_via().has_rport);
  CHECK(m.top_via().rfc3261_branch());
  CHECK(m.via_count() == 2);
  CHECK(m.from().display_text() == "Alice");
  CHECK(m.from().tag == "1928301774");
  CHECK_FALSE(m.to().has_tag);
  CHECK(m.cseq().number == 314159);
  CHECK(m.body() == "v=0\r");  // Content-Length 4 cuts the body where it says
  auto c = parse_contact(m.find(header_id::contact)->value);
  REQUIRE(c);
  CHECK(c->expires == std::optional<uint32_t>(3600));
  CHECK(c->q == std::optional<uint16_t>(700));
  CHECK(c->address.uri.param("transport") == std::optional<std::string_view>("udp"));
  CHECK(token_list_contains(m.find(header_id::allow)->value, "REFER"));
  CHECK_FALSE(token_list_contains(m.find(header_id::allow)->value, "PUBLISH"));
  CHECK(token_list_contains(m.find(header_id::supported)->value, "timer"));
  CHECK(m.expires().error() == header_error::absent);
}

TEST_CASE("Compact header forms map to their long names", "[signalling][sip]") {
  const std::pair<const char*, header_id> forms[] = {
      {"i", header_id::call_id},        {"m", header_id::contact},        {"e", header_id::content_encoding},
      {"l", header_id::content_length}, {"f", header_id::from},           {"t", header_id::to},
      {"v", header_id::via},            {"c", header_id::content_type},   {"k", header_id::supported},
      {"s", header_id::subject},        {"o", header_id::event},          {"u", header_id::allow_events},
      {"r", header_id::refer_to},       {"b", header_id::referred_by},    {"x", header_id::session_expires},
      {"y", header_id::identity},       {"a", header_id::accept_contact}, {"j", header_id::reject_contact},
      {"d", header_id::request_disposition},
  };
  for (const auto& [name, id] : forms) {
    INFO(name);
    CHECK(lookup_header(name) == id);
    std::string upper(1, static_cast<char>(name[0] - 32));
    CHECK(lookup_header(upper) == id);
  }
  CHECK(lookup_header("CALL-id") == header_id::call_id);
  CHECK(lookup_header("www-authenticate") == header_id::www_authenticate);
  CHECK(lookup_header("q") == header_id::other);
  CHECK(lookup_header("Viaa") == header_id::other);
  CHECK(header_name(header_id::cseq) == "CSeq");

  const std::string compact = crlf(R"(SUBSCRIBE sip:bob@example.com SIP/2.0
v: SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bKx1
f: <sip:alice@example.com>;tag=a
t: <sip:bob@example.com>
i: sub-1@example.com
CSeq: 2 SUBSCRIBE
o: presence;id=7
k: eventlist
m: <sip:alice@[2001:db8::9]:5061;transport=tcp>
l: 0

)");
  auto r = parse_message(compact, parse_limits{.datagram = false});
  REQUIRE(r);
  CHECK(r->top_via().host == "2001:db8::9");
  CHECK(r->top_via().host_type == host_kind::ipv6);
  CHECK(r->top_via().port == 5061);
  CHECK(r->call_id() == "sub-1@example.com");
  auto ev = r->event();
  REQUIRE(ev);
  CHECK(ev->package == "presence");
  CHECK(ev->id == "7");
  auto c = parse_contact(r->find(header_id::contact)->value);
  REQUIRE(c);
  CHECK(c->address.uri.host == "2001:db8::9");
  CHECK(c->address.uri.hostport() == "[2001:db8::9]:5061");
}

TEST_CASE("Folding, quoted strings and lists", "[signalling][sip]") {
  const std::string text = crlf(R"(NOTIFY sip:alice@198.51.100.7 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa, SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKb
Via: SIP/2.0/UDP 192.0.2.3;branch=z9hG4bKc
From: "Bob \"the\" Builder, Jr." <sip:bob@example.com>;tag=b
To:
	<sip:alice@example.com>
	;tag=a
Call-ID: n1
CSeq: 7 NOTIFY
Event: presence
Subscription-State: active;expires=599
Contact: "Comma, Inc" <sip:x@example.com;a=1>, <sip:y@example.com>;q=0.1,
 sip:z@example.com
Content-Length: 0

)");
  auto r = parse_message(text);
  REQUIRE(r);
  CHECK(r->via_count() == 3);
  std::vector<std::string_view> branches;
  for (std::string_view v : r->values(header_id::via)) branches.push_back(parse_via(v)->branch);
  CHECK(branches == std::vector<std::string_view>{"z9hG4bKa", "z9hG4bKb", "z9hG4bKc"});
  CHECK(r->from().display_text() == "Bob \"the\" Builder, Jr.");
  CHECK(r->to().tag == "a");
  CHECK(r->to().uri.user == "alice");
  auto st = r->subscription_state();
  REQUIRE(st);
  CHECK(st->state == subscription_state_value::active);
  CHECK(st->expires == std::optional<uint32_t>(599));
  std::vector<std::string> users;
  for (std::string_view v : r->values(header_id::contact)) {
    auto c = parse_contact(v);
    REQUIRE(c);
    users.emplace_back(c->address.uri.user);
  }
  CHECK(users == std::vector<std::string>{"x", "y", "z"});
  CHECK(text::unquote(R"("a\\b \"c\"  d")") == R"(a\b "c" d)");
  CHECK(text::unfold("a\r\n  b\r\n\tc") == "a b c");
}

TEST_CASE("Contact star, Refer-To, expires and qvalues", "[signalling][sip]") {
  auto star = parse_contact(" * ");
  REQUIRE(star);
  CHECK(star->star);
  CHECK_FALSE(parse_contact("<sip:a@b>;q=1.5"));
  CHECK_FALSE(parse_contact("<sip:a@b>;q=0.1234"));
  CHECK(parse_contact("<sip:a@b>;q=1.000")->q == std::optional<uint16_t>(1000));
  CHECK(parse_contact("<sip:a@b>;q=0")->q == std::optional<uint16_t>(0));
  // Overlarge delta-seconds read as the largest value (RFC 3261 §20.19).
  CHECK(parse_contact("<sip:a@b>;expires=280297596632815")->expires == std::optional<uint32_t>(4294967295u));
  CHECK_FALSE(parse_contact("<sip:a@b>;expires=soon"));
  auto refer = parse_name_addr("<sip:carol@example.com?Replaces=12345%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>");
  REQUIRE(refer);
  CHECK(refer->uri.header("Replaces"));
  CHECK_FALSE(parse_name_addr("<sip:a@b>;tag"));  // tag needs a token value
  CHECK_FALSE(parse_name_addr("<sip:a@b"));
  CHECK_FALSE(parse_name_addr("sip:a@b?x=y"));
  CHECK(parse_cseq("4294967295 BYE")->number == 4294967295u);
  CHECK(parse_cseq("4294967296 BYE").error() == header_error::range);
  CHECK_FALSE(parse_cseq("12BYE"));
  CHECK_FALSE(parse_call_id("a@b@c"));
  CHECK_FALSE(parse_call_id("has space"));
  CHECK(parse_max_forwards("256").error() == header_error::range);
  CHECK_FALSE(parse_via("SIP/2.0/UDP"));
  CHECK_FALSE(parse_via("SIP/2.0/UDP host;rport=70000"));
  CHECK_FALSE(parse_via("SIP/2.0/UDP host:99999"));
  CHECK(parse_via("SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKx")->received ==
        "2001:db8::9:255");
}

TEST_CASE("Limits are errors with a reason", "[signalling][sip]") {
  const std::string head = "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                           "From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: c\r\n"
                           "CSeq: 1 OPTIONS\r\n";
  SECTION("message size") {
    std::string big = head + "X-Pad: " + std::string(70000, 'x') + "\r\nContent-Length: 0\r\n\r\n";
    auto r = parse_message(big);
    REQUIRE_FALSE(r);
    CHECK(r.error().reason == parse_reason::message_too_large);
    CHECK(r.error().status == 513);
    CHECK(can_answer(r.error()));
  }
  SECTION("header count") {
    std::string many = head;
    for (int i = 0; i < 130; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
    many += "\r\n";
    auto r = parse_message(many);
    REQUIRE_FALSE(r);
    CHECK(r.error().reason == parse_reason::too_many_headers);
    CHECK(can_answer(r.error()));
    parse_limits lim;
    lim.max_headers = 10;
    const std::string eleven = head + "X-A: 1\r\nX-B: 2\r\nX-C: 3\r\nX-D: 4\r\nX-E: 5\r\nX-F: 6\r\n\r\n";
    auto small = parse_message(eleven, lim);
    REQUIRE_FALSE(small);
    CHECK(small.error().reason == parse_reason::too_many_headers);
  }
  SECTION("header length") {
    parse_limits lim;
    lim.max_header_bytes = 100;
    auto r = parse_message(head + "Subject: " + std::string(200, 's') + "\r\n\r\n", lim);
    REQUIRE_FALSE(r);
    CHECK(r.error().reason == parse_reason::header_too_long);
  }
  SECTION("Via count") {
    std::string vias = head;
    for (int i = 0; i < 71; ++i) vias += "Via: SIP/2.0/UDP h" + std::to_string(i) + "\r\n";
    auto r = parse_message(vias + "\r\n");
    REQUIRE_FALSE(r);
    CHECK(r.error().reason == parse_reason::too_many_vias);
  }
  SECTION("body framing") {
    CHECK(parse_message(head + "\r\nhello")->body() == "hello");  // UDP: rest of the datagram
    parse_limits stream;
    stream.datagram = false;
    auto r = parse_message(head + "\r\nhello", stream);
    REQUIRE_FALSE(r);
    CHECK(r.error().reason == parse_reason::missing_content_length);
    auto t = parse_message(head + "Content-Length: 6\r\n\r\nhello");
    REQUIRE_FALSE(t);
    CHECK(t.error().reason == parse_reason::body_truncated);
  }
  SECTION("start lines and keep-alives") {
    CHECK(parse_message("\r\n\r\n").error().reason == parse_reason::empty);
    CHECK(parse_message("").error().reason == parse_reason::empty);
    CHECK(parse_message("OPTIONS").error().reason == parse_reason::bad_start_line);
    CHECK(parse_message("SIP/2.0 99 Low\r\n\r\n").error().reason == parse_reason::bad_status_code);
    CHECK(parse_message("SIP/2.0 700 High\r\n\r\n").error().reason == parse_reason::bad_status_code);
    CHECK(parse_message("SIP/3.0 200 OK\r\n\r\n").error().reason == parse_reason::unsupported_version);
    CHECK(parse_message("OPTIONS sip:a@b SIP/2.0\r\nBad Header\r\n\r\n").error().reason == parse_reason::bad_header_line);
    CHECK(parse_message("OPTIONS sip:a@b SIP/2.0\r\nX: a\rb\r\n\r\n").error().reason == parse_reason::bad_header_line);
    CHECK(parse_message("OPTIONS sip:a@b SIP/2.0\r\n  folded: x\r\n\r\n").error().reason == parse_reason::bad_header_line);
    CHECK(parse_message("OPTIONS sip:a@b SIP/2.0\r\nX: y\r\n").error().reason == parse_reason::headers_unterminated);
    // An ACK that fails is never answered (RFC 3261 §17).
    auto ack = parse_message("ACK sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                             "From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: c\r\n"
                             "CSeq: 1 BYE\r\n\r\n");
    REQUIRE_FALSE(ack);
    CHECK(ack.error().reason == parse_reason::cseq_method_mismatch);
    CHECK_FALSE(can_answer(ack.error()));
  }
}

TEST_CASE("Response built from a request round-trips (RFC 3261 8.2.6)", "[signalling][sip]") {
  auto req = parse_message(invite);
  REQUIRE(req);
  const std::string stamped = stamp_via(req->top_via(), "203.0.113.5", 40000);
  CHECK(stamped == "SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bK776asdhds;rport=40000;received=203.0.113.5");

  message_builder b = make_response(*req, 200, {}, response_options{"srv-tag", stamped});
  b.add(header_id::contact, "<sip:conf-1@192.0.2.50>");
  const std::string sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.50\r\ns=-\r\nt=0 0\r\n";
  const std::string wire = b.finish(sdp, "application/sdp");

  auto resp = parse_message(wire);
  REQUIRE(resp);
  CHECK(resp->status() == 200);
  CHECK(resp->reason() == "OK");
  CHECK(resp->via_count() == 2);
  CHECK(resp->top_via().received == "203.0.113.5");
  CHECK(resp->top_via().rport == 40000);
  CHECK(resp->top_via().branch == req->top_via().branch);
  CHECK(resp->from().tag == req->from().tag);
  CHECK(resp->to().tag == "srv-tag");
  CHECK(uri_equal(resp->to().uri, req->to().uri));
  CHECK(resp->call_id() == req->call_id());
  CHECK(resp->cseq().number == req->cseq().number);
  CHECK(resp->cseq().method == sip_method::invite);
  CHECK(resp->body() == sdp);
  CHECK(resp->content_type()->is("application", "sdp"));
  CHECK_FALSE(resp->find(header_id::timestamp));

  // 100 Trying: no To tag, Timestamp echoed (§8.2.6.1).
  const std::string trying_wire = make_response(*req, 100, {}, response_options{"srv-tag", {}}).finish();
  auto trying = parse_message(trying_wire);
  REQUIRE(trying);
  CHECK_FALSE(trying->to().has_tag);
  CHECK(trying->find(header_id::timestamp)->value == "54");
  CHECK(trying->reason() == "Trying");

  // A request built from scratch parses back to what was put in.
  std::string bye = message_builder::request("BYE", "sip:alice@198.51.100.7:5062")
                        .add(header_id::via, "SIP/2.0/UDP 192.0.2.50;branch=z9hG4bKbye1;rport")
                        .add(header_id::max_forwards, uint64_t{70})
                        .add(header_id::from, "<sip:conf-1@tutti.example.com>;tag=srv-tag")
                        .add(header_id::to, "<sip:alice@example.com>;tag=1928301774")
                        .add(header_id::call_id, "a84b4c76e66710@pc33.example.com")
                        .add(header_id::cseq, "1 BYE")
                        .add("X-Injected", "a\r\nVia: evil")
                        .finish();
  auto parsed = parse_message(bye, parse_limits{.datagram = false});
  REQUIRE(parsed);
  CHECK(parsed->method() == sip_method::bye);
  CHECK(parsed->via_count() == 1);  // CR/LF in a value cannot add a header line
  CHECK(parsed->find("X-Injected")->value == "a  Via: evil");
  CHECK(parsed->find(header_id::content_length)->value == "0");
}

TEST_CASE("Stream framing finds message boundaries", "[signalling][sip]") {
  const std::string one = "OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nhello";
  const std::string two = one + "\r\n\r\n" + one;
  stream_frame f = frame_stream(two);
  CHECK(f.status == stream_frame::state::complete);
  CHECK(f.skip == 0);
  CHECK(f.length == one.size());
  f = frame_stream(std::string_view(two).substr(one.size()));
  CHECK(f.status == stream_frame::state::complete);
  CHECK(f.skip == 4);
  CHECK(f.length == one.size());
  CHECK(frame_stream(std::string_view(one).substr(0, one.size() - 1)).status == stream_frame::state::need_more);
  CHECK(frame_stream("OPTIONS sip:a@b SIP/2.0\r\nVia: x").status == stream_frame::state::need_more);
  CHECK(frame_stream("\r\n\r\n").status == stream_frame::state::keepalive);
  CHECK(frame_stream("OPTIONS sip:a@b SIP/2.0\r\n\r\n").reason == parse_reason::missing_content_length);
  CHECK(frame_stream("OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 1\r\n\r\nx").reason ==
        parse_reason::content_length_conflict);
  CHECK(frame_stream("OPTIONS sip:a@b SIP/2.0\r\nl: 99999\r\n\r\n").reason == parse_reason::message_too_large);
}
