// SDP (RFC 4566): offers as phones and browsers send them, the builder, round trips and
// invalid descriptions.
#include <catch2/catch.hpp>

#include <string>

#include "signalling/sdp.hpp"

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

// A desk phone / softphone offer: Opus, PCMU, PCMA, telephone-event; ptime, fmtp, extmap.
const std::string phone_offer = crlf(R"(v=0
o=alice 2890844526 2890844527 IN IP4 198.51.100.7
s=Talk
c=IN IP4 198.51.100.7
b=AS:80
t=0 0
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
m=audio 7078 RTP/AVP 96 0 8 101
a=rtpmap:96 opus/48000/2
a=fmtp:96 minptime=10;useinbandfec=1
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=maxptime:120
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on
a=rtcp:7079
a=sendrecv
)");

// A browser offer through a gateway: SAVPF, rtcp-mux, ICE/DTLS attributes, a video section.
const std::string browser_offer = crlf(R"(v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1
a=extmap-allow-mixed
a=msid-semantic: WMS
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:Kx9x
a=ice-pwd:LjyjrOOoqXU2r6Vv2Hp0nD9x
a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3B:FB:8B:B8:4E:AB:58:4A:1A:56:30:2A
a=setup:actpass
a=mid:0
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=extmap:2/recvonly http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=sendrecv
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=ssrc:1001 cname:4TOk42mSjXCkVIa6
m=video 9 UDP/TLS/RTP/SAVPF 96
c=IN IP4 0.0.0.0
b=TIAS:1500000
a=mid:1
a=recvonly
a=rtpmap:96 VP8/90000
)");

}  // namespace

