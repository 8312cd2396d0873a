// The control API's command registry: named commands that services register, each taking
// a JSON object of arguments and answering with a JSON result or an error.
//
// Model: the wire format is JSON lines (one request, one response per line):
//   -> {"id":7,"cmd":"conf.create","args":{"uri":"sip:room@example.net"}}
//   <- {"id":7,"ok":true,"result":{...}}
//   <- {"id":7,"ok":false,"error":{"code":"not_found","message":"..."}}
// A handler gets the arguments and a `command_reply`; it may answer at once or later (after
// a worker or the SQLite pool finishes), always on the control thread. Responses to
// pipelined requests may come back out of order; the id pairs them. The registry knows
// nothing of sockets: control_server feeds it lines, tests and other code call dispatch().
// Everything here runs on the control thread; nothing is locked.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tutti::ctl {

// Error codes a response may carry; handlers may use others (snake_case).
namespace errc {
inline constexpr std::string_view bad_json = "bad_json";            // line is not JSON
inline constexpr std::string_view bad_request = "bad_request";      // JSON, but not a request
inline constexpr std::string_view unknown_command = "unknown_command";
inline constexpr std::string_view invalid_args = "invalid_args";    // args missing or wrong type
inline constexpr std::string_view not_found = "not_found";          // the object named is absent
inline constexpr std::string_view conflict = "conflict";            // it exists / wrong state
inline constexpr std::string_view busy = "busy";                    // too many requests in flight
inline constexpr std::string_view unavailable = "unavailable";      // service not running
inline constexpr std::string_view line_too_long = "line_too_long";  // connection is closed after
inline constexpr std::string_view internal = "internal";            // handler threw or dropped
}  // namespace errc

struct command_error {
  std::string code;
  std::string message;
};

using command_result = result<boost::json::value, command_error>;

// The answer to one request; copyable (handlers capture it), answered exactly once: the
// first ok()/error() wins, later ones are ignored. If every copy is destroyed unanswered
// the request gets an `internal` error, so a client never waits forever.
class command_reply {
 public:
  using completion = std::function<void(command_result)>;

  explicit command_reply(completion done);

  void ok(boost::json::value result = boost::json::object());
  void error(std::string_view code, std::string message);
  void operator()(command_result r);
  // True once answered.
  bool done() const noexcept;

 private:
  struct state;
  std::shared_ptr<state> s_;
};

using command_handler = std::function<void(const boost::json::object& args, command_reply reply)>;
using sync_command_handler = std::function<command_result(const boost::json::object& args)>;

struct command_info {
  std::string name;
  std::string help;
  uint64_t calls = 0;   // requests dispatched to it
  uint64_t errors = 0;  // of which answered with an error
};

class command_registry {
 public:
  // Registers `name` ("conf.create": lowercase words joined by '.' or '_'). Throws
  // std::logic_error when the name is taken or malformed: that is a bug at setup.
  void register_command(std::string name, command_handler h, std::string help);
  // For handlers that answer before returning.
  void register_command(std::string name, sync_command_handler h, std::string help);
  // Removes a command (a service shutting down); false if it was not registered.
  bool unregister_command(std::string_view name);
  bool contains(std::string_view name) const;

  // Runs one request: the handler (or an error) eventually calls `done` exactly once.
  void dispatch(std::string_view name, const boost::json::object& args,
                command_reply::completion done);

  // Runs one request line (without its newline) and calls `send` exactly once with the
  // response line (without a newline). Malformed lines get bad_json/bad_request responses.
  void dispatch_line(std::string_view line, std::function<void(std::string)> send);

  // Every command with its help and counts, sorted by name.
  std::vector<command_info> list() const;

  // Requests that named no registered command.
  uint64_t unknown_calls() const noexcept { return unknown_calls_; }

 private:
  struct entry {
    command_handler handler;
    std::string help;
    uint64_t calls = 0;
    uint64_t errors = 0;
  };
  std::map<std::string, entry, std::less<>> commands_;
  uint64_t unknown_calls_ = 0;
};

// Response lines, for servers that must answer without a registry (e.g. a line too long).
std::string make_error_line(const boost::json::value& id, std::string_view code,
                            std::string_view message);

// Small helpers for handlers reading their arguments.
// The string member `key`, or an invalid_args error naming it.
result<std::string, command_error> arg_string(const boost::json::object& args, std::string_view key);
// The integer member `key` (within [lo, hi]), or an invalid_args error naming it.
result<int64_t, command_error> arg_int(const boost::json::object& args, std::string_view key,
                                       int64_t lo, int64_t hi);

}  // namespace tutti::ctl
