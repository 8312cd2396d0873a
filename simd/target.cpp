// Reports the target chosen by Highway's dispatch table, compiled like every other simd/ unit
// so that its table holds exactly the same targets.
#include "simd/target.hpp"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "simd/target.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace tutti::simd::HWY_NAMESPACE {

int64_t this_target() { return HWY_TARGET; }

}  // namespace tutti::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace tutti::simd {

HWY_EXPORT(this_target);

int64_t dispatched_target() noexcept { return HWY_DYNAMIC_DISPATCH(this_target)(); }

const char* dispatched_target_name() noexcept { return hwy::TargetName(dispatched_target()); }

}  // namespace tutti::simd
#endif  // HWY_ONCE
