// SIP lexical rules shared by the message, URI, SDP and digest parsers (RFC 3261 §25.1).
//
// Everything here works on std::string_view slices of the caller's buffer and never
// allocates, except unquote()/unfold() which build a std::string for the control thread.
// Header values handed to these helpers come from a parsed message, where CR and LF occur
// only inside line folds (CRLF followed by SP/HT), so LWS is any of SP, HT, CR, LF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tutti::sig::text {

constexpr bool is_ws(char c) noexcept { return c == ' ' || c == '\t'; }
constexpr bool is_lws(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_alnum(char c) noexcept { return is_alpha(c) || is_digit(c); }
constexpr bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr char to_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
constexpr int hex_value(char c) noexcept {
  return is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
constexpr bool is_token_char(char c) noexcept {
  switch (c) {
    case '-': case '.': case '!': case '%': case '*': case '_': case '+': case '`': case '\'': case '~':
      return true;
    default:
      return is_alnum(c);
  }
}

// word (Call-ID): token characters plus ( ) < > : \ " / [ ] ? { }
constexpr bool is_word_char(char c) noexcept {
  switch (c) {
    case '(': case ')': case '<': case '>': case ':': case '\\': case '"': case '/': case '[':
    case ']': case '?': case '{': case '}':
      return true;
    default:
      return is_token_char(c);
  }
}

// Case-insensitive ASCII comparison (header names, parameter names, schemes, hosts).
bool iequals(std::string_view a, std::string_view b) noexcept;

// Removes LWS at both ends.
std::string_view trim(std::string_view s) noexcept;

// Removes LWS at the front.
std::string_view trim_front(std::string_view s) noexcept;

// Whether s is a non-empty token.
bool is_token(std::string_view s) noexcept;

// Decimal number of one or more digits (leading zeros allowed) no larger than max; nullopt
// for empty input, any non-digit, or a value above max (never wraps).
std::optional<uint64_t> parse_uint(std::string_view s, uint64_t max) noexcept;

// Like parse_uint, but a value above max (any number of digits) gives max: for delta-seconds,
// where RFC 3261 §20.19 asks that overlarge values be treated as the largest one.
std::optional<uint64_t> parse_uint_saturating(std::string_view s, uint64_t max) noexcept;

// Length of the quoted-string that starts at s[0] == '"', both quotes included, or 0 when
// it is not terminated. A quoted-pair may escape any octet but CR and LF (RFC 3261 §25.1).
size_t quoted_length(std::string_view s) noexcept;

// The content of a quoted-string (with or without its quotes): quoted-pairs resolved,
// each run of LWS folded to a single SP.
std::string unquote(std::string_view quoted);

// A header value with every line fold (and the LWS around it) replaced by a single SP.
std::string unfold(std::string_view value);

// Splits a header value at the commas that separate list elements: commas inside a
// quoted-string or between < and > do not split. Elements come back trimmed and may be
// empty (the caller decides whether that is an error).
class comma_splitter {
 public:
  explicit comma_splitter(std::string_view value) noexcept : rest_(value) {}
  // Next element, false at the end. Sets malformed() on an unterminated quote or <.
  bool next(std::string_view& element) noexcept;
  bool malformed() const noexcept { return malformed_; }

 private:
  std::string_view rest_;
  bool done_ = false;
  bool malformed_ = false;
};

// One generic-param: token [ "=" ( token / host / quoted-string ) ] (RFC 3261 §25.1).
// A quoted value keeps its quotes in value.
struct param {
  std::string_view name;
  std::string_view value;
  bool has_value = false;
};

// Reads a parameter list "; name = value ; name ..." with LWS around ";" and "=".
// The input starts at the first ';' (or is empty). Anything else is malformed.
class param_reader {
 public:
  explicit param_reader(std::string_view params) noexcept : rest_(params) {}
  // Next parameter, false at the end or on an error (then error() is true).
  bool next(param& p) noexcept;
  bool error() const noexcept { return error_; }

 private:
  std::string_view rest_;
  bool error_ = false;
};

// Checks that a parameter list is well formed.
bool valid_params(std::string_view params) noexcept;

// First parameter called name (case-insensitive) in a parameter list; has_value tells
// "name" from "name=" values. nullopt when absent or when the list is malformed before it.
std::optional<param> find_param(std::string_view params, std::string_view name) noexcept;

}  // namespace tutti::sig::text
