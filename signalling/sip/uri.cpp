#include "signalling/sip/uri.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace tutti::sig {

using text::iequals;
using text::is_alnum;
using text::is_alpha;
using text::is_digit;
using text::is_hex;

std::string_view to_string(uri_error e) noexcept {
  switch (e) {
    case uri_error::no_scheme: return "URI without scheme";
    case uri_error::bad_user: return "Malformed URI user part";
    case uri_error::bad_host: return "Malformed URI host";
    case uri_error::bad_port: return "Malformed URI port";
    case uri_error::bad_params: return "Malformed URI parameters";
    case uri_error::bad_headers: return "Malformed URI headers";
    case uri_error::bad_character: return "Illegal character in URI";
    case uri_error::empty: return "Empty URI";
  }
  return "Malformed URI";
}

namespace {

// RFC 3261 §25.1 character classes.
constexpr bool is_mark(char c) noexcept {
  switch (c) {
    case '-': case '_': case '.': case '!': case '~': case '*': case '\'': case '(': case ')':
      return true;
    default:
      return false;
  }
}
constexpr bool is_unreserved(char c) noexcept { return is_alnum(c) || is_mark(c); }
constexpr bool in_set(char c, std::string_view set) noexcept { return set.find(c) != std::string_view::npos; }

// Checks s against "allowed characters plus %HH escapes".
template <typename Pred>
bool valid_escaped(std::string_view s, Pred allowed) noexcept {
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
      i += 2;
    } else if (!allowed(c)) {
      return false;
    }
  }
  return true;
}

bool user_char(char c) noexcept { return is_unreserved(c) || in_set(c, "&=+$,;?/"); }
bool password_char(char c) noexcept { return is_unreserved(c) || in_set(c, "&=+$,"); }
bool param_char(char c) noexcept { return is_unreserved(c) || in_set(c, "[]/:&+$"); }
bool header_char(char c) noexcept { return is_unreserved(c) || in_set(c, "[]/?:+$"); }
// RFC 3986 unreserved / reserved characters, for schemes we keep opaque.
bool opaque_char(char c) noexcept { return is_unreserved(c) || in_set(c, ";/?:@&=+$,[]#"); }

// Checks ";name[=value]" repeated, with param_char names and values.
bool valid_uri_params(std::string_view s) noexcept {
  if (s.empty()) return true;
  if (s[0] != ';') return false;
  size_t start = 1;
  while (true) {
    size_t end = s.find(';', start);
    std::string_view p = s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    const size_t eq = p.find('=');
    std::string_view name = p.substr(0, eq);
    if (name.empty() || !valid_escaped(name, param_char)) return false;
    if (eq != std::string_view::npos) {
      std::string_view value = p.substr(eq + 1);
      if (value.empty() || !valid_escaped(value, param_char)) return false;
    }
    if (end == std::string_view::npos) return true;
    start = end + 1;
  }
}

bool valid_uri_headers(std::string_view s) noexcept {
  size_t start = 0;
  while (true) {
    size_t end = s.find('&', start);
    std::string_view h = s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    const size_t eq = h.find('=');
    if (eq == std::string_view::npos || eq == 0) return false;
    if (!valid_escaped(h.substr(0, eq), header_char) || !valid_escaped(h.substr(eq + 1), header_char)) return false;
    if (end == std::string_view::npos) return true;
    start = end + 1;
  }
}

// hostname = *( domainlabel "." ) toplabel [ "." ] (RFC 3261 §25.1)
bool valid_hostname(std::string_view h) noexcept {
  if (h.empty()) return false;
  if (h.back() == '.') h.remove_suffix(1);
  if (h.empty()) return false;
  size_t start = 0;
  while (true) {
    const size_t dot = h.find('.', start);
    std::string_view label = h.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) return false;
    for (char c : label)
      if (!is_alnum(c) && c != '-') return false;
    if (dot == std::string_view::npos) return is_alpha(label.front());  // toplabel
    start = dot + 1;
  }
}

// inet_pton wants a NUL-terminated string.
bool pton(int family, std::string_view s, void* out) noexcept {
  char buf[64];
  if (s.size() >= sizeof buf) return false;
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  return inet_pton(family, buf, out) == 1;
}

}  // namespace

