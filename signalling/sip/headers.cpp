#include "signalling/sip/headers.hpp"

#include <array>
#include <limits>

namespace tutti::sig {

using text::iequals;
using text::is_lws;
using text::is_token_char;

namespace {

constexpr std::array<std::string_view, static_cast<size_t>(header_id::count_)> long_names = {
    "",  // other
    "Accept", "Accept-Contact", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow",
    "Allow-Events", "Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact",
    "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
    "Content-Type", "CSeq", "Date", "Error-Info", "Event", "Expires", "From", "Identity",
    "In-Reply-To", "Max-Forwards", "Min-Expires", "Min-SE", "MIME-Version", "Organization",
    "P-Asserted-Identity", "Priority", "Proxy-Authenticate", "Proxy-Authorization",
    "Proxy-Require", "RAck", "Reason", "Record-Route", "Refer-To", "Referred-By",
    "Reject-Contact", "Replaces", "Reply-To", "Request-Disposition", "Require", "Retry-After",
    "Route", "RSeq", "Server", "Session-Expires", "SIP-ETag", "SIP-If-Match", "Subject",
    "Subscription-State", "Supported", "Timestamp", "To", "Unsupported", "User-Agent", "Via",
    "Warning", "WWW-Authenticate",
};

// Compact forms: RFC 3261 §7.3.3 (c e f i k l m s t v), RFC 3841 (a d j), RFC 3892 (b),
// RFC 6665 (o u), RFC 3515 (r), RFC 4028 (x), RFC 8224 (y).
header_id compact(char c) noexcept {
  switch (text::to_lower(c)) {
    case 'a': return header_id::accept_contact;
    case 'b': return header_id::referred_by;
    case 'c': return header_id::content_type;
    case 'd': return header_id::request_disposition;
    case 'e': return header_id::content_encoding;
    case 'f': return header_id::from;
    case 'i': return header_id::call_id;
    case 'j': return header_id::reject_contact;
    case 'k': return header_id::supported;
    case 'l': return header_id::content_length;
    case 'm': return header_id::contact;
    case 'o': return header_id::event;
    case 'r': return header_id::refer_to;
    case 's': return header_id::subject;
    case 't': return header_id::to;
    case 'u': return header_id::allow_events;
    case 'v': return header_id::via;
    case 'x': return header_id::session_expires;
    case 'y': return header_id::identity;
    default: return header_id::other;
  }
}

constexpr std::array<std::string_view, 15> method_names = {
    "", "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE",
    "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE",
};

size_t skip_lws(std::string_view s, size_t i) noexcept {
  while (i < s.size() && is_lws(s[i])) ++i;
  return i;
}

size_t skip_token(std::string_view s, size_t i) noexcept {
  while (i < s.size() && is_token_char(s[i])) ++i;
  return i;
}

bool all_digits(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!text::is_digit(c)) return false;
  return true;
}

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths.
std::optional<uint16_t> parse_qvalue(std::string_view s) noexcept {
  if (s.empty() || (s[0] != '0' && s[0] != '1')) return std::nullopt;
  uint16_t q = s[0] == '1' ? 1000 : 0;
  if (s.size() == 1) return q;
  if (s[1] != '.' || s.size() > 5) return std::nullopt;
  uint16_t scale = 100;
  for (size_t i = 2; i < s.size(); ++i, scale /= 10) {
    if (!text::is_digit(s[i])) return std::nullopt;
    q = static_cast<uint16_t>(q + (s[i] - '0') * scale);
  }
  return q > 1000 ? std::nullopt : std::optional<uint16_t>(q);
}

}  // namespace

header_id lookup_header(std::string_view name) noexcept {
  if (name.size() == 1) return compact(name[0]);
  if (name.empty()) return header_id::other;
  const char first = text::to_lower(name[0]);
  for (size_t i = 1; i < long_names.size(); ++i)
    if (long_names[i].size() == name.size() && text::to_lower(long_names[i][0]) == first && iequals(name, long_names[i]))
      return static_cast<header_id>(i);
  return header_id::other;
}

