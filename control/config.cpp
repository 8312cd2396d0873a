#include "control/config.hpp"

#include <arpa/inet.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <toml++/toml.h>
#include <variant>

namespace tutti::ctl {

namespace po = boost::program_options;

namespace {

// ---- value parsers: each returns an error message, or nothing when the value is good ----

using error_text = std::optional<std::string>;

std::optional<uint16_t> parse_port(std::string_view s) {
  unsigned v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || v > 65535)
    return std::nullopt;
  return static_cast<uint16_t>(v);
}

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool is_loopback(const std::string& host) {
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
  return host == "::1";
}

// "1.2.3.4:5060" or "[::1]:5060".
error_text parse_host_port(std::string_view s, host_port& out) {
  std::string host;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return "expected [IPV6]:PORT";
    host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
    if (!is_ipv6(host)) return "'" + host + "' is not an IPv6 address";
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return "expected ADDR:PORT";
    host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
    if (!is_ipv4(host)) return "'" + host + "' is not an IPv4 address (write IPv6 as [ADDR]:PORT)";
  }
  auto p = parse_port(port);
  if (!p) return "'" + std::string(port) + "' is not a port number (0-65535)";
  out = host_port{std::move(host), *p};
  return std::nullopt;
}

bool valid_hostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (c == '-' && label > 0 && i + 1 < s.size() && s[i + 1] != '.');
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

bool valid_module_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
      return false;
  return true;
}

// ---- the key table ----

enum class kind : uint8_t { string, integer, string_map };
using raw_value = std::variant<std::string, int64_t>;

struct key_def {
  std::string_view name;        // dotted TOML path
  std::string_view flag;        // long option without "--"
  std::string_view value_name;  // placeholder in --help
  std::string_view help;
  kind type;
  bool live;  // applied by config.reload without a restart
  // Validates and stores a value; `sub` is the entry name for string_map keys.
  error_text (*set)(config&, const raw_value&, std::string_view sub);
  std::string (*show)(const config&);
  void (*copy)(config& to, const config& from);
};

const std::string& str(const raw_value& v) { return std::get<std::string>(v); }
int64_t num(const raw_value& v) { return std::get<int64_t>(v); }

std::string join_modules(const config& c) {
  std::string s;
  for (auto& [m, l] : c.log.modules) {
    if (!s.empty()) s += ',';
    s += m;
    s += '=';
    s += to_string(l);
  }
  return s;
}

