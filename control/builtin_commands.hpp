// The control API commands the framework itself provides:
//   status         version, pid, uptime, effective configuration, runtime summary
//   help           every registered command with its help text
//   log.level      list levels; or set one module's level ("*" for every module)
//   config.reload  re-read the configuration; apply what can change live (log settings,
//                  conference defaults), report what needs a restart
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <functional>

namespace tutti::ctl {

struct command_line;
struct config;
class logger;
class command_registry;

struct builtin_context {
  const command_line& cl;  // replayed by config.reload
  config& running;         // the running configuration; reload updates its live keys
  logger& log;
  std::chrono::steady_clock::time_point started;
  // Extra members of the status result (control clients, metrics endpoint, ...).
  std::function<boost::json::object()> runtime_status;
  // Runs after config.reload applied the live keys.
  std::function<void()> reloaded;
};

// Registers status, help, log.level and config.reload. `ctx` must outlive `commands`.
void register_builtin_commands(command_registry& commands, builtin_context& ctx);

// Applies the log section of `c` to `log`: default level, format, module levels.
void apply_log_config(logger& log, const config& c);

}  // namespace tutti::ctl
