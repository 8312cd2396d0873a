// Times each simd/ kernel and its scalar twin on one 20 ms frame (960 samples, the 48 kHz
// frame; resamplers take one input frame of their source rate) and reports ns per frame,
// median and spread, and the scalar/SIMD ratio, as a table or as JSON.
#include "perf/bench_kernels.hpp"

#include <hwy/targets.h>
#include <boost/json.hpp>

#include <charconv>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "perf/bench_util.hpp"
#include "simd/g711.hpp"
#include "simd/level.hpp"
#include "simd/mix.hpp"
#include "simd/resample.hpp"
#include "simd/target.hpp"

namespace tutti::perf {
namespace {

namespace simd = tutti::simd;

constexpr size_t kFrame = 960;  // 20 ms at 48 kHz

struct kernel_case {
  std::string name;
  std::string note;              // what one call processes
  std::function<void()> setup;   // untimed, before each batch: restores in-place inputs
  std::function<void()> vector;  // SIMD version, one frame
  std::function<void()> scalar;  // scalar twin, one frame
};

struct kernel_result {
  std::string name;
  std::string note;
  summary vector;
  summary scalar;
  double ratio() const { return vector.median > 0 ? scalar.median / vector.median : 0; }
};

// Random PCM shaped like loud speech: mostly within +-8000, some peaks at full scale.
aligned_vector<int16_t> speechy(std::mt19937& rng, size_t n) {
  std::normal_distribution<double> g(0, 4000);
  aligned_vector<int16_t> v(n);
  for (auto& x : v) x = static_cast<int16_t>(std::clamp(std::lround(g(rng)), -32768L, 32767L));
  return v;
}

// The buffers every case reads or writes, built before any timing.
struct buffers {
  aligned_vector<int16_t> pcm, own, pcm_base, out16;
  aligned_vector<uint8_t> codes, out8;
  aligned_vector<int32_t> sum, sum_base;
  explicit buffers(std::mt19937& rng) {
    pcm = speechy(rng, kFrame);
    own = speechy(rng, kFrame);
    pcm_base = pcm;
    out16.assign(kFrame, 0);
    out8.assign(kFrame, 0);
    codes.assign(kFrame, 0);
    simd::scalar::ulaw_encode(pcm.data(), codes.data(), kFrame);
    // A sum of 5 speakers, so mix-minus and saturate hit both the linear and clipped range.
    sum.assign(kFrame, 0);
    for (int s = 0; s < 5; ++s) {
      const auto v = speechy(rng, kFrame);
      simd::scalar::accumulate(sum.data(), v.data(), kFrame);
    }
    sum_base = sum;
  }
};

std::vector<kernel_case> make_cases(buffers& b) {
  const auto nothing = [] {};
  const auto restore_pcm = [&b] { b.pcm = b.pcm_base; };
  const auto restore_sum = [&b] { b.sum = b.sum_base; };
  std::vector<kernel_case> cases;
  cases.push_back({"ulaw_encode", "960 samples", nothing,
                   [&b] { simd::ulaw_encode(b.pcm.data(), b.out8.data(), kFrame); },
                   [&b] { simd::scalar::ulaw_encode(b.pcm.data(), b.out8.data(), kFrame); }});
  cases.push_back({"ulaw_decode", "960 samples", nothing,
                   [&b] { simd::ulaw_decode(b.codes.data(), b.out16.data(), kFrame); },
                   [&b] { simd::scalar::ulaw_decode(b.codes.data(), b.out16.data(), kFrame); }});
  cases.push_back({"alaw_encode", "960 samples", nothing,
                   [&b] { simd::alaw_encode(b.pcm.data(), b.out8.data(), kFrame); },
                   [&b] { simd::scalar::alaw_encode(b.pcm.data(), b.out8.data(), kFrame); }});
  cases.push_back({"alaw_decode", "960 samples", nothing,
                   [&b] { simd::alaw_decode(b.codes.data(), b.out16.data(), kFrame); },
                   [&b] { simd::scalar::alaw_decode(b.codes.data(), b.out16.data(), kFrame); }});
  cases.push_back({"accumulate", "960 samples", restore_sum,
                   [&b] { simd::accumulate(b.sum.data(), b.pcm.data(), kFrame); },
                   [&b] { simd::scalar::accumulate(b.sum.data(), b.pcm.data(), kFrame); }});
  cases.push_back(
      {"mix_minus", "960 samples", nothing,
       [&b] { simd::mix_minus(b.sum.data(), b.own.data(), b.out16.data(), kFrame); },
       [&b] { simd::scalar::mix_minus(b.sum.data(), b.own.data(), b.out16.data(), kFrame); }});
  cases.push_back({"saturate", "960 samples", nothing,
                   [&b] { simd::saturate(b.sum.data(), b.out16.data(), kFrame); },
                   [&b] { simd::scalar::saturate(b.sum.data(), b.out16.data(), kFrame); }});
  cases.push_back({"add_saturate", "960 samples", restore_pcm,
                   [&b] { simd::add_saturate(b.pcm.data(), b.own.data(), kFrame); },
                   [&b] { simd::scalar::add_saturate(b.pcm.data(), b.own.data(), kFrame); }});
  // Unity gain keeps the frame unchanged from call to call; the kernels have no shortcut for it.
  cases.push_back({"apply_gain", "960 samples, gain 4096", nothing,
                   [&b] { simd::apply_gain(b.pcm.data(), kFrame, 4096); },
                   [&b] { simd::scalar::apply_gain(b.pcm.data(), kFrame, 4096); }});
  cases.push_back({"energy", "960 samples", nothing,
                   [&b] { do_not_optimize(simd::energy(b.pcm.data(), kFrame)); },
                   [&b] { do_not_optimize(simd::scalar::energy(b.pcm.data(), kFrame)); }});
  cases.push_back({"level_dbov", "960 samples", nothing,
                   [&b] { do_not_optimize(simd::level_dbov(b.pcm.data(), kFrame)); },
                   [&b] { do_not_optimize(simd::scalar::level_dbov(b.pcm.data(), kFrame)); }});
  struct rates {
    int from, to;
  };
  for (const auto [from, to] : {rates{8000, 48000}, rates{48000, 8000}, rates{16000, 48000},
                                rates{48000, 16000}, rates{8000, 16000}, rates{16000, 8000}}) {
    const size_t n_in = static_cast<size_t>(from / 50);
    // Shared so the std::function copies stay cheap; built here, outside any timing.
    auto r = std::make_shared<simd::resampler>(from, to);
    auto out = std::make_shared<aligned_vector<int16_t>>(r->max_output(n_in));
    cases.push_back(
        {"resample " + std::to_string(from / 1000) + "k->" + std::to_string(to / 1000) + "k",
         std::to_string(n_in) + " in, " +
             std::to_string(n_in * static_cast<size_t>(to) / static_cast<size_t>(from)) + " out",
         nothing, [&b, r, out, n_in] { r->process(b.pcm.data(), n_in, out->data()); },
         [&b, r, out, n_in] { r->process_scalar(b.pcm.data(), n_in, out->data()); }});
  }
  return cases;
}

struct options {
  bool json = false;
  bool help = false;
  size_t reps = 200;
  std::string target;  // empty: Highway's choice
  std::string filter;  // empty: every kernel
};

void usage(std::FILE* f) {
  std::fprintf(
      f,
      "usage: tutti-bench kernels [--json] [--reps N] [--target NAME] [--filter TEXT]\n"
      "  Times every simd/ kernel and its scalar twin on one 20 ms frame and prints ns per\n"
      "  frame (median, p10, p90 over N timed batches; default 200) and scalar/SIMD.\n"
      "  --json          machine-readable output\n"
      "  --target NAME   pin Highway dispatch to one supported target (e.g. AVX2)\n"
      "  --filter TEXT   only kernels whose name contains TEXT\n");
}

bool parse(std::span<const std::string_view> args, options& o) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    const auto value = [&]() -> std::string_view {
      return i + 1 < args.size() ? args[++i] : std::string_view{};
    };
    if (a == "--json") {
      o.json = true;
    } else if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (a == "--reps") {
      const auto v = value();
      size_t n = 0;
      const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc{} || p != v.data() + v.size() || n == 0) return false;
      o.reps = n;
    } else if (a == "--target") {
      o.target = value();
      if (o.target.empty()) return false;
    } else if (a == "--filter") {
      o.filter = value();
    } else {
      return false;
    }
  }
  return true;
}

