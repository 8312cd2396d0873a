// `tutti-bench kernels`: every simd/ kernel against its scalar twin, per 20 ms frame.
#pragma once

#include <span>
#include <string_view>

namespace tutti::perf {

// Runs the subcommand with the arguments after its name; returns the exit status.
int run_kernels(std::span<const std::string_view> args);

}  // namespace tutti::perf