std::string_view header_name(header_id id) noexcept {
  const auto i = static_cast<size_t>(id);
  return i < long_names.size() ? long_names[i] : std::string_view{};
}

sip_method lookup_method(std::string_view token) noexcept {
  for (size_t i = 1; i < method_names.size(); ++i)
    if (token == method_names[i]) return static_cast<sip_method>(i);
  return sip_method::unknown;
}

std::string_view method_name(sip_method m) noexcept {
  const auto i = static_cast<size_t>(m);
  return i < method_names.size() ? method_names[i] : std::string_view{};
}

result<via, header_error> parse_via(std::string_view value) noexcept {
  via v;
  std::string_view s = text::trim(value);
  v.text = s;
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport, SLASH = SWS "/" SWS
  std::string_view* parts[3] = {&v.protocol_name, &v.protocol_version, &v.transport};
  size_t i = 0;
  for (int k = 0; k < 3; ++k) {
    if (k > 0) {
      i = skip_lws(s, i);
      if (i == s.size() || s[i] != '/') return fail(header_error::malformed);
      i = skip_lws(s, i + 1);
    }
    const size_t start = i;
    i = skip_token(s, i);
    if (i == start) return fail(header_error::malformed);
    *parts[k] = s.substr(start, i - start);
  }
  const size_t sent_by = skip_lws(s, i);
  if (sent_by == i) return fail(header_error::malformed);  // LWS is required before sent-by
  size_t semi = s.find(';', sent_by);
  if (semi == std::string_view::npos) semi = s.size();
  auto hp = parse_host_port(text::trim(s.substr(sent_by, semi - sent_by)), true);
  if (!hp) return fail(header_error::malformed);
  v.host = hp->host;
  v.host_type = hp->type;
  v.port = hp->port;
  v.params = s.substr(semi);
  text::param_reader r(v.params);
  text::param p;
  while (r.next(p)) {
    if (iequals(p.name, "branch")) {
      if (!p.has_value || p.value[0] == '"') return fail(header_error::malformed);
      v.branch = p.value;
    } else if (iequals(p.name, "received")) {
      if (!p.has_value) return fail(header_error::malformed);
      v.received = p.value;
    } else if (iequals(p.name, "maddr")) {
      if (!p.has_value) return fail(header_error::malformed);
      v.maddr = p.value;
    } else if (iequals(p.name, "rport")) {
      // RFC 3581 §3: a request carries a bare rport; a response may carry rport=port.
      v.has_rport = true;
      if (p.has_value) {
        auto port = text::parse_uint(p.value, 65535);
        if (!port) return fail(header_error::malformed);
        v.rport = static_cast<uint16_t>(*port);
      }
    } else if (iequals(p.name, "ttl")) {
      if (!p.has_value || !text::parse_uint(p.value, 255)) return fail(header_error::malformed);
    }
  }
  if (r.error()) return fail(header_error::malformed);
  return v;
}

std::optional<std::string_view> name_addr::param(std::string_view name) const noexcept {
  auto p = text::find_param(params, name);
  if (!p) return std::nullopt;
  return p->value;
}

