#include "signalling/sip/message.hpp"

#include <algorithm>

#include "signalling/sip/scan.hpp"

namespace tutti::sig {

using text::is_ws;

std::string_view reason_phrase(parse_reason r) noexcept {
  switch (r) {
    case parse_reason::empty: return "Empty Message";
    case parse_reason::message_too_large: return "Message Too Large";
    case parse_reason::bad_start_line: return "Malformed Start Line";
    case parse_reason::bad_request_uri: return "Malformed Request-URI";
    case parse_reason::unsupported_version: return "Version Not Supported";
    case parse_reason::bad_status_code: return "Malformed Status Code";
    case parse_reason::bad_header_line: return "Malformed Header Line";
    case parse_reason::header_too_long: return "Header Too Long";
    case parse_reason::too_many_headers: return "Too Many Headers";
    case parse_reason::headers_unterminated: return "Headers Not Terminated";
    case parse_reason::missing_header: return "Missing Mandatory Header";
    case parse_reason::duplicate_header: return "Duplicate Single-Value Header";
    case parse_reason::bad_via: return "Malformed Via";
    case parse_reason::too_many_vias: return "Too Many Via Entries";
    case parse_reason::bad_from: return "Malformed From";
    case parse_reason::bad_to: return "Malformed To";
    case parse_reason::bad_call_id: return "Malformed Call-ID";
    case parse_reason::bad_cseq: return "Malformed CSeq";
    case parse_reason::cseq_method_mismatch: return "CSeq Method Mismatch";
    case parse_reason::bad_max_forwards: return "Malformed Max-Forwards";
    case parse_reason::bad_contact: return "Malformed Contact";
    case parse_reason::bad_content_type: return "Malformed Content-Type";
    case parse_reason::bad_content_length: return "Malformed Content-Length";
    case parse_reason::content_length_conflict: return "Conflicting Content-Length";
    case parse_reason::body_truncated: return "Content-Length Exceeds Message";
    case parse_reason::missing_content_length: return "Missing Content-Length";
    case parse_reason::count_: break;
  }
  return "Bad Request";
}

namespace detail {

size_t leading_crlf(std::string_view data) noexcept {
  size_t i = 0;
  while (i < data.size() && (data[i] == '\r' || data[i] == '\n')) ++i;
  return i;
}

size_t start_line_end(std::string_view data) noexcept {
  const size_t lf = data.find('\n');
  return lf == std::string_view::npos ? lf : lf + 1;
}

std::string_view start_line(std::string_view data) noexcept {
  std::string_view line = data.substr(0, data.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

field_status next_field(std::string_view data, size_t pos, size_t max_bytes, raw_field& out) noexcept {
  if (pos >= data.size()) return field_status::unterminated;
  if (data[pos] == '\n') {
    out.next = pos + 1;
    return field_status::end_of_headers;
  }
  if (data[pos] == '\r') {
    if (pos + 1 >= data.size()) return field_status::unterminated;
    if (data[pos + 1] == '\n') {
      out.next = pos + 2;
      return field_status::end_of_headers;
    }
  }
  // Find the end of the field: a LF not followed by SP/HT (which would continue it).
  size_t p = pos, lf;
  while (true) {
    lf = data.find('\n', p);
    if (lf == std::string_view::npos) return field_status::unterminated;
    if (lf + 1 < data.size() && is_ws(data[lf + 1])) {
      p = lf + 1;
      continue;
    }
    break;
  }
  out.next = lf + 1;
  size_t end = lf;
  if (end > pos && data[end - 1] == '\r') --end;
  if (end - pos > max_bytes) return field_status::too_long;
  std::string_view field = data.substr(pos, end - pos);
  if (is_ws(field[0])) return field_status::bad_line;  // a fold with nothing to continue
  for (size_t i = 0; i < field.size(); ++i)
    if (field[i] == '\r' && (i + 1 == field.size() || field[i + 1] != '\n')) return field_status::bad_line;
  size_t i = 0;
  while (i < field.size() && text::is_token_char(field[i])) ++i;
  if (i == 0) return field_status::bad_line;
  out.name = field.substr(0, i);
  while (i < field.size() && is_ws(field[i])) ++i;
  if (i == field.size() || field[i] != ':') return field_status::bad_line;
  out.value = text::trim(field.substr(i + 1));
  return field_status::ok;
}

bool answerable(std::string_view head, const parse_limits& limits) noexcept {
  head.remove_prefix(leading_crlf(head));
  const std::string_view line = start_line(head);
  const size_t sp = line.find(' ');
  if (sp == std::string_view::npos || !text::is_token(line.substr(0, sp))) return false;
  if (line.substr(0, sp) == "ACK") return false;  // RFC 3261 §17.2.1: never answer an ACK
  std::string_view tail = line;
  while (!tail.empty() && is_ws(tail.back())) tail.remove_suffix(1);
  const size_t last = tail.rfind(' ');
  if (last == sp || tail.substr(last + 1).substr(0, 4) != "SIP/") return false;

  const size_t body = start_line_end(head);
  if (body == std::string_view::npos) return false;
  bool via = false, from = false, to = false, call_id = false, cseq = false;
  size_t vias = 0;
  size_t pos = body;
  for (size_t n = 0; n < limits.max_headers; ++n) {
    raw_field f;
    const field_status st = next_field(head, pos, limits.max_header_bytes, f);
    if (st == field_status::end_of_headers || st == field_status::unterminated) break;
    pos = f.next;
    if (st != field_status::ok) continue;
    switch (lookup_header(f.name)) {
      case header_id::via: {
        // Every Via is copied into the answer, so every one must read (and fit the limit).
        text::comma_splitter split(f.value);
        std::string_view v;
        while (split.next(v))
          if (++vias > limits.max_vias || !parse_via(v)) return false;
        via = true;
        break;
      }
      case header_id::from:
        if (!from && !(from = parse_name_addr(f.value).ok())) return false;
        break;
      case header_id::to:
        if (!to && !(to = parse_name_addr(f.value).ok())) return false;
        break;
      case header_id::call_id:
        if (!call_id && !(call_id = parse_call_id(f.value).ok())) return false;
        break;
      case header_id::cseq:
        if (!cseq && !(cseq = parse_cseq(f.value).ok())) return false;
        break;
      default:
        break;
    }
  }
  return via && from && to && call_id && cseq;
}

}  // namespace detail

namespace {

parse_error make_error(parse_reason r, std::string_view head, const parse_limits& limits) noexcept {
  parse_error e;
  e.reason = r;
  e.head = head;
  e.status = r == parse_reason::unsupported_version ? 505 : r == parse_reason::message_too_large ? 513 : 400;
  e.answerable = detail::answerable(head, limits);
  return e;
}

// "SIP/" 1*DIGIT "." 1*DIGIT
bool is_sip_version(std::string_view v) noexcept {
  if (v.substr(0, 4) != "SIP/") return false;
  v.remove_prefix(4);
  const size_t dot = v.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot + 1 == v.size()) return false;
  for (size_t i = 0; i < v.size(); ++i)
    if (i != dot && !text::is_digit(v[i])) return false;
  return true;
}

}  // namespace

result<message_view, parse_error> parse_message(std::string_view data, const parse_limits& limits) noexcept {
  const auto error = [&](parse_reason r, std::string_view head) {
    return fail(make_error(r, head, limits));
  };
  if (data.size() > limits.max_message_bytes)
    return error(parse_reason::message_too_large, data.substr(0, limits.max_message_bytes));
  data.remove_prefix(detail::leading_crlf(data));
  if (data.empty()) return error(parse_reason::empty, data);

  message_view m;
  m.raw_ = data;
  const size_t line_end = detail::start_line_end(data);
  if (line_end == std::string_view::npos) return error(parse_reason::bad_start_line, data);
  const std::string_view line = detail::start_line(data);
  if (line.find('\r') != std::string_view::npos) return error(parse_reason::bad_start_line, data);

  if (line.substr(0, 4) == "SIP/") {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2). A missing
    // SP after the code is tolerated (RFC 4475 noreason keeps it; liberal peers drop it).
    m.request_ = false;
    const size_t sp = line.find(' ');
    const std::string_view version = line.substr(0, sp);
    if (version != "SIP/2.0")
      return error(is_sip_version(version) ? parse_reason::unsupported_version : parse_reason::bad_start_line, data);
    if (sp == std::string_view::npos) return error(parse_reason::bad_start_line, data);
    const std::string_view rest = line.substr(sp + 1);
    const std::string_view code = rest.substr(0, rest.find(' '));
    if (code.size() != 3) return error(parse_reason::bad_status_code, data);
    auto status = text::parse_uint(code, 699);
    if (!status || *status < 100) return error(parse_reason::bad_status_code, data);
    m.status_ = static_cast<uint16_t>(*status);
    m.reason_ = code.size() < rest.size() ? rest.substr(4) : std::string_view{};
  } else {
    // Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 §7.1): single spaces.
    m.request_ = true;
    const size_t sp1 = line.find(' ');
    const size_t sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp1 == sp2 || !text::is_token(line.substr(0, sp1)))
      return error(parse_reason::bad_start_line, data);
    const std::string_view version = line.substr(sp2 + 1);
    if (version != "SIP/2.0")
      return error(is_sip_version(version) ? parse_reason::unsupported_version : parse_reason::bad_start_line, data);
    m.method_text_ = line.substr(0, sp1);
    m.method_ = lookup_method(m.method_text_);
    const std::string_view uri_text = line.substr(sp1 + 1, sp2 - sp1 - 1);
    auto u = parse_uri(uri_text);
    // RFC 4475 lwsruri/lwsstart (whitespace), ltgtruri (<>), escruri (headers in a SIP
    // Request-URI, which RFC 3261 §19.1.1 forbids).
    if (!u || ((u->scheme == uri_scheme::sip || u->scheme == uri_scheme::sips) && !u->headers.empty()))
      return error(parse_reason::bad_request_uri, data);
    m.request_uri_ = *u;
  }

