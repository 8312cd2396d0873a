// Participant controls and the engine's receive path, end to end through the mixer in
// memory: mute, deaf, gains, RTP bleed, latching, DTMF, speaker events, packet durations,
// and decodes skipped on RFC 6464 levels.
#include "simd/mix.hpp"
#include "tests/dataplane/tone_rig.hpp"

using namespace tutti;
using namespace tutti::test;

TEST_CASE("mute takes a participant out of the mix within a tick", "[dataplane][engine]") {
  tone_conference c(codec_id::pcmu, 8000, 3, 3, {-20, -20, -20});
  c.run(20);
  CHECK(std::abs(c.heard(1, 0, 5) - -20) <= 1.0);
  REQUIRE(c.conference().set_muted(c.id(0), true));
  // The next tick mixes without it: the 5 frames after it (a 100 ms window, whole cycles of
  // every test tone) hold none of its tone.
  c.run(6);
  CHECK(c.heard(1, 0, 5) < -60);
  CHECK(c.heard(2, 0, 5) < -60);
  CHECK(std::abs(c.heard(0, 1, 5) - -20) <= 1.0);  // a muted participant still hears
  REQUIRE(c.conference().set_muted(c.id(0), false));
  c.run(6);
  CHECK(std::abs(c.heard(1, 0, 5) - -20) <= 1.0);
}

TEST_CASE("a deaf participant gets nothing and is still heard", "[dataplane][engine]") {
  tone_conference c(codec_id::pcma, 16000, 3, 3, {-20, -20, -20});
  c.run(10);
  REQUIRE(c.conference().set_deaf(c.id(2), true));
  const size_t before = c.listeners[2]->packets;
  c.run(10);
  CHECK(c.listeners[2]->packets == before);
  CHECK(std::abs(c.heard(0, 2, 5) - -20) <= 1.0);
}

TEST_CASE("input and output gains scale what is heard", "[dataplane][engine]") {
  tone_conference c(codec_id::opus, 48000, 3, 3, {-20, -20, -20});
  REQUIRE(c.conference().set_input_gain(c.id(0), simd::gain_q12_from_db(-6)));
  REQUIRE(c.conference().set_output_gain(c.id(2), simd::gain_q12_from_db(-10)));
  c.run(40);
  CHECK(std::abs(c.heard(1, 0) - -26) <= 1.0);  // 0 speaks 6 dB quieter to everyone
  CHECK(std::abs(c.heard(1, 2) - -20) <= 1.0);
  CHECK(std::abs(c.heard(2, 1) - -30) <= 1.0);  // 2 hears everyone 10 dB quieter
  CHECK(std::abs(c.heard(2, 0) - -36) <= 1.0);
}

TEST_CASE("RTP from any other address is dropped (no RTP bleed)", "[dataplane][engine]") {
  tone_conference c(codec_id::pcmu, 8000, 3, 3, {-20, -20, -20});
  c.run(10);
  c.sources[1] = {0x7f000002, 30001};  // sender 1's packets now come from an intruder
  c.run(10);
  const auto drops = c.engine.stats().rx_drops[static_cast<size_t>(dp::rx_drop::wrong_source)];
  CHECK(drops == 10);
  CHECK(c.heard(0, 1, 5) < -60);
}

TEST_CASE("a participant without a known address latches the first source", "[dataplane][engine]") {
  tone_conference c(codec_id::pcmu, 8000, 2, 3, {-20, -20});
  // Re-add participant 1 with no remote address: it learns it from its first packet.
  auto gone = c.engine.remove_participant(7, c.id(1));
  REQUIRE(gone);
  dp::participant_config pc = gone->config;
  pc.remote = {};
  auto p = std::make_unique<dp::participant>(pc, 8000);
  std::unique_ptr<dp::output_group> none;
  REQUIRE(c.engine.add_participant(7, p, none));
  c.run(10);
  CHECK(c.engine.find_participant_by_port(c.port(1))->config.remote == c.source(1));
  CHECK(c.listeners[1]->packets > 0);
  c.sources[1] = {0x7f000003, 40000};  // once latched, another source is refused
  c.run(5);
  CHECK(c.engine.stats().rx_drops[static_cast<size_t>(dp::rx_drop::wrong_source)] == 5);
}

