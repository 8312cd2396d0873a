// Energy and RFC 6464 levels: known values, and SIMD == scalar twin on every target.
#include "simd/level.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <vector>

#include "tests/simd/targets.hpp"

namespace {

using namespace tutti::simd;

// n samples of a sine with a whole number of cycles (so its RMS is amplitude / sqrt 2).
std::vector<int16_t> sine(double amplitude, double freq_hz, double rate_hz, size_t n) {
  std::vector<int16_t> v(n);
  for (size_t i = 0; i < n; ++i) {
    v[i] = static_cast<int16_t>(
        std::lround(amplitude * std::sin(2 * std::numbers::pi * freq_hz * i / rate_hz)));
  }
  return v;
}

}  // namespace

TEST_CASE("energy is the exact sum of squares", "[simd][level]") {
  tutti::simd::test::for_each_target([&](int64_t) {
    for (const size_t n : tutti::simd::test::edge_lengths) {
      INFO("n=" << n);
      const std::vector<int16_t> low(n, -32768);
      CHECK(energy(low.data(), n) == n * uint64_t{1} << 30);
      const std::vector<int16_t> high(n, 32767);
      CHECK(energy(high.data(), n) == n * uint64_t{32767 * 32767});
    }
    const std::vector<int16_t> v = {3, -4, 0, 1, -1, 100};
    CHECK(energy(v.data(), v.size()) == 9 + 16 + 1 + 1 + 10000);
  });
}

TEST_CASE("SIMD energy and level equal their scalar twins", "[simd][level]") {
  std::mt19937 rng(6464);
  tutti::simd::test::for_each_target([&](int64_t) {
    for (const size_t n : tutti::simd::test::edge_lengths) {
      for (const size_t off : {size_t{0}, size_t{1}, size_t{3}}) {
        INFO("n=" << n << " offset=" << off);
        auto pcm = tutti::simd::test::random_pcm(rng, n + off);
        CHECK(energy(pcm.data() + off, n) == scalar::energy(pcm.data() + off, n));
        CHECK(level_dbov(pcm.data() + off, n) == scalar::level_dbov(pcm.data() + off, n));
        for (auto& x : pcm) x = static_cast<int16_t>(x / 1000);  // quieter frames too
        CHECK(level_dbov(pcm.data() + off, n) == scalar::level_dbov(pcm.data() + off, n));
      }
    }
  });
}

TEST_CASE("RFC 6464 levels of known signals", "[simd][level]") {
  tutti::simd::test::for_each_target([&](int64_t) {
    const std::vector<int16_t> silence(960, 0);
    CHECK(level_dbov(silence.data(), silence.size()) == 127);
    CHECK(level_dbov(silence.data(), 0) == 127);

    std::vector<int16_t> square(960);
    for (size_t i = 0; i < square.size(); ++i) square[i] = i % 2 ? 32767 : -32767;
    CHECK(level_dbov(square.data(), square.size()) == 0);  // the overload point itself
    for (auto& x : square) x = x < 0 ? -32768 : 32767;
    CHECK(level_dbov(square.data(), square.size()) == 0);  // a hair above it: clamped

    // Full-scale sine: -3.01 dBov.
    const auto full = sine(32767, 1000, 48000, 960);
    CHECK(level_dbov(full.data(), full.size()) == 3);
    // -20 dBov: RMS a tenth of the overload point.
    const auto minus20 = sine(32767 * 0.1 * std::sqrt(2.0), 1000, 8000, 160);
    CHECK(level_dbov(minus20.data(), minus20.size()) == 20);
    // Amplitude a tenth of full scale: -23 dBov; and -40 dBov.
    const auto tenth = sine(3276.7, 400, 16000, 320);
    CHECK(level_dbov(tenth.data(), tenth.size()) == 23);
    const auto minus40 = sine(327.67 * std::sqrt(2.0), 1000, 48000, 960);
    CHECK(level_dbov(minus40.data(), minus40.size()) == 40);

    // One LSB in a frame: 20 log10(32767 * sqrt(n)).
    std::vector<int16_t> lsb(960, 0);
    lsb[17] = 1;
    CHECK(level_dbov(lsb.data(), 160) == 112);
    CHECK(level_dbov(lsb.data(), 960) == 120);
    std::vector<int16_t> tiny(100000, 0);
    tiny[5] = -1;
    CHECK(level_dbov(tiny.data(), tiny.size()) == 127);  // -140 dBov clamps to the floor
  });
  CHECK(level_from_energy(0, 960) == 127);
  CHECK(level_from_energy(960ull * 32767 * 32767, 960) == 0);
}