  // Header fields.
  const std::string_view scan_head = data;
  size_t pos = line_end;
  size_t body_start = 0;
  while (true) {
    detail::raw_field f;
    const detail::field_status st = detail::next_field(data, pos, limits.max_header_bytes, f);
    if (st == detail::field_status::end_of_headers) {
      body_start = f.next;
      break;
    }
    switch (st) {
      case detail::field_status::unterminated: return error(parse_reason::headers_unterminated, scan_head);
      case detail::field_status::bad_line: return error(parse_reason::bad_header_line, scan_head);
      case detail::field_status::too_long: return error(parse_reason::header_too_long, scan_head);
      default: break;
    }
    if (m.header_count_ >= std::min(limits.max_headers, parse_limits::header_capacity))
      return error(parse_reason::too_many_headers, scan_head);
    m.headers_[m.header_count_++] = header_field{lookup_header(f.name), f.name, f.value};
    pos = f.next;
  }
  const std::string_view head = data.substr(0, body_start);

  // The headers every layer above relies on.
  for (std::string_view v : m.values(header_id::via)) {
    if (++m.via_count_ > limits.max_vias) return error(parse_reason::too_many_vias, head);
    auto parsed = parse_via(v);
    if (!parsed) return error(parse_reason::bad_via, head);
    if (m.via_count_ == 1) m.top_via_ = *parsed;
  }
  if (m.via_count_ == 0) return error(parse_reason::missing_header, head);

