#include "dataplane/io/packet_io.hpp"

#include <time.h>

namespace tutti::dp::io {

void packet_io::wait(uint64_t timeout_ns) noexcept {
  const timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000),
                    static_cast<long>(timeout_ns % 1'000'000'000)};
  nanosleep(&ts, nullptr);
}

}  // namespace tutti::dp::io
