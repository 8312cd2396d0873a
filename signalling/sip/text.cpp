#include "signalling/sip/text.hpp"

namespace tutti::sig::text {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

std::string_view trim_front(std::string_view s) noexcept {
  size_t i = 0;
  while (i < s.size() && is_lws(s[i])) ++i;
  return s.substr(i);
}

std::string_view trim(std::string_view s) noexcept {
  s = trim_front(s);
  size_t n = s.size();
  while (n > 0 && is_lws(s[n - 1])) --n;
  return s.substr(0, n);
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_token_char(c)) return false;
  return true;
}

std::optional<uint64_t> parse_uint(std::string_view s, uint64_t max) noexcept {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (max - d) / 10) return std::nullopt;  // v * 10 + d > max, without overflow
    v = v * 10 + d;
  }
  return v;
}

std::optional<uint64_t> parse_uint_saturating(std::string_view s, uint64_t max) noexcept {
  if (s.empty()) return std::nullopt;
  for (char c : s)
    if (!is_digit(c)) return std::nullopt;
  auto v = parse_uint(s, max);
  return v ? v : std::optional<uint64_t>(max);
}

size_t quoted_length(std::string_view s) noexcept {
  if (s.empty() || s[0] != '"') return 0;
  for (size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"') return i + 1;
    if (c == '\\') {
      // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F); a fold cannot follow it.
      if (i + 1 >= s.size() || s[i + 1] == '\r' || s[i + 1] == '\n') return 0;
      ++i;
    }
  }
  return 0;
}

namespace {

// Appends s to out, each run of LWS becoming one SP.
void append_folded(std::string& out, std::string_view s, bool& in_lws) {
  for (char c : s) {
    if (is_lws(c)) {
      if (!in_lws) out.push_back(' ');
      in_lws = true;
    } else {
      out.push_back(c);
      in_lws = false;
    }
  }
}

}  // namespace

std::string unquote(std::string_view q) {
  if (q.size() >= 2 && q.front() == '"' && q.back() == '"') q = q.substr(1, q.size() - 2);
  std::string out;
  out.reserve(q.size());
  bool in_lws = false;
  for (size_t i = 0; i < q.size(); ++i) {
    char c = q[i];
    if (c == '\\' && i + 1 < q.size()) {
      out.push_back(q[++i]);
      in_lws = false;
    } else {
      append_folded(out, std::string_view(&q[i], 1), in_lws);
    }
  }
  return out;
}

std::string unfold(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  size_t i = 0;
  while (i < value.size()) {
    const char c = value[i];
    if (c == '\r' || c == '\n') {
      // A fold: drop the LWS on both sides and put one SP in its place.
      while (!out.empty() && is_ws(out.back())) out.pop_back();
      while (i < value.size() && is_lws(value[i])) ++i;
      out.push_back(' ');
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

bool comma_splitter::next(std::string_view& element) noexcept {
  if (done_) return false;
  bool in_quote = false;
  bool in_angle = false;
  for (size_t i = 0; i < rest_.size(); ++i) {
    const char c = rest_[i];
    if (in_quote) {
      if (c == '\\') ++i;
      else if (c == '"') in_quote = false;
    } else if (in_angle) {
      if (c == '>') in_angle = false;
    } else if (c == '"') {
      in_quote = true;
    } else if (c == '<') {
      in_angle = true;
    } else if (c == ',') {
      element = trim(rest_.substr(0, i));
      rest_ = rest_.substr(i + 1);
      return true;
    }
  }
  if (in_quote || in_angle) malformed_ = true;
  element = trim(rest_);
  rest_ = {};
  done_ = true;
  return true;
}

namespace {

// gen-value characters: token / host (IPv6 references and bare IPv6 in received=).
constexpr bool is_value_char(char c) noexcept { return is_token_char(c) || c == ':' || c == '[' || c == ']'; }

size_t skip_lws(std::string_view s, size_t i) noexcept {
  while (i < s.size() && is_lws(s[i])) ++i;
  return i;
}

}  // namespace

bool param_reader::next(param& p) noexcept {
  if (error_) return false;
  size_t i = skip_lws(rest_, 0);
  if (i == rest_.size()) return false;
  if (rest_[i] != ';') {
    error_ = true;
    return false;
  }
  i = skip_lws(rest_, i + 1);
  const size_t name_start = i;
  while (i < rest_.size() && is_token_char(rest_[i])) ++i;
  if (i == name_start) {
    error_ = true;
    return false;
  }
  p.name = rest_.substr(name_start, i - name_start);
  p.value = {};
  p.has_value = false;
  size_t j = skip_lws(rest_, i);
  if (j < rest_.size() && rest_[j] == '=') {
    j = skip_lws(rest_, j + 1);
    if (j < rest_.size() && rest_[j] == '"') {
      const size_t n = quoted_length(rest_.substr(j));
      if (n == 0) {
        error_ = true;
        return false;
      }
      p.value = rest_.substr(j, n);
      j += n;
    } else {
      const size_t v = j;
      while (j < rest_.size() && is_value_char(rest_[j])) ++j;
      if (j == v) {
        error_ = true;
        return false;
      }
      p.value = rest_.substr(v, j - v);
    }
    p.has_value = true;
    i = j;
  }
  rest_ = rest_.substr(i);
  return true;
}

bool valid_params(std::string_view params) noexcept {
  param_reader r(params);
  param p;
  while (r.next(p)) {
  }
  return !r.error();
}

std::optional<param> find_param(std::string_view params, std::string_view name) noexcept {
  param_reader r(params);
  param p;
  while (r.next(p))
    if (iequals(p.name, name)) return p;
  return std::nullopt;
}

}  // namespace tutti::sig::text
