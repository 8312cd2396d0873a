#include "signalling/digest.hpp"

#include <nettle/md5.h>
#include <nettle/sha2.h>

#include <cstring>

#include "signalling/sip/text.hpp"
#include "signalling/sip/uri.hpp"

namespace tutti::sig {

using text::iequals;

namespace {

struct algorithm_name {
  digest_algorithm a;
  std::string_view name;
};
constexpr algorithm_name algorithm_names[] = {
    {digest_algorithm::md5, "MD5"},
    {digest_algorithm::md5_sess, "MD5-sess"},
    {digest_algorithm::sha256, "SHA-256"},
    {digest_algorithm::sha256_sess, "SHA-256-sess"},
    {digest_algorithm::sha512_256, "SHA-512-256"},
    {digest_algorithm::sha512_256_sess, "SHA-512-256-sess"},
};

bool is_sess(digest_algorithm a) noexcept {
  return a == digest_algorithm::md5_sess || a == digest_algorithm::sha256_sess || a == digest_algorithm::sha512_256_sess;
}

size_t hex_length(digest_algorithm a) noexcept {
  return (a == digest_algorithm::md5 || a == digest_algorithm::md5_sess) ? 32 : 64;
}

// One auth-param: token "=" ( token / quoted-string ) (RFC 7235 §2.1, RFC 3261 §25.1).
bool split_param(std::string_view item, std::string_view& name, std::string& value, bool& quoted) {
  size_t i = 0;
  while (i < item.size() && text::is_token_char(item[i])) ++i;
  if (i == 0) return false;
  name = item.substr(0, i);
  while (i < item.size() && text::is_lws(item[i])) ++i;
  if (i == item.size() || item[i] != '=') return false;
  std::string_view v = text::trim(item.substr(i + 1));
  quoted = !v.empty() && v[0] == '"';
  if (quoted) {
    if (text::quoted_length(v) != v.size()) return false;
    value = text::unquote(v);
  } else {
    if (!text::is_token(v)) return false;
    value = std::string(v);
  }
  return true;
}

// Calls f(name, value, quoted) for each parameter after the "Digest" scheme; stops on the
// first error f returns.
template <typename F>
std::optional<digest_error> for_each_param(std::string_view header_value, F&& f) {
  std::string_view s = text::trim(header_value);
  size_t i = 0;
  while (i < s.size() && text::is_token_char(s[i])) ++i;
  if (!iequals(s.substr(0, i), "Digest")) return digest_error::not_digest;
  if (i < s.size() && !text::is_lws(s[i])) return digest_error::malformed;
  text::comma_splitter split(s.substr(i));
  std::string_view item;
  uint32_t seen = 0;  // bit per known parameter index, for duplicate detection
  while (split.next(item)) {
    if (item.empty()) continue;  // RFC 7230 §7: empty list elements are ignored
    std::string_view name;
    std::string value;
    bool quoted = false;
    if (!split_param(item, name, value, quoted)) return digest_error::malformed;
    static constexpr std::string_view known[] = {
        "realm", "nonce", "opaque", "domain", "algorithm", "qop", "stale", "userhash", "charset",
        "username", "username*", "uri", "response", "cnonce", "nc"};
    for (size_t k = 0; k < std::size(known); ++k)
      if (iequals(name, known[k])) {
        if (seen & (1u << k)) return digest_error::duplicate_param;
        seen |= 1u << k;
      }
    if (auto e = f(name, value, quoted)) return e;
  }
  if (split.malformed()) return digest_error::malformed;
  return std::nullopt;
}

bool is_lower_hex(std::string_view s) noexcept {
  for (char c : s)
    if (!text::is_digit(c) && !(c >= 'a' && c <= 'f')) return false;
  return true;
}

std::string to_lower(std::string s) {
  for (char& c : s) c = text::to_lower(c);
  return s;
}

// RFC 8187 ext-value: charset "'" [ language ] "'" value-chars (pct-encoded).
std::optional<std::string> decode_ext_value(std::string_view v) {
  const size_t q1 = v.find('\'');
  if (q1 == std::string_view::npos) return std::nullopt;
  const size_t q2 = v.find('\'', q1 + 1);
  if (q2 == std::string_view::npos || !iequals(v.substr(0, q1), "UTF-8")) return std::nullopt;
  return percent_decode(v.substr(q2 + 1));
}

// name="value" such that text::unquote() gives value back: a receiver folds runs of LWS,
// so a tab and any space after a space are escaped; CR and LF cannot be, and become SP.
void append_quoted(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append("=\"");
  char prev = 0;
  for (char c : value) {
    if (c == '\r' || c == '\n') c = ' ';
    if (c == '"' || c == '\\' || c == '\t' || (c == ' ' && (prev == ' ' || prev == '\t'))) out += '\\';
    out += c;
    prev = c;
  }
  out += '"';
}

}  // namespace

std::optional<digest_algorithm> lookup_digest_algorithm(std::string_view name) noexcept {
  for (const algorithm_name& a : algorithm_names)
    if (iequals(a.name, name)) return a.a;
  return std::nullopt;
}

std::string_view to_string(digest_algorithm a) noexcept {
  for (const algorithm_name& n : algorithm_names)
    if (n.a == a) return n.name;
  return "MD5";
}

std::string_view to_string(digest_error e) noexcept {
  switch (e) {
    case digest_error::not_digest: return "not a Digest header";
    case digest_error::malformed: return "malformed Digest parameters";
    case digest_error::duplicate_param: return "duplicate Digest parameter";
    case digest_error::missing_param: return "missing Digest parameter";
    case digest_error::unknown_algorithm: return "unknown Digest algorithm";
    case digest_error::bad_value: return "bad Digest parameter value";
  }
  return "bad Digest header";
}

result<digest_challenge, digest_error> parse_challenge(std::string_view header_value) {
  digest_challenge c;
  bool has_realm = false, has_nonce = false;
  auto err = for_each_param(header_value, [&](std::string_view name, std::string& value,
                                              bool) -> std::optional<digest_error> {
    if (iequals(name, "realm")) {
      c.realm = std::move(value);
      has_realm = true;
    } else if (iequals(name, "nonce")) {
      c.nonce = std::move(value);
      has_nonce = true;
    } else if (iequals(name, "opaque")) {
      c.opaque = std::move(value);
    } else if (iequals(name, "domain")) {
      c.domain = std::move(value);
    } else if (iequals(name, "algorithm")) {
      auto a = lookup_digest_algorithm(value);
      if (!a) return digest_error::unknown_algorithm;
      c.algorithm = *a;
    } else if (iequals(name, "qop")) {
      text::comma_splitter qops(value);
      std::string_view q;
      while (qops.next(q)) {
        if (iequals(q, "auth")) c.qop_auth = true;
        else if (iequals(q, "auth-int")) c.qop_auth_int = true;
      }
    } else if (iequals(name, "stale")) {
      c.stale = iequals(value, "true");
    } else if (iequals(name, "userhash")) {
      c.userhash = iequals(value, "true");
    } else if (iequals(name, "charset")) {
      c.charset_utf8 = iequals(value, "UTF-8");
    }
    return std::nullopt;
  });
  if (err) return fail(*err);
  if (!has_realm || !has_nonce) return fail(digest_error::missing_param);
  return c;
}

result<digest_credentials, digest_error> parse_credentials(std::string_view header_value) {
  digest_credentials c;
  bool has_username = false, has_realm = false, has_nonce = false, has_uri = false, has_response = false;
  auto err = for_each_param(header_value, [&](std::string_view name, std::string& value,
                                              bool) -> std::optional<digest_error> {
    if (iequals(name, "username")) {
      if (has_username) return digest_error::duplicate_param;  // with username*
      c.username = std::move(value);
      has_username = true;
    } else if (iequals(name, "username*")) {
      if (has_username) return digest_error::duplicate_param;
      auto decoded = decode_ext_value(value);
      if (!decoded) return digest_error::bad_value;
      c.username = std::move(*decoded);
      has_username = true;
    } else if (iequals(name, "realm")) {
      c.realm = std::move(value);
      has_realm = true;
    } else if (iequals(name, "nonce")) {
      c.nonce = std::move(value);
      has_nonce = true;
    } else if (iequals(name, "uri")) {
      c.uri = std::move(value);
      has_uri = true;
    } else if (iequals(name, "response")) {
      c.response = to_lower(std::move(value));
      has_response = true;
    } else if (iequals(name, "cnonce")) {
      c.cnonce = std::move(value);
    } else if (iequals(name, "opaque")) {
      c.opaque = std::move(value);
    } else if (iequals(name, "qop")) {
      if (!iequals(value, "auth") && !iequals(value, "auth-int")) return digest_error::bad_value;
      c.qop = to_lower(std::move(value));
    } else if (iequals(name, "nc")) {
      // nc = 8LHEX (RFC 7616 §3.4)
      if (value.size() != 8) return digest_error::bad_value;
      uint32_t n = 0;
      for (char ch : value) {
        const int d = text::hex_value(ch);
        if (d < 0) return digest_error::bad_value;
        n = n * 16 + static_cast<uint32_t>(d);
      }
      c.nc = std::move(value);
      c.nc_value = n;
    } else if (iequals(name, "algorithm")) {
      auto a = lookup_digest_algorithm(value);
      if (!a) return digest_error::unknown_algorithm;
      c.algorithm = *a;
    } else if (iequals(name, "userhash")) {
      c.userhash = iequals(value, "true");
    }
    return std::nullopt;
  });
  if (err) return fail(*err);
  if (!has_username || !has_realm || !has_nonce || !has_uri || !has_response)
    return fail(digest_error::missing_param);
  if (!c.qop.empty() && (c.cnonce.empty() || c.nc.empty())) return fail(digest_error::missing_param);
  if (is_sess(c.algorithm) && c.cnonce.empty()) return fail(digest_error::missing_param);
  if (c.response.size() != hex_length(c.algorithm) || !is_lower_hex(c.response)) return fail(digest_error::bad_value);
  return c;
}

std::string format_challenge(const digest_challenge& c) {
  std::string out = "Digest ";
  append_quoted(out, "realm", c.realm);
  out += ", ";
  append_quoted(out, "nonce", c.nonce);
  if (!c.opaque.empty()) {
    out += ", ";
    append_quoted(out, "opaque", c.opaque);
  }
  if (!c.domain.empty()) {
    out += ", ";
    append_quoted(out, "domain", c.domain);
  }
  out.append(", algorithm=").append(to_string(c.algorithm));
  if (c.qop_auth || c.qop_auth_int) {
    out += ", ";
    append_quoted(out, "qop", c.qop_auth && c.qop_auth_int ? "auth,auth-int" : c.qop_auth ? "auth" : "auth-int");
  }
  if (c.stale) out += ", stale=true";
  if (c.userhash) out += ", userhash=true";
  if (c.charset_utf8) out += ", charset=UTF-8";
  return out;
}

namespace {

// A username a quoted-string carries unchanged: printable ASCII, no run of spaces (a
// receiver folds LWS runs). Anything else goes in username* (RFC 7616 §3.4.4).
bool quotable(std::string_view s) noexcept {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c > 0x7e || (c == ' ' && i > 0 && s[i - 1] == ' ')) return false;
  }
  return true;
}

