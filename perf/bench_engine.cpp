// tutti-bench engine: the media engine on one core with generated RTP in memory. Everything
// but sockets is measured: RTP parse, jitter buffer, decode, level, speaker selection, mix,
// encode, RTP build and the tx burst. Packets are generated (untimed) for each 20 ms period,
// then the engine receives them and runs the period's ticks (timed). A load is "real time"
// when the engine is busy at most 80 % of the period; the benchmark searches for the largest
// participant count that stays there. Busy time is the thread's CPU time; tick times (p50,
// p99) are wall time measured by the engine, so they include whatever else ran on the core.
// The workloads, rig and search are perf/engine_rig.hpp, shared with tutti-bench engine-dpdk.
#include <boost/json.hpp>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "perf/bench_engine.hpp"
#include "perf/bench_options.hpp"
#include "perf/engine_rig.hpp"
#include "simd/target.hpp"

namespace tutti::perf {

int run_engine_checked(std::span<const std::string_view> args) {
  std::string name;
  bool json = false;
  uint32_t fixed = 0;
  double seconds = 3.0, target = 0.8;
  for (bench_options o(args); o.next();) {
    if (o.is("--workload")) name = o.value();
    else if (o.is("--json")) json = true;
    else if (o.is("--participants")) fixed = o.u32();
    else if (o.is("--seconds")) seconds = o.real();
    else if (o.is("--target-busy")) target = o.real();
    else if (o.is("--help") || o.is("-h")) {
      std::printf("usage: tutti-bench engine --workload NAME [--participants N] [--seconds S]"
                  " [--target-busy F] [--json]\n\nWorkloads:\n");
      for (const auto& w : engine_workloads()) std::printf("  %-22s %s\n", w.name, w.description);
      std::printf("\nWithout --participants, searches the largest count one core keeps at or "
                  "below --target-busy (default 0.8) of real time.\n");
      return 0;
    } else {
      o.unknown();
    }
  }
  const engine_workload* w = find_engine_workload(name);
  if (!w) throw std::invalid_argument("unknown or missing --workload (see --help)");

  const prepared_workload prepared = prepare_workload(*w);
  if (!json) std::printf("%s: %s (Highway target %s)\n", w->name, w->description, simd::dispatched_target_name());

  const capacity cap = find_capacity(
      *w, target, fixed, [&](uint32_t n) { return measure_engine_only(*w, prepared, n, seconds); },
      [&](const run_result& r) {
        if (!json) print_row(r);
      });
  const run_result& best = cap.best;

  if (json) {
    boost::json::array all;
    for (const auto& r : cap.trials) all.push_back(to_json(r));
    boost::json::object out{{"benchmark", "engine"},
                            {"workload", w->name},
                            {"simd_target", simd::dispatched_target_name()},
                            {"target_busy", target},
                            {"seconds_per_trial", seconds},
                            {"max_participants_per_core", best.participants},
                            {"at_max", to_json(best)},
                            {"trials", all}};
    std::printf("%s\n", boost::json::serialize(out).c_str());
  } else {
    std::printf("%s: %u participants per core at <= %.0f%% busy (%.3f us per participant-frame, "
                "tick p99 %.0f us)\n",
                w->name, best.participants, 100 * target, best.us_per_participant_frame,
                best.tick_p99_us);
  }
  return 0;
}

int run_engine(std::span<const std::string_view> args) {
  try {
    return run_engine_checked(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tutti-bench engine: %s\n", e.what());
    return 2;
  }
}

}  // namespace tutti::perf
