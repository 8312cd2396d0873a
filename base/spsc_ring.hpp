// A bounded single-producer single-consumer ring of plain structs: the command ring from the
// control thread to a data-plane worker and the event ring back (DESIGN.md, "Control ↔ workers").
//
// Model (Seastar's smp_message_queue, DPDK's rte_ring in SP/SC mode): exactly one thread pushes
// and exactly one thread pops. Each side owns one free-running index on its own cache line and
// publishes it with a release store; the other side reads it with an acquire load, and only when
// its cached copy says the ring looks full (producer) or empty (consumer), so in steady state a
// burst touches the other side's cache line once. Capacity is a power of two fixed at
// construction; the only allocation happens there. Items are copied in and out (T must be
// trivially copyable), so nothing is shared between the threads but the slots and two indices.
// Waking a consumer that sleeps in an event loop is base/doorbell.hpp's job.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

namespace tutti {

// Size of the cache line the two sides are kept apart by (x86-64 and most Arm servers).
inline constexpr std::size_t cache_line_bytes = 64;

template <typename T>
class spsc_ring {
  static_assert(std::is_trivially_copyable_v<T>, "ring items are copied as plain bytes");
  static_assert(std::is_default_constructible_v<T>, "slots are default-constructed at setup");

 public:
  // A ring of at least `min_capacity` slots (rounded up to a power of two, at least 2).
  explicit spsc_ring(std::size_t min_capacity)
      : mask_(round_up_pow2(min_capacity) - 1), slots_(new T[mask_ + 1]) {}

  spsc_ring(const spsc_ring&) = delete;
  spsc_ring& operator=(const spsc_ring&) = delete;

  // Number of slots.
  std::size_t capacity() const noexcept { return mask_ + 1; }

  // Producer: appends `item`; false (and nothing written) when the ring is full.
  bool try_push(const T& item) noexcept { return push_burst(&item, 1) == 1; }

  // Producer: appends up to `n` items in order; returns how many fit.
  std::size_t push_burst(const T* items, std::size_t n) noexcept {
    const std::size_t tail = prod_.tail.load(std::memory_order_relaxed);
    std::size_t free = capacity() - (tail - prod_.cached_head);
    if (free < n) {
      // Only now look at the consumer's line; acquire pairs with its release in pop, so the
      // slots it has finished reading may be overwritten.
      prod_.cached_head = cons_.head.load(std::memory_order_acquire);
      free = capacity() - (tail - prod_.cached_head);
    }
    n = std::min(n, free);
    for (std::size_t i = 0; i < n; ++i) slots_[(tail + i) & mask_] = items[i];
    prod_.tail.store(tail + n, std::memory_order_release);
    return n;
  }

  // Consumer: takes the oldest item into `out`; false when the ring is empty.
  bool try_pop(T& out) noexcept { return pop_burst(&out, 1) == 1; }

  // Consumer: takes up to `max` oldest items into `out` in order; returns how many.
  std::size_t pop_burst(T* out, std::size_t max) noexcept {
    const std::size_t head = cons_.head.load(std::memory_order_relaxed);
    std::size_t ready = cons_.cached_tail - head;
    if (ready < max) {
      // Acquire pairs with the producer's release: the slots it published are fully written.
      cons_.cached_tail = prod_.tail.load(std::memory_order_acquire);
      ready = cons_.cached_tail - head;
    }
    const std::size_t n = std::min(max, ready);
    for (std::size_t i = 0; i < n; ++i) out[i] = slots_[(head + i) & mask_];
    cons_.head.store(head + n, std::memory_order_release);
    return n;
  }

  // Either side: true when nothing is published and unread. Exact only on the consumer side
  // (the producer may push right after); the doorbell protocol relies on the consumer's view.
  bool empty() const noexcept {
    return prod_.tail.load(std::memory_order_acquire) == cons_.head.load(std::memory_order_acquire);
  }

  // Either side: items published and not yet popped (a snapshot).
  std::size_t size() const noexcept {
    const std::size_t head = cons_.head.load(std::memory_order_acquire);
    return prod_.tail.load(std::memory_order_acquire) - head;
  }

 private:
  static std::size_t round_up_pow2(std::size_t n) noexcept {
    std::size_t c = 2;
    while (c < n) c <<= 1;
    return c;
  }

  // Indices run freely (size_t wraps only after 2^64 items) and are masked on slot access, so
  // full (tail - head == capacity) and empty (tail == head) need no spare slot.
  struct alignas(cache_line_bytes) producer_side {
    std::atomic<std::size_t> tail{0};  // next slot to write; written by the producer only
    std::size_t cached_head = 0;       // producer's last view of cons_.head
  };
  struct alignas(cache_line_bytes) consumer_side {
    std::atomic<std::size_t> head{0};  // next slot to read; written by the consumer only
    std::size_t cached_tail = 0;       // consumer's last view of prod_.tail
  };

  producer_side prod_;
  consumer_side cons_;
  alignas(cache_line_bytes) const std::size_t mask_;
  const std::unique_ptr<T[]> slots_;
};

}  // namespace tutti