TEST_CASE("SDP: a phone's Opus+PCMU+telephone-event offer", "[signalling][sdp]") {
  auto r = sdp::parse(phone_offer);
  REQUIRE(r);
  const sdp::session_description& s = *r;
  CHECK(s.o.username == "alice");
  CHECK(s.o.session_id == 2890844526u);
  CHECK(s.o.session_version == 2890844527u);
  CHECK(s.o.address == "198.51.100.7");
  CHECK(s.name == "Talk");
  REQUIRE(s.conn);
  CHECK(s.conn->address == "198.51.100.7");
  REQUIRE(s.bandwidths.size() == 1);
  CHECK(s.bandwidths[0].type == "AS");
  CHECK(s.bandwidths[0].value == 80);
  REQUIRE(s.attributes.size() == 1);
  CHECK(s.attributes[0].name == "rtcp-xr");
  REQUIRE(s.media.size() == 1);
  const sdp::media_description& m = s.media[0];
  CHECK(m.media == "audio");
  CHECK(m.port == 7078);
  CHECK(m.proto == "RTP/AVP");
  CHECK(m.formats == std::vector<std::string>{"96", "0", "8", "101"});
  REQUIRE(m.rtpmaps.size() == 4);
  const sdp::rtpmap* opus = m.find_rtpmap(96);
  REQUIRE(opus);
  CHECK(opus->encoding == "opus");
  CHECK(opus->clock_rate == 48000);
  CHECK(opus->channels == 2);
  CHECK(m.find_rtpmap(0)->encoding == "PCMU");
  CHECK(m.find_rtpmap(0)->channels == 1);
  CHECK(m.find_rtpmap(101)->encoding == "telephone-event");
  CHECK(m.find_fmtp("96")->params == "minptime=10;useinbandfec=1");
  CHECK(m.find_fmtp("101")->params == "0-16");
  CHECK_FALSE(m.find_rtpmap(9));
  CHECK(m.ptime_ms == std::optional<uint32_t>(20));
  CHECK(m.maxptime_ms == std::optional<uint32_t>(120));
  REQUIRE(m.extmaps.size() == 1);
  CHECK(m.extmaps[0].id == 1);
  CHECK_FALSE(m.extmaps[0].dir);
  CHECK(m.extmaps[0].uri == "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
  CHECK(m.extmaps[0].attributes == "vad=on");
  REQUIRE(m.rtcp);
  CHECK(m.rtcp->port == 7079);
  CHECK_FALSE(m.rtcp->address);
  CHECK(m.dir == std::optional<sdp::direction>(sdp::direction::sendrecv));
  CHECK(s.effective_connection(m)->address == "198.51.100.7");
  CHECK(m.attributes.empty());
}

TEST_CASE("SDP: a browser offer with SAVPF, rtcp-mux and two sections", "[signalling][sdp]") {
  auto r = sdp::parse(browser_offer);
  REQUIRE(r);
  const sdp::session_description& s = *r;
  CHECK(s.o.session_id == 4611731400430051336u);
  CHECK_FALSE(s.conn);
  REQUIRE(s.media.size() == 2);
  const sdp::media_description& a = s.media[0];
  CHECK(a.proto == "UDP/TLS/RTP/SAVPF");
  CHECK(a.formats.size() == 8);
  CHECK(a.rtcp_mux);
  CHECK(a.rtcp->address->address == "0.0.0.0");
  REQUIRE(a.extmaps.size() == 2);
  CHECK(a.extmaps[1].id == 2);
  CHECK(a.extmaps[1].dir == std::optional<sdp::direction>(sdp::direction::recvonly));
  CHECK(a.find_rtpmap(110)->clock_rate == 48000);
  CHECK(a.find_fmtp("63")->params == "111/111");
  CHECK(s.effective_direction(a) == sdp::direction::sendrecv);
  const sdp::media_description& v = s.media[1];
  CHECK(v.media == "video");
  CHECK(s.effective_direction(v) == sdp::direction::recvonly);
  CHECK(v.bandwidths[0].type == "TIAS");
  CHECK(v.bandwidths[0].value == 1500000);
  // Unknown attributes are kept, in order.
  std::vector<std::string> names;
  for (const sdp::attribute& at : a.attributes) names.push_back(at.name);
  CHECK(names == std::vector<std::string>{"ice-ufrag", "ice-pwd", "fingerprint", "setup", "mid", "rtcp-fb", "ssrc"});
  CHECK(a.attributes[4].value == "0");
  CHECK(s.attributes[1].name == "extmap-allow-mixed");
  CHECK_FALSE(s.attributes[1].has_value);
}

TEST_CASE("SDP: tolerant of LF line ends, unknown line types and direction defaults", "[signalling][sdp]") {
  const std::string text =
      "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\ni=info\nu=http://example.com\ne=x@example.com\n"
      "c=IN IP4 192.0.2.1\nt=0 0\nr=7d 1h 0 25h\nz=2882844526 -1h\nk=prompt\ny=0123456789\na=sendonly\n"
      "m=audio 4000/2 RTP/AVP 0\na=ptime:20.0\nm=audio 0 RTP/AVP 8\nc=IN IP4 192.0.2.2\na=inactive\n\n";
  auto r = sdp::parse(text);
  REQUIRE(r);
  CHECK(r->info == "info");
  REQUIRE(r->media.size() == 2);
  CHECK(r->media[0].port_count == 2);
  CHECK(r->media[0].ptime_ms == std::optional<uint32_t>(20));
  CHECK(r->effective_direction(r->media[0]) == sdp::direction::sendonly);
  CHECK(r->effective_direction(r->media[1]) == sdp::direction::inactive);
  CHECK(r->effective_connection(r->media[1])->address == "192.0.2.2");
  CHECK(r->media[1].port == 0);
}

TEST_CASE("SDP: builder output and round trips", "[signalling][sdp]") {
  sdp::session_description s;
  s.o = sdp::origin{"tutti", 42, 1, "IN", "IP4", "192.0.2.50"};
  s.conn = sdp::connection{"IN", "IP4", "192.0.2.50"};
  sdp::media_description m;
  m.port = 20000;
  m.formats = {"96", "0", "101"};
  m.rtpmaps = {{96, "opus", 48000, 2}, {0, "PCMU", 8000, 1}, {101, "telephone-event", 8000, 1}};
  m.fmtps = {{"96", "useinbandfec=1"}, {"101", "0-15"}};
  m.ptime_ms = 20;
  m.rtcp_mux = true;
  m.extmaps = {{1, std::nullopt, "urn:ietf:params:rtp-hdrext:ssrc-audio-level", ""}};
  m.dir = sdp::direction::sendrecv;
  s.media.push_back(m);
  const std::string text = sdp::build(s);
  CHECK(text == crlf(R"(v=0
o=tutti 42 1 IN IP4 192.0.2.50
s=-
c=IN IP4 192.0.2.50
t=0 0
m=audio 20000 RTP/AVP 96 0 101
a=rtpmap:96 opus/48000/2
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:96 useinbandfec=1
a=fmtp:101 0-15
a=ptime:20
a=rtcp-mux
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=sendrecv
)"));
  auto back = sdp::parse(text);
  REQUIRE(back);
  CHECK(*back == s);

  for (const std::string* offer : {&phone_offer, &browser_offer}) {
    auto parsed = sdp::parse(*offer);
    REQUIRE(parsed);
    auto again = sdp::parse(sdp::build(*parsed));
    REQUIRE(again);
    CHECK(*again == *parsed);
  }
}

TEST_CASE("SDP: invalid descriptions are refused with a reason and line", "[signalling][sdp]") {
  const std::string head = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n";
  const std::tuple<std::string, sdp::sdp_error_reason, size_t> bad[] = {
      {"", sdp::sdp_error_reason::missing_version, 0},
      {"o=- 1 1 IN IP4 192.0.2.1\r\n", sdp::sdp_error_reason::missing_version, 1},
      {"v=1\r\n", sdp::sdp_error_reason::missing_version, 1},
      {"v=0\r\ns=-\r\n", sdp::sdp_error_reason::missing_origin, 2},
      {"v=0\r\no=- x 1 IN IP4 192.0.2.1\r\n", sdp::sdp_error_reason::bad_origin, 2},
      {"v=0\r\no=- 1 1 IN IP4\r\n", sdp::sdp_error_reason::bad_origin, 2},
      {head + "m =video 3227 RTP/AVP 31\r\n", sdp::sdp_error_reason::malformed_line, 5},
      {head + "m=audio 70000 RTP/AVP 0\r\n", sdp::sdp_error_reason::bad_media, 5},
      {head + "m=audio 4000 RTP/AVP\r\n", sdp::sdp_error_reason::bad_media, 5},
      {head + "m=audio 4000 RTP/AVP 0\r\na=rtpmap:200 x/8000\r\n", sdp::sdp_error_reason::bad_rtpmap, 6},
      {head + "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n", sdp::sdp_error_reason::bad_rtpmap, 6},
      {head + "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/0\r\n", sdp::sdp_error_reason::bad_rtpmap, 6},
      {head + "m=audio 4000 RTP/AVP 0\r\na=ptime:fast\r\n", sdp::sdp_error_reason::bad_ptime, 6},
      {head + "m=audio 4000 RTP/AVP 0\r\na=extmap:0 urn:x\r\n", sdp::sdp_error_reason::bad_extmap, 6},
      {head + "m=audio 4000 RTP/AVP 0\r\na=extmap:300 urn:x\r\n", sdp::sdp_error_reason::bad_extmap, 6},
      {head + "m=audio 4000 RTP/AVP 0\r\na=extmap:1/both urn:x\r\n", sdp::sdp_error_reason::bad_extmap, 6},
      {head + "m=audio 4000 RTP/AVP 0\r\na=rtcp:4001 IN IP4\r\n", sdp::sdp_error_reason::bad_rtcp, 6},
      {head + "c=IN IP4\r\n", sdp::sdp_error_reason::bad_connection, 5},
      {head + "b=AS\r\n", sdp::sdp_error_reason::bad_bandwidth, 5},
      {"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nt=now\r\n", sdp::sdp_error_reason::bad_timing, 3},
      {head + std::string("a=x\0y\r\n", 7), sdp::sdp_error_reason::malformed_line, 5},
      {head + "a=" + std::string(5000, 'x') + "\r\n", sdp::sdp_error_reason::line_too_long, 5},
  };
  for (const auto& [text, reason, line] : bad) {
    INFO(text.substr(0, 80));
    auto r = sdp::parse(text);
    REQUIRE_FALSE(r);
    CHECK(sdp::to_string(r.error().reason) == sdp::to_string(reason));
    CHECK(r.error().line == line);
  }

  std::string many = head;
  for (int i = 0; i < 33; ++i) many += "m=audio 4000 RTP/AVP 0\r\n";
  CHECK(sdp::parse(many).error().reason == sdp::sdp_error_reason::too_many_media);
  std::string formats = head + "m=audio 4000 RTP/AVP";
  for (int i = 0; i < 65; ++i) formats += " 0";
  CHECK(sdp::parse(formats + "\r\n").error().reason == sdp::sdp_error_reason::too_many_formats);
  std::string attrs = head + "m=audio 4000 RTP/AVP 0\r\n";
  for (int i = 0; i < 257; ++i) attrs += "a=x\r\n";
  CHECK(sdp::parse(attrs).error().reason == sdp::sdp_error_reason::too_many_attributes);
  CHECK(sdp::parse(std::string(70000, 'v')).error().reason == sdp::sdp_error_reason::too_large);
}
