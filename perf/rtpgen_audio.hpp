// The audio tutti-rtpgen sends, encoded once at start so encoding never limits the send rate.
//
// Model: a voice is a looped stream of encoded 20 ms frames, each with the RFC 6464 level of
// the PCM it came from. Participants share voices by conference position (tone p % 5, or
// speech_like voice p % 10) and start at different frames of the loop. A tone loop holds a
// whole number of cycles of every tone and is cut from a longer encode, so an Opus encoder's
// state at the loop's end matches its start and the loop point is seamless.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "perf/rtpgen_config.hpp"

namespace tutti::perf {

// The tone set: the four of tests/dataplane/tone_rig.hpp (no second- or third-order
// intermodulation product within 130 Hz of another tone, no two in the same or neighbouring
// CELT bands) and a fifth, 2060 Hz, alone in CELT band 9 (2.0-2.4 kHz) and 70 Hz from the
// nearest product. Every tone and product is a multiple of 10 Hz, so over a 100 ms Goertzel
// window (a whole number of cycles of each) they are orthogonal and don't leak into each
// other's bins; the margin only keeps codec noise around a product off a tone.
inline constexpr double tone_frequencies_hz[5] = {3110, 660, 1130, 1470, 2060};
inline constexpr uint32_t tone_count = 5;

// Tone frequency and sent level of conference position p.
double tone_frequency(uint32_t position) noexcept;
double tone_level_dbfs(const rtpgen_config& c, uint32_t position) noexcept;

// A looped stream of encoded frames in one flat buffer.
class voice_stream {
 public:
  void add(std::span<const uint8_t> payload, uint8_t level_dbov);
  size_t frames() const noexcept { return offsets_.size(); }
  std::span<const uint8_t> payload(size_t frame) const noexcept {
    return {bytes_.data() + offsets_[frame], lengths_[frame]};
  }
  uint8_t level_dbov(size_t frame) const noexcept { return levels_[frame]; }

 private:
  std::vector<uint8_t> bytes_;
  std::vector<uint32_t> offsets_;
  std::vector<uint16_t> lengths_;
  std::vector<uint8_t> levels_;
};

// Encodes 20 ms frames of `pcm` (at the codec's wire rate: 8 kHz G.711, 48 kHz Opus) from
// `first_frame` on; frames before it only warm the encoder. Opus: VOIP application.
voice_stream encode_voice(const rtpgen_config& c, const std::vector<int16_t>& pcm, size_t first_frame = 0);

// An Opus DTX frame: what a VOIP encoder with DTX on emits once it has settled on silence.
std::vector<uint8_t> opus_dtx_frame();

// Every voice a run needs.
struct voice_bank {
  std::vector<voice_stream> talk;  // by position % talk.size()
  voice_stream quiet;              // a silent participant's room noise (-75 dBFS)
  std::vector<uint8_t> dtx;        // Opus only

  const voice_stream& voice_of(uint32_t position) const noexcept { return talk[position % talk.size()]; }
};

voice_bank build_voices(const rtpgen_config& c);

}  // namespace tutti::perf
