// tuttid's configuration: one TOML file, every key of which a command-line flag overrides.
//
// Model: a plain `config` struct holds the effective settings. Values are layered
// defaults < TOML file (--config FILE) < flags, and validated as a whole at start; every
// error names its key and where it came from (file and line, or the flag), and all errors
// are reported at once. The keys live in one table in config.cpp (name, flag, help,
// whether it can change while running, how to parse and print it), which also drives
// --help, `status` and `config.reload`. The same command line is replayed on reload, so
// flags keep overriding the file.
//
// Adding a key: a field here, one row in the table in config.cpp, a commented line in
// control/tuttid.example.toml (a test checks the example names every key).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "control/log.hpp"

namespace tutti::ctl {

// A numeric address and port: "127.0.0.1:5060" or "[::1]:5060".
struct host_port {
  std::string host;   // numeric IPv4 or IPv6 address, without brackets
  uint16_t port = 0;  // 0: pick an ephemeral port (tests)
  std::string to_string() const;
  friend bool operator==(const host_port&, const host_port&) = default;
};

// Inclusive UDP port range.
struct port_range {
  uint16_t lo = 0;
  uint16_t hi = 0;
  friend bool operator==(const port_range&, const port_range&) = default;
};

enum class io_backend : uint8_t { uring, dpdk };

struct log_config {
  log_level level = log_level::info;                          // default for every module
  log_format format = log_format::kv;
  std::vector<std::pair<std::string, log_level>> modules;     // per-module overrides
};

// Defaults for conferences created without explicit settings.
struct conference_defaults {
  uint32_t rate_hz = 48000;  // mix rate: 8000, 16000 or 48000
  uint32_t speakers = 3;     // K loudest participants mixed
  uint32_t rtp_timeout_s = 30;  // a call whose RTP stops this long is hung up (0: never)
};

// Presence settings.
struct presence_settings {
  std::string watchers = "buddies";  // who may watch whom: buddies | consent (presence_service.hpp)
};

struct config {
  host_port sip{"127.0.0.1", 5060};        // SIP listen address (UDP and TCP)
  std::string domain = "localhost";        // SIP domain served
  std::string sip_auth_order = "sha256-first";  // digest challenge order (RFC 8760 §2.4)
  std::string media = "127.0.0.1";         // IPv4 address for RTP, as written into SDP
  port_range media_ports{20000, 29999};    // UDP ports for RTP
  io_backend io = io_backend::uring;       // packet I/O backend
  std::string eal;                         // DPDK EAL arguments (io = dpdk only)
  uint32_t workers = 1;                    // data-plane worker threads
  std::string state_dir = "/var/lib/tutti";  // SQLite store and other state
  std::string control_socket;              // tuttictl's Unix socket
  std::optional<host_port> metrics;        // Prometheus endpoint; nullopt: off
  log_config log;
  conference_defaults conference;
  presence_settings presence;
};

// The built-in defaults (control_socket and metrics included).
config default_config();

// Where tuttictl and tuttid look for the control socket when none is given:
// $XDG_RUNTIME_DIR/tutti/tuttid.sock for a non-root user that has one, else
// /run/tutti/tuttid.sock.
std::string default_control_socket();

// One problem with the configuration.
struct config_error {
  std::string source;   // file name, or "command line"
  uint32_t line = 0;    // 1-based line in the file; 0 when not from a file
  std::string key;      // "workers", "log.modules.sip", or "--workers"; empty for syntax errors
  std::string message;
  std::string to_string() const;  // "FILE:LINE: KEY: MESSAGE"
};

struct config_errors {
  std::vector<config_error> list;
  std::string to_string() const;  // one error per line
};

// What the command line asked for, kept so config.reload can replay the overrides.
struct command_line {
  std::optional<std::string> config_file;                     // --config
  std::vector<std::pair<std::string, std::string>> overrides;  // (key, value), in order
  bool help = false;
  bool version = false;
  bool check = false;  // --check-config: validate and exit
};

// Parses tuttid's arguments; unknown flags and stray arguments are errors.
result<command_line, config_errors> parse_command_line(int argc, const char* const* argv);

// The --help text: usage and every flag with its key and default.
std::string command_line_help(std::string_view program);

// Defaults, then the file the command line names (if any), then its overrides; validated.
result<config, config_errors> load_config(const command_line& cl);

// As load_config, with TOML text instead of a file (`source` names it in errors).
result<config, config_errors> parse_config(std::string_view toml, std::string_view source,
                                           const command_line& cl = {});

// Every key and its value as text, in table order (for `status`).
std::vector<std::pair<std::string, std::string>> describe(const config& c);

// Names of every key (dotted TOML path; "log.modules" stands for its table).
std::vector<std::string> config_key_names();

struct config_change {
  std::string key;
  std::string old_value;
  std::string new_value;
  bool live = false;  // can be applied without a restart
};

// What differs between the running configuration and a freshly loaded one.
std::vector<config_change> diff_config(const config& running, const config& fresh);

// Copies the keys that can change while running from `fresh` into `running`.
void apply_live_changes(config& running, const config& fresh);

std::string_view to_string(io_backend b) noexcept;

}  // namespace tutti::ctl
