// Wakes a consumer that sleeps in an event loop (the control thread's Boost.Asio io_context)
// when rings it reads go non-empty, without the producers (data-plane workers) ever blocking.
//
// Model: an eventfd plus a `sleeping` flag (the classic Dekker handshake, as in Seastar's
// reactor and DPDK's rx-interrupt mode). Protocol:
//   producer, once per loop iteration and only if it pushed something:
//       ring.push_burst(...)                   // release store of the ring's tail
//       bell.notify()                          // fence; if sleeping, clear it and write eventfd
//   consumer, when it has drained everything and wants to sleep:
//       if (bell.prepare_sleep([&] { return all rings empty; }))
//           wait until fd() is readable (asio: stream_descriptor::async_wait(wait_read, ...))
//       else
//           keep draining (something arrived between the drain and the flag)
//   consumer, on wakeup (fd readable, or any other reason such as a timer):
//       bell.wake_up()                         // reset the eventfd and clear the flag
//       drain the rings
// Both sides do "store; seq_cst fence; load", so at least one of them sees the other: either
// the producer sees `sleeping` and writes, or the consumer's re-check sees the new item. The
// producer clears `sleeping` with an exchange before writing, so the eventfd is written at most
// once per prepare_sleep call however many bursts follow, and not at all while the consumer is
// busy draining. (A producer may still write in the short window of a prepare_sleep that then
// finds work; the consumer's next wait then returns at once, one spurious wakeup.) One doorbell
// may serve several producers (one per worker ring): the exchange picks exactly one writer.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

namespace tutti {

class doorbell {
 public:
  // Creates the eventfd (non-blocking, close-on-exec); check ok() at setup.
  doorbell() noexcept : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)), error_(fd_ < 0 ? errno : 0) {}
  ~doorbell() {
    if (fd_ >= 0) ::close(fd_);
  }
  doorbell(const doorbell&) = delete;
  doorbell& operator=(const doorbell&) = delete;

  // False when the eventfd could not be created; error() then holds errno.
  bool ok() const noexcept { return fd_ >= 0; }
  int error() const noexcept { return error_; }
  // The descriptor to wait on for readability; owned by the doorbell (dup() it for Asio).
  int fd() const noexcept { return fd_; }

  // Producer: call after publishing a burst. Makes a system call only when the consumer has
  // declared itself asleep since the last write.
  void notify() noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!sleeping_.load(std::memory_order_relaxed)) return;
    if (!sleeping_.exchange(false, std::memory_order_acq_rel)) return;  // another producer rang
    const uint64_t one = 1;
    // EAGAIN only if the counter is near 2^64: the consumer is awake to read it anyway.
    [[maybe_unused]] ssize_t w = ::write(fd_, &one, sizeof one);
    writes_.fetch_add(1, std::memory_order_relaxed);
  }

  // Consumer: marks itself asleep, then re-checks `is_empty` (true when every ring it reads is
  // empty). True: go and wait for fd(). False: work arrived meanwhile; the flag is cleared.
  template <typename IsEmpty>
  bool prepare_sleep(IsEmpty&& is_empty) noexcept {
    sleeping_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (is_empty()) return true;
    sleeping_.store(false, std::memory_order_relaxed);
    return false;
  }

  // Consumer: on waking for any reason, before draining. Clears the flag (so producers stop
  // considering a write) and resets the eventfd counter (a non-blocking read; nothing to read
  // is fine).
  void wake_up() noexcept {
    sleeping_.store(false, std::memory_order_relaxed);
    uint64_t count = 0;
    [[maybe_unused]] ssize_t r = ::read(fd_, &count, sizeof count);
  }

  // eventfd writes made so far (each one a system call on some producer).
  uint64_t writes() const noexcept { return writes_.load(std::memory_order_relaxed); }

 private:
  const int fd_;
  const int error_;
  alignas(64) std::atomic<bool> sleeping_{false};
  std::atomic<uint64_t> writes_{0};
};

}  // namespace tutti
