// Resampler: filter design bounds, frequency response measured with sine tones through the
// real integer path (passband flatness, image and alias rejection), state across calls, and
// SIMD == scalar twin on every Highway target.
#include "simd/resample.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <stdexcept>
#include <vector>

#include "tests/simd/targets.hpp"

namespace {

using tutti::simd::resampler;

struct rate_pair {
  int from;
  int to;
};
constexpr rate_pair kPairs[] = {{8000, 16000}, {8000, 48000}, {16000, 48000},
                                {16000, 8000}, {48000, 8000}, {48000, 16000}};

// Runs `in` through r in 20 ms frames of the input rate.
std::vector<int16_t> run_frames(resampler& r, const std::vector<int16_t>& in, bool simd = true) {
  const size_t frame = static_cast<size_t>(r.from_hz() / 50);
  std::vector<int16_t> out;
  std::vector<int16_t> buf(r.max_output(frame));
  for (size_t i = 0; i < in.size(); i += frame) {
    const size_t n = std::min(frame, in.size() - i);
    const size_t got = simd ? r.process(in.data() + i, n, buf.data())
                            : r.process_scalar(in.data() + i, n, buf.data());
    out.insert(out.end(), buf.begin(), buf.begin() + static_cast<long>(got));
  }
  return out;
}

std::vector<int16_t> tone(double amplitude, double freq_hz, int rate_hz, size_t n) {
  std::vector<int16_t> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = static_cast<int16_t>(std::lround(
        amplitude * std::sin(2 * std::numbers::pi * freq_hz * static_cast<double>(i) / rate_hz)));
  }
  return v;
}

struct tone_fit {
  double gain_db;      // amplitude at the tone's frequency relative to the input amplitude
  double residual_db;  // everything else (images, aliases, noise) relative to the input power
  double total_db;     // all output power relative to the input power
};

// Fits a sinusoid at freq_hz to y[start, start + n) by projection (exact for a whole number
// of cycles) and measures what is left.
tone_fit measure(const std::vector<int16_t>& y, size_t start, size_t n, double freq_hz, int rate_hz,
                 double in_amplitude) {
  REQUIRE(start + n <= y.size());
  double c = 0, s = 0, total = 0;
  for (size_t i = 0; i < n; ++i) {
    const double w = 2 * std::numbers::pi * freq_hz * static_cast<double>(i) / rate_hz;
    c += y[start + i] * std::cos(w);
    s += y[start + i] * std::sin(w);
    total += static_cast<double>(y[start + i]) * y[start + i];
  }
  c *= 2.0 / static_cast<double>(n);
  s *= 2.0 / static_cast<double>(n);
  double residual = 0;
  for (size_t i = 0; i < n; ++i) {
    const double w = 2 * std::numbers::pi * freq_hz * static_cast<double>(i) / rate_hz;
    const double e = y[start + i] - c * std::cos(w) - s * std::sin(w);
    residual += e * e;
  }
  const double in_power = in_amplitude * in_amplitude / 2.0;
  const auto db = [&](double p) {
    return 10 * std::log10(std::max(p / static_cast<double>(n), 1e-30) / in_power);
  };
  return {20 * std::log10(std::hypot(c, s) / in_amplitude), db(residual), db(total)};
}

// Output of a tone through a fresh resampler, settled past the filter's start-up.
struct tone_run {
  std::vector<int16_t> out;
  size_t start;
  size_t n;  // 0.1 s: frequencies on a 10 Hz grid complete whole cycles
};

tone_run run_tone(int from, int to, double freq_hz, double amplitude) {
  resampler r(from, to);
  const size_t n_in = static_cast<size_t>(from) * 3 / 10;  // 0.3 s
  tone_run t{run_frames(r, tone(amplitude, freq_hz, from, n_in)), 0, static_cast<size_t>(to / 10)};
  t.start = static_cast<size_t>(2 * r.delay_samples() + to / 20);
  return t;
}

}  // namespace

