// tutti-bench sip: REGISTER handling per second on one core, in process (no sockets):
// parse + digest check + registrar update + response build, for the 401 challenge path and
// the authorized path (SHA-256 and MD5), and a full registration (one of each).
#pragma once

#include <span>
#include <string_view>

namespace tutti::perf {

// Runs the subcommand with the arguments after its name; returns the exit status.
// Arguments: [--users N] [--requests N] [--rounds N].
int run_sip(std::span<const std::string_view> args);

}  // namespace tutti::perf
