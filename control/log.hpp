// Structured logging for the control plane: one line per event, either logfmt
// (`ts=... level=info module=sip msg="..." key=value`) or JSON lines, written to stderr
// (or a sink a test supplies).
//
// Model: one `logger` per process, owned by the control thread and passed by reference to
// every service (no global). A service asks it once for a `log_module` handle by name and
// logs through that; each module has its own level, changeable at run time
// (`tuttictl log level sip debug`). Only the control thread logs: data-plane workers never
// call into this — they post events on their ring and the control thread logs those.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace tutti::ctl {

enum class log_level : uint8_t { trace, debug, info, warn, error, off };
enum class log_format : uint8_t { kv, json };

// "trace" ... "off"; nullopt for anything else.
std::optional<log_level> parse_log_level(std::string_view s) noexcept;
std::string_view to_string(log_level l) noexcept;
// "kv" or "json"; nullopt for anything else.
std::optional<log_format> parse_log_format(std::string_view s) noexcept;
std::string_view to_string(log_format f) noexcept;

// One key=value pair of a log line. Values are copied into the line before log() returns,
// so views of temporaries are fine.
struct log_field {
  using value_type = std::variant<std::string_view, int64_t, uint64_t, double, bool>;
  std::string_view key;
  value_type value;

  log_field(std::string_view k, std::string_view v) : key(k), value(v) {}
  log_field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  log_field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  log_field(std::string_view k, bool v) : key(k), value(v) {}
  log_field(std::string_view k, double v) : key(k), value(v) {}
  template <typename I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
  log_field(std::string_view k, I v)
      : key(k), value(std::is_signed_v<I> ? value_type(int64_t(v)) : value_type(uint64_t(v))) {}
};

using log_fields = std::initializer_list<log_field>;

class logger;

// A cheap handle for one module's logging; stays valid as long as its logger.
class log_module {
 public:
  // True when a line at `l` would be written (use it to skip building costly fields).
  bool enabled(log_level l) const noexcept;
  void log(log_level l, std::string_view msg, log_fields fields = {}) const;
  void trace(std::string_view msg, log_fields f = {}) const { log(log_level::trace, msg, f); }
  void debug(std::string_view msg, log_fields f = {}) const { log(log_level::debug, msg, f); }
  void info(std::string_view msg, log_fields f = {}) const { log(log_level::info, msg, f); }
  void warn(std::string_view msg, log_fields f = {}) const { log(log_level::warn, msg, f); }
  void error(std::string_view msg, log_fields f = {}) const { log(log_level::error, msg, f); }
  std::string_view name() const noexcept;

 private:
  friend class logger;
  struct slot;
  log_module(logger* owner, const slot* s) : owner_(owner), slot_(s) {}
  logger* owner_;
  const slot* slot_;
};

struct logger_options {
  log_format format = log_format::kv;
  log_level default_level = log_level::info;
  bool timestamps = true;  // tests turn them off to compare exact lines
};

class logger {
 public:
  // Receives each finished line, newline included.
  using sink = std::function<void(std::string_view line)>;

  // Writes to stderr.
  explicit logger(logger_options opts = {});
  logger(logger_options opts, sink out);

  logger(const logger&) = delete;
  logger& operator=(const logger&) = delete;

  // The handle for `name`; the module is created at the default level on first use.
  log_module module(std::string_view name);

  // Sets one module's level (creating it, so config can name modules that register later).
  void set_level(std::string_view module, log_level l);
  // Sets the default and every module's level.
  void set_all_levels(log_level l);
  // The level of a known module, nullopt if none has that name.
  std::optional<log_level> level(std::string_view module) const;
  log_level default_level() const noexcept { return opts_.default_level; }
  // Every known module and its level, in creation order.
  std::vector<std::pair<std::string, log_level>> levels() const;

  void set_format(log_format f) noexcept { opts_.format = f; }
  log_format format() const noexcept { return opts_.format; }

  // Lines written so far (all modules, all levels).
  uint64_t lines_written() const noexcept { return lines_; }

 private:
  friend class log_module;
  void write(const log_module::slot& s, log_level l, std::string_view msg, log_fields fields);
  log_module::slot* find(std::string_view name);
  const log_module::slot* find(std::string_view name) const;

  logger_options opts_;
  sink out_;
  std::deque<log_module::slot> slots_;  // deque: handles keep pointers into it
  std::string line_;                    // reused buffer for formatting
  uint64_t lines_ = 0;
};

struct log_module::slot {
  std::string name;
  log_level level;
};

inline bool log_module::enabled(log_level l) const noexcept {
  return l != log_level::off && l >= slot_->level;
}
inline void log_module::log(log_level l, std::string_view msg, log_fields fields) const {
  if (enabled(l)) owner_->write(*slot_, l, msg, fields);
}
inline std::string_view log_module::name() const noexcept { return slot_->name; }

}  // namespace tutti::ctl
