// The N-1 tone check: what each position should hear, Goertzel levels, decoding with gaps,
// and verdicts on synthetic mixes (right, own tone leaking, a tone at the wrong level).
#include <opus/opus.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "perf/rtpgen_audio.hpp"
#include "perf/speech_source.hpp"
#include "perf/tone_check.hpp"
#include "simd/g711.hpp"

using namespace tutti;
using namespace tutti::perf;

namespace {

rtpgen_config conf_of(uint32_t n, uint32_t size, uint32_t talkers = 0) {
  rtpgen_config c;
  c.participants = n;
  c.conf_size = size;
  c.talkers = talkers;
  c.audio = audio_kind::tone;
  return c;
}

// `seconds` of the tones of `positions` at their levels, at `rate`.
std::vector<int16_t> mix(const rtpgen_config& c, std::vector<uint32_t> positions, uint32_t rate, double seconds,
                         double extra_db_on_first = 0) {
  const auto n = static_cast<uint32_t>(seconds * rate);
  std::vector<int32_t> sum(n, 0);
  for (size_t k = 0; k < positions.size(); ++k) {
    const uint32_t p = positions[k];
    const auto t = tone(tone_frequency(p), tone_level_dbfs(c, p) + (k == 0 ? extra_db_on_first : 0), rate, n);
    for (uint32_t s = 0; s < n; ++s) sum[s] += t[s];
  }
  std::vector<int16_t> out(n);
  for (uint32_t s = 0; s < n; ++s) out[s] = static_cast<int16_t>(std::clamp(sum[s], -32768, 32767));
  return out;
}

// The mix as PCMU packets, decoded back by the check's decoder.
decoded_audio through_pcmu(const std::vector<int16_t>& pcm, std::vector<int64_t> drop = {}) {
  std::vector<std::vector<uint8_t>> payloads;
  std::vector<kept_payload> kept;
  for (size_t f = 0; (f + 1) * 160 <= pcm.size(); ++f) {
    if (std::find(drop.begin(), drop.end(), int64_t(f)) != drop.end()) continue;
    payloads.emplace_back(160);
    simd::ulaw_encode(&pcm[f * 160], payloads.back().data(), 160);
  }
  size_t k = 0;
  for (size_t f = 0; (f + 1) * 160 <= pcm.size(); ++f) {
    if (std::find(drop.begin(), drop.end(), int64_t(f)) != drop.end()) continue;
    kept.push_back({int64_t(1000 + f), payloads[k++]});
  }
  return decode_payloads(dp::codec_id::pcmu, kept);
}

size_t count(const std::vector<tone_line>& lines, tone_expectation e) {
  return static_cast<size_t>(std::count_if(lines.begin(), lines.end(), [e](const tone_line& l) { return l.expect == e; }));
}

}  // namespace

TEST_CASE("Goertzel reads a tone's level and ignores the other tones of the set", "[perf][tone]") {
  const auto t = tone(1130, -20, 8000, 800);
  CHECK(goertzel_dbfs(t, 1130, 8000) == Approx(-20).margin(0.02));
  for (double f : tone_frequencies_hz)
    if (f != 1130) CHECK(goertzel_dbfs(t, f, 8000) < -80);
  // 100 ms holds whole cycles of every tone.
  for (double f : tone_frequencies_hz) CHECK(std::fmod(f * 0.1, 1.0) == 0);
}

TEST_CASE("what each position should hear", "[perf][tone]") {
  SECTION("five talkers: four others, the own tone, nothing unchecked") {
    const auto c = conf_of(10, 5);
    for (uint32_t i = 0; i < 10; ++i) {
      const auto lines = tone_expectations(c, i);
      REQUIRE(lines.size() == tone_count);
      CHECK(count(lines, tone_expectation::other) == 4);
      CHECK(count(lines, tone_expectation::own) == 1);
      CHECK(lines[c.position_of(i) % tone_count].expect == tone_expectation::own);
    }
  }
  SECTION("three members: two others, own, two absent") {
    const auto lines = tone_expectations(conf_of(3, 3), 1);
    CHECK(count(lines, tone_expectation::other) == 2);
    CHECK(count(lines, tone_expectation::own) == 1);
    CHECK(count(lines, tone_expectation::absent) == 2);
    CHECK(lines[0].sent_dbfs == tone_level_dbfs(conf_of(3, 3), 0));
  }
  SECTION("two talkers of five: a listener hears both, a talker the other") {
    const auto c = conf_of(5, 5, 2);
    const auto listener = tone_expectations(c, 3);
    CHECK(count(listener, tone_expectation::other) == 2);
    CHECK(count(listener, tone_expectation::own) == 0);
    CHECK(count(listener, tone_expectation::absent) == 3);
    const auto talker = tone_expectations(c, 1);
    CHECK(count(talker, tone_expectation::other) == 1);
    CHECK(count(talker, tone_expectation::own) == 1);
  }
  SECTION("seven talkers share tones: those lines are unchecked") {
    const auto lines = tone_expectations(conf_of(7, 7), 0);  // 0 and 5 share, 1 and 6 share
    CHECK(lines[0].expect == tone_expectation::unchecked);
    CHECK(lines[1].expect == tone_expectation::unchecked);
    CHECK(count(lines, tone_expectation::other) == 3);
  }
  SECTION("the last, short conference") {
    const auto c = conf_of(7, 5);  // conference 1 holds participants 5 and 6
    const auto lines = tone_expectations(c, 6);
    CHECK(count(lines, tone_expectation::other) == 1);
    CHECK(count(lines, tone_expectation::own) == 1);
    CHECK(count(lines, tone_expectation::absent) == 3);
  }
}