// Pins dispatch to the named target; false if this build or CPU lacks it.
bool pin_target(const std::string& name) {
  for (const int64_t t : hwy::SupportedAndGeneratedTargets()) {
    if (name == hwy::TargetName(t)) {
      hwy::SetSupportedTargetsForTest(t);
      return simd::dispatched_target() == t;
    }
  }
  return false;
}

// Targets this CPU supports and this build compiled (call before pinning one).
std::string supported_targets() {
  std::string s;
  for (const int64_t t : hwy::SupportedAndGeneratedTargets()) {
    if (!s.empty()) s += ' ';
    s += hwy::TargetName(t);
  }
  return s;
}

boost::json::object to_json(const summary& s) {
  return {{"median_ns", s.median}, {"p10_ns", s.p10}, {"p90_ns", s.p90},
          {"min_ns", s.min},       {"max_ns", s.max}, {"samples", s.samples}};
}

void print_json(const std::vector<kernel_result>& results, const options& o,
                const std::string& supported) {
  boost::json::array rows;
  for (const auto& r : results) {
    rows.push_back({{"kernel", r.name},
                    {"per_call", r.note},
                    {"simd", to_json(r.vector)},
                    {"scalar", to_json(r.scalar)},
                    {"scalar_over_simd", r.ratio()}});
  }
  const boost::json::object doc = {
      {"benchmark", "kernels"},         {"unit", "ns per 20 ms frame"},
      {"frame_samples", kFrame},        {"target", simd::dispatched_target_name()},
      {"supported_targets", supported}, {"pinned", !o.target.empty()},
      {"compiler", __VERSION__},        {"reps", o.reps},
      {"results", std::move(rows)},
  };
  std::cout << boost::json::serialize(doc) << '\n';
}

