// URIs as SIP carries them: sip:/sips: (RFC 3261 §19.1), tel: (RFC 3966) and any other
// absoluteURI kept opaque (RFC 4475 unkscm/novelsc/unksm2).
//
// A uri is a view: every field is a slice of the text it was parsed from, still %-escaped
// as received. percent_decode() gives the decoded form; uri_equal() compares per RFC 3261
// §19.1.4 without allocating.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "signalling/sip/text.hpp"

namespace tutti::sig {

enum class uri_scheme : uint8_t { sip, sips, tel, other };
enum class host_kind : uint8_t { none, name, ipv4, ipv6 };

enum class uri_error : uint8_t {
  no_scheme,      // no "scheme:" prefix
  bad_user,       // character not allowed in user / password, or bad %-escape
  bad_host,       // empty or malformed host, IPv6 reference or IPv4 address
  bad_port,       // not 1-5 digits or above 65535
  bad_params,     // malformed ;name=value
  bad_headers,    // malformed ?name=value&...
  bad_character,  // whitespace or a character no URI may contain
  empty,          // nothing after the scheme
};

// Human-readable name of a uri_error (for 400 reason phrases and logs).
std::string_view to_string(uri_error e) noexcept;

struct uri {
  uri_scheme scheme = uri_scheme::other;
  std::string_view text;         // the whole URI
  std::string_view scheme_text;  // as written ("SIP", "sips", "isbn")
  std::string_view user;         // sip/sips: user part; tel: the number; escaped
  std::string_view password;     // sip/sips only; escaped
  std::string_view host;         // without the [ ] of an IPv6 reference
  host_kind host_type = host_kind::none;
  uint16_t port = 0;             // meaningful only when has_port
  bool has_port = false;
  bool has_user = false;         // an '@' was present (sip/sips)
  std::string_view params;       // ";a=b;c" including the leading ';', or empty
  std::string_view headers;      // "a=b&c=d" after '?', or empty
  std::string_view opaque;       // other schemes: everything after ':'

  // Value of a uri-parameter (case-insensitive name; escaped); nullopt when absent, ""
  // for a parameter without value.
  std::optional<std::string_view> param(std::string_view name) const noexcept;
  bool has_param(std::string_view name) const noexcept { return param(name).has_value(); }
  // Value of a header (the ?name=value part); nullopt when absent.
  std::optional<std::string_view> header(std::string_view name) const noexcept;
  // host[:port] as it appears in the URI (IPv6 with brackets).
  std::string_view hostport() const noexcept;
};

// Parses a URI (no surrounding < >, no whitespace).
result<uri, uri_error> parse_uri(std::string_view text) noexcept;

// Decodes %HH escapes. nullopt when a '%' is not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view s);

// URI equality per RFC 3261 §19.1.4 (sip/sips), RFC 3966 §4 (tel), exact otherwise.
bool uri_equal(const uri& a, const uri& b) noexcept;

// Classifies and checks a host (hostname, IPv4 address, or IPv6 address without brackets).
host_kind classify_host(std::string_view host) noexcept;

// Splits "host[:port]" where host may be "[v6]": used by the URI and the Via sent-by.
// LWS around the ':' is allowed only when allow_lws (Via: RFC 3261 COLON = SWS ":" SWS).
struct host_port {
  std::string_view host;  // without brackets
  host_kind type = host_kind::none;
  uint16_t port = 0;
  bool has_port = false;
};
result<host_port, uri_error> parse_host_port(std::string_view s, bool allow_lws) noexcept;

}  // namespace tutti::sig
