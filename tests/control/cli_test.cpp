#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "control/cli.hpp"
#include "control/config.hpp"
#include "tests/control/test_util.hpp"

using namespace tutti::ctl;
namespace json = boost::json;

namespace {

tutti::result<cli_request, std::string> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "tuttictl");
  return parse_cli(static_cast<int>(args.size()), args.data());
}

}  // namespace

TEST_CASE("subcommands map to API requests", "[control][cli]") {
  ::unsetenv("TUTTI_CONTROL_SOCKET");
  auto s = parse({"status"});
  REQUIRE(s.ok());
  CHECK(s->api == "status");
  CHECK(s->args.empty());
  CHECK_FALSE(s->json);
  CHECK(s->socket == default_control_socket());

  auto j = parse({"status", "--json", "--socket", "/tmp/a.sock", "--timeout=5"});
  REQUIRE(j.ok());
  CHECK(j->json);
  CHECK(j->socket == "/tmp/a.sock");
  CHECK(j->timeout_ms == 5000);

  auto l = parse({"--socket=/x.sock", "log", "level", "sip", "debug"});
  REQUIRE(l.ok());
  CHECK(l->socket == "/x.sock");
  CHECK(l->api == "log.level");
  CHECK(json::serialize(l->args) == R"({"module":"sip","level":"debug"})");
  auto l0 = parse({"log", "level"});
  REQUIRE(l0.ok());
  CHECK(l0->args.empty());

  auto r = parse({"config", "reload"});
  REQUIRE(r.ok());
  CHECK(r->api == "config.reload");

  auto c = parse({"call", "conf.create", R"({"uri":"sip:r@x","rate_hz":16000})"});
  REQUIRE(c.ok());
  CHECK(c->api == "conf.create");
  CHECK(json::serialize(c->args) == R"({"uri":"sip:r@x","rate_hz":16000})");
  auto c0 = parse({"call", "help"});
  REQUIRE(c0.ok());
  CHECK(c0->api == "help");
  CHECK(c0->args.empty());

  ::setenv("TUTTI_CONTROL_SOCKET", "/env.sock", 1);
  CHECK(parse({"status"})->socket == "/env.sock");
  ::unsetenv("TUTTI_CONTROL_SOCKET");
}

TEST_CASE("usage errors say what is wrong", "[control][cli]") {
  CHECK(parse({}).error() == "no command given");
  CHECK(parse({"frobnicate"}).error() == "unknown command 'frobnicate'");
  CHECK(parse({"log"}).error() == "incomplete command; one of:\n  tuttictl [OPTIONS] log level [MODULE [LEVEL]]");
  CHECK(parse({"log", "level", "a", "b", "c"}).error() == "usage: tuttictl [OPTIONS] log level [MODULE [LEVEL]]");
  CHECK(parse({"status", "extra"}).error() == "usage: tuttictl [OPTIONS] status");
  CHECK(parse({"call"}).error() == "usage: tuttictl [OPTIONS] call CMD [JSON]");
  CHECK(parse({"call", "x", "[1]"}).error() == "JSON must be a JSON object, like '{\"key\":1}'");
  CHECK(parse({"--socket"}).error() == "--socket needs a PATH");
  CHECK(parse({"--timeout", "0", "status"}).error() == "--timeout needs a number of seconds (1-86400)");
  CHECK(parse({"--frob", "status"}).error() == "unknown option '--frob'");
}

