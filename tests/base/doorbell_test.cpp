// The doorbell protocol driven the way control/ uses it: a Boost.Asio loop waits on the
// eventfd while a worker thread pushes bursts into an spsc_ring and rings after each burst.
#include "base/doorbell.hpp"

#include <poll.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

#include "base/spsc_ring.hpp"

namespace {

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

}  // namespace

TEST_CASE("doorbell writes only while the consumer sleeps, once per sleep", "[base][doorbell]") {
  tutti::doorbell bell;
  REQUIRE(bell.ok());
  bell.notify();  // consumer awake: no write
  CHECK(bell.writes() == 0);
  CHECK_FALSE(readable(bell.fd()));

  CHECK(bell.prepare_sleep([] { return true; }));
  bell.notify();
  bell.notify();  // second burst before the consumer woke: no second write
  CHECK(bell.writes() == 1);
  CHECK(readable(bell.fd()));

  bell.wake_up();
  CHECK_FALSE(readable(bell.fd()));
  bell.notify();
  CHECK(bell.writes() == 1);
}

TEST_CASE("doorbell prepare_sleep refuses when work arrived", "[base][doorbell]") {
  tutti::doorbell bell;
  REQUIRE(bell.ok());
  CHECK_FALSE(bell.prepare_sleep([] { return false; }));
  bell.notify();  // the flag was cleared again: still no write
  CHECK(bell.writes() == 0);
}

TEST_CASE("doorbell wakes an Asio loop without losing items", "[base][doorbell]") {
  namespace asio = boost::asio;
  constexpr uint64_t items = 200'000;
  tutti::spsc_ring<uint64_t> ring(256);
  tutti::doorbell bell;
  REQUIRE(bell.ok());

  asio::io_context io;
  asio::posix::stream_descriptor sd(io, ::dup(bell.fd()));
  uint64_t expect = 0, bursts = 0, wakeups = 0, sleeps = 0, attempts = 0;
  bool in_order = true;

  std::function<void()> drain_and_wait = [&] {
    bell.wake_up();
    for (;;) {
      uint64_t buf[64];
      std::size_t n;
      while ((n = ring.pop_burst(buf, 64)) > 0) {
        for (std::size_t i = 0; i < n; ++i) in_order &= buf[i] == expect++;
      }
      if (expect == items) return;  // done: leave the loop with nothing pending
      ++attempts;
      if (bell.prepare_sleep([&] { return ring.empty(); })) {
        ++sleeps;
        break;
      }
    }
    sd.async_wait(asio::posix::stream_descriptor::wait_read, [&](const boost::system::error_code& ec) {
      if (ec) return;
      ++wakeups;
      drain_and_wait();
    });
  };

  std::thread worker([&] {
    uint64_t next = 0;
    while (next < items) {
      // Bursts of 1..40 items with an idle gap now and then, so the consumer really sleeps.
      const uint64_t want = std::min<uint64_t>(1 + (next * 7) % 40, items - next);
      uint64_t buf[40];
      for (uint64_t i = 0; i < want; ++i) buf[i] = next + i;
      std::size_t done = 0;
      while (done < want) {
        done += ring.push_burst(buf + done, want - done);
        if (done < want) {
          bell.notify();  // full: make sure the consumer is draining
          std::this_thread::yield();
        }
      }
      next += want;
      ++bursts;
      bell.notify();
      if (bursts % 64 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });

  drain_and_wait();
  // A lost wakeup leaves items behind: the loop then stops at the deadline and the checks fail.
  io.run_for(std::chrono::seconds(60));
  worker.join();
  CHECK(expect == items);
  CHECK(in_order);
  INFO("bursts " << bursts << " sleep attempts " << attempts << " sleeps " << sleeps
                  << " eventfd writes " << bell.writes());
  CHECK(bell.writes() <= attempts);  // at most one write per prepare_sleep, however many bursts
  CHECK(wakeups <= bell.writes());   // every wakeup was caused by a write
  CHECK(wakeups >= 1);
}
