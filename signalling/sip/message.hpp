// A parsed SIP message (RFC 3261 §7) as a view over the caller's receive buffer.
//
// parse_message() checks the start line, splits the header fields into a fixed-capacity
// table (name, value: slices of the buffer, folds left in place), frames the body by
// Content-Length, and parses the headers every transaction needs — all Vias, From, To,
// Call-ID, CSeq, Max-Forwards, Contact, Content-Type — so a message that parses can be
// handed on without further checks. Nothing is allocated or copied: the message_view is
// valid as long as the buffer is. Other headers are read on demand with values() and the
// parse_* functions of headers.hpp.
//
// A message that fails gives a parse_error with a reason and, for requests, whether it
// can still be answered: when the request line, Via, From, To, Call-ID and CSeq are
// readable, make_error_response() (serializer.hpp) builds the 400 (or 505, 513);
// otherwise the transport counts the reason and drops the datagram.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "base/result.hpp"
#include "signalling/sip/headers.hpp"
#include "signalling/sip/text.hpp"
#include "signalling/sip/uri.hpp"

namespace tutti::sig {

// Limits on what a peer may send; a message over any of them is refused with a reason.
struct parse_limits {
  static constexpr size_t header_capacity = 128;  // size of message_view's header table

  size_t max_message_bytes = 65535;  // start line, headers and body (UDP's largest payload)
  size_t max_headers = header_capacity;
  size_t max_header_bytes = 8192;    // one header field, folds included
  size_t max_vias = 70;              // Via entries over all Via headers (Max-Forwards' default)
  // Datagram (UDP): a missing Content-Length means "the rest of the datagram" (RFC 3261
  // §18.3). Stream (TCP/TLS): Content-Length is required.
  bool datagram = true;
};

enum class parse_reason : uint8_t {
  empty,                // nothing but CRLFs (a keep-alive, RFC 5626 §4.4.1)
  message_too_large,    // over max_message_bytes
  bad_start_line,       // not "METHOD SP URI SP SIP/2.0" nor "SIP/2.0 SP code SP reason"
  bad_request_uri,      // the Request-URI does not parse, or carries headers (RFC 3261 §19.1.1)
  unsupported_version,  // "SIP/x.y" other than 2.0 (answered 505)
  bad_status_code,      // not three digits in 100..699
  bad_header_line,      // no "name:" or a stray CR
  header_too_long,      // one header field over max_header_bytes
  too_many_headers,     // over max_headers
  headers_unterminated, // no empty line ends the headers
  missing_header,       // one of Via, From, To, Call-ID, CSeq is absent
  duplicate_header,     // a header that may appear once appears twice (RFC 4475 multi01)
  bad_via,
  too_many_vias,        // over max_vias
  bad_from,
  bad_to,
  bad_call_id,
  bad_cseq,             // malformed, or the number does not fit 32 bits (RFC 4475 scalar02)
  cseq_method_mismatch, // CSeq method differs from the request method (RFC 4475 mismatch01)
  bad_max_forwards,
  bad_contact,
  bad_content_type,
  bad_content_length,   // not a number (RFC 4475 ncl)
  content_length_conflict,  // more than one Content-Length (RFC 4475 mcl01)
  body_truncated,       // Content-Length beyond the end of the datagram (RFC 4475 clerr)
  missing_content_length,   // stream transport without Content-Length (RFC 3261 §18.3)
  count_
};

// A short human phrase for a reason, usable as a SIP Reason-Phrase ("Malformed Via").
std::string_view reason_phrase(parse_reason r) noexcept;

struct parse_error {
  parse_reason reason = parse_reason::bad_start_line;
  uint16_t status = 0;       // the response to send when answerable: 400, 505 or 513
  bool answerable = false;   // a request whose Via, From, To, Call-ID and CSeq are readable
  std::string_view head;     // the start line and header lines, for make_error_response()
};

// Whether a failed message can get an error response (never for responses or ACK).
inline bool can_answer(const parse_error& e) noexcept { return e.answerable; }

// One header field line: its name as received (long or compact, any case) and its value
// trimmed of LWS, line folds still inside.
struct header_field {
  header_id id = header_id::other;
  std::string_view name;
  std::string_view value;
};

class message_view {
 public:
  bool is_request() const noexcept { return request_; }
  bool is_response() const noexcept { return !request_; }

  // Request line.
  sip_method method() const noexcept { return method_; }
  std::string_view method_text() const noexcept { return method_text_; }
  const uri& request_uri() const noexcept { return request_uri_; }