TEST_CASE("--help works globally and per command", "[control][cli]") {
  auto g = parse({"--help"});
  REQUIRE(g.ok());
  CHECK(g->help);
  CHECK(g->command == nullptr);
  std::string usage = cli_usage();
  for (auto& c : cli_commands()) CHECK(usage.find("  " + std::string(c.words) + " ") != std::string::npos);

  for (auto& c : cli_commands()) {
    std::string words(c.words);
    std::vector<std::string> parts;
    for (size_t p = 0;;) {
      auto sp = words.find(' ', p);
      parts.push_back(words.substr(p, sp - p));
      if (sp == std::string::npos) break;
      p = sp + 1;
    }
    std::vector<const char*> args;
    for (auto& p : parts) args.push_back(p.c_str());
    args.push_back("--help");
    auto h = parse(args);
    INFO(words);
    REQUIRE(h.ok());
    CHECK(h->help);
    CHECK(h->command == &c);
  }
  CHECK(cli_command_usage(cli_commands()[2]) ==
        "usage: tuttictl [OPTIONS] log level [MODULE [LEVEL]]\n\n"
        "show log levels, or set MODULE's level ('*': every module)\n"
        "API command: log.level\n"
        "LEVEL: trace debug info warn error off\n");
}

TEST_CASE("results render as aligned text and tables", "[control][cli]") {
  auto v = json::parse(R"({"version":"0.1.0","pid":42,"control":{"socket":"/s","clients":1},
    "tags":["a","b"],"none":null,"modules":[{"module":"sip","level":"debug"},{"module":"control","level":"info","x":true}]})");
  CHECK(render_human(v) ==
        "version          0.1.0\n"
        "pid              42\n"
        "control.socket   /s\n"
        "control.clients  1\n"
        "tags             a, b\n"
        "none             -\n"
        "\n"
        "modules:\n"
        "MODULE   LEVEL  X\n"
        "sip      debug  -\n"
        "control  info   true\n");
  CHECK(render_human(json::object()) == "ok\n");
  CHECK(render_human(json::parse(R"([{"a":1},{"a":22}])")) == "A\n1\n22\n");
  CHECK(render_human(json::value("plain")) == "plain\n");
  CHECK(render_human(json::array()) == "(none)\n");
}

TEST_CASE("the shipped bash completion is the generated one", "[control][cli]") {
  std::string shipped = test::read_text(TUTTI_SOURCE_ROOT "/control/tuttictl.bash-completion");
  INFO("regenerate with: tuttictl --bash-completion > control/tuttictl.bash-completion");
  CHECK(shipped == bash_completion());
  // Every command's first word is offered at the top level.
  for (auto& c : cli_commands()) {
    std::string first(c.words.substr(0, c.words.find(' ')));
    CHECK(shipped.find(first) != std::string::npos);
  }
}

TEST_CASE("named options, lists and text map to API arguments", "[control][cli]") {
  auto u = parse({"user", "add", "alice", "--password", "pw", "--display=Alice A"});
  REQUIRE(u.ok());
  CHECK(u->api == "user.add");
  CHECK(json::serialize(u->args) == R"({"name":"alice","password":"pw","display_name":"Alice A"})");
  // Options may come before the command, and global ones mix in.
  auto u2 = parse({"--password", "pw", "--json", "user", "passwd", "bob"});
  REQUIRE(u2.ok());
  CHECK(u2->json);
  CHECK(u2->api == "user.passwd");
  CHECK(json::serialize(u2->args) == R"({"name":"bob","password":"pw"})");

  auto c = parse({"chat", "create", "lobby", "alice", "bob"});
  REQUIRE(c.ok());
  CHECK(json::serialize(c->args) == R"({"room":"lobby","members":["alice","bob"]})");
  auto s = parse({"chat", "send", "lobby", "--from", "alice", "hello", "there", "-1"});
  REQUIRE(s.ok());
  CHECK(s->api == "chat.send");
  CHECK(json::serialize(s->args) == R"({"room":"lobby","body":"hello there -1","from":"alice"})");
  auto h = parse({"chat", "history", "lobby", "--after", "5", "--limit=10"});
  REQUIRE(h.ok());
  CHECK(json::serialize(h->args) == R"({"room":"lobby","after":5,"limit":10})");

  auto cc = parse({"conf", "create", "room", "--rate", "16000", "--speakers", "4"});
  REQUIRE(cc.ok());
  CHECK(cc->api == "conf.create");
  CHECK(json::serialize(cc->args) == R"({"name":"room","rate":16000,"speakers":4})");
  auto rtp = parse({"conf", "add-rtp", "room", "--remote", "10.0.0.1:4000", "--codec", "opus", "--pt", "111",
                    "--level-ext", "1"});
  REQUIRE(rtp.ok());
  CHECK(rtp->api == "conf.add_rtp");
  CHECK(json::serialize(rtp->args) ==
        R"({"conf":"room","remote":"10.0.0.1:4000","codec":"opus","pt":111,"level_ext":1})");
  auto mute = parse({"part", "mute", "room", "3"});
  REQUIRE(mute.ok());
  CHECK(mute->api == "part.mute");
  CHECK(json::serialize(mute->args) == R"({"conf":"room","participant":3})");
  auto gin = parse({"part", "gain", "room", "3", "--in", "-6.5"});
  REQUIRE(gin.ok());
  CHECK(gin->api == "part.gain_in");
  CHECK(json::serialize(gin->args) == R"({"conf":"room","participant":3,"db":-6.5E0})");
  auto gout = parse({"part", "gain", "room", "3", "--out=2"});
  REQUIRE(gout.ok());
  CHECK(gout->api == "part.gain_out");
  CHECK(parse({"part", "kick", "room", "3"})->api == "part.kick");
  CHECK(parse({"stats"})->api == "stats");
  CHECK(parse({"workers"})->api == "workers");
}

