// End to end: the real tuttid (one worker) on a temporary control socket, state folder and a
// media port range found free at run time, driven by the real tutti-rtpgen --setup. Each
// run must pass: no loss, no backlog, and every participant hears the other four tones at
// their levels and not its own. Paths come from the environment (TUTTID, TUTTI_RTPGEN), set
// by meson. Waits are hang guards, never timing expectations.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "control/control_client.hpp"
#include "tests/control/e2e_util.hpp"
#include "tests/control/test_util.hpp"

namespace json = boost::json;
using tutti::ctl::control_client;
using tutti::ctl::test::read_text;
using tutti::ctl::test::temp_dir;

namespace {

constexpr int guard_s = 120;

std::string env_path(const char* name) {
  const char* v = std::getenv(name);
  REQUIRE(v != nullptr);
  return v;
}

using tutti::ctl::test::sleep_ms;
using tutti::ctl::test::spawn;

// The exit status; -1000 after a SIGKILL if it ran past the (long: rtpgen runs) guard.
int wait_exit(pid_t pid) { return tutti::ctl::test::wait_exit(pid, guard_s); }

// tuttid with one worker and media ports of its own; no metrics endpoint.
struct tuttid_proc : tutti::ctl::test::tuttid_proc {
  explicit tuttid_proc(const temp_dir& d)
      : tutti::ctl::test::tuttid_proc(d, env_path("TUTTID"),
                                      {"--metrics", "off", "--workers", "1", "--media-ports",
                                       tutti::ctl::test::free_udp_range(64)}) {}
};

struct rtpgen_run {
  int status;
  json::object result;
  std::string err;
};

rtpgen_run rtpgen(const temp_dir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), env_path("TUTTI_RTPGEN"));
  const pid_t pid = spawn(args, dir / "rtpgen.out", dir / "rtpgen.err");
  rtpgen_run r{wait_exit(pid), {}, read_text(dir / "rtpgen.err")};
  const std::string out = read_text(dir / "rtpgen.out");
  INFO(r.err);
  INFO(out);
  std::error_code ec;
  json::value v = json::parse(out, ec);
  REQUIRE_FALSE(ec);
  REQUIRE(v.is_object());
  r.result = std::move(v.as_object());
  return r;
}

// Every participant heard the other four tones and not its own.
void check_tones(const json::object& result, uint32_t participants) {
  const auto& tc = result.at("tone_check").as_object();
  CHECK(tc.at("pass").as_bool());
  CHECK(tc.at("passed").to_number<int64_t>() == participants);
  const auto& rows = result.at("participants").as_array();
  REQUIRE(rows.size() == participants);
  for (const auto& row : rows) {
    const auto& tone = row.at("tone").as_object();
    INFO("participant " << row.at("participant").to_number<int64_t>() << ": " << json::serialize(tone));
    CHECK(tone.at("pass").as_bool());
    int others = 0, own = 0;
    for (const auto& l : tone.at("tones").as_array()) {
      const std::string expect(l.at("expect").as_string());
      CHECK(l.at("pass").as_bool());
      others += expect == "other";
      own += expect == "own";
    }
    CHECK(others == 4);
    CHECK(own == 1);
  }
}

void check_clean(const json::object& result, uint32_t participants) {
  INFO(json::serialize(result.at("fail_reasons")));
  CHECK(result.at("pass").as_bool());
  CHECK(result.at("loss_pct").to_number<double>() < 0.1);
  const auto& totals = result.at("totals").as_object();
  CHECK(totals.at("sent").to_number<int64_t>() == participants * 150);  // 3 s of 20 ms
  CHECK(totals.at("send_errors").to_number<int64_t>() == 0);
  CHECK(totals.at("window_received").to_number<int64_t>() > 0);
  // The generator sleeps between its send batches (20 a period), never spins.
  CHECK(result.at("run").at("io_uring_enters").to_number<int64_t>() < 150 * 30 + 1000);
  CHECK(result.at("setup").at("conferences").to_number<int64_t>() == 1);
  CHECK(result.at("setup").at("teardown_ok").as_bool());
}

}  // namespace

TEST_CASE("tutti-rtpgen against tuttid: five participants hear the other four", "[perf][e2e]") {
  temp_dir dir;
  tuttid_proc d(dir);
  REQUIRE(d.ready());

  SECTION("G.711 u-law") {
    auto r = rtpgen(dir, {"--setup", d.socket, "--participants", "5", "--conf-size", "5", "--codec", "pcmu",
                          "--audio", "tone", "--seconds", "3", "--quiet"});
    INFO(json::serialize(r.result));
    CHECK(r.status == 0);
    check_clean(r.result, 5);
    check_tones(r.result, 5);
    CHECK(r.result.at("tuttid").at("pid").to_number<int64_t>() == d.pid);
  }
  SECTION("Opus 48 kHz with RFC 6464 levels") {
    auto r = rtpgen(dir, {"--setup", d.socket, "--participants", "5", "--conf-size", "5", "--codec", "opus",
                          "--levels", "--audio", "tone", "--seconds", "3", "--quiet"});
    INFO(json::serialize(r.result));
    CHECK(r.status == 0);
    check_clean(r.result, 5);
    check_tones(r.result, 5);
  }
  SECTION("the check catches a mix that leaves talkers out (K = 3 of 5)") {
    auto r = rtpgen(dir, {"--setup", d.socket, "--participants", "5", "--conf-size", "5", "--codec", "pcmu",
                          "--audio", "tone", "--speakers", "3", "--seconds", "3", "--quiet"});
    CHECK(r.status == 1);
    CHECK_FALSE(r.result.at("pass").as_bool());
    CHECK_FALSE(r.result.at("tone_check").at("pass").as_bool());
    CHECK(r.result.at("loss_pct").to_number<double>() < 0.1);  // packets flowed; the audio is wrong
  }
  // Whatever the run, it leaves no conference behind.
  auto client = control_client::connect(d.socket);
  REQUIRE(client.ok());
  auto list = client->call("conf.list");
  REQUIRE(list.ok());
  CHECK(list->at("result").as_array().empty());
  CHECK(d.stop() == 0);  // and stops cleanly
}

TEST_CASE("tutti-rtpgen fails a run where nothing comes back", "[perf][e2e]") {
  temp_dir dir;
  const auto [lo, hi] = tutti::ctl::test::free_udp_ports(4);
  auto r = rtpgen(dir, {"--participants", "2", "--target", "127.0.0.1:" + std::to_string(lo) + "+2", "--seconds",
                        "1", "--warmup", "0.2", "--quiet"});
  CHECK(r.status == 1);
  CHECK_FALSE(r.result.at("pass").as_bool());
  const std::string reasons = json::serialize(r.result.at("fail_reasons"));
  CHECK(reasons.find("received nothing") != std::string::npos);
  CHECK(r.result.at("totals").at("received").to_number<int64_t>() == 0);
}

TEST_CASE("tutti-rtpgen --pcap writes the frames and sends nothing", "[perf][e2e]") {
  temp_dir dir;
  auto r = rtpgen(dir, {"--participants", "3", "--codec", "opus", "--levels", "--pcap", dir / "load.pcap",
                        "--target", "192.0.2.1:20000+2", "--seconds", "0.2", "--quiet"});
  CHECK(r.status == 0);
  CHECK(r.result.at("pass").as_bool());
  CHECK(r.result.at("totals").at("sent").to_number<int64_t>() == 30);
  const std::string pcap = read_text(dir / "load.pcap");
  CHECK(pcap.size() == 24 + static_cast<size_t>(30 * 16) + r.result.at("totals").at("bytes").to_number<size_t>());
}