TEST_CASE("resampler accepts only 8, 16 and 48 kHz", "[simd][resample]") {
  CHECK_THROWS_AS(resampler(44100, 48000), std::invalid_argument);
  CHECK_THROWS_AS(resampler(8000, 0), std::invalid_argument);
  CHECK_THROWS_AS(resampler(-8000, 8000), std::invalid_argument);
  CHECK_NOTHROW(resampler(48000, 48000));
}

TEST_CASE("equal rates copy", "[simd][resample]") {
  std::mt19937 rng(1);
  const auto in = tutti::simd::test::random_pcm(rng, 333);
  resampler r(16000, 16000);
  std::vector<int16_t> out(in.size());
  CHECK(r.process(in.data(), in.size(), out.data()) == in.size());
  CHECK(out == in);
  CHECK(r.delay_samples() == 0);
}

TEST_CASE("filter taps: unity DC gain per branch and int32 sums cannot overflow",
          "[simd][resample]") {
  for (const auto [from, to] : kPairs) {
    INFO(from << " -> " << to);
    const resampler r(from, to);
    CHECK(r.stages() == (from * to == 8000 * 48000 ? 2u : 1u));
    for (size_t st = 0; st < r.stages(); ++st) {
      for (size_t p = 0; p < r.branches(st); ++p) {
        int64_t sum = 0, abs_sum = 0;
        for (const int16_t t : r.branch_taps(st, p)) {
          sum += t;
          abs_sum += std::abs(t);
        }
        CHECK(sum == 1 << tutti::simd::detail::kTapBits);
        // The largest |partial sum| is abs_sum * 32768, plus the rounding term: must fit int32.
        CHECK(abs_sum * 32768 + (1 << (tutti::simd::detail::kTapBits - 1)) <= INT32_MAX);
      }
    }
  }
}

TEST_CASE("constant input passes unchanged after the filter settles", "[simd][resample]") {
  for (const auto [from, to] : kPairs) {
    INFO(from << " -> " << to);
    for (const int16_t level : {int16_t{10000}, int16_t{-32768}, int16_t{32767}}) {
      resampler r(from, to);
      const auto out = run_frames(r, std::vector<int16_t>(static_cast<size_t>(from / 5), level));
      REQUIRE(out.size() == static_cast<size_t>(to / 5));
      for (size_t i = out.size() / 2; i < out.size(); ++i) REQUIRE(out[i] == level);
    }
  }
}

TEST_CASE("passband is flat within 0.5 dB and images/aliases are 60 dB down", "[simd][resample]") {
  constexpr double kAmp = 16384;
  for (const auto [from, to] : kPairs) {
    const double pass_hz = std::min(from, to) == 8000 ? 3400 : 7000;
    INFO(from << " -> " << to);
    double worst_gain = 0, worst_residual = -200;
    for (double f = 50; f <= pass_hz; f += f < 300 ? 50 : 150) {
      INFO("tone " << f << " Hz");
      const auto t = run_tone(from, to, f, kAmp);
      const auto m = measure(t.out, t.start, t.n, f, to, kAmp);
      CHECK(std::abs(m.gain_db) <= 0.5);
      CHECK(m.residual_db <= -60);
      worst_gain = std::max(worst_gain, std::abs(m.gain_db));
      worst_residual = std::max(worst_residual, m.residual_db);
    }
    // The band edge itself too.
    {
      const auto t = run_tone(from, to, pass_hz, kAmp);
      const auto m = measure(t.out, t.start, t.n, pass_hz, to, kAmp);
      CHECK(std::abs(m.gain_db) <= 0.5);
      CHECK(m.residual_db <= -60);
    }
    // Between the passband and the lower Nyquist frequency: whatever survives at the tone,
    // the images (interpolation) must still be 60 dB down.
    if (to > from) {
      for (double f = pass_hz + 100; f < std::min(from, to) / 2.0; f += 100) {
        INFO("transition tone " << f << " Hz");
        const auto t = run_tone(from, to, f, kAmp);
        CHECK(measure(t.out, t.start, t.n, f, to, kAmp).residual_db <= -60);
      }
    }
    WARN(from << " -> " << to << ": passband worst |gain| " << worst_gain << " dB, worst residual "
              << worst_residual << " dB");
  }
}

