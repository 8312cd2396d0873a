// End to end: the real tuttid and tuttictl binaries, started with fork/exec on a temporary
// state folder, control socket and ephemeral metrics port. Waits are bounded hang guards,
// never timing expectations.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "control/control_client.hpp"
#include "tests/control/e2e_util.hpp"
#include "tests/control/test_util.hpp"

using namespace tutti::ctl;
namespace json = boost::json;

namespace {

constexpr int guard_s = test::e2e_guard_s;  // how long a process may take before the test calls it hung
using test::run;
using test::run_result;
using test::sleep_ms;
using test::spawn;
using test::wait_exit;

// A tuttid started on the temp dir; killed if a test fails before stopping it.
struct daemon_proc : test::tuttid_proc {
  daemon_proc(const test::temp_dir& d, const std::vector<std::string>& extra, const std::string& sock = "ctl.sock")
      : test::tuttid_proc(d, TUTTID_PATH, extra, sock) {}
};

run_result ctl(const daemon_proc& d, std::vector<std::string> args) {
  args.insert(args.begin(), {TUTTICTL_PATH, "--socket", d.socket});
  return run(d.dir, args);
}

json::object parse_object(const std::string& s) {
  std::error_code ec;
  json::value v = json::parse(s, ec);
  INFO(s);
  REQUIRE_FALSE(ec);
  REQUIRE(v.is_object());
  return v.get_object();
}

std::string str(const json::value& v) { return std::string(v.as_string()); }

}  // namespace

