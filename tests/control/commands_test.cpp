#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "control/commands.hpp"

using namespace tutti::ctl;
namespace json = boost::json;

namespace {

struct fixture {
  command_registry reg;
  std::vector<std::string> sent;
  std::optional<command_reply> parked;

  fixture() {
    reg.register_command(
        "echo", sync_command_handler([](const json::object& a) -> command_result { return json::value(a); }),
        "returns its arguments");
    reg.register_command(
        "park", command_handler([this](const json::object&, command_reply r) { parked = r; }),
        "answers later");
    reg.register_command(
        "drop", command_handler([](const json::object&, command_reply) {}), "never answers");
    reg.register_command(
        "throw", sync_command_handler([](const json::object&) -> command_result {
          throw std::runtime_error("disk on fire");
        }),
        "throws");
    reg.register_command(
        "twice", command_handler([](const json::object&, command_reply r) {
          r.error(errc::conflict, "first");
          r.ok();
        }),
        "answers twice");
  }

  void line(std::string_view l) {
    reg.dispatch_line(l, [this](std::string s) { sent.push_back(std::move(s)); });
  }

  json::object last() {
    REQUIRE(!sent.empty());
    return json::parse(sent.back()).as_object();
  }
};

std::string code_of(const json::object& r) { return std::string(r.at("error").at("code").as_string()); }

}  // namespace

TEST_CASE("a request line gets one exact response line", "[control][commands]") {
  fixture f;
  f.line(R"({"id":1,"cmd":"echo","args":{"x":[1,2],"y":"z"}})");
  REQUIRE(f.sent.size() == 1);
  CHECK(f.sent[0] == R"({"id":1,"ok":true,"result":{"x":[1,2],"y":"z"}})");

  f.line(R"({"cmd":"echo"})");  // id and args are optional
  CHECK(f.sent[1] == R"({"id":null,"ok":true,"result":{}})");
  f.line(R"({"id":"abc","cmd":"echo","args":null})");
  CHECK(f.sent[2] == R"({"id":"abc","ok":true,"result":{}})");
}

TEST_CASE("malformed requests get error responses", "[control][commands]") {
  fixture f;
  f.line("{not json");
  CHECK(code_of(f.last()) == "bad_json");
  CHECK(f.last().at("id").is_null());
  f.line("[1,2]");
  CHECK(code_of(f.last()) == "bad_request");
  f.line(R"({"id":5})");
  CHECK(code_of(f.last()) == "bad_request");
  CHECK(f.last().at("id").as_int64() == 5);
  f.line(R"({"id":6,"cmd":3})");
  CHECK(code_of(f.last()) == "bad_request");
  f.line(R"({"id":7,"cmd":"echo","args":[1]})");
  CHECK(code_of(f.last()) == "bad_request");
  f.line(R"({"id":{"a":1},"cmd":"echo"})");
  CHECK(code_of(f.last()) == "bad_request");
  // Nesting beyond the parser's depth limit is refused, not recursed into.
  f.line(std::string(100, '[') + std::string(100, ']'));
  CHECK(code_of(f.last()) == "bad_json");
  CHECK(f.sent.size() == 7);
}

TEST_CASE("unknown commands are errors and counted", "[control][commands]") {
  fixture f;
  f.line(R"({"id":9,"cmd":"conf.nope"})");
  auto r = f.last();
  CHECK(r.at("id").as_int64() == 9);
  CHECK(r.at("ok").as_bool() == false);
  CHECK(code_of(r) == "unknown_command");
  CHECK(f.reg.unknown_calls() == 1);
}

TEST_CASE("handlers may answer later, and exactly once", "[control][commands]") {
  fixture f;
  f.line(R"({"id":1,"cmd":"park"})");
  CHECK(f.sent.empty());
  REQUIRE(f.parked);
  CHECK_FALSE(f.parked->done());
  f.line(R"({"id":2,"cmd":"echo","args":{"a":1}})");  // answered before the parked one
  REQUIRE(f.sent.size() == 1);
  f.parked->ok(json::object{{"done", true}});
  CHECK(f.parked->done());
  REQUIRE(f.sent.size() == 2);
  CHECK(f.sent[1] == R"({"id":1,"ok":true,"result":{"done":true}})");
  f.parked->error(errc::internal, "late");  // ignored
  f.parked.reset();
  CHECK(f.sent.size() == 2);

  f.line(R"({"id":3,"cmd":"twice"})");
  REQUIRE(f.sent.size() == 3);
  CHECK(f.sent[2] == R"({"id":3,"ok":false,"error":{"code":"conflict","message":"first"}})");
}

TEST_CASE("a dropped reply or a throw still answers", "[control][commands]") {
  fixture f;
  f.line(R"({"id":1,"cmd":"drop"})");
  REQUIRE(f.sent.size() == 1);
  CHECK(code_of(f.last()) == "internal");
  f.line(R"({"id":2,"cmd":"throw"})");
  REQUIRE(f.sent.size() == 2);
  CHECK(code_of(f.last()) == "internal");
  CHECK(std::string(f.last().at("error").at("message").as_string()) == "command failed: disk on fire");
}

TEST_CASE("the registry lists commands with counts, and rejects bad registrations",
          "[control][commands]") {
  fixture f;
  f.line(R"({"cmd":"echo"})");
  f.line(R"({"cmd":"echo"})");
  f.line(R"({"cmd":"throw"})");
  auto l = f.reg.list();
  REQUIRE(l.size() == 5);
  CHECK(l[0].name == "drop");
  CHECK(l[1].name == "echo");
  CHECK(l[1].help == "returns its arguments");
  CHECK(l[1].calls == 2);
  CHECK(l[1].errors == 0);
  CHECK(l[3].name == "throw");
  CHECK(l[3].errors == 1);

  auto noop = command_handler([](const json::object&, command_reply r) { r.ok(); });
  CHECK_THROWS_AS(f.reg.register_command("echo", noop, ""), std::logic_error);
  CHECK_THROWS_AS(f.reg.register_command("Bad Name", noop, ""), std::logic_error);
  CHECK_THROWS_AS(f.reg.register_command("a..b", noop, ""), std::logic_error);
  CHECK_THROWS_AS(f.reg.register_command(".a", noop, ""), std::logic_error);
  f.reg.register_command("conf.create", noop, "");
  CHECK(f.reg.contains("conf.create"));
  CHECK(f.reg.unregister_command("conf.create"));
  CHECK_FALSE(f.reg.unregister_command("conf.create"));
}

TEST_CASE("in-process dispatch and argument helpers", "[control][commands]") {
  fixture f;
  std::optional<command_result> got;
  f.reg.dispatch("echo", json::object{{"n", 4}}, [&](command_result r) { got = std::move(r); });
  REQUIRE(got);
  REQUIRE(got->ok());
  CHECK(json::serialize(got->value()) == R"({"n":4})");

  json::object args{{"name", "room"}, {"n", 7}, {"big", 1e12}};
  CHECK(*arg_string(args, "name") == "room");
  CHECK(arg_string(args, "n").error().code == "invalid_args");
  CHECK(*arg_int(args, "n", 0, 10) == 7);
  CHECK_FALSE(arg_int(args, "n", 8, 10).ok());
  CHECK_FALSE(arg_int(args, "name", 0, 10).ok());
  CHECK_FALSE(arg_int(args, "missing", 0, 10).ok());
  CHECK(arg_int(args, "n", 0, 5).error().message == "argument \"n\" must be an integer from 0 to 5");
}
