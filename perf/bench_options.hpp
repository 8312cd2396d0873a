// Command-line options of the tutti-bench subcommands: `--name value` pairs and flags read
// in order, with one error wording for a missing value or an unknown option (each
// subcommand's main turns the std::invalid_argument into its usage error).
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tutti::perf {

class bench_options {
 public:
  explicit bench_options(std::span<const std::string_view> args) : args_(args) {}

  // Moves to the next option; false after the last.
  bool next() { return ++at_ < args_.size(); }
  // Whether the current option is `name`.
  bool is(std::string_view name) const { return args_[at_] == name; }
  // The value after the current option (consumed).
  std::string value() {
    if (at_ + 1 >= args_.size()) throw std::invalid_argument(std::string(args_[at_]) + " needs a value");
    return std::string(args_[++at_]);
  }
  uint32_t u32() { return static_cast<uint32_t>(std::stoul(value())); }
  double real() { return std::stod(value()); }
  [[noreturn]] void unknown() const { throw std::invalid_argument("unknown option " + std::string(args_[at_])); }

 private:
  std::span<const std::string_view> args_;
  size_t at_ = size_t(-1);  // before the first
};

}  // namespace tutti::perf
