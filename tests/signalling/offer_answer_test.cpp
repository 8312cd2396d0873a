// SDP offer/answer for the conference focus (RFC 3264): codec choice by our preference,
// telephone-event and audio level when offered, hold, refused streams, 488 cases.
#include "signalling/offer_answer.hpp"

#include <catch2/catch.hpp>

using namespace tutti::sig;

namespace {

sdp::session_description parse_sdp(const std::string& text) {
  auto r = sdp::parse(text);
  REQUIRE(r.ok());
  return *r;
}

const std::string softphone =
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\n"
    "m=audio 49170 RTP/AVP 111 0 8 101\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/48000\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=rtcp-mux\r\n"
    "a=ptime:20\r\n"
    "a=sendrecv\r\n"
    "m=video 49172 RTP/AVP 96\r\n"
    "a=rtpmap:96 VP8/90000\r\n";

}  // namespace

TEST_CASE("Opus is chosen first, with DTMF, audio level and rtcp-mux", "[signalling][offer_answer]") {
  const auto offer = parse_sdp(softphone);
  const auto n = negotiate_audio(offer);
  REQUIRE(n.ok());
  CHECK(n->codec == audio_codec::opus);
  CHECK(n->payload_type == 111);
  CHECK(n->telephone_event_pt == 101);
  CHECK(n->audio_level_ext_id == 1);
  CHECK(n->remote_address == "192.0.2.10");
  CHECK(n->remote_port == 49170);
  CHECK(n->rtcp_mux);
  CHECK_FALSE(n->on_hold());

  const auto answer = build_answer(offer, *n, "198.51.100.1", 20002, 7, 1);
  REQUIRE(answer.media.size() == 2);  // RFC 3264 §6: as many m= lines as the offer
  const auto& audio = answer.media[0];
  CHECK(audio.port == 20002);
  CHECK(audio.formats == std::vector<std::string>{"111", "101"});
  CHECK(audio.dir == sdp::direction::sendrecv);
  CHECK(audio.rtcp_mux);
  REQUIRE(audio.extmaps.size() == 1);
  CHECK(audio.extmaps[0].id == 1);
  CHECK(answer.media[1].port == 0);  // video refused
  // The answer is valid SDP that parses back to itself.
  const auto text = sdp::build(answer);
  const auto again = sdp::parse(text);
  REQUIRE(again.ok());
  CHECK(*again == answer);
}

TEST_CASE("a G.711-only phone gets PCMU, static payload types need no rtpmap", "[signalling][offer_answer]") {
  const auto offer = parse_sdp(
      "v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
      "m=audio 5004 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n");
  const auto n = negotiate_audio(offer);
  REQUIRE(n.ok());
  CHECK(n->codec == audio_codec::pcmu);  // our preference over the offer's order
  CHECK(n->payload_type == 0);
  CHECK(n->telephone_event_pt == 101);
  CHECK(n->audio_level_ext_id == 0);

  audio_policy alaw_first;
  alaw_first.codecs = {audio_codec::pcma, audio_codec::pcmu};
  const auto m = negotiate_audio(offer, alaw_first);
  REQUIRE(m.ok());
  CHECK(m->codec == audio_codec::pcma);
  CHECK(m->payload_type == 8);
}

TEST_CASE("hold and direction are mirrored", "[signalling][offer_answer]") {
  auto offer = parse_sdp(
      "v=0\r\no=- 1 2 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
      "m=audio 5004 RTP/AVP 0\r\na=sendonly\r\n");
  const auto n = negotiate_audio(offer);
  REQUIRE(n.ok());
  CHECK(n->on_hold());
  const auto answer = build_answer(offer, *n, "198.51.100.1", 20000, 1, 2);
  CHECK(answer.media[0].dir == sdp::direction::recvonly);
}

