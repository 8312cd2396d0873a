// tutti-bench: in-process benchmarks, one subcommand each (see --help).
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "perf/bench_dpdk.hpp"
#include "perf/bench_engine.hpp"
#include "perf/bench_engine_dpdk.hpp"
#include "perf/bench_io.hpp"
#include "perf/bench_kernels.hpp"
#include "perf/bench_sip.hpp"

namespace {

// The I/O benchmarks keep the argc/argv shape of their standalone builds.
int run_argv(int (*entry)(int, char**), const char* name, std::span<const std::string_view> args) {
  std::vector<std::string> words{name};
  for (auto a : args) words.emplace_back(a);
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  return entry(static_cast<int>(argv.size()), argv.data());
}
int run_io(std::span<const std::string_view> args) { return run_argv(bench_io_main, "tutti-bench io", args); }
int run_dpdk(std::span<const std::string_view> args) {
  return run_argv(bench_dpdk_main, "tutti-bench dpdk", args);
}

struct subcommand {
  std::string_view name;
  std::string_view summary;
  int (*run)(std::span<const std::string_view> args);
};

// Add a benchmark here: its name, one line for --help, and its entry point.
constexpr subcommand kSubcommands[] = {
    {"kernels", "simd/ kernels vs their scalar twins, ns per 20 ms frame", tutti::perf::run_kernels},
    {"io", "io_uring UDP send/receive cost per packet against sendmmsg/recvmmsg and epoll", run_io},
    {"dpdk", "DPDK backend on a net_ring virtual device: ns per packet and Mpps per lcore", run_dpdk},
    {"sip", "REGISTER with digest auth in process: challenge and authorized paths per second",
     tutti::perf::run_sip},
    {"engine", "media engine participants per core for a workload (--workload NAME)",
     tutti::perf::run_engine},
    {"engine-dpdk", "the engine workload through dpdk_io on net_ring vs engine only, same run",
     tutti::perf::run_engine_dpdk},
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
