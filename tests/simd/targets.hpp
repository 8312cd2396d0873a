// Test helpers for simd/: run a body once per Highway target compiled into this binary and
// supported by this CPU, and random PCM with a share of edge values.
#pragma once

#include <hwy/targets.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

#include "simd/target.hpp"

namespace tutti::simd::test {

// Calls body(target) with Highway dispatch pinned to each target in turn, then unpins it.
template <class Body>
void for_each_target(Body&& body) {
  struct unpin {
    ~unpin() { hwy::SetSupportedTargetsForTest(0); }
  } guard;
  const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  REQUIRE(!targets.empty());
  for (const int64_t target : targets) {
    hwy::SetSupportedTargetsForTest(target);
    INFO("Highway target " << hwy::TargetName(target));
    // The library's dispatch table must really run this target, or the test proves nothing.
    REQUIRE(dispatched_target() == target);
    body(target);
  }
}

// Lengths around the vector widths (8/16/32 lanes) and the 20 ms frame sizes.
inline const std::vector<size_t> edge_lengths = {
    0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 159, 160, 161, 319, 320, 959, 960, 961};

// Random int16 where about one sample in four is an edge value.
inline std::vector<int16_t> random_pcm(std::mt19937& rng, size_t n) {
  static constexpr int16_t kEdges[] = {-32768, -32767, -32766, -1, 0, 1, 32766, 32767};
  std::uniform_int_distribution<int> any(-32768, 32767);
  std::uniform_int_distribution<int> pick(0, 31);
  std::vector<int16_t> v(n);
  for (auto& x : v) {
    const int p = pick(rng);
    x = static_cast<int16_t>(p < 8 ? kEdges[p] : any(rng));
  }
  return v;
}

}  // namespace tutti::simd::test
