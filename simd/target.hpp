// Which Highway target the simd/ kernels dispatch to.
//
// Every kernel in simd/ is compiled once per Highway target (SSSE3, SSE4, AVX2, AVX3 on x86,
// plus the portable EMU128 fallback) and picks the best one the CPU supports on first call
// (Highway dynamic dispatch). These functions report that choice, for benchmarks and for
// tests that force each target in turn with hwy::SetSupportedTargetsForTest.
#pragma once

#include <cstdint>

namespace tutti::simd {

// The HWY_* target bit that a kernel call would run right now.
int64_t dispatched_target() noexcept;

// Its name ("AVX2", "AVX3", "EMU128", ...).
const char* dispatched_target_name() noexcept;

}  // namespace tutti::simd
