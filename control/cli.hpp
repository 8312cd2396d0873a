// tuttictl's command table and everything about it that is not I/O: turning argv into an
// API request, --help texts, rendering results as human tables, and the bash completion
// script (generated from the same table, so the two cannot drift).
//
// Adding a CLI command for an API command is one row in cli_commands() (cli.cpp), then
// regenerating control/tuttictl.bash-completion (`tuttictl --bash-completion`; a test
// compares the two). Any API command is also reachable without a row:
// `tuttictl call CMD '{json args}'`.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tutti::ctl {

enum class cli_arg_type : uint8_t {
  string,
  integer,
  number,       // a JSON number (integer or not): gains in dB
  json_object,
  list,         // this and every later word, as an array of strings (last positional only)
  text,         // this and every later word joined by spaces, as one string (last positional only)
};

// One positional argument of a CLI command, sent as args[key].
struct cli_arg {
  std::string_view key;      // JSON member name
  std::string_view metavar;  // shown in usage: MODULE
  cli_arg_type type = cli_arg_type::string;
  bool optional = false;     // optional arguments come last
  std::string_view choices;  // space-separated values offered by completion, if known
};

// One named option of a CLI command (`--rate HZ` or `--rate=HZ`), sent as args[key]. Every
// command option takes a value.
struct cli_option {
  std::string_view flag;     // "--rate"
  std::string_view key;      // JSON member name
  std::string_view metavar;  // HZ
  cli_arg_type type = cli_arg_type::string;  // string, integer or number
  bool required = false;
  std::string_view choices;  // space-separated values offered by completion, if known
  // Non-empty: this option picks the API command (`part gain --in DB` -> part.gain_in);
  // a command with such options needs exactly one of them.
  std::string_view api;
};

struct cli_command {
  std::string_view words;  // what the operator types: "log level"
  std::string_view api;    // the API command: "log.level"; empty for `call` and option-picked
  std::string_view help;
  std::vector<cli_arg> args;
  std::vector<cli_option> options;
};

// The table.
const std::vector<cli_command>& cli_commands();

// Exit statuses of tuttictl.
// An error answer exits with a status of its own where scripts want to tell it apart.
enum cli_exit : int {
  cli_ok = 0,
  cli_command_failed = 1,  // tuttid answered with an error not listed below
  cli_usage_error = 2,
  cli_unreachable = 3,
  cli_not_found = 4,       // errc::not_found: no such user, conference, participant, ...
  cli_conflict = 5,        // errc::conflict: it exists already, or its state forbids it
};
// The exit status for an error answer's code.
cli_exit cli_exit_for(std::string_view error_code);

struct cli_request {
  std::string socket;               // --socket, $TUTTI_CONTROL_SOCKET, or the default
  bool json = false;                // --json: print the raw response
  int timeout_ms = 30000;           // --timeout SECONDS
  bool help = false;                // --help: print usage for `command` (or all) instead
  const cli_command* command = nullptr;
  std::string api;                  // the API command to call
  boost::json::object args;
};

// Parses tuttictl's argv; a usage error message on failure. Global and command options
// may appear anywhere before a `--`.
result<cli_request, std::string> parse_cli(int argc, const char* const* argv);

// `tuttictl --help`: global options and every command.
std::string cli_usage();
// `tuttictl COMMAND --help`.
std::string cli_command_usage(const cli_command& c);

// A result as text: scalars as aligned "key  value" lines (nested objects flattened to
// dotted keys), arrays of objects as tables with a header row; numbers as written by a
// person (0.5, not 5E-1).
std::string render_human(const boost::json::value& result);

// The bash completion script for tuttictl, generated from the table.
std::string bash_completion();

}  // namespace tutti::ctl
