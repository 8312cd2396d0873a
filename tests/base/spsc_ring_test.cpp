#include "base/spsc_ring.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <thread>
#include <vector>

namespace {

struct command {
  uint64_t seq;
  uint32_t a;
  uint16_t b;
};

}  // namespace

TEST_CASE("spsc_ring rounds capacity up to a power of two", "[base][spsc]") {
  CHECK(tutti::spsc_ring<int>(0).capacity() == 2);
  CHECK(tutti::spsc_ring<int>(2).capacity() == 2);
  CHECK(tutti::spsc_ring<int>(3).capacity() == 4);
  CHECK(tutti::spsc_ring<int>(1000).capacity() == 1024);
  CHECK(tutti::spsc_ring<int>(1024).capacity() == 1024);
}

TEST_CASE("spsc_ring single-thread push/pop, full and empty", "[base][spsc]") {
  tutti::spsc_ring<command> r(4);
  command c{};
  CHECK(r.empty());
  CHECK_FALSE(r.try_pop(c));
  for (uint64_t i = 0; i < 4; ++i) CHECK(r.try_push(command{i, uint32_t(i * 3), uint16_t(i)}));
  CHECK(r.size() == 4);
  CHECK_FALSE(r.try_push(command{99, 0, 0}));  // full: nothing written
  CHECK(r.size() == 4);
  for (uint64_t i = 0; i < 4; ++i) {
    REQUIRE(r.try_pop(c));
    CHECK(c.seq == i);
    CHECK(c.a == i * 3);
    CHECK(c.b == i);
  }
  CHECK(r.empty());
  CHECK_FALSE(r.try_pop(c));
}

TEST_CASE("spsc_ring wraps its indices many times", "[base][spsc]") {
  tutti::spsc_ring<uint32_t> r(8);
  uint32_t next_in = 0, next_out = 0;
  // Push 5, pop 3 repeatedly so the fill level and slot positions keep moving across the wrap.
  for (int round = 0; round < 1000; ++round) {
    for (int i = 0; i < 5 && r.try_push(next_in); ++i) ++next_in;
    for (int i = 0; i < 3; ++i) {
      uint32_t v;
      if (!r.try_pop(v)) break;
      REQUIRE(v == next_out);
      ++next_out;
    }
    REQUIRE(r.size() == next_in - next_out);
    REQUIRE(r.size() <= 8);
  }
  uint32_t v;
  while (r.try_pop(v)) REQUIRE(v == next_out++);
  CHECK(next_out == next_in);
  CHECK(next_in > 1000);
}

TEST_CASE("spsc_ring bursts take what fits, in order", "[base][spsc]") {
  tutti::spsc_ring<int> r(8);
  int in[12];
  for (int i = 0; i < 12; ++i) in[i] = 100 + i;
  CHECK(r.push_burst(in, 5) == 5);
  CHECK(r.push_burst(in + 5, 7) == 3);  // 3 slots left
  CHECK(r.push_burst(in + 8, 4) == 0);
  int out[16] = {};
  CHECK(r.pop_burst(out, 6) == 6);
  for (int i = 0; i < 6; ++i) CHECK(out[i] == 100 + i);
  CHECK(r.push_burst(in + 8, 4) == 4);  // wraps
  CHECK(r.pop_burst(out, 16) == 6);
  for (int i = 0; i < 6; ++i) CHECK(out[i] == 106 + i);
  CHECK(r.pop_burst(out, 16) == 0);
  CHECK(r.empty());
}

TEST_CASE("spsc_ring two-thread stress keeps order and sum", "[base][spsc]") {
  constexpr uint64_t items = 10'000'000;
  tutti::spsc_ring<command> r(1024);
  std::thread producer([&] {
    command batch[32];
    uint64_t next = 0;
    while (next < items) {
      // Vary burst sizes (1..32) so both the single and burst paths and partial fits happen.
      const uint64_t want = std::min<uint64_t>(1 + next % 32, items - next);
      for (uint64_t i = 0; i < want; ++i) {
        const uint64_t s = next + i;
        batch[i] = command{s, uint32_t(s * 2654435761u), uint16_t(s)};
      }
      std::size_t done = 0;
      while (done < want) {
        done += r.push_burst(batch + done, want - done);
        if (done < want) std::this_thread::yield();
      }
      next += want;
    }
  });
  uint64_t expect = 0, sum = 0;
  bool in_order = true;
  command out[48];
  while (expect < items) {
    const std::size_t n = (expect & 1) ? r.pop_burst(out, 48) : r.try_pop(out[0]);
    if (n == 0) {
      std::this_thread::yield();
      continue;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const command& c = out[i];
      in_order &= c.seq == expect && c.a == uint32_t(c.seq * 2654435761u) && c.b == uint16_t(c.seq);
      sum += c.seq;
      ++expect;
    }
  }
  producer.join();
  CHECK(in_order);
  CHECK(expect == items);
  CHECK(sum == items * (items - 1) / 2);
  CHECK(r.empty());
}