result<name_addr, header_error> parse_name_addr(std::string_view value) noexcept {
  name_addr na;
  std::string_view s = text::trim(value);
  na.text = s;
  if (s.empty()) return fail(header_error::malformed);
  size_t angle = std::string_view::npos;
  if (s[0] == '"') {
    const size_t n = text::quoted_length(s);
    if (n == 0) return fail(header_error::malformed);
    na.display_name = s.substr(1, n - 2);
    na.display_quoted = true;
    angle = skip_lws(s, n);
    if (angle == s.size() || s[angle] != '<') return fail(header_error::malformed);
  } else if (s[0] == '<') {
    angle = 0;
  } else {
    // A display name of tokens separated by LWS, then '<'; otherwise an addr-spec. RFC 4475
    // lwsdisp: the LWS before '<' may be missing.
    size_t i = 0;
    while (true) {
      const size_t end = skip_token(s, i);
      if (end == i) break;
      const size_t next = skip_lws(s, end);
      if (next < s.size() && s[next] == '<') {
        na.display_name = text::trim(s.substr(0, next));
        angle = next;
        break;
      }
      if (next == end || next == s.size() || !is_token_char(s[next])) break;
      i = next;
    }
  }
  std::string_view uri_text, rest;
  if (angle != std::string_view::npos) {
    const size_t close = s.find('>', angle);
    if (close == std::string_view::npos) return fail(header_error::malformed);
    uri_text = s.substr(angle + 1, close - angle - 1);
    rest = s.substr(close + 1);
  } else {
    // addr-spec: RFC 3261 §20.10 forbids ';', ',' and '?' in it; a ';' starts header params.
    size_t end = 0;
    while (end < s.size() && s[end] != ';' && !is_lws(s[end])) ++end;
    uri_text = s.substr(0, end);
    if (uri_text.find_first_of("?,") != std::string_view::npos) return fail(header_error::malformed);
    rest = s.substr(end);
  }
  auto u = parse_uri(uri_text);
  if (!u) return fail(header_error::malformed);
  na.uri = *u;
  na.params = text::trim_front(rest);
  text::param_reader r(na.params);
  text::param p;
  while (r.next(p)) {
    if (iequals(p.name, "tag")) {
      if (!p.has_value || !text::is_token(p.value)) return fail(header_error::malformed);
      na.tag = p.value;
      na.has_tag = true;
    }
  }
  if (r.error()) return fail(header_error::malformed);
  return na;
}

result<contact, header_error> parse_contact(std::string_view value) noexcept {
  contact c;
  std::string_view s = text::trim(value);
  if (s == "*") {
    c.star = true;
    return c;
  }
  auto na = parse_name_addr(s);
  if (!na) return fail(na.error());
  c.address = *na;
  text::param_reader r(c.address.params);
  text::param p;
  while (r.next(p)) {
    if (iequals(p.name, "expires")) {
      auto e = p.has_value ? text::parse_uint_saturating(p.value, std::numeric_limits<uint32_t>::max())
                           : std::nullopt;
      if (!e) return fail(header_error::malformed);
      c.expires = static_cast<uint32_t>(*e);
    } else if (iequals(p.name, "q")) {
      auto q = p.has_value ? parse_qvalue(p.value) : std::nullopt;
      if (!q) return fail(header_error::malformed);
      c.q = *q;
    }
  }
  return c;
}

result<cseq, header_error> parse_cseq(std::string_view value) noexcept {
  std::string_view s = text::trim(value);
  size_t i = 0;
  while (i < s.size() && text::is_digit(s[i])) ++i;
  if (i == 0) return fail(header_error::malformed);
  const size_t m = skip_lws(s, i);
  if (m == i || m == s.size()) return fail(header_error::malformed);
  std::string_view method = s.substr(m);
  if (!text::is_token(method)) return fail(header_error::malformed);
  // RFC 3261 §8.1.1.5: the sequence number MUST be expressible as a 32-bit unsigned integer.
  auto n = text::parse_uint(s.substr(0, i), std::numeric_limits<uint32_t>::max());
  if (!n) return fail(header_error::range);
  cseq c;
  c.number = static_cast<uint32_t>(*n);
  c.method_text = method;
  c.method = lookup_method(method);
  return c;
}

result<std::string_view, header_error> parse_call_id(std::string_view value) noexcept {
  std::string_view s = text::trim(value);
  if (s.empty()) return fail(header_error::malformed);
  const size_t at = s.find('@');
  if (at == 0 || at + 1 == s.size()) return fail(header_error::malformed);
  for (size_t i = 0; i < s.size(); ++i)
    if (!text::is_word_char(s[i]) && i != at) return fail(header_error::malformed);
  return s;
}

