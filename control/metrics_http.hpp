// The Prometheus scrape endpoint: HTTP/1.1 on a loopback TCP port (Boost.Beast), serving
// the metrics_registry's text exposition at GET /metrics; 404 for other paths, 405 for
// other methods.
//
// Model: runs on the control thread's io_context, so a scrape reads owned metrics and runs
// collectors on that thread. Connections are few and short: at most max_connections at a
// time, requests with a small header limit and no body, idle connections closed after
// idle_timeout_s. Beast stays inside metrics_http.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

#include "control/log.hpp"

namespace boost::asio {
class io_context;
}

namespace tutti::ctl {

class metrics_registry;
namespace detail {
struct metrics_http_state;  // defined in metrics_http.cpp
}

struct metrics_http_options {
  size_t max_connections = 16;
  uint32_t idle_timeout_s = 30;
};

struct metrics_http_stats {
  uint64_t scrapes = 0;      // 200 responses to GET /metrics
  uint64_t not_found = 0;    // 404 and 405 responses
  uint64_t failed = 0;       // 500 responses: a collector threw
  uint64_t bad_requests = 0; // connections closed on malformed or oversized requests
  uint64_t rejected = 0;     // connections closed at once: max_connections reached
};

class metrics_http {
 public:
  metrics_http(boost::asio::io_context& io, const metrics_registry& registry, log_module log,
               metrics_http_options opts = {});
  ~metrics_http();  // stop()s
  metrics_http(const metrics_http&) = delete;
  metrics_http& operator=(const metrics_http&) = delete;

  // Binds `host` (numeric) and `port` (0: an ephemeral port) and starts serving.
  std::error_code listen(const std::string& host, uint16_t port);
  // Stops accepting and closes every connection.
  void stop();

  // The bound port (the chosen one when listen() was given 0); 0 before listen().
  uint16_t port() const noexcept;
  const metrics_http_stats& stats() const noexcept;

 private:
  std::shared_ptr<detail::metrics_http_state> impl_;
};

}  // namespace tutti::ctl
