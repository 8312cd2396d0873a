// Picks the K loudest participants of a conference as its speakers, with hysteresis so the
// set does not flap: a speaker keeps its seat through short pauses (hangover), and a louder
// challenger takes the weakest seat only after beating it by a margin for several ticks.
// Works on plain per-participant state (speaker_state) owned by the caller; O(N) per tick,
// no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tutti::dp {

struct speaker_selector_config {
  uint8_t max_speakers = 3;      // K; everyone who speaks is mixed when N <= K
  uint8_t hangover_ticks = 10;   // a speaker silent this long (200 ms) gives up its seat
  uint8_t challenge_ticks = 3;   // ticks a challenger must stay louder before it takes a seat
  uint8_t margin_db = 3;         // how much louder, in dB of smoothed level
};

// What the selector keeps per participant. `loudness_q8` is 127 - level_dbov, smoothed,
// in 1/256 dB: higher is louder.
struct speaker_state {
  bool eligible = false;         // this tick: not muted and has speech
  uint8_t loudness = 0;          // this tick: 127 - level_dbov when eligible
  bool speaker = false;          // result: mixed this tick
  uint8_t silent_ticks = 0;
  uint8_t challenge = 0;
  uint16_t loudness_q8 = 0;
};

struct selection_change {
  size_t index;
  bool became_speaker;
};

class speaker_selector {
 public:
  explicit speaker_selector(const speaker_selector_config& c = {}) noexcept : config_(c) {}
  const speaker_selector_config& config() const noexcept { return config_; }

  // Updates `state[0..n)` for this tick and writes at most `max_changes` seat changes to
  // `changes`. Returns how many changes there were (all of them are applied either way).
  size_t select(speaker_state* state, size_t n, selection_change* changes,
                size_t max_changes) noexcept;

 private:
  speaker_selector_config config_;
};

}  // namespace tutti::dp
