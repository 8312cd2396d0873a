// SIP header names and typed views of the header values the stack acts on.
//
// Names: header_id for every header the stack knows, looked up case-insensitively from the
// long or compact form (RFC 3261 §7.3.3 and the extensions that define compact forms).
// Values: each parse_* function reads one header value (one list element for list headers,
// see text::comma_splitter) into a struct of string_views into the same buffer; nothing is
// copied or unescaped. Parsers return a header_error instead of throwing.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/result.hpp"
#include "signalling/sip/text.hpp"
#include "signalling/sip/uri.hpp"

namespace tutti::sig {

enum class header_id : uint8_t {
  other,  // an extension header: look at header_field::name
  accept, accept_contact, accept_encoding, accept_language, alert_info, allow, allow_events,
  authentication_info, authorization, call_id, call_info, contact, content_disposition,
  content_encoding, content_language, content_length, content_type, cseq, date, error_info,
  event, expires, from, identity, in_reply_to, max_forwards, min_expires, min_se, mime_version,
  organization, p_asserted_identity, priority, proxy_authenticate, proxy_authorization,
  proxy_require, rack, reason, record_route, refer_to, referred_by, reject_contact, replaces,
  reply_to, request_disposition, require, retry_after, route, rseq, server, session_expires,
  sip_etag, sip_if_match, subject, subscription_state, supported, timestamp, to, unsupported,
  user_agent, via, warning, www_authenticate,
  count_  // number of ids
};

// The header for a name in long or compact form, any case; header_id::other when unknown.
header_id lookup_header(std::string_view name) noexcept;

// The canonical long name ("Call-ID", "WWW-Authenticate"); "" for header_id::other.
std::string_view header_name(header_id id) noexcept;

// Methods are case-sensitive (RFC 3261 §7.1): "invite" is an unknown method.
enum class sip_method : uint8_t {
  unknown, invite, ack, bye, cancel, options, register_, prack, subscribe, notify, publish,
  info, refer, message, update,
};
sip_method lookup_method(std::string_view token) noexcept;
std::string_view method_name(sip_method m) noexcept;  // "" for unknown

enum class header_error : uint8_t {
  absent,     // the header is not in the message
  malformed,  // it does not match the grammar
  range,      // a number is out of range
};

// Via: sent-protocol sent-by *( ; via-params ) (RFC 3261 §20.42, rport RFC 3581).
struct via {
  std::string_view text;              // the whole via-parm as received
  std::string_view protocol_name;     // "SIP"
  std::string_view protocol_version;  // "2.0"
  std::string_view transport;         // "UDP", "TCP", "TLS", "SCTP", "WS", ...
  std::string_view host;              // sent-by host, without [ ]
  host_kind host_type = host_kind::none;
  uint16_t port = 0;                  // sent-by port; 0 when absent
  std::string_view branch;            // "" when absent
  std::string_view received;          // "" when absent
  std::string_view maddr;
  bool has_rport = false;             // rport present, with or without a value
  uint16_t rport = 0;                 // its value; 0 for a bare "rport" request
  std::string_view params;            // the parameter list, from the first ';'

  // RFC 3261 §8.1.1.7 magic cookie: the branch identifies the transaction on its own.
  bool rfc3261_branch() const noexcept { return branch.size() > 7 && branch.substr(0, 7) == "z9hG4bK"; }
};
result<via, header_error> parse_via(std::string_view via_parm) noexcept;

// name-addr / addr-spec with header parameters: From, To, Contact, Route, Record-Route,
// Refer-To, Referred-By, Reply-To, P-Asserted-Identity (RFC 3261 §20.10, §25.1).
struct name_addr {
  std::string_view text;          // the whole value as received
  std::string_view display_name;  // without the quotes when quoted; escapes left in place
  bool display_quoted = false;
  sig::uri uri;
  std::string_view params;        // header parameters, from the first ';'
  std::string_view tag;           // the tag parameter ("" when absent)
  bool has_tag = false;

  // Display name with quoted-pairs resolved and folds collapsed.
  std::string display_text() const { return display_quoted ? text::unquote(display_name) : text::unfold(display_name); }
  std::optional<std::string_view> param(std::string_view name) const noexcept;
};
result<name_addr, header_error> parse_name_addr(std::string_view value) noexcept;

// Contact: "*" or a name-addr with expires / q (RFC 3261 §20.10).
struct contact {
  bool star = false;
  name_addr address;
  std::optional<uint32_t> expires;  // overlarge values read as 2^32-1 (RFC 3261 §20.19)
  std::optional<uint16_t> q;        // qvalue in thousandths: "0.5" is 500
};
result<contact, header_error> parse_contact(std::string_view value) noexcept;

// CSeq: number method (RFC 3261 §20.16); the number must fit 32 bits.
struct cseq {
  uint32_t number = 0;
  std::string_view method_text;
  sip_method method = sip_method::unknown;
};
result<cseq, header_error> parse_cseq(std::string_view value) noexcept;

// Call-ID: word [ "@" word ] (RFC 3261 §20.8); returns the trimmed value.
result<std::string_view, header_error> parse_call_id(std::string_view value) noexcept;

// Max-Forwards 0..255 (§20.22), Content-Length (§20.14), Expires / Min-Expires delta-seconds.
result<uint8_t, header_error> parse_max_forwards(std::string_view value) noexcept;
result<uint32_t, header_error> parse_content_length(std::string_view value) noexcept;
result<uint32_t, header_error> parse_delta_seconds(std::string_view value) noexcept;

// Content-Type / Accept element: type "/" subtype *( ; param ) (RFC 3261 §20.15).
struct media_type {
  std::string_view type;
  std::string_view subtype;
  std::string_view params;
  bool is(std::string_view t, std::string_view s) const noexcept {
    return text::iequals(type, t) && text::iequals(subtype, s);
  }
};
result<media_type, header_error> parse_media_type(std::string_view value) noexcept;

// Event: package[.template] *( ; param ) with the id parameter (RFC 6665 §8.2.1).
struct event {
  std::string_view package;
  std::string_view id;  // "" when absent
  std::string_view params;
};
result<event, header_error> parse_event(std::string_view value) noexcept;

// Subscription-State: state *( ; param ) (RFC 6665 §8.2.3).
enum class subscription_state_value : uint8_t { active, pending, terminated, other };
struct subscription_state {
  subscription_state_value state = subscription_state_value::other;
  std::string_view state_text;
  std::optional<uint32_t> expires;
  std::optional<uint32_t> retry_after;
  std::string_view reason;
  std::string_view params;
};
result<subscription_state, header_error> parse_subscription_state(std::string_view value) noexcept;

// Whether a comma-separated token list (Allow, Supported, Require, Proxy-Require,
// Unsupported, Allow-Events) contains token, case-insensitively.
bool token_list_contains(std::string_view list, std::string_view token) noexcept;

// Whether every element of a token list is a token (empty elements are tolerated).
bool valid_token_list(std::string_view list) noexcept;

}  // namespace tutti::sig
