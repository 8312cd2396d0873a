#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "control/config.hpp"
#include "tests/control/test_util.hpp"

using namespace tutti::ctl;

namespace {

command_line cli(std::vector<const char*> args) {
  args.insert(args.begin(), "tuttid");
  auto r = parse_command_line(static_cast<int>(args.size()), args.data());
  REQUIRE(r.ok());
  return *r;
}

config_errors parse_errors(std::string_view text, const command_line& cl = {}) {
  auto r = parse_config(text, "t.toml", cl);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

}  // namespace

TEST_CASE("defaults apply when the file is empty", "[control][config]") {
  auto r = parse_config("", "t.toml");
  REQUIRE(r.ok());
  const config& c = *r;
  CHECK(c.sip == host_port{"127.0.0.1", 5060});
  CHECK(c.domain == "localhost");
  CHECK(c.media == "127.0.0.1");
  CHECK(c.media_ports == port_range{20000, 29999});
  CHECK(c.io == io_backend::uring);
  CHECK(c.eal.empty());
  CHECK(c.workers == 1);
  CHECK(c.state_dir == "/var/lib/tutti");
  CHECK(c.control_socket == default_control_socket());
  REQUIRE(c.metrics.has_value());
  CHECK(c.metrics->to_string() == "127.0.0.1:9464");
  CHECK(c.log.level == log_level::info);
  CHECK(c.log.format == log_format::kv);
  CHECK(c.log.modules.empty());
  CHECK(c.conference.rate_hz == 48000);
  CHECK(c.conference.speakers == 3);
}

TEST_CASE("every key is read from TOML", "[control][config]") {
  auto r = parse_config(R"(
sip = "[::1]:5070"
domain = "conf.example.net"
media = "10.0.0.5"
media_ports = "30000-30999"
io = "dpdk"
eal = "-l 1 --vdev=net_ring0"
workers = 4
state_dir = "/srv/tutti"
control_socket = "/tmp/x.sock"
metrics = "off"
[log]
level = "debug"
format = "json"
[log.modules]
sip = "trace"
media = "warn"
[conference]
rate_hz = 16000
speakers = 5
)",
                        "t.toml");
  REQUIRE(r.ok());
  const config& c = *r;
  CHECK(c.sip == host_port{"::1", 5070});
  CHECK(c.sip.to_string() == "[::1]:5070");
  CHECK(c.domain == "conf.example.net");
  CHECK(c.media == "10.0.0.5");
  CHECK(c.media_ports == port_range{30000, 30999});
  CHECK(c.io == io_backend::dpdk);
  CHECK(c.eal == "-l 1 --vdev=net_ring0");
  CHECK(c.workers == 4);
  CHECK(c.state_dir == "/srv/tutti");
  CHECK(c.control_socket == "/tmp/x.sock");
  CHECK_FALSE(c.metrics.has_value());
  CHECK(c.log.level == log_level::debug);
  CHECK(c.log.format == log_format::json);
  REQUIRE(c.log.modules.size() == 2);
  CHECK(c.log.modules[0] == std::pair<std::string, log_level>{"sip", log_level::trace});
  CHECK(c.log.modules[1] == std::pair<std::string, log_level>{"media", log_level::warn});
  CHECK(c.conference.rate_hz == 16000);
  CHECK(c.conference.speakers == 5);
}

TEST_CASE("the shipped example parses and documents every key", "[control][config]") {
  const std::string path = TUTTI_SOURCE_ROOT "/control/tuttid.example.toml";
  command_line cl;
  cl.config_file = path;
  auto r = load_config(cl);
  INFO((r.ok() ? std::string() : r.error().to_string()));
  REQUIRE(r.ok());
  CHECK(r->log.modules.size() == 1);

  std::string text = test::read_text(path);
  // Built with append: g++ 12 warns falsely (-Wrestrict) on "literal" + std::string.
  auto has = [&](std::string_view a, std::string_view b, std::string_view c) {
    std::string needle(a);
    needle.append(b).append(c);
    return text.find(needle) != std::string::npos;
  };
  for (const std::string& key : config_key_names()) {
    INFO("key " << key);
    auto dot = key.rfind('.');
    if (key == "log.modules") {
      CHECK(has("\n[log.modules]\n", "", ""));
    } else if (dot == std::string::npos) {
      CHECK(has("\n", key, " = "));
    } else {
      CHECK(has("\n[", key.substr(0, dot), "]\n"));
      CHECK(has("\n", key.substr(dot + 1), " = "));
    }
  }
}

