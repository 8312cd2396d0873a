#include "perf/rtpgen_config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <charconv>
#include <fstream>
#include <ostream>
#include <sstream>
#include <stdexcept>

namespace tutti::perf {

namespace po = boost::program_options;

namespace {

constexpr const char* usage_head =
    "usage: tutti-rtpgen [OPTIONS]\n"
    "\n"
    "RTP load generator and receiver/verifier for tuttid. N participants, each one UDP socket\n"
    "on 127.0.0.1, send pre-encoded audio paced on CLOCK_MONOTONIC (spread evenly over each\n"
    "20 ms period, sent in batches through io_uring) to tuttid, and receive and check what\n"
    "tuttid sends back on the same sockets: loss from RTP sequence numbers, RFC 3550 jitter,\n"
    "drift of arrival times against the 20 ms cadence (a growing backlog), and with\n"
    "--audio tone that each participant hears every other talker's tone and not its own.\n"
    "Prints one JSON object on stdout at the end; progress goes to stderr once a second.\n"
    "Exit status: 0 pass, 1 fail, 2 bad usage or setup error.\n"
    "\n"
    "Where packets go (one of):\n"
    "  --setup SOCKET     create the conferences and participants through tuttid's control\n"
    "                     socket (conf.create, conf.add_rtp), destroy them at the end\n"
    "  --target LIST      send participant i to the i-th target of LIST (see --target)\n"
    "  --ports FILE       the same, one target per line\n"
    "  --pcap FILE        write Ethernet/IPv4/UDP frames into a pcap file (for DPDK's pcap\n"
    "                     PMD) instead of sending; needs --target or --ports; no receiving\n"
    "\n"
    "Examples:\n"
    "  tutti-rtpgen --setup /run/tutti/tuttid.sock --participants 1000 --conf-size 10 --codec pcmu\n"
    "  tutti-rtpgen --setup S --participants 5 --conf-size 5 --codec opus --audio tone --levels\n"
    "  tutti-rtpgen --participants 200 --codec opus --levels --talkers 2 --dtx \\\n"
    "      --pcap load.pcap --target 192.0.2.1:20000+2\n"
    "\n";

constexpr const char* json_help =
    "\nJSON result (one object on stdout):\n"
    "  config            the settings used; encode_ms: time to pre-encode the voices\n"
    "  mode              udp or pcap\n"
    "  setup             conferences, setup_ms, teardown_ok (with --setup)\n"
    "  run               window_s (measured: --seconds minus --warmup), periods, generator_cpu_s,\n"
    "                    io_uring_enters, wake_lag_ms p50/p99/max (how late the sender woke)\n"
    "  totals            sent, send_errors, send_refused, tx_no_buffer, dtx_gaps; received (all),\n"
    "                    window_received, expected (RTP sequence span in the window), lost,\n"
    "                    duplicates, bad (not RTP), cadence_expected (50 pps x participants x\n"
    "                    window), cadence_pct (window_received against it)\n"
    "  loss_pct          lost / expected\n"
    "  jitter_ms         p50/p99/max of the RFC 3550 interarrival jitter at each received packet\n"
    "  drift_ms_per_s    slope of arrival time against the RTP timestamps' 20 ms cadence (null\n"
    "                    when the window is under 750 ms); > 0: a growing backlog\n"
    "  backlog_ms        how much later arrivals were at the end of the window than at its start\n"
    "  pps               min/max packets a participant received in a whole second of the window\n"
    "  tone_check        requested, pass, passed, failed, windows_min, worst_other_error_db,\n"
    "                    least_own_rejection_db, unchecked_tones, failures (first 20)\n"
    "  tuttid            pid, worker_cpu_s, worker_cpu_fraction, process_cpu_fraction,\n"
    "                    us_per_participant_frame (worker CPU from /proc over the window),\n"
    "                    workers_before / workers (the `workers` command before and after)\n"
    "  pass              loss below --max-loss, everyone heard something, no drift above\n"
    "                    --max-drift, our sends went out, tone check (if asked); fail_reasons\n"
    "  warnings          e.g. the generator itself woke late (short of CPU)\n"
    "  participants      per participant (with --detail, or when N <= 20)\n";

dp::codec_id parse_codec(const std::string& s) {
  if (s == "pcmu" || s == "PCMU") return dp::codec_id::pcmu;
  if (s == "pcma" || s == "PCMA") return dp::codec_id::pcma;
  if (s == "opus" || s == "OPUS") return dp::codec_id::opus;
  throw std::invalid_argument("--codec must be pcmu, pcma or opus, not '" + s + "'");
}

uint32_t parse_ip(const std::string& s, const char* what) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1)
    throw std::invalid_argument(std::string(what) + " must be an IPv4 address, not '" + s + "'");
  return ntohl(a.s_addr);
}