  struct single {
    header_id id;
    parse_reason bad;
  };
  for (const single& s : {single{header_id::from, parse_reason::bad_from}, single{header_id::to, parse_reason::bad_to},
                          single{header_id::call_id, parse_reason::bad_call_id},
                          single{header_id::cseq, parse_reason::bad_cseq}}) {
    const header_field* f = m.find(s.id);
    if (!f) return error(parse_reason::missing_header, head);
    if (m.count(s.id) > 1) return error(parse_reason::duplicate_header, head);
    bool ok = false;
    switch (s.id) {
      case header_id::from:
        if (auto r = parse_name_addr(f->value); (ok = r.ok())) m.from_ = *r;
        break;
      case header_id::to:
        if (auto r = parse_name_addr(f->value); (ok = r.ok())) m.to_ = *r;
        break;
      case header_id::call_id:
        if (auto r = parse_call_id(f->value); (ok = r.ok())) m.call_id_ = *r;
        break;
      default:
        if (auto r = parse_cseq(f->value); (ok = r.ok())) m.cseq_ = *r;
        break;
    }
    if (!ok) return error(s.bad, head);
  }
  if (m.request_ && m.cseq_.method_text != m.method_text_) return error(parse_reason::cseq_method_mismatch, head);

  if (const header_field* f = m.find(header_id::max_forwards)) {
    if (m.count(header_id::max_forwards) > 1) return error(parse_reason::duplicate_header, head);
    auto mf = parse_max_forwards(f->value);
    if (!mf) return error(parse_reason::bad_max_forwards, head);
    m.max_forwards_ = *mf;
  }
  for (std::string_view v : m.values(header_id::contact))
    if (!parse_contact(v)) return error(parse_reason::bad_contact, head);
  if (const header_field* f = m.find(header_id::content_type)) {
    if (m.count(header_id::content_type) > 1) return error(parse_reason::duplicate_header, head);
    auto ct = parse_media_type(f->value);
    if (!ct) return error(parse_reason::bad_content_type, head);
    m.content_type_ = *ct;
  }

  // Body framing (RFC 3261 §18.3): Content-Length octets; bytes after them are ignored
  // (RFC 4475 dblreq); more than the datagram holds is an error (clerr).
  const size_t available = data.size() - body_start;
  if (const header_field* f = m.find(header_id::content_length)) {
    if (m.count(header_id::content_length) > 1) return error(parse_reason::content_length_conflict, head);
    auto len = parse_content_length(f->value);
    if (!len) return error(parse_reason::bad_content_length, head);
    if (*len > available) return error(parse_reason::body_truncated, head);
    m.body_ = data.substr(body_start, *len);
  } else {
    if (!limits.datagram) return error(parse_reason::missing_content_length, head);
    m.body_ = data.substr(body_start);
  }
  m.raw_ = data.substr(0, body_start + m.body_.size());
  return m;
}

