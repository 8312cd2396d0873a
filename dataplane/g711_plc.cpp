// G.711 packet-loss concealment: see g711_plc.hpp.
#include "dataplane/g711_plc.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace tutti::dp {
namespace {

int16_t sat16(float v) noexcept {
  const float r = std::nearbyint(v);
  if (r > 32767.0f) return 32767;
  if (r < -32768.0f) return -32768;
  return int16_t(r);
}

uint32_t samples(uint32_t rate_hz, uint32_t tenths_ms) { return rate_hz * tenths_ms / 10000; }

}  // namespace

g711_plc::g711_plc(uint32_t rate_hz, uint16_t silent_after_ms) {
  rate_hz_ = std::clamp<uint32_t>(rate_hz, 4000, 192000);
  pitch_min_ = samples(rate_hz_, 25);   // 2.5 ms (400 Hz)
  pitch_max_ = samples(rate_hz_, 150);  // 15 ms (66 Hz)
  corr_len_ = samples(rate_hz_, 200);
  hist_len_ = 3 * pitch_max_ + pitch_max_ / 4;
  ms10_ = samples(rate_hz_, 100);
  hold_ = ms10_;  // Appendix I: full level for the first 10 ms ...
  fade_end_ = samples(rate_hz_, 10u * std::max<uint16_t>(silent_after_ms, 20));  // ... then fade
  uint32_t ring = 1;
  while (ring < hist_len_) ring <<= 1;
  ring_.assign(ring, 0);
  ring_mask_ = ring - 1;
  hist_.assign(hist_len_, 0.0f);
  decimated_.assign(hist_len_, 0.0f);
}

void g711_plc::reset() noexcept {
  std::fill(ring_.begin(), ring_.end(), int16_t(0));
  ring_pos_ = 0;
  concealing_ = false;
  pitch_ = 0;
}

void g711_plc::good_frame(int16_t* pcm, size_t n) noexcept {
  if (n == 0) return;
  if (concealing_) {
    // Overlap-add from the continued concealment into the real signal; the longer the loss,
    // the further the two have drifted apart and the longer the crossfade.
    const uint32_t lost10 = (lost_ + ms10_ - 1) / ms10_;
    const uint32_t extra = samples(rate_hz_, 40) * (lost10 > 1 ? lost10 - 1 : 0);
    const size_t m = std::min<size_t>(std::min(quarter_ + extra, ms10_), n);
    for (size_t k = 0; k < m; ++k) {
      const float w = float(k + 1) / float(m + 1);
      pcm[k] = sat16((1.0f - w) * next() + w * float(pcm[k]));
    }
    concealing_ = false;
  }
  const size_t from = n > ring_.size() ? n - ring_.size() : 0;
  const size_t count = n - from;
  const size_t first = std::min(count, ring_.size() - ring_pos_);
  std::memcpy(&ring_[ring_pos_], pcm + from, first * sizeof(int16_t));
  std::memcpy(&ring_[0], pcm + from + first, (count - first) * sizeof(int16_t));
  ring_pos_ = uint32_t((ring_pos_ + count) & ring_mask_);
}

void g711_plc::conceal(int16_t* out, size_t n) noexcept {
  if (!concealing_) start();
  for (size_t k = 0; k < n; ++k) {
    if (lost_ >= fade_end_) {  // silent: no need to synthesise
      std::fill(out + k, out + n, int16_t(0));
      lost_ = uint32_t(std::min<size_t>(lost_ + (n - k), size_t(1) << 30));
      return;
    }
    // Appendix I widens the repeated cycle at 10 and 20 ms so one period does not buzz.
    if ((lost_ == hold_ || lost_ == 2 * hold_) && periods_ < 3) {
      old_periods_ = periods_;
      old_phase_ = phase_;
      ++periods_;
      phase_ %= pitch_;  // same point of the period, in the oldest period of the new cycle
      xfade_left_ = quarter_;
    }
    out[k] = sat16(next());
  }
}

// A loss begins: unroll the history, find the period, and set up the repeat.
void g711_plc::start() noexcept {
  uint32_t p = (ring_pos_ + ring_mask_ + 1 - hist_len_) & ring_mask_;
  for (uint32_t i = 0; i < hist_len_; ++i, p = (p + 1) & ring_mask_) hist_[i] = ring_[p];
  pitch_ = find_pitch();
  quarter_ = std::max<uint32_t>(1, pitch_ / 4);
  periods_ = 1;
  phase_ = 0;
  xfade_left_ = 0;
  lost_ = 0;
  // The repeat starts at hist[H - P], whose real predecessor is hist[H - P - 1]; what
  // precedes it now is hist[H - 1]. The difference is bled off over a quarter period.
  bleed_ = hist_[hist_len_ - 1] - hist_[hist_len_ - pitch_ - 1];
  concealing_ = true;
}

