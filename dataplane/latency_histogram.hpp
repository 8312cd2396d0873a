// Fixed log-scale histogram of durations in nanoseconds: 8 sub-buckets per power of two
// (12.5 % resolution) from 64 ns to ~34 s. Single writer, no allocation; quantiles are read
// off the bucket counts. Used for tick processing times.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace tutti::dp {

class latency_histogram {
 public:
  static constexpr int sub_bits = 3;
  static constexpr int min_exponent = 6;   // 64 ns
  static constexpr int max_exponent = 35;  // ~34 s
  static constexpr size_t bucket_count = size_t{max_exponent - min_exponent + 1} << sub_bits;

  void record(uint64_t ns) noexcept {
    ++buckets_[bucket_of(ns)];
    ++count_;
    sum_ns_ += ns;
    if (ns > max_ns_) max_ns_ = ns;
  }

  uint64_t count() const noexcept { return count_; }
  uint64_t sum_ns() const noexcept { return sum_ns_; }
  uint64_t max_ns() const noexcept { return max_ns_; }
  const std::array<uint64_t, bucket_count>& buckets() const noexcept { return buckets_; }

  // Upper bound of the bucket holding quantile q (0..1); 0 when empty.
  uint64_t quantile_ns(double q) const noexcept {
    if (count_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    uint64_t seen = 0;
    for (size_t b = 0; b < bucket_count; ++b) {
      seen += buckets_[b];
      if (seen >= rank) return upper_bound_ns(b);
    }
    return max_ns_;
  }

  void reset() noexcept { *this = latency_histogram{}; }

  static size_t bucket_of(uint64_t ns) noexcept {
    if (ns < (uint64_t{1} << min_exponent)) return 0;
    const int e = 63 - std::countl_zero(ns);
    if (e > max_exponent) return bucket_count - 1;
    const uint64_t sub = (ns >> (e - sub_bits)) & ((1u << sub_bits) - 1);
    return (size_t(e - min_exponent) << sub_bits) + sub;
  }
  static uint64_t upper_bound_ns(size_t b) noexcept {
    const int e = static_cast<int>(b >> sub_bits) + min_exponent;
    const uint64_t sub = b & ((1u << sub_bits) - 1);
    return (uint64_t{1} << e) + ((sub + 1) << (e - sub_bits)) - 1;
  }

 private:
  std::array<uint64_t, bucket_count> buckets_{};
  uint64_t count_ = 0;
  uint64_t sum_ns_ = 0;
  uint64_t max_ns_ = 0;
};

}  // namespace tutti::dp
