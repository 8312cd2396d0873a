#include "control/builtin_commands.hpp"

#include <unistd.h>

#include <boost/json/array.hpp>

#include "control/commands.hpp"
#include "control/config.hpp"
#include "control/log.hpp"

#ifndef TUTTI_VERSION
#define TUTTI_VERSION "unknown"
#endif

namespace tutti::ctl {

namespace json = boost::json;

namespace {

json::object describe_json(const config& c) {
  json::object o;
  for (auto& [k, v] : describe(c)) o[k] = v;
  return o;
}

json::array changes_json(const std::vector<config_change>& changes, bool live) {
  json::array a;
  for (auto& ch : changes)
    if (ch.live == live) a.push_back(json::object{{"key", ch.key}, {"old", ch.old_value}, {"new", ch.new_value}});
  return a;
}

command_result log_level_command(builtin_context& ctx, const json::object& args) {
  logger& log = ctx.log;
  const json::value* module = args.if_contains("module");
  const json::value* level = args.if_contains("level");
  if ((module && !module->is_string()) || (level && !level->is_string()))
    return fail(command_error{std::string(errc::invalid_args), "\"module\" and \"level\" are strings"});
  if (!module) {
    if (level)
      return fail(command_error{std::string(errc::invalid_args), "\"level\" needs a \"module\" (or \"*\")"});
    json::array modules;
    for (auto& [m, l] : log.levels()) modules.push_back(json::object{{"module", m}, {"level", to_string(l)}});
    return json::value(json::object{{"default", to_string(log.default_level())}, {"modules", std::move(modules)}});
  }
  std::string name(module->get_string());
  auto current = name == "*" ? std::optional<log_level>(log.default_level()) : log.level(name);
  if (!current) {
    std::string known;
    for (auto& [m, l] : log.levels()) {
      if (!known.empty()) known += ", ";
      known += m;
    }
    return fail(command_error{std::string(errc::not_found),
                              "no log module '" + name + "' (known: " + known + ")"});
  }
  if (!level) return json::value(json::object{{"module", name}, {"level", to_string(*current)}});
  auto l = parse_log_level(std::string_view(level->get_string()));
  if (!l)
    return fail(command_error{std::string(errc::invalid_args),
                              "level must be one of trace, debug, info, warn, error, off"});
  if (name == "*")
    log.set_all_levels(*l);
  else
    log.set_level(name, *l);
  log.module("control").info("log level changed",
                             {{"module", name}, {"level", to_string(*l)}, {"previous", to_string(*current)}});
  return json::value(
      json::object{{"module", name}, {"level", to_string(*l)}, {"previous", to_string(*current)}});
}

command_result reload_command(builtin_context& ctx) {
  auto fresh = load_config(ctx.cl);
  if (!fresh) {
    std::string msg = fresh.error().to_string();
    if (!msg.empty() && msg.back() == '\n') msg.pop_back();
    ctx.log.module("control").warn("config reload rejected", {{"errors", msg}});
    return fail(command_error{"invalid_config", msg});
  }
  auto changes = diff_config(ctx.running, *fresh);
  apply_live_changes(ctx.running, *fresh);
  apply_log_config(ctx.log, ctx.running);
  if (ctx.reloaded) ctx.reloaded();
  size_t live = 0;
  for (auto& c : changes) live += c.live;
  ctx.log.module("control").info("config reloaded",
                                 {{"applied", live}, {"restart_required", changes.size() - live}});
  json::object r{{"applied", changes_json(changes, true)},
                 {"restart_required", changes_json(changes, false)}};
  r["file"] = ctx.cl.config_file ? json::value(*ctx.cl.config_file) : json::value(nullptr);
  return json::value(std::move(r));
}

}  // namespace

void apply_log_config(logger& log, const config& c) {
  log.set_format(c.log.format);
  log.set_all_levels(c.log.level);
  for (auto& [m, l] : c.log.modules) log.set_level(m, l);
}

void register_builtin_commands(command_registry& commands, builtin_context& ctx) {
  commands.register_command(
      "status",
      sync_command_handler([&ctx](const json::object&) -> command_result {
        auto up = std::chrono::steady_clock::now() - ctx.started;
        json::object r{{"version", TUTTI_VERSION},
                       {"pid", static_cast<int64_t>(::getpid())},
                       {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(up).count()}};
        if (ctx.runtime_status)
          for (auto& [k, v] : ctx.runtime_status()) r[k] = v;
        r["config"] = describe_json(ctx.running);
        return json::value(std::move(r));
      }),
      "version, pid, uptime, effective configuration and runtime summary");

  commands.register_command(
      "help",
      sync_command_handler([&commands](const json::object&) -> command_result {
        json::array a;
        for (auto& c : commands.list()) a.push_back(json::object{{"command", c.name}, {"help", c.help}});
        return json::value(json::object{{"commands", std::move(a)}});
      }),
      "list every command with its help");

  commands.register_command(
      "log.level",
      sync_command_handler([&ctx](const json::object& args) { return log_level_command(ctx, args); }),
      "{} lists levels; {module} shows one; {module, level} sets it (module \"*\": all)");

  commands.register_command(
      "config.reload",
      sync_command_handler([&ctx](const json::object&) { return reload_command(ctx); }),
      "re-read the configuration; apply live keys, list those that need a restart");
}

}  // namespace tutti::ctl
