#include "dataplane/speaker_selector.hpp"

namespace tutti::dp {

namespace {

// Fast attack, slow release: a new talker is heard at once, a pause between words does not
// drop the smoothed level to nothing.
uint16_t smooth(uint16_t previous_q8, uint8_t loudness) noexcept {
  const int target = int{loudness} << 8;
  const int prev = previous_q8;
  const int next = target > prev ? prev + (target - prev) / 2 : prev + (target - prev) / 16;
  return static_cast<uint16_t>(next);
}

}  // namespace

size_t speaker_selector::select(speaker_state* state, size_t n, selection_change* changes,
                                size_t max_changes) noexcept {
  size_t change_count = 0;
  auto record = [&](size_t i, bool became) {
    if (change_count < max_changes) changes[change_count] = {i, became};
    ++change_count;
  };

  // Pass 1: smooth levels, retire speakers whose hangover ran out, count seats.
  size_t seated = 0;
  for (size_t i = 0; i < n; ++i) {
    speaker_state& s = state[i];
    s.loudness_q8 = smooth(s.loudness_q8, s.eligible ? s.loudness : 0);
    if (s.eligible) {
      s.silent_ticks = 0;
    } else if (s.silent_ticks < 255) {
      ++s.silent_ticks;
    }
    if (s.speaker && s.silent_ticks > config_.hangover_ticks) {
      s.speaker = false;
      s.challenge = 0;
      record(i, false);
    }
    seated += s.speaker;
  }

  // Pass 2: fill free seats with the loudest eligible non-speakers, one per scan. K is small
  // (a handful), so K scans of N beat sorting N.
  while (seated < config_.max_speakers) {
    size_t best = n;
    for (size_t i = 0; i < n; ++i) {
      const speaker_state& s = state[i];
      if (!s.speaker && s.eligible && (best == n || s.loudness_q8 > state[best].loudness_q8))
        best = i;
    }
    if (best == n) break;
    state[best].speaker = true;
    state[best].challenge = 0;
    record(best, true);
    ++seated;
  }
  if (seated < config_.max_speakers) return change_count;

  // Pass 3: all seats taken; the loudest eligible challenger may unseat the weakest speaker.
  size_t challenger = n, weakest = n;
  for (size_t i = 0; i < n; ++i) {
    const speaker_state& s = state[i];
    if (s.speaker) {
      if (weakest == n || s.loudness_q8 < state[weakest].loudness_q8) weakest = i;
    } else if (s.eligible) {
      if (challenger == n || s.loudness_q8 > state[challenger].loudness_q8) challenger = i;
    } else {
      state[i].challenge = 0;
    }
  }
  if (challenger == n || weakest == n) return change_count;
  speaker_state& c = state[challenger];
  if (c.loudness_q8 > state[weakest].loudness_q8 + (int{config_.margin_db} << 8)) {
    if (++c.challenge >= config_.challenge_ticks) {
      state[weakest].speaker = false;
      state[weakest].challenge = 0;
      record(weakest, false);
      c.speaker = true;
      c.challenge = 0;
      record(challenger, true);
    }
  } else {
    c.challenge = 0;
  }
  return change_count;
}

}  // namespace tutti::dp
