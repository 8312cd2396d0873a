// G.711 PLC: the concealment continues a periodic signal, fades to silence on time, and
// neither its start nor the merge back into real audio clicks.
#include "dataplane/g711_plc.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

using tutti::dp::g711_plc;

namespace {

constexpr double k_pi = 3.14159265358979323846;

// A voiced-like periodic waveform: three harmonics of a (possibly non-integer) period.
std::vector<int16_t> periodic(size_t n, double period, double amp, size_t start = 0) {
  std::vector<int16_t> x(n);
  for (size_t i = 0; i < n; ++i) {
    const double t = 2 * k_pi * double(start + i) / period;
    x[i] = int16_t(std::lround(amp * (0.6 * std::sin(t) + 0.3 * std::sin(2 * t + 0.5) +
                                      0.1 * std::sin(3 * t + 1.1))));
  }
  return x;
}

double correlation(const int16_t* a, const int16_t* b, size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

int max_step(const std::vector<int16_t>& x, size_t from, size_t to) {
  int m = 0;
  for (size_t i = std::max<size_t>(from, 1); i < to; ++i) m = std::max(m, std::abs(x[i] - x[i - 1]));
  return m;
}

int peak(const int16_t* x, size_t n) {
  int m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::abs(int(x[i])));
  return m;
}

// Plays `signal` in frames of `frame` samples through the PLC, losing frames [lost_from,
// lost_to); returns what a listener hears.
std::vector<int16_t> play(g711_plc& plc, const std::vector<int16_t>& signal, size_t frame,
                          size_t lost_from, size_t lost_to) {
  std::vector<int16_t> out(signal);
  for (size_t f = 0; f * frame < signal.size(); ++f) {
    int16_t* p = out.data() + f * frame;
    if (f >= lost_from && f < lost_to) plc.conceal(p, frame);
    else plc.good_frame(p, frame);
  }
  return out;
}

}  // namespace

TEST_CASE("concealment continues the pitch period", "[dataplane][plc]") {
  g711_plc plc;
  const double period = 56.7;  // ~141 Hz, not a whole number of samples
  const auto x = periodic(1600 + 160, period, 8000);
  std::vector<int16_t> hist(x.begin(), x.begin() + 1600);
  for (size_t f = 0; f < 10; ++f) plc.good_frame(hist.data() + f * 160, 160);
  int16_t out[160];
  plc.conceal(out, 160);
  CHECK(plc.concealing());
  CHECK((plc.pitch() == 56 || plc.pitch() == 57));
  // The first 10 ms are at full level and follow the real continuation closely.
  CHECK(correlation(out, x.data() + 1600, 80) > 0.97);
  CHECK(correlation(out, x.data() + 1600, 160) > 0.9);
  CHECK(peak(out, 80) > 7000);
}

TEST_CASE("concealment fades linearly to silence after 60 ms", "[dataplane][plc]") {
  g711_plc plc;
  auto x = periodic(1600, 40, 10000);  // 200 Hz, period exactly 40
  for (size_t f = 0; f < 10; ++f) plc.good_frame(x.data() + f * 160, 160);
  const int full = peak(x.data(), 1600);
  std::vector<int16_t> out(800);
  for (size_t f = 0; f < 10; ++f) plc.conceal(out.data() + f * 80, 80);  // 10 ms frames
  CHECK(plc.pitch() == 40);
  // Per 10 ms: full, then at most 100 %, 80 %, 60 %, 40 %, 20 % of the peak, then nothing.
  CHECK(peak(out.data(), 80) >= full * 95 / 100);
  const double bound[] = {1.0, 1.0, 0.8, 0.6, 0.4, 0.2};
  for (int b = 1; b < 6; ++b) {
    INFO("block " << b);
    CHECK(peak(out.data() + b * 80, 80) <= int(full * bound[b]) + 2);
    CHECK(peak(out.data() + b * 80, 80) >= int(full * (bound[b] - 0.2)) - 2);
  }
  for (size_t i = 480; i < 800; ++i) REQUIRE(out[i] == 0);
  // A loss that goes on for seconds stays silent and cheap.
  for (int f = 0; f < 500; ++f) plc.conceal(out.data(), 80);
  CHECK(peak(out.data(), 80) == 0);
}

TEST_CASE("no click entering or leaving concealment", "[dataplane][plc]") {
  const double period = 56.7;
  const auto x = periodic(8000, period, 12000);
  const int natural = max_step(x, 0, x.size());
  SECTION("one 20 ms frame lost") {
    g711_plc plc;
    const auto y = play(plc, x, 160, 12, 13);
    CHECK(max_step(y, 12 * 160 - 4, 14 * 160) <= natural * 13 / 10);
    CHECK_FALSE(plc.concealing());
  }
  SECTION("40 ms lost: widened cycle, fade, merge") {
    g711_plc plc;
    const auto y = play(plc, x, 160, 12, 14);
    CHECK(max_step(y, 12 * 160 - 4, 15 * 160) <= natural * 13 / 10);
  }
  SECTION("100 ms lost: fades out, fades back in") {
    g711_plc plc;
    const auto y = play(plc, x, 80, 20, 30);
    CHECK(max_step(y, 20 * 80 - 4, 32 * 80) <= natural * 13 / 10);
    CHECK(peak(y.data() + 26 * 80, 4 * 80) == 0);  // silent from 60 ms into the loss
    // The 10 ms crossfade fills frame 30; from frame 31 on it is the real audio again.
    CHECK(std::equal(y.begin() + 31 * 80, y.begin() + 32 * 80, x.begin() + 31 * 80));
  }
  SECTION("the audio after the loss is out of phase with the concealment") {
    g711_plc plc;
    auto y = x;
    // The good frame after the loss comes from a point 20 samples later in the waveform.
    const auto shifted = periodic(160, period, 12000, 13 * 160 + 20);
    for (size_t f = 0; f < 12; ++f) plc.good_frame(y.data() + f * 160, 160);
    plc.conceal(y.data() + 12 * 160, 160);
    std::copy(shifted.begin(), shifted.end(), y.begin() + 13 * 160);
    plc.good_frame(y.data() + 13 * 160, 160);
    // A plain splice would step by up to twice the amplitude; the crossfade keeps it smooth.
    CHECK(max_step(y, 13 * 160 - 4, 14 * 160) <= natural * 16 / 10);
  }
}

TEST_CASE("silence conceals as silence, at any rate", "[dataplane][plc]") {
  SECTION("no history yet") {
    g711_plc plc;
    int16_t out[160];
    std::fill(out, out + 160, int16_t(123));
    plc.conceal(out, 160);
    CHECK(peak(out, 160) == 0);
  }
  SECTION("48 kHz") {
    g711_plc plc(48000);
    const double period = 6 * 56.7;
    const auto x = periodic(9600 + 960, period, 8000);
    std::vector<int16_t> hist(x.begin(), x.begin() + 9600);
    for (size_t f = 0; f < 10; ++f) plc.good_frame(hist.data() + f * 960, 960);
    std::vector<int16_t> out(960);
    plc.conceal(out.data(), 960);
    CHECK(std::abs(int(plc.pitch()) - 340) <= 1);
    CHECK(correlation(out.data(), x.data() + 9600, 480) > 0.97);
  }
  SECTION("reset forgets the history") {
    g711_plc plc;
    auto x = periodic(1600, 40, 10000);
    for (size_t f = 0; f < 10; ++f) plc.good_frame(x.data() + f * 160, 160);
    plc.reset();
    int16_t out[160];
    plc.conceal(out, 160);
    CHECK(peak(out, 160) == 0);
  }
}