result<uint8_t, header_error> parse_max_forwards(std::string_view value) noexcept {
  std::string_view s = text::trim(value);
  if (!all_digits(s)) return fail(header_error::malformed);
  auto n = text::parse_uint(s, 255);
  if (!n) return fail(header_error::range);
  return static_cast<uint8_t>(*n);
}

result<uint32_t, header_error> parse_content_length(std::string_view value) noexcept {
  std::string_view s = text::trim(value);
  if (!all_digits(s)) return fail(header_error::malformed);
  auto n = text::parse_uint(s, std::numeric_limits<uint32_t>::max());
  if (!n) return fail(header_error::range);
  return static_cast<uint32_t>(*n);
}

result<uint32_t, header_error> parse_delta_seconds(std::string_view value) noexcept {
  auto n = text::parse_uint_saturating(text::trim(value), std::numeric_limits<uint32_t>::max());
  if (!n) return fail(header_error::malformed);
  return static_cast<uint32_t>(*n);
}

result<media_type, header_error> parse_media_type(std::string_view value) noexcept {
  std::string_view s = text::trim(value);
  media_type mt;
  size_t i = skip_token(s, 0);
  if (i == 0) return fail(header_error::malformed);
  mt.type = s.substr(0, i);
  i = skip_lws(s, i);
  if (i == s.size() || s[i] != '/') return fail(header_error::malformed);
  const size_t sub = skip_lws(s, i + 1);
  i = skip_token(s, sub);
  if (i == sub) return fail(header_error::malformed);
  mt.subtype = s.substr(sub, i - sub);
  mt.params = text::trim_front(s.substr(i));
  if (!text::valid_params(mt.params)) return fail(header_error::malformed);
  return mt;
}

result<event, header_error> parse_event(std::string_view value) noexcept {
  std::string_view s = text::trim(value);
  event e;
  const size_t i = skip_token(s, 0);
  if (i == 0) return fail(header_error::malformed);
  e.package = s.substr(0, i);
  e.params = text::trim_front(s.substr(i));
  if (!text::valid_params(e.params)) return fail(header_error::malformed);
  if (auto id = text::find_param(e.params, "id")) e.id = id->value;
  return e;
}

result<subscription_state, header_error> parse_subscription_state(std::string_view value) noexcept {
  std::string_view s = text::trim(value);
  subscription_state st;
  const size_t i = skip_token(s, 0);
  if (i == 0) return fail(header_error::malformed);
  st.state_text = s.substr(0, i);
  if (iequals(st.state_text, "active")) st.state = subscription_state_value::active;
  else if (iequals(st.state_text, "pending")) st.state = subscription_state_value::pending;
  else if (iequals(st.state_text, "terminated")) st.state = subscription_state_value::terminated;
  st.params = text::trim_front(s.substr(i));
  text::param_reader r(st.params);
  text::param p;
  while (r.next(p)) {
    const bool expires = iequals(p.name, "expires");
    if (expires || iequals(p.name, "retry-after")) {
      auto n = p.has_value ? text::parse_uint_saturating(p.value, std::numeric_limits<uint32_t>::max())
                           : std::nullopt;
      if (!n) return fail(header_error::malformed);
      (expires ? st.expires : st.retry_after) = static_cast<uint32_t>(*n);
    } else if (iequals(p.name, "reason")) {
      st.reason = p.value;
    }
  }
  if (r.error()) return fail(header_error::malformed);
  return st;
}

bool token_list_contains(std::string_view list, std::string_view token) noexcept {
  text::comma_splitter split(list);
  std::string_view e;
  while (split.next(e))
    if (iequals(e, token)) return true;
  return false;
}

bool valid_token_list(std::string_view list) noexcept {
  text::comma_splitter split(list);
  std::string_view e;
  while (split.next(e))
    if (!e.empty() && !text::is_token(e)) return false;
  return !split.malformed();
}

}  // namespace tutti::sig
