// Highway dispatch: every compiled target can be pinned and reported, and on a CPU with AVX2
// the kernels run AVX2 or better by default.
#include "simd/target.hpp"

#include <hwy/targets.h>
#include <catch2/catch.hpp>

#include <string>

#include "tests/simd/targets.hpp"

TEST_CASE("each supported target can be pinned and is reported by name", "[simd][target]") {
  size_t seen = 0;
  tutti::simd::test::for_each_target([&](int64_t target) {
    CHECK(std::string(tutti::simd::dispatched_target_name()) == hwy::TargetName(target));
    ++seen;
  });
  CHECK(seen == hwy::SupportedAndGeneratedTargets().size());
  // Unpinned again: the best target (lowest bit) is back.
  CHECK(tutti::simd::dispatched_target() == hwy::SupportedAndGeneratedTargets().front());
}

#if HWY_ARCH_X86
TEST_CASE("an AVX2 machine dispatches to AVX2 or better", "[simd][target]") {
  if (!__builtin_cpu_supports("avx2")) return;
  const int64_t t = tutti::simd::dispatched_target();
  INFO("dispatched " << tutti::simd::dispatched_target_name());
  CHECK((t == HWY_AVX2 || t == HWY_AVX3 || t == HWY_AVX3_DL));
  bool has_avx2 = false;
  for (const int64_t s : hwy::SupportedAndGeneratedTargets()) has_avx2 = has_avx2 || s == HWY_AVX2;
  CHECK(has_avx2);
}
#endif
