// HTTP Digest authentication as SIP uses it (RFC 3261 §22.4, RFC 7616, RFC 8760): parsing
// WWW-Authenticate / Proxy-Authenticate challenges and Authorization / Proxy-Authorization
// credentials, writing them, and computing responses with MD5, SHA-256 and SHA-512/256
// (plain and -sess). Hashes come from Nettle.
//
// A registrar stores HA1 = H(username:realm:password) per algorithm, challenges with
// format_challenge(), and checks a request with digest_verify(). Each authentication
// header holds exactly one challenge or credential set in SIP, so it is read whole
// (message_view::find), never split at commas.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace tutti::sig {

enum class digest_algorithm : uint8_t { md5, md5_sess, sha256, sha256_sess, sha512_256, sha512_256_sess };

// "MD5", "SHA-256-sess", ... (case-insensitive); nullopt for anything else.
std::optional<digest_algorithm> lookup_digest_algorithm(std::string_view name) noexcept;
std::string_view to_string(digest_algorithm a) noexcept;

enum class digest_error : uint8_t {
  not_digest,         // another scheme (RFC 4475 regaut01) or no scheme
  malformed,          // not a comma-separated list of name=value
  duplicate_param,    // RFC 7616 §3.3: each parameter at most once
  missing_param,      // a required parameter is absent
  unknown_algorithm,
  bad_value,          // nc not 8 hex digits, response of the wrong length, ...
};
std::string_view to_string(digest_error e) noexcept;

// WWW-Authenticate / Proxy-Authenticate (RFC 7616 §3.3).
struct digest_challenge {
  std::string realm;
  std::string nonce;
  std::string opaque;
  std::string domain;
  digest_algorithm algorithm = digest_algorithm::md5;  // absent means MD5
  bool qop_auth = false;      // qop="auth"
  bool qop_auth_int = false;  // qop="auth-int"
  bool stale = false;
  bool userhash = false;
  bool charset_utf8 = false;
};
result<digest_challenge, digest_error> parse_challenge(std::string_view header_value);
// "Digest realm=\"...\", nonce=\"...\", ..." for a WWW-Authenticate value.
std::string format_challenge(const digest_challenge& c);

// Authorization / Proxy-Authorization (RFC 7616 §3.4).
struct digest_credentials {
  std::string username;  // decoded from username* (RFC 7616 §3.4.4) when that was used
  std::string realm;
  std::string nonce;
  std::string uri;
  std::string response;  // lowercase hex
  std::string cnonce;
  std::string opaque;
  std::string qop;       // "", "auth" or "auth-int"
  std::string nc;        // 8 hex digits as sent ("00000001"), "" without qop
  uint32_t nc_value = 0;
  digest_algorithm algorithm = digest_algorithm::md5;
  bool userhash = false;
};
result<digest_credentials, digest_error> parse_credentials(std::string_view header_value);
std::string format_credentials(const digest_credentials& c);

// H(data) in lowercase hex (32 characters for MD5, 64 for the SHA-2 algorithms).
std::string digest_hash(digest_algorithm a, std::string_view data);

// HA1 = H(username ":" realm ":" password), the value a registrar stores (RFC 7616 §3.4.2).
std::string digest_ha1(digest_algorithm a, std::string_view username, std::string_view realm,
                       std::string_view password);

// What a response is computed over besides HA1.
struct digest_input {
  std::string_view method;  // the SIP request method
  std::string_view uri;     // the uri parameter, as sent
  std::string_view nonce;
  std::string_view nc;      // with qop
  std::string_view cnonce;  // with qop, and for -sess
  std::string_view qop;     // "", "auth" or "auth-int"
  std::string_view body;    // for auth-int
};

// request-digest (RFC 7616 §3.4.1; RFC 2617 §3.2.2.1 without qop) from the stored HA1;
// -sess algorithms derive the session HA1 from it.
std::string digest_response(digest_algorithm a, std::string_view ha1, const digest_input& in);

// userhash = H(username ":" realm) (RFC 7616 §3.4.4).
std::string digest_userhash(digest_algorithm a, std::string_view username, std::string_view realm);

// Whether credentials carry the right response for a request with this method (and body,
// for auth-int), given the stored HA1. Constant-time in the response comparison.
bool digest_verify(const digest_credentials& c, std::string_view method, std::string_view ha1,
                   std::string_view body = {});

}  // namespace tutti::sig