TEST_CASE("flags override the file, in order", "[control][config]") {
  auto cl = cli({"--workers", "4", "--sip", "0.0.0.0:0", "--log-module", "sip=debug",
                 "--log-module=media=error", "--media-ports", "40000-40100", "--workers=6",
                 "--io", "dpdk", "--eal", "-l 1 --vdev=net_ring0", "--metrics", "127.0.0.1:0"});
  auto r = parse_config("workers = 2\nsip = \"127.0.0.1:5062\"\n[log.modules]\nsip = \"warn\"\n",
                        "t.toml", cl);
  INFO((r.ok() ? std::string() : r.error().to_string()));
  REQUIRE(r.ok());
  CHECK(r->workers == 6);
  CHECK(r->sip == host_port{"0.0.0.0", 0});
  CHECK(r->media_ports == port_range{40000, 40100});
  CHECK(r->eal == "-l 1 --vdev=net_ring0");
  CHECK(r->metrics->port == 0);
  REQUIRE(r->log.modules.size() == 2);
  CHECK(r->log.modules[0] == std::pair<std::string, log_level>{"sip", log_level::debug});
  CHECK(r->log.modules[1] == std::pair<std::string, log_level>{"media", log_level::error});
}

TEST_CASE("the command line knows help, version, config and rejects strays", "[control][config]") {
  auto cl = cli({"--config", "/etc/tutti.toml", "--check-config", "--version", "--help"});
  CHECK(cl.config_file == "/etc/tutti.toml");
  CHECK(cl.check);
  CHECK(cl.version);
  CHECK(cl.help);
  CHECK(cl.overrides.empty());

  const char* bad_flag[] = {"tuttid", "--wrokers", "3"};
  auto r = parse_command_line(3, bad_flag);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().list.at(0).source == "command line");
  CHECK(r.error().to_string().find("wrokers") != std::string::npos);

  const char* stray[] = {"tuttid", "extra"};
  CHECK_FALSE(parse_command_line(2, stray).ok());

  std::string help = command_line_help("tuttid");
  for (const char* flag : {"--config", "--sip", "--domain", "--media ", "--media-ports", "--io",
                           "--eal", "--workers", "--state-dir", "--control-socket", "--metrics",
                           "--log-level", "--log-format", "--log-module", "--conference-rate-hz",
                           "--conference-speakers", "--help", "--version", "--check-config"}) {
    INFO(flag);
    CHECK(help.find(flag) != std::string::npos);
  }
}

