#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "control/builtin_commands.hpp"
#include "control/commands.hpp"
#include "control/config.hpp"
#include "control/log.hpp"
#include "tests/control/test_util.hpp"

using namespace tutti::ctl;
namespace json = boost::json;

namespace {

struct fixture {
  test::temp_dir dir;
  std::string file = dir / "t.toml";
  command_line cl;
  config running;
  std::vector<std::string> lines;
  logger log{logger_options{log_format::kv, log_level::info, false},
             [this](std::string_view l) { lines.emplace_back(l); }};
  command_registry reg;
  int reloads = 0;
  std::optional<builtin_context> ctx;

  fixture() {
    test::write_text(file, "workers = 1\n");
    cl.config_file = file;
    running = *load_config(cl);
    log.module("sip");
    log.module("media");
    ctx.emplace(builtin_context{cl, running, log, std::chrono::steady_clock::now(),
                                [] { return json::object{{"extra", 1}}; }, [this] { ++reloads; }});
    register_builtin_commands(reg, *ctx);
  }

  command_result call(std::string_view cmd, json::object args = {}) {
    std::optional<command_result> r;
    reg.dispatch(cmd, args, [&](command_result x) { r = std::move(x); });
    REQUIRE(r);
    return std::move(*r);
  }
};

}  // namespace

TEST_CASE("status reports identity, runtime extras and the configuration", "[control][builtin]") {
  fixture f;
  auto r = f.call("status");
  REQUIRE(r.ok());
  auto& o = r.value().as_object();
  CHECK(o.at("pid").as_int64() == ::getpid());
  CHECK(o.at("version").as_string() == "0.1.0");
  CHECK(o.at("uptime_s").as_int64() >= 0);
  CHECK(o.at("extra").as_int64() == 1);
  CHECK(o.at("config").at("workers").as_string() == "1");
  CHECK(o.at("config").as_object().size() == config_key_names().size());
}

TEST_CASE("help lists the built-in commands", "[control][builtin]") {
  fixture f;
  auto r = f.call("help");
  REQUIRE(r.ok());
  std::vector<std::string> names;
  for (auto& c : r.value().at("commands").as_array()) names.emplace_back(c.at("command").as_string());
  CHECK(names == std::vector<std::string>{"config.reload", "help", "log.level", "status"});
}

TEST_CASE("log.level lists, shows and sets levels", "[control][builtin]") {
  fixture f;
  auto list = f.call("log.level");
  REQUIRE(list.ok());
  CHECK(json::serialize(list.value()) ==
        R"({"default":"info","modules":[{"module":"sip","level":"info"},{"module":"media","level":"info"}]})");

  auto set = f.call("log.level", {{"module", "sip"}, {"level", "debug"}});
  REQUIRE(set.ok());
  CHECK(json::serialize(set.value()) == R"({"module":"sip","level":"debug","previous":"info"})");
  CHECK(f.log.level("sip") == log_level::debug);
  CHECK(f.log.level("media") == log_level::info);
  CHECK(f.lines.back() == "level=info module=control msg=\"log level changed\" module=sip level=debug previous=info\n");

  auto one = f.call("log.level", {{"module", "sip"}});
  REQUIRE(one.ok());
  CHECK(json::serialize(one.value()) == R"({"module":"sip","level":"debug"})");

  REQUIRE(f.call("log.level", {{"module", "*"}, {"level", "warn"}}).ok());
  CHECK(f.log.level("sip") == log_level::warn);
  CHECK(f.log.level("media") == log_level::warn);
  CHECK(f.log.default_level() == log_level::warn);

  CHECK(f.call("log.level", {{"module", "nope"}, {"level", "warn"}}).error().code == "not_found");
  CHECK(f.call("log.level", {{"module", "sip"}, {"level", "loud"}}).error().code == "invalid_args");
  CHECK(f.call("log.level", {{"level", "warn"}}).error().code == "invalid_args");
  CHECK(f.call("log.level", {{"module", 3}}).error().code == "invalid_args");
}

TEST_CASE("config.reload applies live keys, reports the rest, rejects bad files",
          "[control][builtin]") {
  fixture f;
  REQUIRE(f.call("log.level", {{"module", "sip"}, {"level", "trace"}}).ok());
  test::write_text(f.file, "workers = 2\n[log]\nlevel = \"error\"\nformat = \"json\"\n[log.modules]\nmedia = \"debug\"\n");
  auto r = f.call("config.reload");
  REQUIRE(r.ok());
  CHECK(json::serialize(r.value()) ==
        "{\"applied\":[{\"key\":\"log.level\",\"old\":\"info\",\"new\":\"error\"},"
        "{\"key\":\"log.format\",\"old\":\"kv\",\"new\":\"json\"},"
        "{\"key\":\"log.modules\",\"old\":\"\",\"new\":\"media=debug\"}],"
        "\"restart_required\":[{\"key\":\"workers\",\"old\":\"1\",\"new\":\"2\"}],"
        "\"file\":\"" + f.file + "\"}");
  CHECK(f.reloads == 1);
  CHECK(f.running.workers == 1);
  CHECK(f.running.log.level == log_level::error);
  CHECK(f.log.format() == log_format::json);
  CHECK(f.log.level("sip") == log_level::error);  // the file's levels replace run-time changes
  CHECK(f.log.level("media") == log_level::debug);

  test::write_text(f.file, "workers = 2\nspeakers = 3\n");
  auto bad = f.call("config.reload");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == "invalid_config");
  CHECK(bad.error().message == f.file + ":2: speakers: unknown key");
  CHECK(f.reloads == 1);
  CHECK(f.running.log.level == log_level::error);
}
