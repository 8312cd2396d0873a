#include "base/clock.hpp"

#include <catch2/catch.hpp>

TEST_CASE("monotonic_ns never goes back", "[base][clock]") {
  uint64_t prev = tutti::monotonic_ns();
  CHECK(prev > 0);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t t = tutti::monotonic_ns();
    REQUIRE(t >= prev);
    prev = t;
  }
}

TEST_CASE("tsc rate converts ticks to about the monotonic span", "[base][clock]") {
  const tutti::tsc_rate rate = tutti::tsc_rate::measure(2'000'000);
  REQUIRE(rate.ns_per_tick > 0.0);
  // The conversion is exact arithmetic on the measured rate, independent of machine speed.
  const uint64_t ticks = static_cast<uint64_t>(1'000'000.0 / rate.ns_per_tick);
  const uint64_t ns = rate.to_ns(ticks);
  CHECK(ns <= 1'000'000);
  CHECK(ns >= 999'000);
}