// RFC 8187 attr-chars that are also token characters are kept, everything else %-encoded.
void append_ext_value(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  out += "UTF-8''";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (text::is_alnum(ch) || std::string_view("!+-._`~").find(ch) != std::string_view::npos) {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
}

}  // namespace

std::string format_credentials(const digest_credentials& c) {
  std::string out = "Digest ";
  if (quotable(c.username)) {
    append_quoted(out, "username", c.username);
  } else {
    out += "username*=";
    append_ext_value(out, c.username);
  }
  out += ", ";
  append_quoted(out, "realm", c.realm);
  out += ", ";
  append_quoted(out, "nonce", c.nonce);
  out += ", ";
  append_quoted(out, "uri", c.uri);
  out += ", ";
  append_quoted(out, "response", c.response);
  out.append(", algorithm=").append(to_string(c.algorithm));
  if (!c.cnonce.empty()) {
    out += ", ";
    append_quoted(out, "cnonce", c.cnonce);
  }
  if (!c.opaque.empty()) {
    out += ", ";
    append_quoted(out, "opaque", c.opaque);
  }
  if (!c.qop.empty()) out.append(", qop=").append(c.qop).append(", nc=").append(c.nc);
  if (c.userhash) out += ", userhash=true";
  return out;
}

std::string digest_hash(digest_algorithm a, std::string_view data) {
  uint8_t digest[SHA256_DIGEST_SIZE];
  size_t n = 0;
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  switch (a) {
    case digest_algorithm::md5:
    case digest_algorithm::md5_sess: {
      md5_ctx ctx;
      md5_init(&ctx);
      md5_update(&ctx, data.size(), bytes);
      md5_digest(&ctx, MD5_DIGEST_SIZE, digest);
      n = MD5_DIGEST_SIZE;
      break;
    }
    case digest_algorithm::sha256:
    case digest_algorithm::sha256_sess: {
      sha256_ctx ctx;
      sha256_init(&ctx);
      sha256_update(&ctx, data.size(), bytes);
      sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
      n = SHA256_DIGEST_SIZE;
      break;
    }
    case digest_algorithm::sha512_256:
    case digest_algorithm::sha512_256_sess: {
      sha512_256_ctx ctx;
      sha512_256_init(&ctx);
      sha512_256_update(&ctx, data.size(), bytes);
      sha512_256_digest(&ctx, SHA512_256_DIGEST_SIZE, digest);
      n = SHA512_256_DIGEST_SIZE;
      break;
    }
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 15];
  }
  return out;
}