void print_table(const std::vector<kernel_result>& results, const options& o,
                 const std::string& supported) {
  std::printf("tutti-bench kernels: ns per 20 ms frame, median [p10 .. p90] of %zu timed batches\n",
              o.reps);
  std::printf("Highway target: %s%s (supported and compiled: %s); compiler %s\n",
              simd::dispatched_target_name(), o.target.empty() ? "" : ", pinned", supported.c_str(),
              __VERSION__);
  std::printf("%-18s %-22s %26s %26s %9s\n", "kernel", "per call", "SIMD", "scalar twin",
              "scalar/SIMD");
  for (const auto& r : results) {
    char v[64], s[64];
    std::snprintf(v, sizeof v, "%8.1f [%7.1f .. %7.1f]", r.vector.median, r.vector.p10,
                  r.vector.p90);
    std::snprintf(s, sizeof s, "%8.1f [%7.1f .. %7.1f]", r.scalar.median, r.scalar.p10,
                  r.scalar.p90);
    std::printf("%-18s %-22s %26s %26s %8.2fx\n", r.name.c_str(), r.note.c_str(), v, s, r.ratio());
  }
}

}  // namespace

int run_kernels(std::span<const std::string_view> args) {
  options o;
  if (!parse(args, o)) {
    usage(stderr);
    return 2;
  }
  if (o.help) {
    usage(stdout);
    return 0;
  }
  const std::string supported = supported_targets();
  if (!o.target.empty() && !pin_target(o.target)) {
    std::fprintf(stderr, "tutti-bench: target %s not available; have: %s\n", o.target.c_str(),
                 supported.c_str());
    hwy::SetSupportedTargetsForTest(0);
    return 2;
  }
  std::mt19937 rng(20);
  buffers b(rng);
  const auto cases = make_cases(b);
  timing_options t;
  t.samples = o.reps;
  std::vector<kernel_result> results;
  for (const auto& c : cases) {
    if (!o.filter.empty() && c.name.find(o.filter) == std::string::npos) continue;
    kernel_result r{c.name, c.note, time_per_call(t, c.setup, c.vector),
                    time_per_call(t, c.setup, c.scalar)};
    results.push_back(r);
  }
  if (o.json) {
    print_json(results, o, supported);
  } else {
    print_table(results, o, supported);
  }
  hwy::SetSupportedTargetsForTest(0);
  return 0;
}

}  // namespace tutti::perf
