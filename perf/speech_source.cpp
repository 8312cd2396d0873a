#include "perf/speech_source.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

namespace tutti::perf {

std::vector<int16_t> speech_like(uint32_t voice, uint32_t rate_hz, uint32_t frames) {
  const uint32_t n = frames * rate_hz / 50;
  std::vector<int16_t> out(n);
  std::mt19937 rng(1000 + voice);
  std::normal_distribution<double> gauss(0.0, 1.0);
  const double two_pi = 2 * std::numbers::pi;
  const double base_f0 = 95.0 + 17.0 * (voice % 9);     // 95..231 Hz: male to female range
  const double syllable_hz = 3.5 + 0.4 * (voice % 5);   // syllables per second
  const double nyquist = rate_hz / 2.0;
  double phase = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const double t = double(i) / rate_hz;
    const double f0 = base_f0 * (1.0 + 0.12 * std::sin(two_pi * 0.6 * t + voice));
    phase += two_pi * f0 / rate_hz;
    // Formant-like spectral tilt: harmonic h at 1/h, boosted around 500 Hz and 1.5 kHz.
    double s = 0;
    for (int h = 1; h * f0 < std::min(nyquist, 4000.0); ++h) {
      const double f = h * f0;
      const double formant = 1.0 + 1.5 * std::exp(-std::pow((f - 500) / 200, 2)) +
                             1.0 * std::exp(-std::pow((f - 1500) / 300, 2));
      s += formant * std::sin(h * phase) / h;
    }
    // Syllables: a raised-cosine envelope; every fourth syllable is a pause.
    const double syl = t * syllable_hz;
    const double within = syl - std::floor(syl);
    const bool pause = (static_cast<uint64_t>(syl) + voice) % 4 == 3;
    const double envelope = pause ? 0.0 : 0.5 - 0.5 * std::cos(two_pi * within);
    const double sample = 4000.0 * envelope * s + 30.0 * gauss(rng);
    out[i] = static_cast<int16_t>(std::clamp(sample, -32768.0, 32767.0));
  }
  return out;
}

std::vector<int16_t> tone(double frequency_hz, double level_dbfs, uint32_t rate_hz, uint32_t samples,
                          uint32_t phase_offset) {
  std::vector<int16_t> out(samples);
  const double amplitude = 32767.0 * std::pow(10.0, level_dbfs / 20.0);
  for (uint32_t i = 0; i < samples; ++i) {
    const double t = double(i + phase_offset) / rate_hz;
    out[i] = static_cast<int16_t>(std::lround(amplitude * std::sin(2 * std::numbers::pi * frequency_hz * t)));
  }
  return out;
}

std::vector<int16_t> noise(double level_dbfs, uint32_t rate_hz, uint32_t frames, uint32_t seed) {
  std::vector<int16_t> out(frames * rate_hz / 50);
  std::mt19937 rng(seed);
  std::normal_distribution<double> gauss(0.0, 32767.0 * std::pow(10.0, level_dbfs / 20.0));
  for (auto& s : out) s = static_cast<int16_t>(std::clamp(gauss(rng), -32768.0, 32767.0));
  return out;
}

}  // namespace tutti::perf
