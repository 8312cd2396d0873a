// Mixing kernels: exact expected arrays for the saturation rules, and SIMD == scalar twin on
// random and edge input for every length, alignment and Highway target.
#include "simd/mix.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "tests/simd/targets.hpp"

namespace {

using namespace tutti::simd;
using tutti::simd::test::edge_lengths;
using tutti::simd::test::for_each_target;
using tutti::simd::test::random_pcm;

// Sums a mix could hold: mostly near the int16 range (so results saturate both ways), some
// anywhere up to the documented bound of 65535 frames.
std::vector<int32_t> random_sums(std::mt19937& rng, size_t n) {
  constexpr int32_t kBound = 65535 * 32767;
  static constexpr int32_t kEdges[] = {-kBound, kBound, -32768, 32767, -32769,
                                       32768,   0,      -65536, 65535};
  std::uniform_int_distribution<int32_t> near(-100000, 100000);
  std::uniform_int_distribution<int32_t> far(-kBound, kBound);
  std::uniform_int_distribution<int> pick(0, 15);
  std::vector<int32_t> v(n);
  for (auto& x : v) {
    const int p = pick(rng);
    x = p < 9 ? kEdges[p] : (p < 13 ? near(rng) : far(rng));
  }
  return v;
}

constexpr size_t kOffsets[] = {0, 1, 3};

}  // namespace

TEST_CASE("mix kernels give the exact saturated values", "[simd][mix]") {
  const std::vector<int32_t> sum = {0,      100,    -100,   32767,   32768,
                                    -32768, -32769, 100000, -100000, 40000};
  const std::vector<int16_t> own = {0, 100, 32767, -1, 1, 1, -1, 32767, -32768, 10000};
  const std::vector<int16_t> minus = {0,      0,      -32768, 32767,  32767,
                                      -32768, -32768, 32767,  -32768, 30000};
  const std::vector<int16_t> sat = {0,      100,    -100,  32767,  32767,
                                    -32768, -32768, 32767, -32768, 32767};
  for_each_target([&](int64_t) {
    std::vector<int16_t> out(sum.size());
    mix_minus(sum.data(), own.data(), out.data(), sum.size());
    CHECK(out == minus);
    saturate(sum.data(), out.data(), sum.size());
    CHECK(out == sat);

    std::vector<int32_t> acc = {1, -1, 2147450879, -2147450880, 0};
    const std::vector<int16_t> pcm = {-32768, 32767, -32768, 32767, -1};
    accumulate(acc.data(), pcm.data(), acc.size());
    CHECK(acc == std::vector<int32_t>{-32767, 32766, 2147418111, -2147418113, -1});

    std::vector<int16_t> a = {32767, -32768, 30000, -30000, 5, -5, 0};
    const std::vector<int16_t> b = {1, -1, 10000, -10000, -5, 5, -32768};
    add_saturate(a.data(), b.data(), a.size());
    CHECK(a == std::vector<int16_t>{32767, -32768, 32767, -32768, 0, 0, -32768});

    // Rounding is half up: -0.5 -> 0, 0.5 -> 1, -1.5 -> -1.
    std::vector<int16_t> g = {1, -1, -3, 3, 20000, -20000, -32768, 32767};
    apply_gain(g.data(), g.size(), 2048);
    CHECK(g == std::vector<int16_t>{1, 0, -1, 2, 10000, -10000, -16384, 16384});
    g = {1, -1, 20000, -20000, -32768, 32767, 0};
    apply_gain(g.data(), g.size(), 65535);
    CHECK(g == std::vector<int16_t>{16, -16, 32767, -32768, -32768, 32767, 0});
    g = {123, -32768, 32767};
    apply_gain(g.data(), g.size(), 4096);
    CHECK(g == std::vector<int16_t>{123, -32768, 32767});
    apply_gain(g.data(), g.size(), -7);  // clamped to 0
    CHECK(g == std::vector<int16_t>{0, 0, 0});
  });
}

TEST_CASE("gain_q12_from_db rounds and clamps", "[simd][mix]") {
  CHECK(gain_q12_from_db(0.0) == 4096);
  CHECK(gain_q12_from_db(20.0 * std::log10(0.5)) == 2048);
  CHECK(gain_q12_from_db(20.0 * std::log10(2.0)) == 8192);
  CHECK(gain_q12_from_db(-6.0) == 2053);   // 4096 * 10^(-6/20) = 2052.9
  CHECK(gain_q12_from_db(24.0) == 64917);  // 4096 * 10^(24/20) = 64917.2
  CHECK(gain_q12_from_db(30.0) == 65535);  // 129527: clamped
  CHECK(gain_q12_from_db(-200.0) == 0);
  CHECK(gain_q12_from_db(-std::numeric_limits<double>::infinity()) == 0);
  CHECK(gain_q12_from_db(std::numeric_limits<double>::infinity()) == 65535);
  CHECK(gain_q12_from_db(std::numeric_limits<double>::quiet_NaN()) == 4096);
}

TEST_CASE("SIMD mix kernels equal their scalar twins", "[simd][mix]") {
  std::mt19937 rng(2024);
  for_each_target([&](int64_t) {
    for (const size_t n : edge_lengths) {
      for (const size_t off : kOffsets) {
        INFO("n=" << n << " offset=" << off);
        const auto pcm = random_pcm(rng, n + off + 1);
        const auto own = random_pcm(rng, n + off + 1);
        const auto sum = random_sums(rng, n + off + 1);

        {  // accumulate: sums that stay in range after adding an int16
          auto base = sum;
          for (auto& s : base) s = std::clamp(s, -2147450880, 2147450879);
          auto got = base, want = base;
          accumulate(got.data() + off, pcm.data() + off, n);
          scalar::accumulate(want.data() + off, pcm.data() + off, n);
          CHECK(got == want);
        }
        {
          std::vector<int16_t> got(n + off + 1, 0x5A5A), want(n + off + 1, 0x5A5A);
          mix_minus(sum.data() + off, own.data() + off, got.data() + off, n);
          scalar::mix_minus(sum.data() + off, own.data() + off, want.data() + off, n);
          CHECK(got == want);
          saturate(sum.data() + off, got.data() + off, n);
          scalar::saturate(sum.data() + off, want.data() + off, n);
          CHECK(got == want);
        }
        {
          auto got = own, want = own;
          add_saturate(got.data() + off, pcm.data() + off, n);
          scalar::add_saturate(want.data() + off, pcm.data() + off, n);
          CHECK(got == want);
        }
        for (const int32_t gain :
             {0, 1, 2047, 2048, 4095, 4096, 4097, 8192, 32767, 32768, 65535, 70000}) {
          INFO("gain=" << gain);
          auto got = pcm, want = pcm;
          apply_gain(got.data() + off, n, gain);
          scalar::apply_gain(want.data() + off, n, gain);
          CHECK(got == want);
        }
      }
    }
  });
}
