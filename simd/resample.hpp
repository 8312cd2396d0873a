// Sample-rate conversion of mono int16 audio among 8000, 16000 and 48000 Hz.
//
// Polyphase FIR stages of integer ratio: a stage interpolates by L (each input yields L
// outputs, one per filter branch) or decimates by M (one output per M inputs). 8 <-> 16 and
// 16 <-> 48 kHz are one stage; 8 <-> 48 kHz is two, the sharp filter running at 16 kHz and a
// short one at 48 kHz, which costs a third of one long 48 kHz filter and keeps its Q14
// rounding noise low. Each conversion is flat to 3.4 kHz (7 kHz when the lower rate is
// 16 kHz) and at least 60 dB down from the lower rate's Nyquist frequency on (designed for
// 70; Q14 tap rounding leaves 63..67 measured), so nothing audible aliases or images.
//
// Taps are Q14 integers and sums int32, so the SIMD and scalar paths are bit-exact. Q14, not
// Q15: these sharp filters have sum|taps| up to 2.4, so in Q15 a full-scale input matching
// the taps' signs would overflow int32; the constructor checks sum|taps| * 32768 fits.
// A resampler keeps its filter history between calls (one per audio stream); only the
// constructor allocates.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tutti::simd {

namespace detail {

constexpr int kTapBits = 14;  // taps are Q14: 1 << kTapBits is unity gain

// int32 filter sum to int16, rounding half up and saturating.
constexpr int16_t round_taps(int32_t acc) noexcept {
  return static_cast<int16_t>(
      std::clamp<int32_t>((acc + (1 << (kTapBits - 1))) >> kTapBits, INT16_MIN, INT16_MAX));
}

// One integer-ratio polyphase stage (up > 1 or down > 1, not both).
struct fir_stage {
  // Low-pass at rate_hz (the higher of the stage's two rates): flat to pass_hz, stopped from
  // stop_hz. A decimator's delay is made a whole multiple of delay_multiple output samples.
  fir_stage(int up, int down, double rate_hz, double pass_hz, double stop_hz, int delay_multiple);
  template <bool kSimd>
  size_t run(const int16_t* in, size_t n_in, int16_t* out) noexcept;
  void reset() noexcept;
  size_t branches() const noexcept { return static_cast<size_t>(up); }

  int up;
  int down;
  int length = 0;             // prototype taps
  int delay = 0;              // group delay, in output samples
  size_t branch_len = 0;      // taps per branch (a multiple of 16)
  size_t stride = 0;          // taps per branch in storage (zero padded to a multiple of 32)
  size_t history = 0;         // inputs a window reaches back: branch_len - 1
  size_t phase = 0;           // decimator: inputs since reset, mod M
  std::vector<int16_t> taps;  // branches, each reversed (oldest sample first)
  std::vector<int16_t> buf;   // history, the current chunk, slack
};

}  // namespace detail

class resampler {
 public:
  // Throws std::invalid_argument unless both rates are 8000, 16000 or 48000.
  resampler(int from_hz, int to_hz);

  // Converts n_in samples; returns the number written to out: n_in * to / from when n_in is
  // a multiple of from / gcd(from, to) (any n_in is accepted: decimators keep their phase).
  // out must hold max_output(n_in) samples. Equal rates copy (in == out is allowed).
  size_t process(const int16_t* in, size_t n_in, int16_t* out) noexcept;
  // The scalar twin of process(): same state, same output.
  size_t process_scalar(const int16_t* in, size_t n_in, int16_t* out) noexcept;

  // Forgets the history, as if freshly built.
  void reset() noexcept;

  // Group delay, in output samples.
  int delay_samples() const noexcept { return delay_; }
  // Most samples process() can write for n_in inputs.
  size_t max_output(size_t n_in) const noexcept {
    return n_in * static_cast<size_t>(to_hz_) / static_cast<size_t>(from_hz_) + stages_.size();
  }
  int from_hz() const noexcept { return from_hz_; }
  int to_hz() const noexcept { return to_hz_; }

  // The filters, for tests and reports: stages, their branches and Q14 taps (oldest first).
  size_t stages() const noexcept { return stages_.size(); }
  size_t branches(size_t stage) const noexcept { return stages_[stage].branches(); }
  int filter_length(size_t stage) const noexcept { return stages_[stage].length; }
  std::span<const int16_t> branch_taps(size_t stage, size_t branch) const noexcept {
    const auto& s = stages_[stage];
    return {s.taps.data() + branch * s.stride, s.branch_len};
  }

  static bool supported_rate(int hz) noexcept { return hz == 8000 || hz == 16000 || hz == 48000; }

 private:
  template <bool kSimd>
  size_t run(const int16_t* in, size_t n_in, int16_t* out) noexcept;

  int from_hz_;
  int to_hz_;
  int delay_ = 0;
  std::vector<detail::fir_stage> stages_;  // none for equal rates, at most two
  std::vector<int16_t> between_;           // first stage's output when there are two
};

}  // namespace tutti::simd
