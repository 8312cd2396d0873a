// Timing helpers for tutti-bench: a monotonic clock, guards against the optimiser deleting
// the work being timed, and sample statistics (median and spread).
//
// Model: a benchmark is a body run many times. Each sample times a batch of calls long
// enough (min_sample_ns) for the clock's resolution not to matter, after an untimed setup
// that may restore the body's inputs; the result is ns per call over `samples` samples.
#pragma once

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace tutti::perf {

// CLOCK_MONOTONIC in nanoseconds.
inline uint64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// CPU time of the calling thread in nanoseconds: what a dedicated core would spend, whatever
// else shares this machine's cores.
inline uint64_t thread_cpu_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Makes the compiler assume v is read (and memory written) here, so computing it is kept.
template <class T>
inline void do_not_optimize(const T& v) noexcept {
  asm volatile("" : : "r,m"(v) : "memory");
}

// Makes the compiler assume all memory is read and written here.
inline void clobber_memory() noexcept { asm volatile("" : : : "memory"); }

// Allocator for benchmark buffers: 64-byte (cache line) aligned, as frames from the
// data plane's pools are, so results do not depend on where malloc happened to put them.
template <class T>
struct cache_aligned {
  using value_type = T;
  cache_aligned() = default;
  template <class U>
  cache_aligned(const cache_aligned<U>&) noexcept {}
  T* allocate(size_t n) {
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{64}));
  }
  void deallocate(T* p, size_t) noexcept { ::operator delete (p, std::align_val_t{64}); }
  friend bool operator==(const cache_aligned&, const cache_aligned&) { return true; }
};

template <class T>
using aligned_vector = std::vector<T, cache_aligned<T>>;

// Order statistics of a set of samples (ns per call).
struct summary {
  double median = 0;
  double p10 = 0;
  double p90 = 0;
  double min = 0;
  double max = 0;
  size_t samples = 0;
};

// Quantile q (0..1) of sorted values, interpolating between neighbours.
inline double quantile(const std::vector<double>& sorted, double q) noexcept {
  if (sorted.empty()) return 0;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

inline summary summarize(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  summary s;
  s.samples = values.size();
  if (values.empty()) return s;
  s.median = quantile(values, 0.5);
  s.p10 = quantile(values, 0.1);
  s.p90 = quantile(values, 0.9);
  s.min = values.front();
  s.max = values.back();
  return s;
}

struct timing_options {
  size_t samples = 200;           // timed batches
  double min_sample_ns = 50'000;  // a batch lasts at least this long
  size_t warmup_calls = 100;      // untimed calls first (caches, branch predictors, clocks)
};

// ns per call of body(): setup() runs untimed before every batch (and the warm-up).
template <class Setup, class Body>
summary time_per_call(const timing_options& opt, Setup&& setup, Body&& body) {
  setup();
  for (size_t i = 0; i < opt.warmup_calls; ++i) {
    body();
    clobber_memory();
  }
  // Calibrate: double the batch until it lasts min_sample_ns.
  size_t batch = 1;
  for (;;) {
    setup();
    const uint64_t t0 = now_ns();
    for (size_t i = 0; i < batch; ++i) {
      body();
      clobber_memory();
    }
    const uint64_t t1 = now_ns();
    if (static_cast<double>(t1 - t0) >= opt.min_sample_ns || batch >= (size_t{1} << 24)) break;
    batch *= 2;
  }
  std::vector<double> per_call;
  per_call.reserve(opt.samples);
  for (size_t s = 0; s < opt.samples; ++s) {
    setup();
    clobber_memory();
    const uint64_t t0 = now_ns();
    for (size_t i = 0; i < batch; ++i) {
      body();
      clobber_memory();
    }
    const uint64_t t1 = now_ns();
    per_call.push_back(static_cast<double>(t1 - t0) / static_cast<double>(batch));
  }
  return summarize(std::move(per_call));
}

}  // namespace tutti::perf
