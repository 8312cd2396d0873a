// A blocking client for the control API (JSON lines over a Unix socket), for tuttictl and
// tests. Plain POSIX sockets with poll() timeouts: no Asio, so the CLI stays small and
// quick to build.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "control/commands.hpp"

namespace tutti::ctl {

enum class client_error : uint8_t {
  connect,       // nobody listens at the path (or no such path)
  io,            // send or receive failed
  closed,        // the server closed the connection before answering
  timeout,       // no answer in time
  bad_response,  // the answer is not a response object
};

struct client_failure {
  client_error reason;
  std::string message;
};

class control_client {
 public:
  // Connects to the control socket at `path`.
  static result<control_client, client_failure> connect(const std::string& path);

  control_client(control_client&& o) noexcept;
  control_client& operator=(control_client&& o) noexcept;
  control_client(const control_client&) = delete;
  control_client& operator=(const control_client&) = delete;
  ~control_client();

  // Sends one request and waits for the response with the same id; returns the whole
  // response object ({"id","ok","result"|"error"}).
  result<boost::json::object, client_failure> call(std::string_view cmd,
                                                   const boost::json::object& args = {},
                                                   int timeout_ms = 30000);

  // Sends raw bytes (tests use it for malformed lines).
  result<bool, client_failure> send_raw(std::string_view bytes);
  // The next line the server sends, without its newline.
  result<std::string, client_failure> read_line(int timeout_ms = 30000);
  // Closes the sending side: the server answers what it has, then closes.
  void shutdown_send();

  int fd() const noexcept { return fd_; }

 private:
  explicit control_client(int fd) : fd_(fd) {}
  int fd_ = -1;
  int64_t next_id_ = 1;
  std::string in_;
};

// The outcome a response object carries: its result, or its error.
command_result response_outcome(const boost::json::object& response);

}  // namespace tutti::ctl