namespace {

// Dot product of a and b, and energy of b, over n samples: four lanes of independent sums
// (GCC/Clang vector extension, SSE2 on x86-64; no sum is reordered within a lane).
typedef float f32x4 __attribute__((vector_size(16)));

void dot_energy(const float* a, const float* b, uint32_t n, double& dot,
                double& energy) noexcept {
  f32x4 c0 = {}, c1 = {}, e0 = {}, e1 = {};
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    f32x4 a0, a1, b0, b1;
    std::memcpy(&a0, a + i, 16);
    std::memcpy(&a1, a + i + 4, 16);
    std::memcpy(&b0, b + i, 16);
    std::memcpy(&b1, b + i + 4, 16);
    c0 += a0 * b0;
    c1 += a1 * b1;
    e0 += b0 * b0;
    e1 += b1 * b1;
  }
  const f32x4 c = c0 + c1, e = e0 + e1;
  dot = double(c[0]) + c[1] + c[2] + c[3];
  energy = double(e[0]) + e[1] + e[2] + e[3];
  for (; i < n; ++i) {
    dot += double(a[i]) * b[i];
    energy += double(b[i]) * b[i];
  }
}

// Normalised correlation dot / sqrt(energy), or 0 when not positive.
double norm_corr(double dot, double energy) noexcept {
  return dot > 0 && energy > 0 ? dot / std::sqrt(energy) : 0.0;
}

}  // namespace

// Period maximising the normalised correlation of the last 20 ms with the 20 ms one period
// earlier: first on a copy decimated to ~4 kHz (box filter), then at full resolution around
// the best. A multiple of the period correlates as well as the period itself (better, when
// the period is not a whole number of samples), so a half or third of the winner that scores
// within 10 % of it is preferred: repeating one period keeps the newest waveform.
uint32_t g711_plc::find_pitch() noexcept {
  const uint32_t h = hist_len_;
  const uint32_t dec = std::max<uint32_t>(1, rate_hz_ / 4000);
  const uint32_t hd = h / dec;
  for (uint32_t j = 0; j < hd; ++j) {
    float sum = 0;
    for (uint32_t k = 0; k < dec; ++k) sum += hist_[(h - hd * dec) + j * dec + k];
    decimated_[j] = sum / float(dec);
  }
  const uint32_t win = corr_len_ / dec;
  double coarse_best = 0;
  uint32_t coarse = 0;
  for (uint32_t lag = std::max<uint32_t>(1, pitch_min_ / dec); lag <= pitch_max_ / dec; ++lag) {
    double c, e;
    dot_energy(&decimated_[hd - win], &decimated_[hd - win - lag], win, c, e);
    const double sc = norm_corr(c, e);
    if (sc > coarse_best) {
      coarse_best = sc;
      coarse = lag * dec;
    }
  }
  if (coarse == 0) return pitch_min_;  // silence or no periodicity: anything will do
  // Best lag in [lo, hi] at full resolution, and its score.
  auto refine = [&](uint32_t lo, uint32_t hi, double& best_score) {
    uint32_t best = lo;
    best_score = -1;
    for (uint32_t lag = lo; lag <= hi; ++lag) {
      double c, e;
      dot_energy(&hist_[h - corr_len_], &hist_[h - corr_len_ - lag], corr_len_, c, e);
      const double sc = norm_corr(c, e);
      if (sc > best_score) {
        best_score = sc;
        best = lag;
      }
    }
    return best;
  };
  double best_score;
  const uint32_t best = refine(std::max(pitch_min_, coarse > dec ? coarse - dec + 1 : 1),
                               std::min(pitch_max_, coarse + dec - 1), best_score);
  for (uint32_t div = 3; div >= 2; --div) {
    const uint32_t guess = (best + div / 2) / div;
    if (guess < pitch_min_ + dec) continue;
    double sub_score;
    const uint32_t sub = refine(guess - dec, std::min(pitch_max_, guess + dec), sub_score);
    if (sub_score >= 0.9 * best_score) return sub;
  }
  return best;
}

// Sample `phase` of the cycle made of the last `periods` periods of history. Its last quarter
// period fades into the samples that precede the cycle, so the wrap back to its start is as
// smooth as the original signal at that point.
float g711_plc::cycle_sample(uint32_t periods, uint32_t phase) const noexcept {
  const uint32_t cycle = periods * pitch_;
  const uint32_t base = hist_len_ - cycle;
  const uint32_t tail = cycle - quarter_;
  if (phase < tail) return hist_[base + phase];
  const uint32_t t = phase - tail;
  const float w = float(t + 1) / float(quarter_ + 1);
  return (1.0f - w) * hist_[base + phase] + w * hist_[base - quarter_ + t];
}

float g711_plc::next() noexcept {
  float v = cycle_sample(periods_, phase_);
  if (xfade_left_ > 0) {
    const float w = float(quarter_ - xfade_left_ + 1) / float(quarter_ + 1);
    v = (1.0f - w) * cycle_sample(old_periods_, old_phase_) + w * v;
    old_phase_ = (old_phase_ + 1) % (old_periods_ * pitch_);
    --xfade_left_;
  }
  phase_ = (phase_ + 1) % (periods_ * pitch_);
  if (lost_ < quarter_) v += bleed_ * float(quarter_ - lost_) / float(quarter_);
  float gain = 1.0f;
  if (lost_ >= fade_end_) gain = 0.0f;
  else if (lost_ > hold_) gain = float(fade_end_ - lost_) / float(fade_end_ - hold_);
  ++lost_;
  return v * gain;
}

}  // namespace tutti::dp
