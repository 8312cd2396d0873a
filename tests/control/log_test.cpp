#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "control/log.hpp"

using namespace tutti::ctl;

namespace {

struct captured {
  std::vector<std::string> lines;
  logger make(log_format f, log_level def = log_level::info) {
    return logger(logger_options{f, def, false}, [this](std::string_view l) { lines.emplace_back(l); });
  }
};

}  // namespace

TEST_CASE("logfmt lines are exact and quoted only when needed", "[control][log]") {
  captured c;
  logger log = c.make(log_format::kv);
  auto sip = log.module("sip");
  sip.info("user registered", {{"aor", "sip:alice@example.net"}, {"expires", 3600}, {"ok", true}});
  sip.warn("odd", {{"text", "a \"b\"\nc\\"}, {"empty", ""}, {"ctl", std::string_view("\x01\xff", 2)},
                   {"neg", -5}, {"half", 0.5}});
  REQUIRE(c.lines.size() == 2);
  CHECK(c.lines[0] ==
        "level=info module=sip msg=\"user registered\" aor=sip:alice@example.net expires=3600 ok=true\n");
  CHECK(c.lines[1] ==
        "level=warn module=sip msg=odd text=\"a \\\"b\\\"\\nc\\\\\" empty=\"\" ctl=\"\\x01\\xff\" "
        "neg=-5 half=0.5\n");
}

TEST_CASE("JSON lines are valid JSON even for bad UTF-8", "[control][log]") {
  captured c;
  logger log = c.make(log_format::json);
  auto m = log.module("media");
  m.error("tick late", {{"worker", uint64_t{3}}, {"late_us", 1250}, {"name", "caf\xc3\xa9"},
                        {"bad", std::string_view("a\xc3(", 3)}, {"q", "\"\t"}});
  REQUIRE(c.lines.size() == 1);
  CHECK(c.lines[0] ==
        "{\"level\":\"error\",\"module\":\"media\",\"msg\":\"tick late\",\"worker\":3,"
        "\"late_us\":1250,\"name\":\"caf\xc3\xa9\",\"bad\":\"a\\ufffd(\",\"q\":\"\\\"\\t\"}\n");
}

TEST_CASE("timestamps lead each line when enabled", "[control][log]") {
  std::vector<std::string> lines;
  logger log(logger_options{log_format::kv, log_level::info, true},
             [&](std::string_view l) { lines.emplace_back(l); });
  log.module("x").info("hi");
  REQUIRE(lines.size() == 1);
  // ts=YYYY-MM-DDTHH:MM:SS.mmmZ
  REQUIRE(lines[0].size() > 28);
  CHECK(lines[0].substr(0, 3) == "ts=");
  CHECK(lines[0][13] == 'T');
  CHECK(lines[0][26] == 'Z');
  CHECK(lines[0].substr(27) == " level=info module=x msg=hi\n");
}

TEST_CASE("levels filter per module and change at run time", "[control][log]") {
  captured c;
  logger log = c.make(log_format::kv);
  log.set_level("sip", log_level::debug);  // before the module registers: kept
  auto sip = log.module("sip");
  auto media = log.module("media");
  CHECK(log.level("sip") == log_level::debug);
  CHECK(log.level("media") == log_level::info);
  CHECK_FALSE(log.level("nope").has_value());

  sip.debug("a");
  media.debug("b");  // filtered
  media.info("c");
  log.set_level("media", log_level::error);
  media.warn("d");  // filtered
  media.error("e");
  log.set_all_levels(log_level::off);
  sip.error("f");  // filtered
  CHECK_FALSE(sip.enabled(log_level::error));
  log.set_level("sip", log_level::trace);
  sip.trace("g");
  sip.log(log_level::off, "never");  // off is not a level to log at

  std::vector<std::string> want = {"level=debug module=sip msg=a\n", "level=info module=media msg=c\n",
                                   "level=error module=media msg=e\n",
                                   "level=trace module=sip msg=g\n"};
  CHECK(c.lines == want);
  CHECK(log.lines_written() == 4);
  auto levels = log.levels();
  REQUIRE(levels.size() == 2);
  CHECK(levels[0] == std::pair<std::string, log_level>{"sip", log_level::trace});
  CHECK(levels[1] == std::pair<std::string, log_level>{"media", log_level::off});
  CHECK(log.default_level() == log_level::off);
}

TEST_CASE("level and format names parse", "[control][log]") {
  CHECK(parse_log_level("warn") == log_level::warn);
  CHECK(parse_log_level("warning") == log_level::warn);
  CHECK(parse_log_level("off") == log_level::off);
  CHECK_FALSE(parse_log_level("WARN").has_value());
  CHECK(to_string(log_level::trace) == "trace");
  CHECK(parse_log_format("json") == log_format::json);
  CHECK_FALSE(parse_log_format("xml").has_value());
}