namespace {

std::string join(std::initializer_list<std::string_view> parts) {
  std::string s;
  bool first = true;
  for (std::string_view p : parts) {
    if (!first) s += ':';
    s.append(p);
    first = false;
  }
  return s;
}

}  // namespace

std::string digest_ha1(digest_algorithm a, std::string_view username, std::string_view realm,
                       std::string_view password) {
  return digest_hash(a, join({username, realm, password}));
}

std::string digest_userhash(digest_algorithm a, std::string_view username, std::string_view realm) {
  return digest_hash(a, join({username, realm}));
}

std::string digest_response(digest_algorithm a, std::string_view ha1, const digest_input& in) {
  // RFC 7616 §3.4.2: for -sess, HA1 = H(H(user:realm:pass) ":" nonce ":" cnonce).
  const std::string session_ha1 = is_sess(a) ? digest_hash(a, join({ha1, in.nonce, in.cnonce})) : std::string(ha1);
  // §3.4.3: HA2 = H(method ":" uri) or, for auth-int, H(method ":" uri ":" H(body)).
  const std::string ha2 = iequals(in.qop, "auth-int")
                              ? digest_hash(a, join({in.method, in.uri, digest_hash(a, in.body)}))
                              : digest_hash(a, join({in.method, in.uri}));
  if (in.qop.empty()) return digest_hash(a, join({session_ha1, in.nonce, ha2}));  // RFC 2069 form
  return digest_hash(a, join({session_ha1, in.nonce, in.nc, in.cnonce, in.qop, ha2}));
}

bool digest_verify(const digest_credentials& c, std::string_view method, std::string_view ha1, std::string_view body) {
  const std::string expected =
      digest_response(c.algorithm, ha1, digest_input{method, c.uri, c.nonce, c.nc, c.cnonce, c.qop, body});
  if (expected.size() != c.response.size()) return false;
  unsigned diff = 0;
  for (size_t i = 0; i < expected.size(); ++i) diff |= static_cast<unsigned>(expected[i] ^ c.response[i]);
  return diff == 0;
}

}  // namespace tutti::sig
