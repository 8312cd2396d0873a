// Time for pacing and timestamps on the data plane. CLOCK_MONOTONIC through clock_gettime is
// served by the vDSO (no kernel entry, ~20 ns), so workers may read it per burst; the TSC is
// cheaper still (~10 ns, no vDSO call) and is converted with a rate measured once at start.
// Pace by comparing against these clocks, never by sleeping a fixed time (STYLE.md).
#pragma once

#include <time.h>

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace tutti {

// CLOCK_MONOTONIC in nanoseconds.
inline uint64_t monotonic_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// CLOCK_REALTIME in nanoseconds since the Unix epoch (vDSO too): for NTP timestamps in RTCP,
// never for pacing.
inline uint64_t realtime_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// A raw cycle counter: the TSC on x86 (invariant on every CPU we target), else monotonic ns.
inline uint64_t tsc_now() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return monotonic_ns();
#endif
}

// Converts TSC ticks to nanoseconds with a rate measured against CLOCK_MONOTONIC.
struct tsc_rate {
  double ns_per_tick = 1.0;

  // Measures the rate by spinning for about `window_ns` (setup time only; 10 ms gives ~1e-4).
  static tsc_rate measure(uint64_t window_ns = 10'000'000) noexcept {
    const uint64_t t0 = monotonic_ns();
    const uint64_t c0 = tsc_now();
    uint64_t t1 = t0;
    while (t1 - t0 < window_ns) t1 = monotonic_ns();
    const uint64_t c1 = tsc_now();
    tsc_rate r;
    if (c1 > c0) r.ns_per_tick = static_cast<double>(t1 - t0) / static_cast<double>(c1 - c0);
    return r;
  }

  // Nanoseconds spanned by `ticks`.
  uint64_t to_ns(uint64_t ticks) const noexcept {
    return static_cast<uint64_t>(static_cast<double>(ticks) * ns_per_tick);
  }
};

}  // namespace tutti
