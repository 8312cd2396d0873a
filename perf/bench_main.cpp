// tutti-bench: in-process benchmarks, one subcommand each (see --help).
#include <cstdio>
#include <span>
#include <string_view>
#include <vector>

#include "perf/bench_kernels.hpp"

namespace {

struct subcommand {
  std::string_view name;
  std::string_view summary;
  int (*run)(std::span<const std::string_view> args);
};

// Add a benchmark here: its name, one line for --help, and its entry point.
constexpr subcommand kSubcommands[] = {
    {"kernels", "simd/ kernels vs their scalar twins, ns per 20 ms frame",
     tutti::perf::run_kernels},
};

void usage(std::FILE* f) {
  std::fprintf(f,
               "usage: tutti-bench SUBCOMMAND [OPTIONS]   (tutti-bench SUBCOMMAND --help for its "
               "options)\n");
  for (const auto& s : kSubcommands) {
    std::fprintf(f, "  %-10.*s %.*s\n", static_cast<int>(s.name.size()), s.name.data(),
                 static_cast<int>(s.summary.size()), s.summary.data());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) {
    usage(stderr);
    return 2;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    usage(stdout);
    return 0;
  }
  for (const auto& s : kSubcommands) {
    if (args[0] == s.name) return s.run(std::span(args).subspan(1));
  }
  std::fprintf(stderr, "tutti-bench: unknown subcommand '%.*s'\n", static_cast<int>(args[0].size()),
               args[0].data());
  usage(stderr);
  return 2;
}