  // Status line.
  uint16_t status() const noexcept { return status_; }
  std::string_view reason() const noexcept { return reason_; }

  // Header table, in message order.
  std::span<const header_field> headers() const noexcept { return {headers_.data(), header_count_}; }
  // First field with this id, or nullptr.
  const header_field* find(header_id id) const noexcept;
  // First field with this name (long or compact form, any case), or nullptr.
  const header_field* find(std::string_view name) const noexcept;
  // Number of header lines with this id.
  size_t count(header_id id) const noexcept;

  // Every list element of every header line with this id, in order (RFC 3261 §7.3.1:
  // "Via: a, b" and "Via: a" + "Via: b" read the same).
  class value_range;
  value_range values(header_id id) const noexcept;

  // Parsed while checking the message, so always present on a message_view.
  const via& top_via() const noexcept { return top_via_; }
  size_t via_count() const noexcept { return via_count_; }
  const name_addr& from() const noexcept { return from_; }
  const name_addr& to() const noexcept { return to_; }
  std::string_view call_id() const noexcept { return call_id_; }
  const sig::cseq& cseq() const noexcept { return cseq_; }
  std::optional<uint8_t> max_forwards() const noexcept { return max_forwards_; }
  const std::optional<media_type>& content_type() const noexcept { return content_type_; }

  // Headers read on demand; absent gives header_error::absent.
  result<uint32_t, header_error> expires() const noexcept;
  result<sig::event, header_error> event() const noexcept;
  result<sig::subscription_state, header_error> subscription_state() const noexcept;
  result<name_addr, header_error> refer_to() const noexcept;

  // Message body (framed by Content-Length) and the bytes of the whole message.
  std::string_view body() const noexcept { return body_; }
  std::string_view raw() const noexcept { return raw_; }

 private:
  friend result<message_view, parse_error> parse_message(std::string_view, const parse_limits&) noexcept;

  std::string_view raw_;
  bool request_ = false;
  sip_method method_ = sip_method::unknown;
  std::string_view method_text_;
  uri request_uri_;
  uint16_t status_ = 0;
  std::string_view reason_;
  std::array<header_field, parse_limits::header_capacity> headers_{};
  size_t header_count_ = 0;
  via top_via_;
  size_t via_count_ = 0;
  name_addr from_;
  name_addr to_;
  std::string_view call_id_;
  sig::cseq cseq_;
  std::optional<uint8_t> max_forwards_;
  std::optional<media_type> content_type_;
  std::string_view body_;
};

class message_view::value_range {
 public:
  class iterator {
   public:
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const header_field* cur, const header_field* end, header_id id) noexcept;
    std::string_view operator*() const noexcept { return element_; }
    iterator& operator++() noexcept;
    iterator operator++(int) noexcept {
      iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const iterator& o) const noexcept { return cur_ == o.cur_ && index_ == o.index_; }

   private:
    void seek(const header_field* from) noexcept;  // first element of the next line with id_
    const header_field* cur_ = nullptr;
    const header_field* end_ = nullptr;
    header_id id_ = header_id::other;
    text::comma_splitter split_{std::string_view{}};
    std::string_view element_;
    size_t index_ = 0;  // element number within *cur_
  };
  value_range(const header_field* begin, const header_field* end, header_id id) noexcept
      : begin_(begin), end_(end), id_(id) {}
  iterator begin() const noexcept { return iterator(begin_, end_, id_); }
  iterator end() const noexcept { return iterator(end_, end_, id_); }

 private:
  const header_field* begin_;
  const header_field* end_;
  header_id id_;
};

inline message_view::value_range message_view::values(header_id id) const noexcept {
  return value_range(headers_.data(), headers_.data() + header_count_, id);
}

// Parses one message from a datagram (or a stream frame found by frame_stream()).
result<message_view, parse_error> parse_message(std::string_view data, const parse_limits& limits = {}) noexcept;

// Stream framing (RFC 3261 §18.3): how many bytes of a TCP/TLS receive buffer make the next
// message. CRLFs before a start line are skipped and reported (a double CRLF is an RFC 5626
// keep-alive ping, answered with a single CRLF).
struct stream_frame {
  enum class state : uint8_t { need_more, complete, keepalive, error } status = state::need_more;
  size_t skip = 0;    // leading CRLF bytes to discard first
  size_t length = 0;  // message length after them, when complete
  parse_reason reason = parse_reason::bad_start_line;  // when error
};
stream_frame frame_stream(std::string_view buffered, const parse_limits& limits = {}) noexcept;

}  // namespace tutti::sig