void parse_mac(const std::string& s, uint8_t out[6], const char* what) {
  unsigned b[6];
  char tail = 0;
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6 ||
      std::any_of(b, b + 6, [](unsigned v) { return v > 255; }))
    throw std::invalid_argument(std::string(what) + " must be a MAC address like 02:00:00:00:00:01");
  for (int i = 0; i < 6; ++i) out[i] = static_cast<uint8_t>(b[i]);
}

template <typename T>
void in_range(const char* name, T v, T lo, T hi) {
  if (v < lo || v > hi) {
    std::ostringstream m;
    m << name << " must be " << lo << ".." << hi << ", not " << v;
    throw std::invalid_argument(m.str());
  }
}

}  // namespace

uint32_t rtpgen_config::members_of(uint32_t c) const noexcept {
  const uint32_t first = c * conf_size;
  return first >= participants ? 0 : std::min(conf_size, participants - first);
}

uint32_t rtpgen_config::effective_speakers() const noexcept {
  if (speakers) return speakers;
  return std::clamp<uint32_t>(talkers_in(conf_size), 3, 64);
}

std::string ip_string(uint32_t ip) {
  in_addr a{htonl(ip)};
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

std::string endpoint_string(const dp::io::endpoint& e) { return ip_string(e.ip) + ":" + std::to_string(e.port); }

std::optional<dp::io::endpoint> parse_endpoint(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  in_addr a{};
  if (inet_pton(AF_INET, s.substr(0, colon).c_str(), &a) != 1) return std::nullopt;
  unsigned port = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data() + colon + 1, end, port);
  if (ec != std::errc() || p != end || port == 0 || port > 65535) return std::nullopt;
  return dp::io::endpoint{ntohl(a.s_addr), static_cast<uint16_t>(port)};
}

std::vector<dp::io::endpoint> parse_targets(const std::string& list, uint32_t wanted) {
  std::vector<dp::io::endpoint> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    const auto plus = item.find('+');
    const auto e = parse_endpoint(item.substr(0, plus));
    if (!e) throw std::invalid_argument("bad target '" + item + "' (IP:PORT or IP:PORT+STEP)");
    if (plus == std::string::npos) {
      out.push_back(*e);
      continue;
    }
    unsigned step = 0;
    const char* end = item.data() + item.size();
    auto [p, ec] = std::from_chars(item.data() + plus + 1, end, step);
    if (ec != std::errc() || p != end || step == 0 || step > 1000)
      throw std::invalid_argument("bad step in target '" + item + "'");
    for (uint32_t port = e->port; out.size() < wanted; port += step) {
      if (port > 65535) throw std::invalid_argument("target '" + item + "' runs past port 65535");
      out.push_back({e->ip, static_cast<uint16_t>(port)});
    }
  }
  return out;
}

