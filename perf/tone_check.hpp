// The N-1 tone check of tutti-rtpgen --audio tone: decode what a participant received and
// measure each tone of the set by Goertzel over whole 100 ms windows. A participant passes
// when every other talker's tone is heard within the tolerance of its sent level, its own
// tone is at least own_rejection_db down, and tones nobody in its conference sends are as
// far down. A tone sent by two other talkers (more than 5 talkers in a conference) sums
// with an unknown phase, so it is reported as unchecked.
//
// Model: the receiver keeps the last ~1.2 s of payloads; they are decoded here, at the end,
// so decoding never slows receiving (G.711 with simd::ulaw_decode/alaw_decode, Opus with
// libopus at 48 kHz; a missing packet is concealed and its window skipped). The first
// 200 ms decoded only settle an Opus decoder; the last whole windows after that are measured
// and their powers averaged.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "perf/rtp_receiver.hpp"
#include "perf/rtpgen_config.hpp"

namespace tutti::perf {

// Amplitude (relative to full scale, in dBFS) of the sine at `frequency_hz` in `pcm`.
double goertzel_dbfs(std::span<const int16_t> pcm, double frequency_hz, double rate_hz) noexcept;

// Decoded audio with one flag per 20 ms frame: true where the frame was concealed.
struct decoded_audio {
  std::vector<int16_t> pcm;
  std::vector<bool> concealed;
  uint32_t rate_hz = 0;
  uint32_t samples_per_frame = 0;
};

// Decodes payloads in sequence order at the codec's wire rate, concealing gaps.
decoded_audio decode_payloads(dp::codec_id codec, std::span<const kept_payload> payloads);

enum class tone_expectation : uint8_t {
  other,      // one other talker sends it: heard at its level
  own,        // only the listener sends it: not heard
  absent,     // nobody in the conference sends it: not heard
  unchecked,  // two or more others send it (or the listener and another)
};

const char* to_string(tone_expectation e) noexcept;

struct tone_line {
  double frequency_hz = 0;
  tone_expectation expect = tone_expectation::unchecked;
  double sent_dbfs = 0;   // the sender's level (own: the listener's; absent: position 0's)
  double heard_dbfs = 0;
  bool pass = true;
};

struct tone_verdict {
  bool pass = false;
  uint32_t windows = 0;     // 100 ms windows measured
  uint32_t concealed = 0;   // frames concealed in what was kept
  std::string problem;      // why it could not be checked, if so
  std::vector<tone_line> lines;
};

// What participant i should hear, one line per tone of the set, levels not yet measured.
std::vector<tone_line> tone_expectations(const rtpgen_config& c, uint32_t i);

// Measures `audio` against participant i's expectations.
tone_verdict check_tones(const rtpgen_config& c, uint32_t i, const decoded_audio& audio);

}  // namespace tutti::perf