const key_def keys[] = {
    {"sip", "sip", "ADDR:PORT", "SIP listen address (UDP and TCP); port 0 picks one", kind::string,
     false,
     [](config& c, const raw_value& v, std::string_view) { return parse_host_port(str(v), c.sip); },
     [](const config& c) { return c.sip.to_string(); },
     [](config& t, const config& f) { t.sip = f.sip; }},
    {"domain", "domain", "NAME", "SIP domain this box serves", kind::string, false,
     [](config& c, const raw_value& v, std::string_view) -> error_text {
       if (!valid_hostname(str(v)) && !is_ipv4(str(v))) return "'" + str(v) + "' is not a host name";
       c.domain = str(v);
       return std::nullopt;
     },
     [](const config& c) { return c.domain; },
     [](config& t, const config& f) { t.domain = f.domain; }},
    {"media", "media", "ADDR", "IPv4 address for RTP, as written into SDP", kind::string, false,
     [](config& c, const raw_value& v, std::string_view) -> error_text {
       if (!is_ipv4(str(v))) return "'" + str(v) + "' is not an IPv4 address";
       if (str(v) == "0.0.0.0") return "must be a concrete address: it is sent to peers in SDP";
       c.media = str(v);
       return std::nullopt;
     },
     [](const config& c) { return c.media; },
     [](config& t, const config& f) { t.media = f.media; }},
    {"media_ports", "media-ports", "LO-HI", "UDP port range for RTP, inclusive", kind::string, false,
     [](config& c, const raw_value& v, std::string_view) -> error_text {
       std::string_view s = str(v);
       auto dash = s.find('-');
       if (dash == std::string_view::npos) return "expected LO-HI";
       auto lo = parse_port(s.substr(0, dash)), hi = parse_port(s.substr(dash + 1));
       if (!lo || !hi || *lo == 0) return "ports must be numbers from 1 to 65535";
       if (*lo >= *hi) return "LO must be below HI";
       c.media_ports = port_range{*lo, *hi};
       return std::nullopt;
     },
     [](const config& c) {
       return std::to_string(c.media_ports.lo) + "-" + std::to_string(c.media_ports.hi);
     },
     [](config& t, const config& f) { t.media_ports = f.media_ports; }},
    {"io", "io", "uring|dpdk", "packet I/O backend of the media workers", kind::string, false,
     [](config& c, const raw_value& v, std::string_view) -> error_text {
       if (str(v) == "uring")
         c.io = io_backend::uring;
       else if (str(v) == "dpdk")
         c.io = io_backend::dpdk;
       else
         return "'" + str(v) + "' is not one of uring, dpdk";
       return std::nullopt;
     },
     [](const config& c) { return std::string(to_string(c.io)); },
     [](config& t, const config& f) { t.io = f.io; }},
    {"eal", "eal", "'ARGS'", "DPDK EAL arguments, e.g. '-l 1 --vdev=net_ring0' (io = dpdk)",
     kind::string, false,
     [](config& c, const raw_value& v, std::string_view) -> error_text {
       c.eal = str(v);
       return std::nullopt;
     },
     [](const config& c) { return c.eal; }, [](config& t, const config& f) { t.eal = f.eal; }},
    {"workers", "workers", "N", "data-plane worker threads, one per core (1-256)", kind::integer,
     false,
     [](config& c, const raw_value& v, std::string_view) -> error_text {
       if (num(v) < 1 || num(v) > 256) return "must be from 1 to 256, not " + std::to_string(num(v));
       c.workers = static_cast<uint32_t>(num(v));
       return std::nullopt;
     },
     [](const config& c) { return std::to_string(c.workers); },
     [](config& t, const config& f) { t.workers = f.workers; }},
    {"state_dir", "state-dir", "DIR", "directory for the SQLite store and other state", kind::string,
     false,
     [](config& c, const raw_value& v, std::string_view) -> error_text {
       if (str(v).empty()) return "must not be empty";
       c.state_dir = str(v);
       return std::nullopt;
     },
     [](const config& c) { return c.state_dir; },
     [](config& t, const config& f) { t.state_dir = f.state_dir; }},
    {"control_socket", "control-socket", "PATH", "Unix socket for tuttictl (JSON lines)",
     kind::string, false,
     [](config& c, const raw_value& v, std::string_view) -> error_text {
       if (str(v).empty()) return "must not be empty";
       if (str(v).size() >= sizeof(sockaddr_un::sun_path))
         return "longer than a Unix socket path may be (" +
                std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes)";
       c.control_socket = str(v);
       return std::nullopt;
     },
     [](const config& c) { return c.control_socket; },
     [](config& t, const config& f) { t.control_socket = f.control_socket; }},
    {"metrics", "metrics", "ADDR:PORT",
     "Prometheus endpoint, loopback only; port 0 picks one, \"off\" disables it", kind::string,
     false,
     [](config& c, const raw_value& v, std::string_view) -> error_text {
       if (str(v) == "off" || str(v).empty()) {
         c.metrics.reset();
         return std::nullopt;
       }
       host_port hp;
       if (auto e = parse_host_port(str(v), hp)) return e;
       if (!is_loopback(hp.host)) return "must be a loopback address: metrics are unauthenticated";
       c.metrics = hp;
       return std::nullopt;
     },
     [](const config& c) { return c.metrics ? c.metrics->to_string() : std::string("off"); },
     [](config& t, const config& f) { t.metrics = f.metrics; }},
    {"sip_auth_order", "sip-auth-order", "ORDER",
     "digest challenges: sha256-first (RFC 8760), md5-first (for clients that read only the first) or "
     "md5-only (for clients that fail on any algorithm they lack)",
     kind::string, false,
     [](config& c, const raw_value& v, std::string_view) -> error_text {
       if (str(v) != "sha256-first" && str(v) != "md5-first" && str(v) != "md5-only")
         return "'" + str(v) + "' is not sha256-first, md5-first or md5-only";
       c.sip_auth_order = str(v);
       return std::nullopt;
     },
     [](const config& c) { return c.sip_auth_order; },
     [](config& t, const config& f) { t.sip_auth_order = f.sip_auth_order; }},
    {"log.level", "log-level", "LEVEL", "default log level: trace, debug, info, warn, error, off",
     kind::string, true,
     [](config& c, const raw_value& v, std::string_view) -> error_text {
       auto l = parse_log_level(str(v));
       if (!l) return "'" + str(v) + "' is not one of trace, debug, info, warn, error, off";
       c.log.level = *l;
       return std::nullopt;
     },
     [](const config& c) { return std::string(to_string(c.log.level)); },
     [](config& t, const config& f) { t.log.level = f.log.level; }},
    {"log.format", "log-format", "kv|json", "log line format: logfmt key=value, or JSON",
     kind::string, true,
     [](config& c, const raw_value& v, std::string_view) -> error_text {
       auto f = parse_log_format(str(v));
       if (!f) return "'" + str(v) + "' is not one of kv, json";
       c.log.format = *f;
       return std::nullopt;
     },
     [](const config& c) { return std::string(to_string(c.log.format)); },
     [](config& t, const config& f) { t.log.format = f.log.format; }},
    {"log.modules", "log-module", "MODULE=LEVEL", "one module's log level (repeatable)",
     kind::string_map, true,
     [](config& c, const raw_value& v, std::string_view sub) -> error_text {
       if (!valid_module_name(sub)) return "'" + std::string(sub) + "' is not a module name";
       auto l = parse_log_level(str(v));
       if (!l) return "'" + str(v) + "' is not one of trace, debug, info, warn, error, off";
       for (auto& [m, lv] : c.log.modules)
         if (m == sub) {
           lv = *l;
           return std::nullopt;
         }
       c.log.modules.emplace_back(std::string(sub), *l);
       return std::nullopt;
     },
     join_modules, [](config& t, const config& f) { t.log.modules = f.log.modules; }},
    {"conference.rate_hz", "conference-rate-hz", "HZ",
     "mix rate of new conferences: 8000, 16000 or 48000", kind::integer, true,
     [](config& c, const raw_value& v, std::string_view) -> error_text {
       if (num(v) != 8000 && num(v) != 16000 && num(v) != 48000)
         return "must be 8000, 16000 or 48000, not " + std::to_string(num(v));
       c.conference.rate_hz = static_cast<uint32_t>(num(v));
       return std::nullopt;
     },
     [](const config& c) { return std::to_string(c.conference.rate_hz); },
     [](config& t, const config& f) { t.conference.rate_hz = f.conference.rate_hz; }},
    {"conference.speakers", "conference-speakers", "K",
     "loudest participants mixed in new conferences (1-64)", kind::integer, true,
     [](config& c, const raw_value& v, std::string_view) -> error_text {
       if (num(v) < 1 || num(v) > 64) return "must be from 1 to 64, not " + std::to_string(num(v));
       c.conference.speakers = static_cast<uint32_t>(num(v));
       return std::nullopt;
     },
     [](const config& c) { return std::to_string(c.conference.speakers); },
     [](config& t, const config& f) { t.conference.speakers = f.conference.speakers; }},
    {"conference.rtp_timeout_s", "rtp-timeout-s", "SECONDS",
     "hang up a call whose RTP stopped this long (0: never; restart to apply)", kind::integer, false,
     [](config& c, const raw_value& v, std::string_view) -> error_text {
       if (num(v) < 0 || num(v) > 86400) return "must be from 0 to 86400, not " + std::to_string(num(v));
       c.conference.rtp_timeout_s = static_cast<uint32_t>(num(v));
       return std::nullopt;
     },
     [](const config& c) { return std::to_string(c.conference.rtp_timeout_s); },
     [](config& t, const config& f) { t.conference.rtp_timeout_s = f.conference.rtp_timeout_s; }},
    {"presence.watchers", "presence-watchers", "buddies|consent",
     "who may watch a user's presence: buddies (either lists the other) or consent (the user's own "
     "list; others who list the user wait as pending); restart to apply",
     kind::string, false,
     [](config& c, const raw_value& v, std::string_view) -> error_text {
       if (str(v) != "buddies" && str(v) != "consent") return "'" + str(v) + "' is not buddies or consent";
       c.presence.watchers = str(v);
       return std::nullopt;
     },
     [](const config& c) { return c.presence.watchers; },
     [](config& t, const config& f) { t.presence.watchers = f.presence.watchers; }},
};

