// Fuzzes the control API's request handling: any line must get exactly one response, and
// that response must be valid JSON with the id/ok shape. Results also go through tuttictl's
// human renderer, which prints whatever JSON the server sends.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "control/cli.hpp"
#include "control/commands.hpp"
#include "control/log.hpp"

using namespace tutti::ctl;
namespace json = boost::json;

namespace {

command_registry& registry() {
  static logger log(logger_options{log_format::kv, log_level::trace, false}, [](std::string_view) {});
  static command_registry reg = [] {
    command_registry r;
    r.register_command(
        "echo", sync_command_handler([](const json::object& a) -> command_result { return json::value(a); }),
        "");
    r.register_command("drop", command_handler([](const json::object&, command_reply) {}), "");
    r.register_command("int", sync_command_handler([](const json::object& a) -> command_result {
                         auto n = arg_int(a, "n", -5, 5);
                         if (!n) return tutti::fail(n.error());
                         return json::value(*n);
                       }),
                       "");
    r.register_command("log", sync_command_handler([](const json::object& a) -> command_result {
                         auto m = arg_string(a, "module");
                         if (!m) return tutti::fail(m.error());
                         log.module("fuzz").info("fuzz", {{"module", *m}, {"args", json::serialize(a)}});
                         return json::value(json::object());
                       }),
                       "");
    return r;
  }();
  return reg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  int responses = 0;
  registry().dispatch_line(line, [&](std::string response) {
    ++responses;
    std::error_code ec;
    json::value v = json::parse(response, ec);
    if (ec || !v.is_object() || !v.as_object().contains("id") || !v.as_object().at("ok").is_bool())
      std::abort();
    if (v.as_object().at("ok").as_bool()) (void)render_human(v.as_object().at("result"));
  });
  if (responses != 1) std::abort();
  std::error_code ec;
  json::value any = json::parse(line, ec);
  if (!ec) (void)render_human(any);
  return 0;
}
