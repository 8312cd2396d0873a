// tutti-bench engine: participants per core of the media engine for a named workload.
#pragma once

#include <span>
#include <string_view>

namespace tutti::perf {

// Runs the subcommand with the arguments after its name; returns the exit status.
int run_engine(std::span<const std::string_view> args);

}  // namespace tutti::perf