const key_def* find_key(std::string_view name) {
  for (auto& k : keys)
    if (k.name == name) return &k;
  return nullptr;
}

const key_def* find_flag(std::string_view flag) {
  for (auto& k : keys)
    if (k.flag == flag) return &k;
  return nullptr;
}

// True when some key lives under the TOML table `prefix` ("log", "conference").
bool is_section(std::string_view prefix) {
  for (auto& k : keys)
    if (k.name.size() > prefix.size() && k.name.starts_with(prefix) && k.name[prefix.size()] == '.')
      return true;
  return false;
}

// Where a key got its value, for errors found only once every key is known.
struct origin {
  std::string source;
  uint32_t line = 0;
  std::string key;
};

class loader {
 public:
  config cfg = default_config();
  config_errors errors;

  void error(const origin& o, std::string message) {
    errors.list.push_back(config_error{o.source, o.line, o.key, std::move(message)});
  }

  void apply(const key_def& k, const raw_value& v, std::string_view sub, origin o) {
    if (auto e = k.set(cfg, v, sub))
      error(o, std::move(*e));
    else
      origins_[std::string(k.name)] = std::move(o);
  }

  void load_toml(std::string_view text, std::string_view source) {
    toml::table root;
    try {
      root = toml::parse(text, source);
    } catch (const toml::parse_error& e) {
      error(origin{std::string(source), e.source().begin.line, ""},
            std::string(e.description()) + " (column " + std::to_string(e.source().begin.column) +
                ")");
      return;
    }
    walk(root, "", source);
  }