TEST_CASE("named option errors say what is wrong", "[control][cli]") {
  CHECK(parse({"user", "add", "alice"}).error() ==
        "usage: tuttictl [OPTIONS] user add NAME --password P [--display NAME]");
  CHECK(parse({"user", "add", "alice", "--password"}).error() == "--password needs P");
  CHECK(parse({"user", "list", "--password", "x"}).error() == "unknown option '--password' for 'user list'");
  CHECK(parse({"chat", "history", "r", "--limit", "ten"}).error() == "--limit must be an integer, not 'ten'");
  CHECK(parse({"chat", "history", "r", "--limit", "1", "--limit", "2"}).error() ==
        "usage: tuttictl [OPTIONS] chat history ROOM [--after N] [--limit N]");
  CHECK(parse({"chat", "create", "r"}).error() == "usage: tuttictl [OPTIONS] chat create ROOM USER...");
  CHECK(parse({"chat", "send", "r", "hi"}).error() == "usage: tuttictl [OPTIONS] chat send ROOM TEXT... --from USER");
  CHECK(parse({"part", "gain", "c", "1"}).error() ==
        "usage: tuttictl [OPTIONS] part gain CONF ID (--in DB | --out DB)");
  CHECK(parse({"part", "gain", "c", "1", "--in", "1", "--out", "2"}).error() ==
        "usage: tuttictl [OPTIONS] part gain CONF ID (--in DB | --out DB)");
  CHECK(parse({"part", "gain", "c", "1", "--in", "loud"}).error() == "--in must be a number, not 'loud'");
  CHECK(parse({"part", "mute", "c", "x"}).error() == "ID must be an integer, not 'x'");
  CHECK(cli_command_usage(*parse({"conf", "add-rtp", "--help"})->command) ==
        "usage: tuttictl [OPTIONS] conf add-rtp CONF --remote IP:PORT --codec CODEC [--pt N] [--level-ext ID]\n\n"
        "add a plain-RTP participant; answers its local port\n"
        "API command: conf.add_rtp\n"
        "--codec CODEC: pcmu pcma opus\n");
}

TEST_CASE("doubles render as a person writes them", "[control][cli]") {
  CHECK(render_human(json::parse(R"({"load":0.5,"gain":-6.0,"big":1e30,"n":3})")) ==
        "load  0.5\n"
        "gain  -6\n"
        "big   1e+30\n"
        "n     3\n");
  CHECK(render_human(json::parse(R"([{"load":0.25}])")) == "LOAD\n0.25\n");
}