TEST_CASE("telephone-event packets become one DTMF event per digit", "[dataplane][engine]") {
  rig_options o;
  o.telephone_event_pt = 101;
  tone_conference c(codec_id::pcmu, 8000, 2, 3, {-20, -20}, o);
  c.run(5);
  dp::rtp_header_fields h{};
  h.payload_type = 101;
  h.ssrc = 0x100;
  h.timestamp = 5 * 160;
  uint8_t payload[4];
  // RFC 4733 §2.5.1.3: a digit '7', three updates and the end packet sent three times.
  for (int k = 0; k < 6; ++k) {
    const bool end = k >= 3;
    dp::telephone_event ev{7, end, 10, static_cast<uint16_t>(160 * (k + 1))};
    REQUIRE(dp::build_telephone_event(payload, sizeof payload, ev) == 4);
    h.sequence = static_cast<uint16_t>(1000 + k);
    h.marker = k == 0;
    c.inject(0, h, payload, 4);
  }
  c.run(1);
  size_t digits = 0;
  for (const auto& e : c.events.events) {
    if (e.type != dp::event_type::dtmf) continue;
    ++digits;
    CHECK(e.value == 7);
    CHECK(e.participant_id == c.id(0));
  }
  CHECK(digits == 1);
}

TEST_CASE("speaker changes are posted as events", "[dataplane][engine]") {
  tone_conference c(codec_id::pcmu, 8000, 3, 1, {-20, -30, -30});
  c.run(10);
  auto started = [&](uint32_t i) {
    size_t n = 0;
    for (const auto& e : c.events.events)
      n += e.type == dp::event_type::speaker_started && e.participant_id == c.id(i);
    return n;
  };
  CHECK(started(0) == 1);
  CHECK(started(1) == 0);
  c.silent.insert(0);  // the speaker stops; after its hangover the next loudest takes the seat
  c.run(20);
  CHECK(started(1) + started(2) == 1);
}

TEST_CASE("Opus packets of 10, 40 and 60 ms are mixed like 20 ms ones", "[dataplane][engine]") {
  const uint32_t ms = GENERATE(10u, 40u, 60u);
  rig_options o;
  o.opus_frame_ms = ms;
  tone_conference c(codec_id::opus, 48000, 3, 3, {-20, -20, -20}, o);
  c.run(60);
  INFO("frame " << ms << " ms");
  CHECK(std::abs(c.heard(0, 1) - -20) <= 1.0);
  CHECK(std::abs(c.heard(1, 2) - -20) <= 1.0);
  CHECK(c.heard(2, 2) < -60);
}

TEST_CASE("RFC 6464 levels let silent and unmixed participants go undecoded", "[dataplane][engine]") {
  rig_options o;
  o.audio_level_ext_id = 1;
  // Two speakers and two near-silent participants (-70 dBFS: level says silence).
  tone_conference c(codec_id::opus, 48000, 4, 3, {-20, -20, -70, -70}, o);
  c.run(50);
  const auto& quiet = c.engine.find_participant_by_port(c.port(2))->stats;
  CHECK(quiet.frames_decoded == 0);
  CHECK(quiet.frames_skipped >= 45);
  // Each speaker hears the other forwarded; the quiet ones hear the sum of the two.
  CHECK(std::abs(c.heard(0, 1) - -20) <= 1.0);
  CHECK(std::abs(c.heard(2, 0) - -20) <= 1.0);
  CHECK(std::abs(c.heard(2, 1) - -20) <= 1.0);
  CHECK(c.conference().stats().forwards >= 2 * 40);
}

TEST_CASE("a participant that stops sending times out once and resumes", "[dataplane][engine]") {
  tone_conference c(codec_id::pcmu, 8000, 2, 3, {-20, -20});
  c.run(10);
  c.silent.insert(0);
  c.run(1600);  // 32 s of simulated time: past the 30 s default
  auto count = [&](dp::event_type t) {
    size_t n = 0;
    for (const auto& e : c.events.events) n += e.type == t && e.participant_id == c.id(0);
    return n;
  };
  CHECK(count(dp::event_type::rtp_timeout) == 1);
  CHECK(count(dp::event_type::rtp_resumed) == 0);
  c.silent.clear();
  c.run(5);
  CHECK(count(dp::event_type::rtp_resumed) == 1);
  CHECK(c.rtcp_sent >= 2 * 6);  // a report to each participant every 5 s
}

TEST_CASE("RTCP goes to the RTP port with rtcp-mux, else to the port above", "[dataplane][engine]") {
  tone_conference muxed(codec_id::pcmu, 8000, 2, 3, {-20, -20});
  muxed.run(260);  // past the first report to each (staggered over 5 s)
  CHECK(muxed.rtcp_ports == std::set<uint16_t>{muxed.source(0).port, muxed.source(1).port});
  rig_options o;
  o.rtcp_mux = false;
  tone_conference apart(codec_id::pcmu, 8000, 2, 3, {-20, -20}, o);
  apart.run(260);
  CHECK(apart.rtcp_ports ==
        std::set<uint16_t>{static_cast<uint16_t>(apart.source(0).port + 1), static_cast<uint16_t>(apart.source(1).port + 1)});
}