TEST_CASE("the verdict on a G.711 mix", "[perf][tone]") {
  const auto c = conf_of(5, 5);
  SECTION("the other four at their levels, own absent: pass") {
    const auto v = check_tones(c, 2, through_pcmu(mix(c, {0, 1, 3, 4}, 8000, 1.2)));
    CHECK(v.pass);
    CHECK(v.windows == 10);
    CHECK(v.concealed == 0);
    for (const auto& l : v.lines) {
      INFO(l.frequency_hz << " " << to_string(l.expect) << " heard " << l.heard_dbfs);
      CHECK(l.pass);
      if (l.expect == tone_expectation::other) CHECK(std::abs(l.heard_dbfs - l.sent_dbfs) < 0.1);
    }
  }
  SECTION("own tone leaking back: fail on the own line") {
    const auto v = check_tones(c, 2, through_pcmu(mix(c, {2, 0, 1, 3, 4}, 8000, 1.2)));
    CHECK_FALSE(v.pass);
    CHECK_FALSE(v.lines[2].pass);
    CHECK(v.lines[2].expect == tone_expectation::own);
  }
  SECTION("a tone 3 dB off its level: fail on that line only") {
    const auto v = check_tones(c, 2, through_pcmu(mix(c, {4, 0, 1, 3}, 8000, 1.2, -3)));
    CHECK_FALSE(v.pass);
    for (const auto& l : v.lines) CHECK(l.pass == (l.frequency_hz != tone_frequency(4)));
  }
  SECTION("a missing tone: fail") {
    CHECK_FALSE(check_tones(c, 2, through_pcmu(mix(c, {0, 1, 3}, 8000, 1.2))).pass);
  }
  SECTION("lost packets are concealed and their windows skipped") {
    const auto audio = through_pcmu(mix(c, {0, 1, 3, 4}, 8000, 1.2), {57, 33});
    REQUIRE(audio.pcm.size() == 60 * 160);
    CHECK(audio.concealed[57]);
    CHECK(audio.concealed[33]);
    const auto v = check_tones(c, 2, audio);
    CHECK(v.pass);
    CHECK(v.concealed == 2);
    CHECK(v.windows == 8);
  }
  SECTION("too little audio is not a pass") {
    const auto v = check_tones(c, 2, through_pcmu(mix(c, {0, 1, 3, 4}, 8000, 0.2)));
    CHECK_FALSE(v.pass);
    CHECK_FALSE(v.problem.empty());
  }
}

TEST_CASE("the verdict on an Opus mix decoded by the check", "[perf][tone]") {
  auto c = conf_of(5, 5);
  c.codec = dp::codec_id::opus;
  const auto pcm = mix(c, {0, 2, 3, 4}, 48000, 1.2);
  int err = 0;
  OpusEncoder* enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_AUDIO, &err);
  REQUIRE(err == OPUS_OK);
  opus_encoder_ctl(enc, OPUS_SET_BITRATE(64000));
  std::vector<std::vector<uint8_t>> frames;
  for (size_t f = 0; (f + 1) * 960 <= pcm.size(); ++f) {
    std::vector<uint8_t> buf(1500);
    const int n = opus_encode(enc, &pcm[f * 960], 960, buf.data(), static_cast<opus_int32>(buf.size()));
    REQUIRE(n > 0);
    buf.resize(static_cast<size_t>(n));
    frames.push_back(std::move(buf));
  }
  opus_encoder_destroy(enc);
  std::vector<kept_payload> kept;
  for (size_t f = 0; f < frames.size(); ++f) kept.push_back({int64_t(f), frames[f]});
  const auto audio = decode_payloads(dp::codec_id::opus, kept);
  CHECK(audio.rate_hz == 48000);
  CHECK(audio.pcm.size() == 60 * 960);
  const auto v = check_tones(c, 1, audio);
  std::string heard;
  for (const auto& l : v.lines) heard += std::to_string(l.frequency_hz) + " " + to_string(l.expect) + " " + std::to_string(l.heard_dbfs) + "; ";
  INFO(heard);
  CHECK(v.pass);
  CHECK(v.windows == 10);
}