std::vector<dp::io::endpoint> parse_ports_text(const std::string& text) {
  std::vector<dp::io::endpoint> out;
  std::stringstream in(text);
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    line.erase(0, line.find_first_not_of(" \t\r"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (line.empty()) continue;
    const std::string item = line.find(':') == std::string::npos ? "127.0.0.1:" + line : line;
    const auto e = parse_endpoint(item);
    if (!e) throw std::invalid_argument("ports file line " + std::to_string(n) + ": bad target '" + line + "'");
    out.push_back(*e);
  }
  return out;
}

std::optional<rtpgen_config> parse_rtpgen_args(int argc, const char* const* argv, std::ostream& help_out) {
  rtpgen_config c;
  std::string codec = "pcmu", audio = "speech", ports_file, bind = "127.0.0.1";
  std::string pcap_src = "192.0.2.2", src_mac = "02:00:00:00:00:02",
              dst_mac = "02:00:00:00:00:01";
  std::vector<std::string> targets;
  unsigned level_ext = 1, local_port_base = 0, pcap_src_port = 40000;

  po::options_description gen("What is sent");
  gen.add_options()
      ("participants,n", po::value(&c.participants)->default_value(c.participants), "participants (one UDP socket each)")
      ("conf-size", po::value(&c.conf_size)->default_value(c.conf_size), "participants per conference")
      ("codec", po::value(&codec)->default_value(codec), "pcmu, pcma or opus (Opus at 48 kHz, 20 ms)")
      ("audio", po::value(&audio)->default_value(audio),
       "speech: speech_like voice of each conference position; tone: position p sends tone p % 5 of "
       "{3110,660,1130,1470,2060} Hz at --tone-level - (p % 5) dBFS and the N-1 tone check runs")
      ("levels", po::bool_switch(&c.levels), "add RFC 6464 audio levels computed from the PCM")
      ("level-ext", po::value(&level_ext)->default_value(level_ext), "header extension id of the levels (1..14)")
      ("talkers", po::value(&c.talkers)->default_value(c.talkers),
       "talkers per conference (positions 0..K-1); the others send low noise (-75 dBFS), or DTX "
       "with --dtx; 0: everyone talks")
      ("rotate", po::value(&c.rotate_s)->default_value(c.rotate_s),
       "move the talkers round the conference every S seconds (0: fixed; not with --audio tone)")
      ("dtx", po::bool_switch(&c.dtx), "silent Opus participants send a DTX frame every 400 ms, nothing between")
      ("complexity", po::value(&c.complexity)->default_value(c.complexity), "Opus encoder complexity (VOIP application)")
      ("bitrate", po::value(&c.bitrate_bps)->default_value(c.bitrate_bps), "Opus encoder bitrate, bit/s")
      ("tone-level", po::value(&c.tone_level_dbfs)->default_value(c.tone_level_dbfs), "level of position 0's tone, dBFS")
      ("loop-seconds", po::value(&c.loop_s)->default_value(c.loop_s), "seconds of each voice pre-encoded at start and looped");
  po::options_description timing("Timing");
  timing.add_options()
      ("seconds", po::value(&c.seconds)->default_value(c.seconds), "sending time; the run then stops by itself")
      ("warmup", po::value(&c.warmup_s)->default_value(c.warmup_s), "first seconds not measured (at most a third of --seconds unless given)")
      ("drain", po::value(&c.drain_s)->default_value(c.drain_s, "0.3"), "receiving time after the last send")
      ("batches", po::value(&c.batches)->default_value(c.batches), "send batches per 20 ms period");
  po::options_description where("Where it goes");
  where.add_options()
      ("setup", po::value(&c.setup_socket), "tuttid control socket: create conferences and participants, destroy at the end")
      ("rate", po::value(&c.rate_hz)->default_value(c.rate_hz), "conference mix rate for --setup: 8000, 16000, 48000 (0: tuttid's default)")
      ("speakers", po::value(&c.speakers)->default_value(c.speakers), "K loudest mixed, for --setup (0: the talkers, at least 3)")
      ("target", po::value(&targets)->composing(),
       "participant i sends to the i-th of a comma list of IP:PORT; IP:PORT+STEP repeats with ports "
       "PORT, PORT+STEP, ... (tuttid must latch or know our addresses: see --local-port-base)")
      ("ports", po::value(&ports_file), "file with one target per line (PORT or IP:PORT, # comments)")
      ("bind", po::value(&bind)->default_value(bind), "address the participants' sockets bind to")
      ("local-port-base", po::value(&local_port_base)->default_value(local_port_base),
       "bind participant i to port BASE+i (0: ephemeral ports)")
      ("pcap", po::value(&c.pcap_path), "write the packets into this pcap file instead of sending them, "
       "to the --target/--ports addresses; timestamps follow the send schedule")
      ("pcap-src", po::value(&pcap_src)->default_value(pcap_src), "source IPv4 address in the pcap")
      ("pcap-src-port", po::value(&pcap_src_port)->default_value(pcap_src_port), "participant i's source port is this + i")
      ("pcap-src-mac", po::value(&src_mac)->default_value(src_mac), "source MAC in the pcap")
      ("pcap-dst-mac", po::value(&dst_mac)->default_value(dst_mac), "destination MAC in the pcap");
  po::options_description verdict("Verdict and output");
  verdict.add_options()
      ("max-loss", po::value(&c.max_loss_pct)->default_value(c.max_loss_pct), "fail above this loss, %")
      ("max-drift", po::value(&c.max_drift_ms_per_s)->default_value(c.max_drift_ms_per_s),
       "fail when arrival times drift later than this, ms per s (a growing backlog)")
      ("tone-tolerance", po::value(&c.tone_tolerance_db)->default_value(c.tone_tolerance_db),
       "other talkers' tones must be heard within this of their sent level, dB")
      ("own-rejection", po::value(&c.own_rejection_db)->default_value(c.own_rejection_db),
       "own tone must be at least this far below its sent level, dB")
      ("detail", po::bool_switch(&c.detail), "per-participant rows in the JSON (always when N <= 20)")
      ("quiet", "no progress lines on stderr")
      ("help,h", "this text");
  po::options_description all;
  all.add(gen).add(timing).add(where).add(verdict);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw std::invalid_argument(e.what());
  }
  if (vm.count("help")) {
    help_out << usage_head << all << json_help;
    return std::nullopt;
  }
  c.progress = !vm.count("quiet");
  c.codec = parse_codec(codec);
  if (audio == "tone") c.audio = audio_kind::tone;
  else if (audio == "speech") c.audio = audio_kind::speech;
  else throw std::invalid_argument("--audio must be tone or speech");
  in_range("--participants", c.participants, 1u, 60000u);
  in_range("--conf-size", c.conf_size, 1u, 10000u);
  in_range("--level-ext", level_ext, 1u, 14u);
  c.level_ext_id = static_cast<uint8_t>(level_ext);
  in_range("--complexity", c.complexity, 0, 10);
  in_range("--bitrate", c.bitrate_bps, 6000, 510000);
  in_range("--seconds", c.seconds, 0.1, 86400.0);
  // The default warm-up shrinks for short runs; one given explicitly must fit.
  if (vm["warmup"].defaulted()) c.warmup_s = std::min(c.warmup_s, c.seconds / 3);
  in_range("--warmup", c.warmup_s, 0.0, c.seconds * 0.9);
  in_range("--drain", c.drain_s, 0.0, 10.0);
  in_range("--batches", c.batches, 1u, 1000u);
  in_range("--loop-seconds", c.loop_s, 0.2, 120.0);
  in_range("--tone-level", c.tone_level_dbfs, -60.0, -6.0);
  in_range("--rotate", c.rotate_s, 0.0, 3600.0);
  in_range("--speakers", c.speakers, 0u, 64u);
  in_range("--local-port-base", local_port_base, 0u, 65535u);
  in_range("--pcap-src-port", pcap_src_port, 1u, 65535u);
  if (c.rate_hz != 0 && c.rate_hz != 8000 && c.rate_hz != 16000 && c.rate_hz != 48000)
    throw std::invalid_argument("--rate must be 8000, 16000 or 48000");
  if (c.dtx && c.codec != dp::codec_id::opus) throw std::invalid_argument("--dtx needs --codec opus");
  if (c.audio == audio_kind::tone && c.rotate_s > 0)
    throw std::invalid_argument("--rotate cannot go with --audio tone (the tone check needs fixed talkers)");
  if (local_port_base && local_port_base + c.participants - 1 > 65535)
    throw std::invalid_argument("--local-port-base + participants runs past port 65535");
  c.local_port_base = static_cast<uint16_t>(local_port_base);
  c.local_ip = parse_ip(bind, "--bind");
  c.pcap_src_ip = parse_ip(pcap_src, "--pcap-src");
  c.pcap_src_port = static_cast<uint16_t>(pcap_src_port);
  if (c.pcap_src_port + c.participants - 1 > 65535)
    throw std::invalid_argument("--pcap-src-port + participants runs past port 65535");
  parse_mac(src_mac, c.pcap_src_mac, "--pcap-src-mac");
  parse_mac(dst_mac, c.pcap_dst_mac, "--pcap-dst-mac");

  for (const auto& t : targets) {
    auto more = parse_targets(t, c.participants - std::min<uint32_t>(c.participants, uint32_t(c.targets.size())));
    c.targets.insert(c.targets.end(), more.begin(), more.end());
  }
  if (!ports_file.empty()) {
    std::ifstream in(ports_file);
    if (!in) throw std::invalid_argument("cannot read --ports file " + ports_file);
    std::stringstream s;
    s << in.rdbuf();
    auto more = parse_ports_text(s.str());
    c.targets.insert(c.targets.end(), more.begin(), more.end());
  }
  const bool have_targets = !targets.empty() || !ports_file.empty();
  if (!c.pcap_path.empty() && !c.setup_socket.empty())
    throw std::invalid_argument("--pcap and --setup do not go together (--pcap sends nothing)");
  if (!c.setup_socket.empty() && have_targets)
    throw std::invalid_argument("--setup learns the ports itself: drop --target/--ports");
  if (c.setup_socket.empty() && !have_targets)
    throw std::invalid_argument("say where to send: --setup SOCKET, --target LIST or --ports FILE (see --help)");
  if (have_targets && c.targets.size() < c.participants)
    throw std::invalid_argument("only " + std::to_string(c.targets.size()) + " targets for " +
                                std::to_string(c.participants) + " participants");
  c.targets.resize(have_targets ? c.participants : 0);
  return c;
}

}  // namespace tutti::perf
