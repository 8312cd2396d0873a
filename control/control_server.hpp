// The control API's Unix-socket server: JSON lines in, JSON lines out, for tuttictl and
// tests (the wire format is described in control/commands.hpp).
//
// Model: runs on the control thread's io_context and owns nothing but its connections;
// each complete line is handed to the command_registry and its response written back when
// the handler answers (maybe later, maybe out of order). Limits keep one client from
// hurting the others: a line longer than max_line_bytes gets a line_too_long error and the
// connection is closed; a client with max_pending requests unanswered is not read from
// until some are answered; one that does not read its responses (output over
// max_output_bytes) is dropped; clients beyond max_clients get a busy error and are closed.
// A client that half-closes still receives every response before the server closes.
// Asio stays inside control_server.cpp so includers of this header do not pay for it.
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

class command_registry;
namespace detail {
struct control_server_state;  // defined in control_server.cpp
}

struct control_server_options {
  std::string socket_path;
  size_t max_line_bytes = 1 << 20;     // request line, newline excluded
  size_t max_clients = 64;
  size_t max_pending = 64;             // unanswered requests per client before reading pauses
  size_t max_output_bytes = 16 << 20;  // unsent responses per client before it is dropped
  uint32_t socket_mode = 0660;         // who may connect (owner and group by default)
};

struct control_server_stats {
  uint64_t accepted = 0;        // connections accepted
  uint64_t rejected = 0;        // closed at once: max_clients reached
  uint64_t requests = 0;        // lines handed to the registry
  uint64_t lines_too_long = 0;  // connections closed for a line over max_line_bytes
  uint64_t slow_readers = 0;    // connections dropped for not reading their responses
};

class control_server {
 public:
  control_server(boost::asio::io_context& io, command_registry& commands, log_module log,
                 control_server_options opts);
  ~control_server();  // stop()s
  control_server(const control_server&) = delete;
  control_server& operator=(const control_server&) = delete;

  // Creates the socket's folder if missing, replaces a stale socket file (one nobody
  // listens on), binds and starts accepting. Fails with EADDRINUSE when another server
  // listens there, EEXIST when the path is some other kind of file.
  std::error_code listen();
  // Stops accepting, closes every connection and removes the socket file.
  void stop();

  size_t clients() const noexcept;
  const control_server_stats& stats() const noexcept;
  const std::string& path() const noexcept;

 private:
  std::shared_ptr<detail::control_server_state> impl_;
};

}  // namespace tutti::ctl
