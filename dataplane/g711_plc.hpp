// Packet-loss concealment for codecs without their own (G.711), on 16-bit PCM at any rate:
// the idea of ITU-T G.711 Appendix I, written for tutti (no code taken from it).
//
// Model: one instance per decoded stream. Every good frame passes through good_frame(),
// which keeps the last 48.75 ms as history. When a frame is lost, conceal() finds the pitch
// period in the history (normalised autocorrelation over 2.5..15 ms, coarse then fine) and
// repeats the last period; after 10 ms it widens to two, then three periods so the tone
// does not buzz, with quarter-period crossfades at every join. From 10 ms on the output fades
// linearly, silent at `silent_after_ms` (60 ms). The first good frame after a loss is
// crossfaded from the continued concealment (a quarter period plus 4 ms per further 10 ms
// lost, at most 10 ms), so neither edge clicks. Unlike Appendix I it adds no algorithmic
// delay: the join into the concealment is smoothed by bleeding off the step instead.
//
// Hot path: good_frame() and conceal() are noexcept and never allocate (the constructor
// sizes everything from the rate). Frames may be any length (10, 20, 30 ms ...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tutti::dp {

class g711_plc {
 public:
  // rate_hz: sample rate of the PCM (8000 for G.711); silent_after_ms: length of a loss after
  // which concealment is silence (at least 20 ms).
  explicit g711_plc(uint32_t rate_hz = 8000, uint16_t silent_after_ms = 60);

  // A frame that was received: merged with the concealment when it follows a loss (pcm is
  // modified in place), then kept as history. Also pass the silence played for empty ticks.
  void good_frame(int16_t* pcm, size_t n) noexcept;
  // Writes n samples of concealment for a lost frame.
  void conceal(int16_t* out, size_t n) noexcept;
  // Forgets the history (new stream).
  void reset() noexcept;

  bool concealing() const noexcept { return concealing_; }
  // The pitch period (samples) the current or last concealment repeats; 0 before any.
  uint32_t pitch() const noexcept { return pitch_; }

 private:
  void start() noexcept;
  uint32_t find_pitch() noexcept;
  float cycle_sample(uint32_t periods, uint32_t phase) const noexcept;
  float next() noexcept;  // next concealment sample, attenuated

  uint32_t rate_hz_;
  uint32_t pitch_min_, pitch_max_;   // search range, samples
  uint32_t corr_len_;                // correlation window, samples (20 ms)
  uint32_t hist_len_;                // history kept: 3 * pitch_max + pitch_max / 4
  uint32_t hold_, fade_end_;         // full level until hold_, silent from fade_end_ (samples)
  uint32_t ms10_;                    // samples in 10 ms
  std::vector<int16_t> ring_;        // history ring (power-of-two size)
  uint32_t ring_mask_ = 0, ring_pos_ = 0;
  std::vector<float> hist_;          // history unrolled when a loss starts
  std::vector<float> decimated_;     // hist_ at ~4 kHz, for the coarse pitch search
  bool concealing_ = false;
  uint32_t pitch_ = 0, quarter_ = 1; // period and crossfade length (a quarter period)
  uint32_t periods_ = 1, phase_ = 0; // cycle repeated (periods * pitch) and position in it
  uint32_t old_periods_ = 1, old_phase_ = 0, xfade_left_ = 0;  // widening crossfade
  uint32_t lost_ = 0;                // samples concealed in this loss
  float bleed_ = 0;                  // step at the start of the loss, faded over quarter_
};

}  // namespace tutti::dp