  // A table's entries in file order (toml++ keeps them sorted by name), so errors and
  // log.modules come out in the order the operator wrote them.
  static std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order(const toml::table& t) {
    std::vector<std::pair<const toml::key*, const toml::node*>> v;
    for (auto&& [k, node] : t) v.emplace_back(&k, &node);
    std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) {
      auto pa = a.first->source().begin, pb = b.first->source().begin;
      return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
    });
    return v;
  }

  void walk(const toml::table& t, const std::string& prefix, std::string_view source) {
    for (auto [kp, np] : in_file_order(t)) {
      const toml::key& k = *kp;
      const toml::node& node = *np;
      std::string name = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
      origin o{std::string(source), node.source().begin.line, name};
      if (const key_def* def = find_key(name)) {
        from_node(*def, node, o);
      } else if (node.is_table() && is_section(name)) {
        walk(*node.as_table(), name, source);
      } else {
        error(o, "unknown key");
      }
    }
  }

  void from_node(const key_def& def, const toml::node& node, const origin& o) {
    switch (def.type) {
      case kind::string:
        if (auto* s = node.as_string())
          apply(def, s->get(), "", o);
        else
          error(o, "expected a string");
        break;
      case kind::integer:
        if (auto* i = node.as_integer())
          apply(def, i->get(), "", o);
        else
          error(o, "expected an integer");
        break;
      case kind::string_map:
        if (auto* t = node.as_table()) {
          for (auto [subp, vp] : in_file_order(*t)) {
            const toml::key& sub = *subp;
            const toml::node& v = *vp;
            origin so{o.source, v.source().begin.line, o.key + "." + std::string(sub.str())};
            if (auto* s = v.as_string())
              apply(def, s->get(), sub.str(), so);
            else
              error(so, "expected a string");
          }
        } else {
          error(o, "expected a table of MODULE = \"LEVEL\"");
        }
        break;
    }
  }

  void apply_flag(const key_def& def, const std::string& value) {
    origin o{"command line", 0, "--" + std::string(def.flag)};
    switch (def.type) {
      case kind::string:
        apply(def, value, "", o);
        break;
      case kind::integer: {
        int64_t v = 0;
        auto r = std::from_chars(value.data(), value.data() + value.size(), v);
        if (value.empty() || r.ec != std::errc() || r.ptr != value.data() + value.size())
          error(o, "'" + value + "' is not an integer");
        else
          apply(def, v, "", o);
        break;
      }
      case kind::string_map: {
        auto eq = value.find('=');
        if (eq == std::string::npos)
          error(o, "expected " + std::string(def.value_name));
        else
          apply(def, value.substr(eq + 1), std::string_view(value).substr(0, eq), o);
        break;
      }
    }
  }

  // Rules that involve more than one key.
  void cross_check() {
    if (cfg.io == io_backend::uring && !cfg.eal.empty())
      error(where("eal"), "is only used with io = \"dpdk\"");
  }

 private:
  origin where(const std::string& key) {
    auto it = origins_.find(key);
    return it != origins_.end() ? it->second : origin{"default", 0, key};
  }
  std::map<std::string, origin> origins_;
};

result<config, config_errors> finish(loader& l, const command_line& cl) {
  for (auto& [key, value] : cl.overrides)
    if (const key_def* def = find_key(key)) l.apply_flag(*def, value);
  l.cross_check();
  if (!l.errors.list.empty()) return fail(std::move(l.errors));
  return std::move(l.cfg);
}