TEST_CASE("validation errors name the key and its line", "[control][config]") {
  auto e = parse_errors("domain = \"ok.example\"\n\nworkers = 0\n");
  REQUIRE(e.list.size() == 1);
  CHECK(e.list[0].source == "t.toml");
  CHECK(e.list[0].line == 3);
  CHECK(e.list[0].key == "workers");
  CHECK(e.list[0].to_string() == "t.toml:3: workers: must be from 1 to 256, not 0");

  SECTION("every bad key is reported at once") {
    auto all = parse_errors(R"(sip = "localhost:5060"
media = "0.0.0.0"
media_ports = "3000-2000"
io = "netmap"
workers = "4"
metrics = "10.1.1.1:9464"
[log]
level = "loud"
[log.modules]
sip = "verbose"
[conference]
rate_hz = 44100
speakers = 0
colour = "blue"
)");
    std::vector<std::string> got;
    for (auto& x : all.list) got.push_back(x.to_string());
    std::vector<std::string> want = {
        "t.toml:1: sip: 'localhost' is not an IPv4 address (write IPv6 as [ADDR]:PORT)",
        "t.toml:2: media: must be a concrete address: it is sent to peers in SDP",
        "t.toml:3: media_ports: LO must be below HI",
        "t.toml:4: io: 'netmap' is not one of uring, dpdk",
        "t.toml:5: workers: expected an integer",
        "t.toml:6: metrics: must be a loopback address: metrics are unauthenticated",
        "t.toml:8: log.level: 'loud' is not one of trace, debug, info, warn, error, off",
        "t.toml:10: log.modules.sip: 'verbose' is not one of trace, debug, info, warn, error, off",
        "t.toml:12: conference.rate_hz: must be 8000, 16000 or 48000, not 44100",
        "t.toml:13: conference.speakers: must be from 1 to 64, not 0",
        "t.toml:14: conference.colour: unknown key",
    };
    CHECK(got == want);
  }

  SECTION("unknown keys and tables") {
    auto u = parse_errors("wrokers = 2\n[sipp]\nport = 1\n");
    REQUIRE(u.list.size() == 2);
    CHECK(u.list[0].to_string() == "t.toml:1: wrokers: unknown key");
    CHECK(u.list[1].key == "sipp");
    CHECK(u.list[1].line == 2);
  }

  SECTION("TOML syntax errors give the line") {
    auto s = parse_errors("workers = 2\nsip = \"127.0.0.1:5060\nio = \"uring\"\n");
    REQUIRE(s.list.size() == 1);
    CHECK(s.list[0].line == 2);
    CHECK(s.list[0].key.empty());
  }

  SECTION("rules across keys name the key that breaks them") {
    auto x = parse_errors("io = \"uring\"\neal = \"-l 1\"\n");
    REQUIRE(x.list.size() == 1);
    CHECK(x.list[0].to_string() == "t.toml:2: eal: is only used with io = \"dpdk\"");
  }

  SECTION("flag errors name the flag") {
    auto f = parse_errors("", cli({"--workers", "many", "--media-ports", "1-70000",
                                   "--log-module", "sip", "--control-socket",
                                   std::string(200, 'x').c_str()}));
    std::vector<std::string> got;
    for (auto& x : f.list) got.push_back(x.to_string());
    std::vector<std::string> want = {
        "command line: --workers: 'many' is not an integer",
        "command line: --media-ports: ports must be numbers from 1 to 65535",
        "command line: --log-module: expected MODULE=LEVEL",
        "command line: --control-socket: longer than a Unix socket path may be (107 bytes)",
    };
    CHECK(got == want);
  }
}

TEST_CASE("a missing file is an error naming it", "[control][config]") {
  command_line cl;
  cl.config_file = "/nonexistent/tuttid.toml";
  auto r = load_config(cl);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().to_string() == "/nonexistent/tuttid.toml: cannot open: No such file or directory\n");
}

TEST_CASE("reload applies live keys and lists the rest", "[control][config]") {
  auto a = parse_config("workers = 1\n[log]\nlevel = \"info\"\n", "t.toml");
  auto b = parse_config("workers = 3\n[log]\nlevel = \"debug\"\n[conference]\nspeakers = 4\n", "t.toml");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  config running = *a;
  auto changes = diff_config(running, *b);
  REQUIRE(changes.size() == 3);
  CHECK(changes[0].key == "workers");
  CHECK(changes[0].old_value == "1");
  CHECK(changes[0].new_value == "3");
  CHECK_FALSE(changes[0].live);
  CHECK(changes[1].key == "log.level");
  CHECK(changes[1].live);
  CHECK(changes[2].key == "conference.speakers");
  CHECK(changes[2].live);

  apply_live_changes(running, *b);
  CHECK(running.workers == 1);
  CHECK(running.log.level == log_level::debug);
  CHECK(running.conference.speakers == 4);
  CHECK(diff_config(running, *b).size() == 1);
}

TEST_CASE("describe lists every key with its value", "[control][config]") {
  auto d = describe(default_config());
  REQUIRE(d.size() == config_key_names().size());
  CHECK(d[0] == std::pair<std::string, std::string>{"sip", "127.0.0.1:5060"});
  CHECK(d[3] == std::pair<std::string, std::string>{"media_ports", "20000-29999"});
}
