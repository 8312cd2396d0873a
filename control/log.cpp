#include "control/log.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace tutti::ctl {

namespace {

constexpr std::string_view level_names[] = {"trace", "debug", "info", "warn", "error", "off"};

void append_hex_byte(std::string& out, std::string_view prefix, unsigned char c) {
  static constexpr char hex[] = "0123456789abcdef";
  out += prefix;
  out += hex[c >> 4];
  out += hex[c & 15];
}

// Length of the valid UTF-8 sequence starting at s[i] (RFC 3629 section 4), 0 if invalid.
size_t utf8_sequence_length(std::string_view s, size_t i) noexcept {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;   // no overlong forms
    if (c == 0xed) hi = 0x9f;   // no surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;   // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
  return n;
}

// A JSON string (RFC 8259 section 7); invalid UTF-8 becomes U+FFFD so the line stays valid.
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      default: break;
    }
    if (c < 0x20 || c == 0x7f) {
      append_hex_byte(out, "\\u00", c);
      ++i;
      continue;
    }
    size_t n = utf8_sequence_length(s, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out += '"';
}

bool needs_logfmt_quotes(std::string_view s) noexcept {
  if (s.empty()) return true;
  for (unsigned char c : s)
    if (c <= ' ' || c == '=' || c == '"' || c == '\\' || c >= 0x7f) return true;
  return false;
}

// A logfmt value: bare when safe, else quoted with Go-style escapes; bytes that are not
// printable ASCII are written as \xNN so a line never carries raw control characters.
void append_logfmt_string(std::string& out, std::string_view s) {
  if (!needs_logfmt_quotes(s)) {
    out += s;
    return;
  }
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c >= 0x7f)
          append_hex_byte(out, "\\x", c);
        else
          out += static_cast<char>(c);
    }
  }
  out += '"';
}

template <typename N>
void append_number(std::string& out, N v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_value(std::string& out, const log_field::value_type& v, log_format f) {
  if (auto* s = std::get_if<std::string_view>(&v)) {
    if (f == log_format::json)
      append_json_string(out, *s);
    else
      append_logfmt_string(out, *s);
  } else if (auto* i = std::get_if<int64_t>(&v)) {
    append_number(out, *i);
  } else if (auto* u = std::get_if<uint64_t>(&v)) {
    append_number(out, *u);
  } else if (auto* d = std::get_if<double>(&v)) {
    if (std::isfinite(*d))
      append_number(out, *d);
    else
      out += f == log_format::json ? "null" : (std::isnan(*d) ? "NaN" : (*d > 0 ? "+Inf" : "-Inf"));
  } else {
    out += std::get<bool>(v) ? "true" : "false";
  }
}

// RFC 3339 UTC time with milliseconds.
void append_timestamp(std::string& out) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900,
                        t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                        static_cast<int>(ts.tv_nsec / 1000000));
  out.append(buf, static_cast<size_t>(n));
}

}  // namespace

std::optional<log_level> parse_log_level(std::string_view s) noexcept {
  for (size_t i = 0; i < std::size(level_names); ++i)
    if (s == level_names[i]) return static_cast<log_level>(i);
  if (s == "warning") return log_level::warn;
  return std::nullopt;
}

std::string_view to_string(log_level l) noexcept {
  auto i = static_cast<size_t>(l);
  return i < std::size(level_names) ? level_names[i] : "?";
}

std::optional<log_format> parse_log_format(std::string_view s) noexcept {
  if (s == "kv") return log_format::kv;
  if (s == "json") return log_format::json;
  return std::nullopt;
}

std::string_view to_string(log_format f) noexcept { return f == log_format::json ? "json" : "kv"; }

logger::logger(logger_options opts)
    : logger(opts, [](std::string_view line) {
        std::fwrite(line.data(), 1, line.size(), stderr);
        std::fflush(stderr);
      }) {}

logger::logger(logger_options opts, sink out) : opts_(opts), out_(std::move(out)) {}

log_module::slot* logger::find(std::string_view name) {
  for (auto& s : slots_)
    if (s.name == name) return &s;
  return nullptr;
}

const log_module::slot* logger::find(std::string_view name) const {
  for (auto& s : slots_)
    if (s.name == name) return &s;
  return nullptr;
}

log_module logger::module(std::string_view name) {
  auto* s = find(name);
  if (!s) s = &slots_.emplace_back(log_module::slot{std::string(name), opts_.default_level});
  return log_module(this, s);
}

void logger::set_level(std::string_view name, log_level l) {
  auto* s = find(name);
  if (!s) s = &slots_.emplace_back(log_module::slot{std::string(name), l});
  s->level = l;
}

void logger::set_all_levels(log_level l) {
  opts_.default_level = l;
  for (auto& s : slots_) s.level = l;
}

std::optional<log_level> logger::level(std::string_view name) const {
  if (auto* s = find(name)) return s->level;
  return std::nullopt;
}

std::vector<std::pair<std::string, log_level>> logger::levels() const {
  std::vector<std::pair<std::string, log_level>> v;
  v.reserve(slots_.size());
  for (auto& s : slots_) v.emplace_back(s.name, s.level);
  return v;
}

void logger::write(const log_module::slot& s, log_level l, std::string_view msg,
                   log_fields fields) {
  std::string& out = line_;
  out.clear();
  if (opts_.format == log_format::json) {
    out += '{';
    if (opts_.timestamps) {
      out += "\"ts\":\"";
      append_timestamp(out);
      out += "\",";
    }
    out += "\"level\":\"";
    out += to_string(l);
    out += "\",\"module\":";
    append_json_string(out, s.name);
    out += ",\"msg\":";
    append_json_string(out, msg);
    for (const auto& f : fields) {
      out += ',';
      append_json_string(out, f.key);
      out += ':';
      append_value(out, f.value, log_format::json);
    }
    out += "}\n";
  } else {
    if (opts_.timestamps) {
      out += "ts=";
      append_timestamp(out);
      out += ' ';
    }
    out += "level=";
    out += to_string(l);
    out += " module=";
    append_logfmt_string(out, s.name);
    out += " msg=";
    append_logfmt_string(out, msg);
    for (const auto& f : fields) {
      out += ' ';
      out += f.key;
      out += '=';
      append_value(out, f.value, log_format::kv);
    }
    out += '\n';
  }
  ++lines_;
  out_(out);
}

}  // namespace tutti::ctl