host_kind classify_host(std::string_view host) noexcept {
  if (host.empty()) return host_kind::none;
  unsigned char addr[16];
  if (host.find(':') != std::string_view::npos)
    return pton(AF_INET6, host, addr) ? host_kind::ipv6 : host_kind::none;
  bool numeric = true;
  for (char c : host)
    if (!is_digit(c) && c != '.') numeric = false;
  if (numeric) return pton(AF_INET, host, addr) ? host_kind::ipv4 : host_kind::none;
  return valid_hostname(host) ? host_kind::name : host_kind::none;
}

result<host_port, uri_error> parse_host_port(std::string_view s, bool allow_lws) noexcept {
  host_port hp;
  size_t i = 0;
  if (!s.empty() && s[0] == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos) return fail(uri_error::bad_host);
    hp.host = s.substr(1, close - 1);
    unsigned char addr[16];
    if (!pton(AF_INET6, hp.host, addr)) return fail(uri_error::bad_host);
    hp.type = host_kind::ipv6;
    i = close + 1;
  } else {
    while (i < s.size() && s[i] != ':' && !(allow_lws && text::is_lws(s[i]))) ++i;
    hp.host = s.substr(0, i);
    hp.type = classify_host(hp.host);
    if (hp.type == host_kind::none || hp.type == host_kind::ipv6) return fail(uri_error::bad_host);
  }
  if (allow_lws)
    while (i < s.size() && text::is_lws(s[i])) ++i;
  if (i == s.size()) return hp;
  if (s[i] != ':') return fail(uri_error::bad_host);
  ++i;
  if (allow_lws)
    while (i < s.size() && text::is_lws(s[i])) ++i;
  size_t digits = i;
  while (digits < s.size() && is_digit(s[digits])) ++digits;
  if (digits - i > 5) return fail(uri_error::bad_port);
  auto port = text::parse_uint(s.substr(i, digits - i), 65535);
  if (!port) return fail(uri_error::bad_port);
  i = digits;
  if (allow_lws)
    while (i < s.size() && text::is_lws(s[i])) ++i;
  if (i != s.size()) return fail(uri_error::bad_port);
  hp.port = static_cast<uint16_t>(*port);
  hp.has_port = true;
  return hp;
}

namespace {

result<uri, uri_error> parse_sip(uri u, std::string_view rest) noexcept {
  size_t hp_start = 0;
  const size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    const size_t colon = userinfo.find(':');
    u.user = userinfo.substr(0, colon);
    if (colon != std::string_view::npos) {
      u.password = userinfo.substr(colon + 1);
      if (!valid_escaped(u.password, password_char)) return fail(uri_error::bad_user);
    }
    if (u.user.empty() || !valid_escaped(u.user, user_char)) return fail(uri_error::bad_user);
    u.has_user = true;
    hp_start = at + 1;
  }
  size_t hp_end = hp_start;
  // An IPv6 reference holds ':' but never ';' or '?'.
  while (hp_end < rest.size() && rest[hp_end] != ';' && rest[hp_end] != '?') ++hp_end;
  auto hp = parse_host_port(rest.substr(hp_start, hp_end - hp_start), false);
  if (!hp) return fail(hp.error());
  u.host = hp->host;
  u.host_type = hp->type;
  u.port = hp->port;
  u.has_port = hp->has_port;
  const size_t q = rest.find('?', hp_end);
  u.params = rest.substr(hp_end, q == std::string_view::npos ? std::string_view::npos : q - hp_end);
  if (!valid_uri_params(u.params)) return fail(uri_error::bad_params);
  if (q != std::string_view::npos) {
    u.headers = rest.substr(q + 1);
    if (!valid_uri_headers(u.headers)) return fail(uri_error::bad_headers);
  }
  return u;
}

constexpr bool is_visual_separator(char c) noexcept { return c == '-' || c == '.' || c == '(' || c == ')'; }

// telephone-subscriber (RFC 3966 §3): global "+digits" or local hex digits with * and #.
result<uri, uri_error> parse_tel(uri u, std::string_view rest) noexcept {
  const size_t semi = rest.find(';');
  u.user = rest.substr(0, semi);
  if (semi != std::string_view::npos) u.params = rest.substr(semi);
  std::string_view n = u.user;
  const bool global = !n.empty() && n[0] == '+';
  if (global) n.remove_prefix(1);
  bool any = false;
  for (char c : n) {
    if (is_digit(c) || (!global && (is_hex(c) || c == '*' || c == '#'))) any = true;
    else if (!is_visual_separator(c)) return fail(uri_error::bad_user);
  }
  if (!any) return fail(uri_error::bad_user);
  if (!valid_uri_params(u.params)) return fail(uri_error::bad_params);
  return u;
}

}  // namespace