TEST_CASE("decimation: everything above the output Nyquist frequency is 60 dB down",
          "[simd][resample]") {
  constexpr double kAmp = 16384;
  for (const auto [from, to] : kPairs) {
    if (to > from) continue;
    INFO(from << " -> " << to);
    double worst = -200;
    for (double f = to / 2.0; f < from / 2.0; f += f < to / 2.0 + 1000 ? 100 : 470) {
      INFO("tone " << f << " Hz");
      const auto t = run_tone(from, to, f, kAmp);
      // The alias lands anywhere: measure all output power.
      const double total = measure(t.out, t.start, t.n, 1000, to, kAmp).total_db;
      CHECK(total <= -60);
      worst = std::max(worst, total);
    }
    WARN(from << " -> " << to << ": worst alias " << worst << " dB");
  }
}

TEST_CASE("output does not depend on how the input is split into calls", "[simd][resample]") {
  std::mt19937 rng(48);
  for (const auto [from, to] : kPairs) {
    INFO(from << " -> " << to);
    const auto in = tutti::simd::test::random_pcm(rng, static_cast<size_t>(from / 50) * 7 + 13);
    resampler whole(from, to);
    std::vector<int16_t> want(whole.max_output(in.size()));
    want.resize(whole.process(in.data(), in.size(), want.data()));
    CHECK(want.size() == in.size() * static_cast<size_t>(to) / static_cast<size_t>(from) +
                             (to < from && in.size() % static_cast<size_t>(from / to) ? 1 : 0));
    for (const size_t piece :
         {size_t{1}, size_t{5}, size_t{7}, size_t{160}, size_t{961}, size_t{2000}}) {
      INFO("pieces of " << piece);
      resampler r(from, to);
      std::vector<int16_t> got;
      std::vector<int16_t> buf(r.max_output(piece));
      for (size_t i = 0; i < in.size(); i += piece) {
        const size_t n = std::min(piece, in.size() - i);
        const size_t k = (i / piece) % 2 ? r.process_scalar(in.data() + i, n, buf.data())
                                         : r.process(in.data() + i, n, buf.data());
        REQUIRE(k <= r.max_output(n));
        got.insert(got.end(), buf.begin(), buf.begin() + static_cast<long>(k));
      }
      CHECK(got == want);
    }
    // reset() returns to the initial state.
    whole.reset();
    std::vector<int16_t> again(whole.max_output(in.size()));
    again.resize(whole.process(in.data(), in.size(), again.data()));
    CHECK(again == want);
  }
}

TEST_CASE("SIMD resampling equals the scalar twin on every target", "[simd][resample]") {
  std::mt19937 rng(16);
  tutti::simd::test::for_each_target([&](int64_t) {
    for (const auto [from, to] : kPairs) {
      INFO(from << " -> " << to);
      // Random edge-heavy noise, then a full-scale square wave whose overshoot saturates.
      auto in = tutti::simd::test::random_pcm(rng, static_cast<size_t>(from / 50) * 3);
      for (size_t i = 0; i < static_cast<size_t>(from / 25); ++i) {
        in.push_back((i / static_cast<size_t>(from / 1000)) % 2 ? 32767 : -32768);
      }
      resampler a(from, to), b(from, to);
      const auto got = run_frames(a, in, true);
      const auto want = run_frames(b, in, false);
      CHECK(got == want);
      bool saturated = false;
      for (const int16_t x : want) saturated = saturated || x == 32767 || x == -32768;
      CHECK(saturated);
    }
  });
}
