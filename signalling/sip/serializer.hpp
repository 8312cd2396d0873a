// Building SIP messages: requests, responses, and the response to a request (RFC 3261
// §8.2.6) or to a request that failed to parse.
//
// Signalling runs on the control thread, so messages are built in a std::string. The
// builder writes the start line, header lines in the order added, then Content-Length
// (always, RFC 3261 §18.3 requires it on streams and it costs nothing on UDP) and the body.
// Values are written as given, except that CR and LF — which could inject header lines —
// become spaces.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "signalling/sip/headers.hpp"
#include "signalling/sip/message.hpp"

namespace tutti::sig {

// The RFC 3261 §21 reason phrase for a status code ("Not Found"); "Unknown" otherwise.
std::string_view default_reason(uint16_t status) noexcept;

class message_builder {
 public:
  // "METHOD request-uri SIP/2.0"
  static message_builder request(std::string_view method, std::string_view request_uri);
  // "SIP/2.0 status reason"; an empty reason takes default_reason(status).
  static message_builder response(uint16_t status, std::string_view reason = {});

  // Appends "Name: value"; header_id writes the canonical long name.
  message_builder& add(std::string_view name, std::string_view value);
  message_builder& add(header_id id, std::string_view value) { return add(header_name(id), value); }
  message_builder& add(header_id id, uint64_t value);

  // Appends Content-Type (when given and the body is not empty), Content-Length, the empty
  // line and the body; returns the message. The builder is empty afterwards.
  std::string finish(std::string_view body = {}, std::string_view content_type = {});

 private:
  explicit message_builder(std::string start) : out_(std::move(start)) {}
  void append_clean(std::string_view s);
  std::string out_;
};

struct response_options {
  std::string_view to_tag;   // added to To when the request's To has none (not for 100)
  std::string_view top_via;  // replaces the first Via value (see stamp_via); "" keeps it
};

// A response to req that copies, in order, every Via value, From, To (adding the tag),
// Call-ID and CSeq (RFC 3261 §8.2.6.2), and Timestamp on a 100 (§8.2.6.1). The caller adds
// Contact, Allow, ... and calls finish().
message_builder make_response(const message_view& req, uint16_t status, std::string_view reason = {},
                              const response_options& options = {});

// The top Via of a received request as a server must record it: received= the source
// address when it differs from sent-by (RFC 3261 §18.2.1), and rport= the source port when
// the client asked with a bare rport (RFC 3581 §4). Other parameters are kept in order.
std::string stamp_via(const via& top, std::string_view source_ip, uint16_t source_port);

// The error response for a request that failed to parse: "SIP/2.0 <status> <reason
// phrase>" with its Via, From, To (tag added), Call-ID and CSeq. "" when !can_answer(e).
std::string make_error_response(const parse_error& e, std::string_view to_tag);

}  // namespace tutti::sig
