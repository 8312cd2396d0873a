// Line-level scanning of a SIP message head, shared by the parser and by the error-response
// builder (which re-reads the head of a message that failed to parse). Internal to sip/.
#pragma once

#include <cstddef>
#include <string_view>

#include "signalling/sip/message.hpp"

namespace tutti::sig::detail {

enum class field_status : unsigned char {
  ok,              // a header field in `field`
  end_of_headers,  // the empty line; next is where the body starts
  unterminated,    // the data ends before the empty line
  bad_line,        // not "name: value", or a stray CR; next skips the line
  too_long,        // longer than the limit; next skips it
};

struct raw_field {
  std::string_view name;
  std::string_view value;  // trimmed, folds inside
  size_t next = 0;         // offset of the line after this field
};

// Reads the header field starting at pos (with its continuation lines). Lines end in CRLF
// or a bare LF (RFC 3261 §7.5 asks for CRLF; a bare LF is tolerated).
field_status next_field(std::string_view data, size_t pos, size_t max_bytes, raw_field& out) noexcept;

// Offset just past the start line, or npos when there is no LF.
size_t start_line_end(std::string_view data) noexcept;

// The start line without its terminator.
std::string_view start_line(std::string_view data) noexcept;

// Number of CR/LF octets before the start line (RFC 3261 §7.5: ignore them).
size_t leading_crlf(std::string_view data) noexcept;

// Whether a failed message is a request that can be answered: a recognisable request line
// (not ACK) and a readable first Via, From, To, Call-ID and CSeq among its header fields.
bool answerable(std::string_view head, const parse_limits& limits) noexcept;

}  // namespace tutti::sig::detail