TEST_CASE("tuttid serves tuttictl and exits 0 on SIGTERM", "[control][e2e]") {
  test::temp_dir dir;
  std::string cfg = dir / "tuttid.toml";
  test::write_text(cfg, "workers = 1\n[log]\nlevel = \"info\"\n");
  daemon_proc d(dir, {"--config", cfg, "--log-format", "json"});
  REQUIRE(d.ready());

  auto st = ctl(d, {"status", "--json"});
  INFO(st.err);
  REQUIRE(st.status == 0);
  auto resp = parse_object(st.out);
  CHECK(resp.at("ok").as_bool());
  auto& result = resp.at("result").as_object();
  CHECK(result.at("pid").as_int64() == d.pid);
  CHECK(str(result.at("version")) == "0.1.0");
  CHECK(str(result.at("config_file")) == cfg);
  CHECK(str(result.at("config").at("state_dir")) == dir / "state");
  CHECK(str(result.at("config").at("control_socket")) == d.socket);
  struct stat sd{};
  CHECK(::stat((dir / "state").c_str(), &sd) == 0);

  SECTION("human output, log levels and exit statuses") {
    auto human = ctl(d, {"status"});
    CHECK(human.status == 0);
    CHECK(human.out.find("\npid ") != std::string::npos);
    CHECK(human.out.find(std::to_string(d.pid) + "\n") != std::string::npos);

    CHECK(ctl(d, {"log", "level", "control", "debug"}).status == 0);
    auto lv = ctl(d, {"--json", "log", "level", "control"});
    REQUIRE(lv.status == 0);
    CHECK(str(parse_object(lv.out).at("result").at("level")) == "debug");

    auto unknown = ctl(d, {"call", "no.such"});
    CHECK(unknown.status == 1);
    CHECK(unknown.err.find("unknown_command") != std::string::npos);
    auto bad_module = ctl(d, {"log", "level", "nosuch", "debug"});
    CHECK(bad_module.status == 4);
    CHECK(bad_module.err.find("not_found") != std::string::npos);
    CHECK(ctl(d, {"frobnicate"}).status == 2);
    CHECK(ctl(d, {"log", "level", "--help"}).status == 0);
    CHECK(run(dir, {TUTTICTL_PATH, "--socket", dir / "none.sock", "status"}).status == 3);

    auto help = ctl(d, {"help"});
    CHECK(help.status == 0);
    for (const char* c : {"status", "help", "log.level", "config.reload"})
      CHECK(help.out.find(std::string("\n") + c + " ") != std::string::npos);
  }

  SECTION("metrics are scraped from the port status reports") {
    std::string endpoint = str(result.at("metrics").at("endpoint"));
    REQUIRE(endpoint.rfind("127.0.0.1:", 0) == 0);
    uint16_t port = static_cast<uint16_t>(std::stoi(endpoint.substr(10)));
    REQUIRE(port != 0);
    std::string m = test::http_get(port, "/metrics");
    CHECK(m.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(m.find("\ntutti_build_info{version=\"0.1.0\"} 1\n") != std::string::npos);
    CHECK(m.find("\ntutti_control_requests_total{command=\"status\"} 1\n") != std::string::npos);
  }

  SECTION("config reload applies live keys and lists the rest") {
    test::write_text(cfg, "workers = 2\n[log]\nlevel = \"debug\"\n");
    auto r = ctl(d, {"config", "reload", "--json"});
    REQUIRE(r.status == 0);
    auto reply = parse_object(r.out);
    auto& res = reply.at("result").as_object();
    REQUIRE(res.at("applied").as_array().size() == 1);
    CHECK(str(res.at("applied").as_array()[0].at("key")) == "log.level");
    REQUIRE(res.at("restart_required").as_array().size() == 1);
    CHECK(str(res.at("restart_required").as_array()[0].at("key")) == "workers");
    auto after = parse_object(ctl(d, {"status", "--json"}).out);
    CHECK(str(after.at("result").at("config").at("workers")) == "1");
    CHECK(str(after.at("result").at("config").at("log.level")) == "debug");

    test::write_text(cfg, "[log]\nlevel = \"debug\"\nworkers = 0\n");
    auto bad = ctl(d, {"config", "reload"});
    CHECK(bad.status == 1);
    CHECK(bad.err.find("invalid_config: " + cfg + ":3: log.workers: unknown key") != std::string::npos);
  }

  CHECK(d.stop(SIGTERM) == 0);
  struct stat ss{};
  CHECK(::stat(d.socket.c_str(), &ss) != 0);  // socket removed
  // Every log line is a JSON object naming its level and module.
  std::string log = test::read_text(dir / "tuttid.err");
  size_t lines = 0;
  for (size_t p = 0; p < log.size();) {
    size_t nl = log.find('\n', p);
    REQUIRE(nl != std::string::npos);
    auto o = parse_object(log.substr(p, nl - p));
    CHECK(o.contains("ts"));
    CHECK(o.contains("level"));
    CHECK(o.contains("module"));
    ++lines;
    p = nl + 1;
  }
  CHECK(lines >= 3);
  CHECK(log.find("\"msg\":\"tuttid stopped\"") != std::string::npos);
}

TEST_CASE("tuttid exits 2 on a bad configuration, naming key and line", "[control][e2e]") {
  test::temp_dir dir;
  std::string cfg = dir / "bad.toml";
  test::write_text(cfg, "domain = \"example.net\"\nworkers = 0\n");
  auto r = run(dir, {TUTTID_PATH, "--config", cfg, "--control-socket", dir / "s.sock"});
  CHECK(r.status == 2);
  CHECK(r.err == cfg + ":2: workers: must be from 1 to 256, not 0\n");

  auto flag = run(dir, {TUTTID_PATH, "--workers", "x"});
  CHECK(flag.status == 2);
  CHECK(flag.err == "command line: --workers: 'x' is not an integer\n");

  auto check = run(dir, {TUTTID_PATH, "--config", TUTTI_SOURCE_ROOT "/control/tuttid.example.toml",
                         "--check-config"});
  CHECK(check.status == 0);
  CHECK(check.out == "configuration OK\n");

  auto help = run(dir, {TUTTID_PATH, "--help"});
  CHECK(help.status == 0);
  CHECK(help.out.find("--control-socket PATH") != std::string::npos);
}

TEST_CASE("tuttid exits 3 when its control socket is taken; SIGINT exits 0", "[control][e2e]") {
  test::temp_dir dir;
  daemon_proc first(dir, {});
  REQUIRE(first.ready());
  auto second = run(dir, {TUTTID_PATH, "--state-dir", dir / "state", "--control-socket", first.socket,
                          "--metrics", "off"});
  CHECK(second.status == 3);
  CHECK(second.err.find("cannot listen on control_socket") != std::string::npos);
  CHECK(ctl(first, {"status"}).status == 0);  // the first one is unharmed
  CHECK(first.stop(SIGINT) == 0);
}

TEST_CASE("tuttictl's completion output matches the shipped script", "[control][e2e]") {
  test::temp_dir dir;
  auto r = run(dir, {TUTTICTL_PATH, "--bash-completion"});
  CHECK(r.status == 0);
  CHECK(r.out == test::read_text(TUTTI_SOURCE_ROOT "/control/tuttictl.bash-completion"));
}

TEST_CASE("tuttictl manages users, buddies and chats; messages survive a restart", "[control][e2e][store]") {
  test::temp_dir dir;
  auto ok_result = [](const run_result& r) {
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    auto resp = parse_object(r.out);
    REQUIRE(resp.at("ok").as_bool());
    return resp.at("result");
  };
  {
    daemon_proc d(dir, {"--domain", "example.net"});
    REQUIRE(d.ready());
    auto a = ok_result(ctl(d, {"--json", "user", "add", "alice", "--password", "pw1", "--display", "Alice A"}));
    CHECK(str(a.at("name")) == "alice");
    CHECK(str(a.at("display_name")) == "Alice A");
    CHECK_FALSE(a.as_object().contains("ha1_md5"));  // HA1s stay inside
    ok_result(ctl(d, {"--json", "user", "add", "bob", "--password", "pw2"}));
    auto dup = ctl(d, {"user", "add", "bob", "--password", "x"});
    CHECK(dup.status == 5);
    CHECK(dup.err == "tuttictl: conflict: user 'bob' exists\n");

    ok_result(ctl(d, {"--json", "buddy", "add", "alice", "bob"}));
    auto bl = ok_result(ctl(d, {"--json", "buddy", "list", "alice"}));
    REQUIRE(bl.at("buddies").as_array().size() == 1);
    CHECK(str(bl.at("buddies").as_array()[0]) == "bob");

    auto c = ok_result(ctl(d, {"--json", "chat", "create", "lobby", "alice", "bob"}));
    CHECK(c.at("members").as_array().size() == 2);
    auto s1 = ok_result(ctl(d, {"--json", "chat", "send", "lobby", "--from", "alice", "hello", "bob"}));
    CHECK(s1.at("seq").as_int64() == 1);
    auto s2 = ok_result(ctl(d, {"--json", "chat", "send", "lobby", "--from", "bob", "hi"}));
    CHECK(s2.at("seq").as_int64() == 2);
    CHECK(ctl(d, {"chat", "send", "nowhere", "--from", "bob", "hi"}).status == 4);

    auto human = ctl(d, {"user", "list"});
    CHECK(human.out == "NAME   DISPLAY_NAME\nalice  Alice A\nbob    \n");
    auto stats = ok_result(ctl(d, {"--json", "stats"}));
    CHECK(stats.at("users").as_int64() == 2);
    CHECK(stats.at("messages_stored").as_int64() == 2);

    auto st = parse_object(ctl(d, {"status", "--json"}).out);
    std::string endpoint = str(st.at("result").at("metrics").at("endpoint"));
    std::string m = test::http_get(static_cast<uint16_t>(std::stoi(endpoint.substr(10))), "/metrics");
    CHECK(m.find("\ntutti_messages_total 2\n") != std::string::npos);
    CHECK(m.find("\ntutti_store_commit_seconds_count ") != std::string::npos);
    CHECK(d.stop(SIGTERM) == 0);
  }
  // A fresh tuttid on the same state_dir finds everything.
  daemon_proc d(dir, {"--domain", "example.net"}, "ctl2.sock");
  REQUIRE(d.ready());
  auto h = ok_result(ctl(d, {"--json", "chat", "history", "lobby"}));
  auto& msgs = h.at("messages").as_array();
  REQUIRE(msgs.size() == 2);
  CHECK(msgs[0].at("seq").as_int64() == 1);
  CHECK(str(msgs[0].at("from")) == "alice");
  CHECK(str(msgs[0].at("body")) == "hello bob");
  CHECK(str(msgs[1].at("body")) == "hi");
  auto after = ok_result(ctl(d, {"--json", "chat", "history", "lobby", "--after", "1", "--limit", "5"}));
  CHECK(after.at("messages").as_array().size() == 1);
  auto show = ok_result(ctl(d, {"--json", "chat", "show", "lobby"}));
  CHECK(show.at("last_seq").as_int64() == 2);
  ok_result(ctl(d, {"--json", "user", "passwd", "alice", "--password", "new"}));
  ok_result(ctl(d, {"--json", "user", "del", "bob"}));
  CHECK(ok_result(ctl(d, {"--json", "buddy", "list", "alice"})).at("buddies").as_array().empty());
  CHECK(d.stop(SIGTERM) == 0);
}
