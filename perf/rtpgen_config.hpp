// tutti-rtpgen's settings: what it generates (participants, conferences, codec, audio, who
// talks), where it goes (UDP to tuttid's ports, set up through the control socket or given as
// targets; or a pcap file), how long, and what counts as a pass. Parsed from the command line
// with Boost.Program_options; --help prints the same table.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/io/packet_io.hpp"
#include "dataplane/media_format.hpp"

namespace tutti::perf {

enum class audio_kind : uint8_t { tone, speech };

struct rtpgen_config {
  // What is generated.
  uint32_t participants = 10;
  uint32_t conf_size = 10;            // participants per conference (the last may hold fewer)
  dp::codec_id codec = dp::codec_id::pcmu;
  audio_kind audio = audio_kind::speech;
  bool levels = false;                // RFC 6464 audio level on every packet (ext id level_ext_id)
  uint8_t level_ext_id = 1;
  uint32_t talkers = 0;               // talking participants per conference; 0: everyone
  double rotate_s = 0;                // talkers move round the conference every rotate_s; 0: fixed
  bool dtx = false;                   // silent Opus participants send DTX frames every 400 ms
  int complexity = 4;                 // Opus encoder complexity
  int bitrate_bps = 32000;            // Opus encoder bitrate
  double tone_level_dbfs = -20;       // tone of position p is sent at this - (p % 5) dB
  double loop_s = 5;                  // seconds of each voice pre-encoded and looped
  uint32_t ssrc_base = 0x52500000;

  // Timing.
  double seconds = 10;                // sending time
  double warmup_s = 1;                // first seconds not measured (jitter buffers settle)
  double drain_s = 0.3;               // receiving time after the last send
  uint32_t batches = 20;              // send batches per 20 ms period

  // Where packets go.
  std::string setup_socket;           // --setup: create conferences through tuttid's control socket
  uint32_t rate_hz = 0;               // conference mix rate for --setup; 0: tuttid's default
  uint32_t speakers = 0;              // K for --setup; 0: every talker (at least 3, at most 64)
  std::vector<dp::io::endpoint> targets;  // without --setup: participant i sends to targets[i]
  uint32_t local_ip = 0x7f000001;     // address the participants' sockets bind to
  uint16_t local_port_base = 0;       // 0: ephemeral ports; else participant i binds base + i
  std::string pcap_path;              // write packets into this pcap file instead of sending;
                                      // destinations are the targets
  uint32_t pcap_src_ip = 0xc0000202;  // 192.0.2.2: participant i is SRC_IP:(pcap_src_port + i)
  uint16_t pcap_src_port = 40000;
  uint8_t pcap_src_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
  uint8_t pcap_dst_mac[6] = {0x02, 0, 0, 0, 0, 0x01};

  // Verdict.
  double max_loss_pct = 0.1;
  double max_drift_ms_per_s = 1.0;
  double tone_tolerance_db = 1.0;     // other talkers' tones within this of their sent level
  double own_rejection_db = 40;       // own tone at least this far below its sent level

  // Output.
  bool detail = false;                // per-participant rows in the JSON (always when N <= 20)
  bool progress = true;               // a line a second on stderr

  uint8_t payload_type() const noexcept {
    return codec == dp::codec_id::opus ? 111 : codec == dp::codec_id::pcma ? 8 : 0;
  }
  uint32_t conferences() const noexcept { return (participants + conf_size - 1) / conf_size; }
  uint32_t conference_of(uint32_t i) const noexcept { return i / conf_size; }
  uint32_t position_of(uint32_t i) const noexcept { return i % conf_size; }
  // Members of conference c (the last one may be short).
  uint32_t members_of(uint32_t c) const noexcept;
  // Talkers per conference of size `members`.
  uint32_t talkers_in(uint32_t members) const noexcept {
    return talkers == 0 || talkers > members ? members : talkers;
  }
  uint32_t effective_speakers() const noexcept;
};

// Parses the command line. Returns nullopt after printing --help to `help_out`; throws
// std::invalid_argument with an operator-readable message on a bad option.
std::optional<rtpgen_config> parse_rtpgen_args(int argc, const char* const* argv, std::ostream& help_out);

// "IP:PORT" with an IPv4 address.
std::optional<dp::io::endpoint> parse_endpoint(const std::string& s);

// Target lists: comma-separated "IP:PORT" items; "IP:PORT+STEP" stands for PORT, PORT+STEP, ...
// as many as are still needed to reach `wanted`. Throws std::invalid_argument.
std::vector<dp::io::endpoint> parse_targets(const std::string& list, uint32_t wanted);

// A --ports file: one target per line ("PORT" on 127.0.0.1, or "IP:PORT"), '#' comments;
// line i is participant i. Throws std::invalid_argument.
std::vector<dp::io::endpoint> parse_ports_text(const std::string& text);

// "a.b.c.d" of a host-order IPv4 address, and "a.b.c.d:port" of an endpoint.
std::string ip_string(uint32_t ip);
std::string endpoint_string(const dp::io::endpoint& e);

}  // namespace tutti::perf
