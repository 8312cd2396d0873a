// tutti-rtpgen: RTP load generator and receiver/verifier (see --help). Composition only:
// parse the options, pre-encode the voices, set up tuttid or take targets, run, judge, and
// print one JSON object.
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <bit>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>

#include "base/clock.hpp"
#include "perf/rtp_receiver.hpp"
#include "perf/rtp_sender.hpp"
#include "perf/rtpgen_audio.hpp"
#include "perf/rtpgen_config.hpp"
#include "perf/rtpgen_run.hpp"
#include "perf/rtpgen_setup.hpp"
#include "perf/tone_check.hpp"
#include "perf/udp_ring.hpp"

using namespace tutti;
using namespace tutti::perf;
namespace json = boost::json;

namespace {

constexpr int exit_pass = 0, exit_fail = 1, exit_usage = 2;
constexpr size_t max_listed_failures = 20;

double round_to(double v, int digits) {
  const double f = std::pow(10.0, digits);
  return std::round(v * f) / f;
}

json::object config_json(const rtpgen_config& c) {
  json::object o{{"participants", c.participants},
                 {"conf_size", c.conf_size},
                 {"conferences", c.conferences()},
                 {"codec", dp::to_string(c.codec)},
                 {"audio", c.audio == audio_kind::tone ? "tone" : "speech"},
                 {"levels", c.levels},
                 {"talkers", c.talkers},
                 {"rotate_s", c.rotate_s},
                 {"dtx", c.dtx},
                 {"seconds", c.seconds},
                 {"warmup_s", c.warmup_s},
                 {"batches", c.batches}};
  if (c.codec == dp::codec_id::opus) {
    o["complexity"] = c.complexity;
    o["bitrate_bps"] = c.bitrate_bps;
  }
  if (!c.setup_socket.empty()) {
    o["setup"] = c.setup_socket;
    o["rate_hz"] = c.rate_hz;
    o["speakers"] = c.effective_speakers();
  }
  if (!c.pcap_path.empty()) o["pcap"] = c.pcap_path;
  return o;
}

json::object tone_json(const tone_verdict& v) {
  json::array lines;
  for (const auto& l : v.lines)
    lines.push_back(json::object{{"hz", l.frequency_hz},
                                 {"expect", to_string(l.expect)},
                                 {"sent_dbfs", round_to(l.sent_dbfs, 2)},
                                 {"heard_dbfs", round_to(l.heard_dbfs, 2)},
                                 {"pass", l.pass}});
  json::object o{{"pass", v.pass}, {"windows", v.windows}, {"concealed", v.concealed}, {"tones", std::move(lines)}};
  if (!v.problem.empty()) o["problem"] = v.problem;
  return o;
}

// Everything the UDP run learns about tuttid around the window.
struct tuttid_view {
  int64_t pid = 0;
  std::optional<process_cpu> cpu_start, cpu_end;
  json::array workers_before, workers_after;
};

json::object tuttid_json(const tuttid_view& t, uint32_t participants, double window_s) {
  json::object o{{"pid", t.pid}};
  if (t.cpu_start && t.cpu_end && window_s > 0) {
    const double worker_s = t.cpu_end->workers_s - t.cpu_start->workers_s;
    const double process_s = t.cpu_end->process_s - t.cpu_start->process_s;
    o["worker_threads"] = t.cpu_end->workers;
    o["worker_cpu_s"] = round_to(worker_s, 3);
    o["worker_cpu_fraction"] = round_to(worker_s / window_s, 4);
    o["process_cpu_fraction"] = round_to(process_s / window_s, 4);
    o["us_per_participant_frame"] = round_to(worker_s * 1e6 / (double(participants) * window_s * 50), 3);
  }
  o["workers_before"] = t.workers_before;
  o["workers"] = t.workers_after;
  return o;
}

struct verdict {
  bool pass = true;
  json::array reasons, warnings;
  void fail(std::string why) {
    pass = false;
    reasons.emplace_back(std::move(why));
  }
};

int run_pcap(const rtpgen_config& c, const voice_bank& voices, json::object& out) {
  rtp_sender sender(c, voices);
  const auto r = write_pcap(c, sender);
  out["mode"] = "pcap";
  out["totals"] = json::object{{"sent", r.frames}, {"bytes", r.bytes}};
  out["pass"] = r.ok;
  if (!r.ok) out["fail_reasons"] = json::array{json::value(r.error)};
  return r.ok ? exit_pass : exit_fail;
}

int run_network(const rtpgen_config& c_in, const voice_bank& voices, json::object& out) {
  rtpgen_config c = c_in;
  out["mode"] = "udp";
  udp_ring_config rc;
  rc.sockets = c.participants;
  rc.local_ip = c.local_ip;
  rc.local_port_base = c.local_port_base;
  rc.rx_buffers = std::bit_ceil(std::clamp<uint32_t>(c.participants * 4, 1024, 32768));
  rc.tx_buffers = std::clamp<uint32_t>(c.participants * 2, 1024, 65536);
  auto ring_or = udp_ring::create(rc);
  if (!ring_or) throw std::runtime_error(ring_or.error());
  udp_ring& ring = **ring_or;

  std::unique_ptr<control_setup> setup;
  tuttid_view tv;
  json::object setup_json;
  if (!c.setup_socket.empty()) {
    const uint64_t t0 = monotonic_ns();
    setup = std::make_unique<control_setup>(c.setup_socket);
    tv.pid = setup->tuttid_pid();
    try {
      const uint32_t media_ip = setup->media_ip();
      const auto ports = setup->create(c, [&](uint32_t i) { return ring.local_port(i); });
      c.targets.clear();
      for (uint16_t p : ports) c.targets.push_back({media_ip, p});
    } catch (...) {
      std::string ignored;
      setup->teardown(ignored);
      throw;
    }
    setup_json = {{"conferences", setup->conferences_created()}, {"setup_ms", round_to((monotonic_ns() - t0) / 1e6, 1)}};
  }
  for (uint32_t i = 0; i < c.participants; ++i) {
    std::string err;
    if (!ring.connect(i, c.targets[i], err)) throw std::runtime_error("participant " + std::to_string(i) + ": " + err);
  }
  std::string err;
  if (!ring.start_receiving(err)) throw std::runtime_error(err);
  if (setup) tv.workers_before = setup->workers();

  rtp_sender sender(c, voices);
  const run_timeline t = make_timeline(c, monotonic_ns() + 50'000'000);
  rtp_receiver rx(c.codec, c.participants, t.window_start_ns, t.window_end_ns, c.audio == audio_kind::tone);
  run_hooks hooks;
  if (tv.pid) {
    hooks.window_start = [&] { tv.cpu_start = read_process_cpu(tv.pid); };
    hooks.window_end = [&] { tv.cpu_end = read_process_cpu(tv.pid); };
  }
  const udp_run_result r = run_udp(c, t, sender, ring, rx, hooks);
  if (setup) tv.workers_after = setup->workers();

  bool teardown_ok = true;
  if (setup) {
    std::string terr;
    teardown_ok = setup->teardown(terr);
    setup_json["teardown_ok"] = teardown_ok;
    if (!teardown_ok) setup_json["teardown_error"] = terr;
    out["setup"] = setup_json;
  }

  const rx_summary s = rx.summarize();
  const double window_s = double(t.window_end_ns - t.window_start_ns) / 1e9;
  const double cadence = double(c.participants) * window_s * 50;
  verdict v;

  out["run"] = json::object{
      {"window_s", round_to(window_s, 3)},
      {"periods", r.periods_done},
      {"stopped_early", r.stopped_early},
      {"generator_cpu_s", round_to(r.generator_cpu_s, 3)},
      {"io_uring_enters", r.io.enters},
      {"wake_lag_ms", json::object{{"p50", round_to(r.wake_lag.quantile_ns(0.5) / 1e6, 3)},
                                   {"p99", round_to(r.wake_lag.quantile_ns(0.99) / 1e6, 3)},
                                   {"max", round_to(r.wake_lag.max_ns() / 1e6, 3)}}}};
  const uint64_t send_failures = r.io.send_errors + r.tx_no_buffer;
  out["totals"] = json::object{{"sent", r.io.sent},
                               {"send_errors", r.io.send_errors},
                               {"send_refused", r.io.send_refused},
                               {"tx_no_buffer", r.tx_no_buffer},
                               {"dtx_gaps", r.dtx_skipped},
                               {"received", s.received},
                               {"window_received", s.window_received},
                               {"expected", s.expected},
                               {"lost", s.lost},
                               {"duplicates", s.duplicates},
                               {"bad", s.bad},
                               {"rx_truncated", r.io.rx_truncated},
                               {"rx_errors", r.io.rx_errors},
                               {"cadence_expected", std::llround(cadence)},
                               {"cadence_pct", round_to(cadence > 0 ? 100.0 * double(s.window_received) / cadence : 0, 2)}};
  out["loss_pct"] = round_to(s.loss_pct, 4);
  out["jitter_ms"] = json::object{{"p50", round_to(s.jitter_p50_ms, 3)},
                                  {"p99", round_to(s.jitter_p99_ms, 3)},
                                  {"max", round_to(s.jitter_max_ms, 3)}};
  out["drift_ms_per_s"] = s.drift_valid ? json::value(round_to(s.drift_ms_per_s, 3)) : json::value(nullptr);
  out["backlog_ms"] = round_to(s.backlog_ms, 3);
  out["pps"] = json::object{{"min", s.pps_min}, {"max", s.pps_max}, {"whole_seconds", s.whole_seconds}};

  if (s.loss_pct >= c.max_loss_pct) v.fail("loss " + std::to_string(s.loss_pct) + " % (limit " + std::to_string(c.max_loss_pct) + " %)");
  if (s.silent) v.fail(std::to_string(s.silent) + " participants received nothing in the window");
  if (s.drift_valid && s.drift_ms_per_s > c.max_drift_ms_per_s)
    v.fail("arrivals drift " + std::to_string(s.drift_ms_per_s) + " ms/s later (a growing backlog; limit " +
           std::to_string(c.max_drift_ms_per_s) + ")");
  if (!s.drift_valid) v.warnings.emplace_back("window too short to measure drift (3 bins of 250 ms needed)");
  if (r.io.sent && double(send_failures) >= double(r.queued + r.tx_no_buffer) * c.max_loss_pct / 100)
    v.fail(std::to_string(send_failures) + " of our sends failed");
  if (r.wake_lag.quantile_ns(0.99) > 10'000'000)
    v.warnings.emplace_back("the generator woke over 10 ms late (p99): this machine is short of CPU");
  if (r.stopped_early) v.fail("stopped early by a signal");
  if (!teardown_ok) v.fail("teardown failed");

  // The N-1 tone check, decoding only now what was kept.
  std::vector<std::optional<tone_verdict>> tones(c.participants);
  if (c.audio == audio_kind::tone) {
    uint32_t passed = 0, unchecked = 0, min_windows = UINT32_MAX;
    double worst_other = 0, least_rejection = 1e9;
    json::array failures;
    for (uint32_t i = 0; i < c.participants; ++i) {
      const auto kept = rx.kept(i);
      tones[i] = check_tones(c, i, decode_payloads(c.codec, kept));
      const tone_verdict& tv_i = *tones[i];
      passed += tv_i.pass;
      min_windows = std::min(min_windows, tv_i.windows);
      for (const auto& l : tv_i.lines) {
        if (tv_i.windows < 2) break;
        if (l.expect == tone_expectation::other) worst_other = std::max(worst_other, std::fabs(l.heard_dbfs - l.sent_dbfs));
        if (l.expect == tone_expectation::own) least_rejection = std::min(least_rejection, l.sent_dbfs - l.heard_dbfs);
        if (l.expect == tone_expectation::unchecked) ++unchecked;
      }
      if (!tv_i.pass && failures.size() < max_listed_failures) {
        json::object f = tone_json(tv_i);
        f["participant"] = i;
        failures.push_back(std::move(f));
      }
    }
    const bool all = passed == c.participants;
    json::object tc{{"requested", true},
                    {"pass", all},
                    {"passed", passed},
                    {"failed", c.participants - passed},
                    {"windows_min", min_windows},
                    {"worst_other_error_db", round_to(worst_other, 2)},
                    {"unchecked_tones", unchecked},
                    {"tolerance_db", c.tone_tolerance_db},
                    {"failures", std::move(failures)}};
    tc["least_own_rejection_db"] = least_rejection < 1e9 ? json::value(round_to(least_rejection, 1)) : json::value(nullptr);
    if (c.effective_speakers() < c.talkers_in(c.conf_size) && !c.setup_socket.empty())
      v.warnings.emplace_back("--speakers is below the talkers: not every tone can be mixed");
    out["tone_check"] = std::move(tc);
    if (!all) v.fail(std::to_string(c.participants - passed) + " participants failed the tone check");
  } else {
    out["tone_check"] = json::object{{"requested", false}};
  }
  if (setup) out["tuttid"] = tuttid_json(tv, c.participants, window_s);

  if (c.detail || c.participants <= 20) {
    json::array rows;
    for (uint32_t i = 0; i < c.participants; ++i) {
      const auto& p = s.participants[i];
      json::object row{{"participant", i},
                       {"conference", c.conference_of(i)},
                       {"position", c.position_of(i)},
                       {"local_port", ring.local_port(i)},
                       {"target", endpoint_string(c.targets[i])},
                       {"received", p.packets},
                       {"window_received", p.window_packets},
                       {"expected", p.expected},
                       {"lost", p.lost},
                       {"duplicates", p.duplicates},
                       {"jitter_ms", round_to(p.jitter_ms, 3)},
                       {"pps_min", p.pps_min},
                       {"pps_max", p.pps_max},
                       {"drift_ms_per_s", round_to(p.drift_ms_per_s, 3)},
                       {"ssrc_changes", p.ssrc_changes},
                       {"timestamp_jumps", p.timestamp_jumps}};
      if (tones[i]) row["tone"] = tone_json(*tones[i]);
      rows.push_back(std::move(row));
    }
    out["participants"] = std::move(rows);
  }
  out["pass"] = v.pass;
  out["fail_reasons"] = std::move(v.reasons);
  out["warnings"] = std::move(v.warnings);
  return v.pass ? exit_pass : exit_fail;
}

void on_signal(int) { request_stop(); }

}  // namespace

int main(int argc, char** argv) {
  std::optional<rtpgen_config> c;
  try {
    c = parse_rtpgen_args(argc, argv, std::cout);
    if (!c) return exit_pass;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tutti-rtpgen: %s\n", e.what());
    return exit_usage;
  }
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  json::object out{{"tool", "tutti-rtpgen"}, {"config", config_json(*c)}};
  int status = exit_fail;
  try {
    const uint64_t t0 = monotonic_ns();
    const voice_bank voices = build_voices(*c);
    out["encode_ms"] = round_to((monotonic_ns() - t0) / 1e6, 1);
    status = c->pcap_path.empty() ? run_network(*c, voices, out) : run_pcap(*c, voices, out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tutti-rtpgen: %s\n", e.what());
    out["pass"] = false;
    out["fail_reasons"] = json::array{json::value(e.what())};
    status = exit_usage;
  }
  std::cout << json::serialize(out) << std::endl;
  return status;
}
