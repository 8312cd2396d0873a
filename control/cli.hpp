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

enum class cli_arg_type : uint8_t { string, integer, json_object };

// One positional argument of a CLI command, sent as args[key].
struct cli_arg {
  std::string_view key;      // JSON member name
  std::string_view metavar;  // shown in usage: MODULE
  cli_arg_type type = cli_arg_type::string;
  bool optional = false;     // optional arguments come last
  std::string_view choices;  // space-separated values offered by completion, if known
};

struct cli_command {
  std::string_view words;  // what the operator types: "log level"
  std::string_view api;    // the API command: "log.level"; empty for `call`
  std::string_view help;
  std::vector<cli_arg> args;
};

// The table.
const std::vector<cli_command>& cli_commands();

// Exit statuses of tuttictl.
enum cli_exit : int { cli_ok = 0, cli_command_failed = 1, cli_usage_error = 2, cli_unreachable = 3 };

struct cli_request {
  std::string socket;               // --socket, $TUTTI_CONTROL_SOCKET, or the default
  bool json = false;                // --json: print the raw response
  int timeout_ms = 30000;           // --timeout SECONDS
  bool help = false;                // --help: print usage for `command` (or all) instead
  const cli_command* command = nullptr;
  std::string api;                  // the API command to call
  boost::json::object args;
};

// Parses tuttictl's argv; a usage error message on failure. Options may appear anywhere
// before a `--`.
result<cli_request, std::string> parse_cli(int argc, const char* const* argv);

// `tuttictl --help`: global options and every command.
std::string cli_usage();
// `tuttictl COMMAND --help`.
std::string cli_command_usage(const cli_command& c);

// A result as text: scalars as aligned "key  value" lines (nested objects flattened to
// dotted keys), arrays of objects as tables with a header row.
std::string render_human(const boost::json::value& result);

// The bash completion script for tuttictl, generated from the table.
std::string bash_completion();

}  // namespace tutti::ctl
