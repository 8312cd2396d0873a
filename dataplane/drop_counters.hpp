// Per-reason drop counters: one uint64 per value of a reason enum that ends in `count`
// (rtp_drop, rtcp_drop, ...). A dropped packet is a counter bump, never a log line.
//
// Model: one writer (the worker that owns the counters) and any number of readers on other
// threads (metrics). Counters are plain uint64_t accessed through std::atomic_ref with
// relaxed order: the writer's increment is a load and a store (no locked instruction, as
// nobody else writes), and a reader sees each counter whole, never torn.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace tutti::dp {

template <typename Reason>
class drop_counters {
 public:
  static constexpr size_t size = static_cast<size_t>(Reason::count);

  // Counts one drop for `reason` (owner thread only). Out-of-range values are ignored.
  void add(Reason reason, uint64_t n = 1) noexcept {
    const auto i = static_cast<size_t>(reason);
    if (i >= size) return;
    std::atomic_ref<uint64_t> c(counts_[i]);
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  // Drops counted for `reason` so far (any thread).
  uint64_t get(Reason reason) const noexcept {
    const auto i = static_cast<size_t>(reason);
    if (i >= size) return 0;
    return std::atomic_ref<uint64_t>(counts_[i]).load(std::memory_order_relaxed);
  }

  // Sum over every reason (any thread; not a single consistent snapshot).
  uint64_t total() const noexcept {
    uint64_t sum = 0;
    for (size_t i = 0; i < size; ++i)
      sum += std::atomic_ref<uint64_t>(counts_[i]).load(std::memory_order_relaxed);
    return sum;
  }

 private:
  // mutable: atomic_ref needs a non-const object even to load.
  alignas(std::atomic_ref<uint64_t>::required_alignment) mutable std::array<uint64_t, size>
      counts_{};
};

}  // namespace tutti::dp