TEST_CASE("offers the conference cannot take are refused with a reason", "[signalling][offer_answer]") {
  SECTION("no audio") {
    const auto offer = parse_sdp(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        "m=video 5004 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n");
    CHECK(negotiate_audio(offer).error() == offer_error::no_audio);
  }
  SECTION("no common codec") {
    const auto offer = parse_sdp(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        "m=audio 5004 RTP/AVP 9 18\r\na=rtpmap:9 G722/8000\r\na=rtpmap:18 G729/8000\r\n");
    CHECK(negotiate_audio(offer).error() == offer_error::no_common_codec);
  }
  SECTION("no IPv4 address") {
    const auto offer = parse_sdp(
        "v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\n"
        "m=audio 5004 RTP/AVP 0\r\n");
    CHECK(negotiate_audio(offer).error() == offer_error::no_address);
  }
  SECTION("secure RTP is not plain RTP") {
    const auto offer = parse_sdp(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        "m=audio 5004 RTP/SAVP 0\r\n");
    CHECK(negotiate_audio(offer).error() == offer_error::no_audio);
  }
}

TEST_CASE("our dial-out offer lists Opus, PCMU, PCMA and telephone-event at both rates", "[signalling][offer_answer]") {
  const auto offer = build_offer("127.0.0.1", 20002, 42, 1);
  const std::string text = sdp::build(offer);
  const auto back = parse_sdp(text);
  CHECK(back == offer);
  REQUIRE(back.media.size() == 1);
  const auto& m = back.media[0];
  CHECK(m.port == 20002);
  CHECK(m.proto == "RTP/AVP");
  CHECK(m.formats == std::vector<std::string>{"111", "0", "8", "101", "110"});
  CHECK(m.rtcp_mux);
  REQUIRE(m.ptime_ms);
  CHECK(*m.ptime_ms == 20);
  REQUIRE(back.conn);
  CHECK(back.conn->address == "127.0.0.1");
  CHECK(text.find("a=rtpmap:110 telephone-event/48000\r\n") != std::string::npos);
  CHECK(text.find("a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n") != std::string::npos);
  // Offering to ourselves gives back what the answer would pick.
  auto self = negotiate_audio(offer);
  REQUIRE(self.ok());
  CHECK(self->codec == audio_codec::opus);
  CHECK(self->telephone_event_pt == 110);
}

TEST_CASE("reading an answer: the answerer's first codec, its address, refusals", "[signalling][offer_answer]") {
  const auto g711 = parse_sdp(
      "v=0\r\no=bob 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
      "m=audio 30000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n");
  auto a = read_answer(g711);
  REQUIRE(a.ok());
  CHECK(a->codec == audio_codec::pcma);  // listed first by the answerer, though we prefer Opus
  CHECK(a->payload_type == 8);
  CHECK(a->telephone_event_pt == 101);
  CHECK(a->remote_address == "192.0.2.20");
  CHECK(a->remote_port == 30000);

  const auto refused = parse_sdp("v=0\r\no=bob 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
                                 "m=audio 0 RTP/AVP 0\r\n");
  auto r = read_answer(refused);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == offer_error::refused);

  const auto video_only = parse_sdp("v=0\r\no=bob 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
                                    "m=video 5000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n");
  CHECK(read_answer(video_only).error() == offer_error::no_audio);

  const auto unknown = parse_sdp("v=0\r\no=bob 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n"
                                 "m=audio 5000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n");
  CHECK(read_answer(unknown).error() == offer_error::no_common_codec);

  const auto opus = parse_sdp("v=0\r\no=bob 1 1 IN IP4 192.0.2.20\r\ns=-\r\nt=0 0\r\n"
                              "m=audio 5002 RTP/AVP 111 110\r\nc=IN IP4 192.0.2.21\r\na=rtpmap:111 opus/48000/2\r\n"
                              "a=rtpmap:110 telephone-event/48000\r\na=rtcp-mux\r\n");
  auto o = read_answer(opus);
  REQUIRE(o.ok());
  CHECK(o->codec == audio_codec::opus);
  CHECK(o->telephone_event_pt == 110);
  CHECK(o->remote_address == "192.0.2.21");
  CHECK(o->rtcp_mux);
}