result<uri, uri_error> parse_uri(std::string_view s) noexcept {
  if (s.empty()) return fail(uri_error::empty);
  uri u;
  u.text = s;
  size_t i = 0;
  if (!is_alpha(s[0])) return fail(uri_error::no_scheme);
  while (i < s.size() && (is_alnum(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) ++i;
  if (i == s.size() || s[i] != ':') return fail(uri_error::no_scheme);
  u.scheme_text = s.substr(0, i);
  std::string_view rest = s.substr(i + 1);
  if (rest.empty()) return fail(uri_error::empty);
  for (char c : rest) {
    const auto uc = static_cast<unsigned char>(c);
    if (uc <= 0x20 || uc >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' ||
        c == '`' || c == '{' || c == '|' || c == '}')
      return fail(uri_error::bad_character);
  }
  if (iequals(u.scheme_text, "sip") || iequals(u.scheme_text, "sips")) {
    u.scheme = u.scheme_text.size() == 3 ? uri_scheme::sip : uri_scheme::sips;
    return parse_sip(u, rest);
  }
  if (iequals(u.scheme_text, "tel")) {
    u.scheme = uri_scheme::tel;
    return parse_tel(u, rest);
  }
  if (!valid_escaped(rest, opaque_char)) return fail(uri_error::bad_character);
  u.scheme = uri_scheme::other;
  u.opaque = rest;
  return u;
}

namespace {

// Splits "a;b;c" (leading ';' optional) or "a&b" into items.
class item_iter {
 public:
  item_iter(std::string_view s, char sep) noexcept : rest_(s), sep_(sep) {
    if (!rest_.empty() && rest_[0] == sep_) rest_.remove_prefix(1);
    done_ = s.empty();
  }
  bool next(std::string_view& name, std::string_view& value) noexcept {
    if (done_) return false;
    const size_t end = rest_.find(sep_);
    std::string_view item = rest_.substr(0, end);
    if (end == std::string_view::npos) done_ = true;
    else rest_ = rest_.substr(end + 1);
    const size_t eq = item.find('=');
    name = item.substr(0, eq);
    value = eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1);
    return true;
  }

 private:
  std::string_view rest_;
  char sep_;
  bool done_;
};

// Next decoded octet of an escaped string (-1 at the end).
int next_octet(std::string_view s, size_t& i) noexcept {
  if (i >= s.size()) return -1;
  if (s[i] == '%' && i + 2 < s.size() && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
    const int v = text::hex_value(s[i + 1]) * 16 + text::hex_value(s[i + 2]);
    i += 3;
    return v;
  }
  return static_cast<unsigned char>(s[i++]);
}

// Compares two %-escaped strings by their decoded octets (RFC 3261 §19.1.4: "characters
// other than those in the reserved set are equivalent to their encoding").
bool escaped_equal(std::string_view a, std::string_view b, bool ci) noexcept {
  size_t i = 0, j = 0;
  while (true) {
    int x = next_octet(a, i), y = next_octet(b, j);
    if (x < 0 || y < 0) return x == y;
    if (ci) {
      x = text::to_lower(static_cast<char>(x)) & 0xff;
      y = text::to_lower(static_cast<char>(y)) & 0xff;
    }
    if (x != y) return false;
  }
}

bool find_item(std::string_view list, char sep, std::string_view name, std::string_view& value) noexcept {
  item_iter it(list, sep);
  std::string_view n, v;
  while (it.next(n, v))
    if (escaped_equal(n, name, true)) {
      value = v;
      return true;
    }
  return false;
}

// Parameters that must appear in both URIs or in neither (RFC 3261 §19.1.4; transport too,
// per its "sip:bob@biloxi.com" vs ";transport=udp" example).
bool must_match_param(std::string_view name) noexcept {
  for (std::string_view p : {"user", "ttl", "method", "maddr", "transport"})
    if (escaped_equal(name, p, true)) return true;
  return false;
}

// Whether (name, value) is the first parameter called name in list: later duplicates are
// ignored on both sides, which keeps the comparison reflexive and symmetric.
bool first_occurrence(std::string_view list, char sep, std::string_view name, std::string_view value) noexcept {
  std::string_view first;
  return find_item(list, sep, name, first) && first.data() == value.data();
}

bool sip_params_equal(std::string_view a, std::string_view b) noexcept {
  for (int pass = 0; pass < 2; ++pass) {
    const std::string_view self = pass == 0 ? a : b;
    const std::string_view other_list = pass == 0 ? b : a;
    item_iter it(self, ';');
    std::string_view n, v, other;
    while (it.next(n, v)) {
      if (!first_occurrence(self, ';', n, v)) continue;
      if (find_item(other_list, ';', n, other)) {
        if (!escaped_equal(v, other, true)) return false;
      } else if (must_match_param(n)) {
        return false;
      }
    }
  }
  return true;
}

// Every parameter (or header) present on one side must be present on the other with an
// equal value: URI headers are never ignored (RFC 3261 §19.1.4), nor are tel parameters
// (RFC 3966 §4).
bool all_present_and_equal(std::string_view a, std::string_view b, char sep) noexcept {
  for (int pass = 0; pass < 2; ++pass) {
    const std::string_view self = pass == 0 ? a : b;
    const std::string_view other_list = pass == 0 ? b : a;
    item_iter it(self, sep);
    std::string_view n, v, other;
    while (it.next(n, v)) {
      if (!first_occurrence(self, sep, n, v)) continue;
      if (!find_item(other_list, sep, n, other) || !escaped_equal(v, other, true)) return false;
    }
  }
  return true;
}

bool hosts_equal(const uri& a, const uri& b) noexcept {
  if (a.host_type != b.host_type) return false;
  if (a.host_type == host_kind::ipv6) {
    unsigned char x[16], y[16];
    return pton(AF_INET6, a.host, x) && pton(AF_INET6, b.host, y) && std::memcmp(x, y, 16) == 0;
  }
  return iequals(a.host, b.host);
}

bool tel_numbers_equal(std::string_view a, std::string_view b) noexcept {
  size_t i = 0, j = 0;
  while (true) {
    while (i < a.size() && is_visual_separator(a[i])) ++i;
    while (j < b.size() && is_visual_separator(b[j])) ++j;
    if (i == a.size() || j == b.size()) return i == a.size() && j == b.size();
    if (text::to_lower(a[i++]) != text::to_lower(b[j++])) return false;
  }
}

}  // namespace

std::optional<std::string_view> uri::param(std::string_view name) const noexcept {
  item_iter it(params, ';');
  std::string_view n, v;
  while (it.next(n, v))
    if (iequals(n, name)) return v;
  return std::nullopt;
}

std::optional<std::string_view> uri::header(std::string_view name) const noexcept {
  item_iter it(headers, '&');
  std::string_view n, v;
  while (it.next(n, v))
    if (iequals(n, name)) return v;
  return std::nullopt;
}

std::string_view uri::hostport() const noexcept {
  if (host.empty()) return {};
  const char* begin = host.data();
  const char* end = host.data() + host.size();
  if (host_type == host_kind::ipv6) {
    --begin;
    ++end;
  }
  if (has_port) {
    ++end;  // ':'
    while (end < text.data() + text.size() && is_digit(*end)) ++end;
  }
  return std::string_view(begin, static_cast<size_t>(end - begin));
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return std::nullopt;
    out.push_back(static_cast<char>(text::hex_value(s[i + 1]) * 16 + text::hex_value(s[i + 2])));
    i += 2;
  }
  return out;
}

bool uri_equal(const uri& a, const uri& b) noexcept {
  if (a.scheme != b.scheme) return false;
  switch (a.scheme) {
    case uri_scheme::sip:
    case uri_scheme::sips:
      // userinfo is case-sensitive; everything else case-insensitive (§19.1.4).
      return a.has_user == b.has_user && escaped_equal(a.user, b.user, false) &&
             escaped_equal(a.password, b.password, false) && hosts_equal(a, b) &&
             a.has_port == b.has_port && a.port == b.port && sip_params_equal(a.params, b.params) &&
             all_present_and_equal(a.headers, b.headers, '&');
    case uri_scheme::tel:
      // RFC 3966 §4: same number ignoring visual separators, same parameters in any order.
      return tel_numbers_equal(a.user, b.user) && all_present_and_equal(a.params, b.params, ';');
    case uri_scheme::other:
      return iequals(a.scheme_text, b.scheme_text) && a.opaque == b.opaque;
  }
  return false;
}

}  // namespace tutti::sig