po::options_description flag_descriptions() {
  config d = default_config();
  po::options_description opts("Options (each overrides the TOML key in parentheses)");
  opts.add_options()                                              //
      ("help,h", "print this help and exit")                      //
      ("version", "print the version and exit")                   //
      ("check-config", "validate the configuration and exit")     //
      ("config", po::value<std::string>()->value_name("FILE"), "TOML configuration file");
  for (auto& k : keys) {
    std::string help = std::string(k.help) + " (" + std::string(k.name);
    if (std::string v = k.show(d); !v.empty()) help += "; default " + v;
    help += k.live ? "; live)" : ")";
    std::string name(k.flag);
    if (k.type == kind::string_map)
      opts.add_options()(name.c_str(),
                         po::value<std::vector<std::string>>()->composing()->value_name(
                             std::string(k.value_name)),
                         help.c_str());
    else
      opts.add_options()(name.c_str(),
                         po::value<std::string>()->value_name(std::string(k.value_name)),
                         help.c_str());
  }
  return opts;
}

}  // namespace

std::string host_port::to_string() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string_view to_string(io_backend b) noexcept { return b == io_backend::dpdk ? "dpdk" : "uring"; }

std::string default_control_socket() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (geteuid() != 0 && xdg && *xdg) return std::string(xdg) + "/tutti/tuttid.sock";
  return "/run/tutti/tuttid.sock";
}

config default_config() {
  config c;
  c.control_socket = default_control_socket();
  c.metrics = host_port{"127.0.0.1", 9464};
  return c;
}

std::string config_error::to_string() const {
  std::string s = source;
  if (line) s += ":" + std::to_string(line);
  s += ": ";
  if (!key.empty()) s += key + ": ";
  return s + message;
}

std::string config_errors::to_string() const {
  std::string s;
  for (auto& e : list) s += e.to_string() + "\n";
  return s;
}

result<command_line, config_errors> parse_command_line(int argc, const char* const* argv) {
  command_line cl;
  auto usage_error = [](std::string m) {
    return fail(config_errors{{config_error{"command line", 0, "", std::move(m)}}});
  };
  try {
    auto opts = flag_descriptions();
    po::parsed_options parsed = po::command_line_parser(argc, argv).options(opts).run();
    for (auto& o : parsed.options) {
      if (o.position_key >= 0 || o.unregistered)
        return usage_error("unexpected argument '" + o.original_tokens.front() + "'");
      if (o.string_key == "help") {
        cl.help = true;
      } else if (o.string_key == "version") {
        cl.version = true;
      } else if (o.string_key == "check-config") {
        cl.check = true;
      } else if (o.string_key == "config") {
        cl.config_file = o.value.at(0);
      } else if (const key_def* def = find_flag(o.string_key)) {
        for (auto& v : o.value) cl.overrides.emplace_back(std::string(def->name), v);
      }
    }
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  return cl;
}

std::string command_line_help(std::string_view program) {
  std::ostringstream s;
  s << "usage: " << program << " [--config FILE] [OPTIONS]\n\n"
    << "The tutti appliance: SIP presence, IM and conferencing with a kernel-bypass media engine.\n"
    << "Exit status: 0 clean shutdown, 1 fatal error while running, 2 bad command line or\n"
    << "configuration, 3 a resource could not be acquired at start (socket, port, directory).\n\n"
    << flag_descriptions();
  return s.str();
}

result<config, config_errors> parse_config(std::string_view toml, std::string_view source,
                                           const command_line& cl) {
  loader l;
  l.load_toml(toml, source);
  return finish(l, cl);
}

result<config, config_errors> load_config(const command_line& cl) {
  loader l;
  if (cl.config_file) {
    std::ifstream in(*cl.config_file, std::ios::binary);
    if (!in) {
      l.error(origin{*cl.config_file, 0, ""}, "cannot open: " + std::string(std::strerror(errno)));
      return fail(std::move(l.errors));
    }
    std::ostringstream text;
    text << in.rdbuf();
    l.load_toml(text.str(), *cl.config_file);
  }
  return finish(l, cl);
}

std::vector<std::pair<std::string, std::string>> describe(const config& c) {
  std::vector<std::pair<std::string, std::string>> v;
  for (auto& k : keys) v.emplace_back(std::string(k.name), k.show(c));
  return v;
}

std::vector<std::string> config_key_names() {
  std::vector<std::string> v;
  for (auto& k : keys) v.emplace_back(k.name);
  return v;
}

std::vector<config_change> diff_config(const config& running, const config& fresh) {
  std::vector<config_change> v;
  for (auto& k : keys) {
    std::string a = k.show(running), b = k.show(fresh);
    if (a != b) v.push_back(config_change{std::string(k.name), std::move(a), std::move(b), k.live});
  }
  return v;
}

void apply_live_changes(config& running, const config& fresh) {
  for (auto& k : keys)
    if (k.live) k.copy(running, fresh);
}

}  // namespace tutti::ctl