const header_field* message_view::find(header_id id) const noexcept {
  for (size_t i = 0; i < header_count_; ++i)
    if (headers_[i].id == id) return &headers_[i];
  return nullptr;
}

const header_field* message_view::find(std::string_view name) const noexcept {
  const header_id id = lookup_header(name);
  if (id != header_id::other) return find(id);
  for (size_t i = 0; i < header_count_; ++i)
    if (headers_[i].id == header_id::other && text::iequals(headers_[i].name, name)) return &headers_[i];
  return nullptr;
}

size_t message_view::count(header_id id) const noexcept {
  size_t n = 0;
  for (size_t i = 0; i < header_count_; ++i) n += headers_[i].id == id;
  return n;
}

result<uint32_t, header_error> message_view::expires() const noexcept {
  const header_field* f = find(header_id::expires);
  if (!f) return fail(header_error::absent);
  return parse_delta_seconds(f->value);
}

result<sig::event, header_error> message_view::event() const noexcept {
  const header_field* f = find(header_id::event);
  if (!f) return fail(header_error::absent);
  return parse_event(f->value);
}

result<sig::subscription_state, header_error> message_view::subscription_state() const noexcept {
  const header_field* f = find(header_id::subscription_state);
  if (!f) return fail(header_error::absent);
  return parse_subscription_state(f->value);
}

result<name_addr, header_error> message_view::refer_to() const noexcept {
  const header_field* f = find(header_id::refer_to);
  if (!f) return fail(header_error::absent);
  return parse_name_addr(f->value);
}

message_view::value_range::iterator::iterator(const header_field* cur, const header_field* end, header_id id) noexcept
    : end_(end), id_(id) {
  seek(cur);
}

void message_view::value_range::iterator::seek(const header_field* from) noexcept {
  while (from != end_ && from->id != id_) ++from;
  cur_ = from;
  index_ = 0;
  if (cur_ == end_) return;
  split_ = text::comma_splitter(cur_->value);
  split_.next(element_);
}

message_view::value_range::iterator& message_view::value_range::iterator::operator++() noexcept {
  if (split_.next(element_)) ++index_;
  else seek(cur_ + 1);
  return *this;
}

stream_frame frame_stream(std::string_view buffered, const parse_limits& limits) noexcept {
  stream_frame fr;
  fr.skip = detail::leading_crlf(buffered);
  std::string_view data = buffered.substr(fr.skip);
  if (data.empty()) {
    // RFC 5626 §3.5.1: CRLFCRLF is a ping, CRLF its pong.
    fr.status = fr.skip >= 2 ? stream_frame::state::keepalive : stream_frame::state::need_more;
    return fr;
  }
  const auto error = [&](parse_reason r) {
    fr.status = stream_frame::state::error;
    fr.reason = r;
    return fr;
  };
  const size_t line_end = detail::start_line_end(data);
  if (line_end == std::string_view::npos) {
    if (data.size() > limits.max_message_bytes) return error(parse_reason::message_too_large);
    return fr;
  }
  size_t pos = line_end;
  std::optional<uint32_t> length;
  for (size_t n = 0;; ++n) {
    detail::raw_field f;
    const detail::field_status st = detail::next_field(data, pos, limits.max_header_bytes, f);
    if (st == detail::field_status::end_of_headers) {
      pos = f.next;
      break;
    }
    if (st == detail::field_status::unterminated) {
      if (data.size() > limits.max_message_bytes) return error(parse_reason::message_too_large);
      return fr;  // need more
    }
    if (st == detail::field_status::too_long) return error(parse_reason::header_too_long);
    if (st == detail::field_status::bad_line) return error(parse_reason::bad_header_line);
    if (n >= limits.max_headers) return error(parse_reason::too_many_headers);
    if (lookup_header(f.name) == header_id::content_length) {
      if (length) return error(parse_reason::content_length_conflict);
      auto len = parse_content_length(f.value);
      if (!len) return error(parse_reason::bad_content_length);
      length = *len;
    }
    pos = f.next;
  }
  if (!length) return error(parse_reason::missing_content_length);
  if (pos + *length > limits.max_message_bytes) return error(parse_reason::message_too_large);
  if (data.size() < pos + *length) return fr;
  fr.status = stream_frame::state::complete;
  fr.length = pos + *length;
  return fr;
}

}  // namespace tutti::sig
