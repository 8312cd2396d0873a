// The N-1 mix end to end through the engine, in memory: every participant sends its own tone;
// Goertzel on what each one receives shows it hears every other speaker at the level sent
// (±1 dB) and its own tone at least 40 dB down — for PCMU, PCMA and Opus, at 8, 16 and
// 48 kHz mix rates, with K below and above N.
#include "tests/dataplane/tone_rig.hpp"

using namespace tutti;
using namespace tutti::test;

TEST_CASE("each participant hears every other speaker and not itself", "[dataplane][conference]") {
  const auto codec = GENERATE(codec_id::pcmu, codec_id::pcma, codec_id::opus);
  const auto rate = GENERATE(8000u, 16000u, 48000u);
  SECTION("K above N: everyone is mixed") {
    tone_conference c(codec, rate, 4, 5, {-20, -20, -20, -20});
    c.run(60);
    for (uint32_t i = 0; i < 4; ++i) {
      INFO("codec " << dp::to_string(codec) << " rate " << rate << " listener " << i);
      CHECK(c.listeners[i]->packets == 60);
      for (uint32_t j = 0; j < 4; ++j) {
        const double db = c.heard(i, j);
        INFO("sender " << j << " heard at " << db << " dBFS");
        if (i == j)
          CHECK(db < -20 - 40);
        else
          CHECK(std::abs(db - -20) <= 1.0);
      }
    }
  }
  SECTION("K below N: only the K loudest are mixed") {
    tone_conference c(codec, rate, 4, 2, {-14, -17, -26, -29});
    c.run(60);
    for (uint32_t i = 0; i < 4; ++i) {
      INFO("codec " << dp::to_string(codec) << " rate " << rate << " listener " << i);
      for (uint32_t j = 0; j < 4; ++j) {
        const double db = c.heard(i, j);
        INFO("sender " << j << " heard at " << db << " dBFS");
        // Not mixed: 40 dB under the quietest mixed speaker, i.e. below the codec's floor.
        if (j < 2 && i != j)
          CHECK(std::abs(db - c.levels[j]) <= 1.0);
        else
          CHECK(db < c.levels[1] - 40);
      }
    }
    // The two speakers hear each other by forwarding: same codec, a lone other speaker.
    CHECK(c.engine.find_conference(7)->stats().forwards >= 2 * 50);
  }
}

TEST_CASE("codec time is measured on sampled ticks only; jitter depth every tick", "[dataplane][conference]") {
  // Four talkers, K = 5: every tick decodes the four and encodes each one's own mix-minus.
  tone_conference c(codec_id::pcmu, 8000, 4, 5, {-20, -20, -20, -20});
  c.run(60);
  const dp::engine_stats& s = c.engine.stats();
  REQUIRE(s.ticks == 60);
  // Ticks 16, 32 and 48 of 60 are sampled (1 in dp::codec_sample_ticks).
  CHECK(s.codec.decodes == 3 * 4);
  CHECK(s.codec.encodes == 3 * 4);
  CHECK(s.codec.decode_ns > 0);
  CHECK(s.codec.encode_ns > 0);
  CHECK(c.engine.find_conference(7)->stats().decodes >= 50 * 4);  // every tick decodes
  // The last tick (60) was not sampled.
  CHECK(c.engine.find_conference(7)->last_tick_codec_time().decodes == 0);
  CHECK(s.jitter_depth_samples == 60 * 4);
}
