#include "signalling/sip/serializer.hpp"

#include "signalling/sip/scan.hpp"

namespace tutti::sig {

std::string_view default_reason(uint16_t status) noexcept {
  switch (status) {
    case 100: return "Trying";
    case 180: return "Ringing";
    case 181: return "Call Is Being Forwarded";
    case 182: return "Queued";
    case 183: return "Session Progress";
    case 199: return "Early Dialog Terminated";
    case 200: return "OK";
    case 202: return "Accepted";
    case 204: return "No Notification";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Moved Temporarily";
    case 305: return "Use Proxy";
    case 380: return "Alternative Service";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 412: return "Conditional Request Failed";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Unsupported URI Scheme";
    case 420: return "Bad Extension";
    case 421: return "Extension Required";
    case 423: return "Interval Too Brief";
    case 480: return "Temporarily Unavailable";
    case 481: return "Call/Transaction Does Not Exist";
    case 482: return "Loop Detected";
    case 483: return "Too Many Hops";
    case 484: return "Address Incomplete";
    case 485: return "Ambiguous";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    case 488: return "Not Acceptable Here";
    case 489: return "Bad Event";
    case 491: return "Request Pending";
    case 493: return "Undecipherable";
    case 500: return "Server Internal Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Server Time-out";
    case 505: return "Version Not Supported";
    case 513: return "Message Too Large";
    case 600: return "Busy Everywhere";
    case 603: return "Decline";
    case 604: return "Does Not Exist Anywhere";
    case 606: return "Not Acceptable";
    default: return "Unknown";
  }
}

message_builder message_builder::request(std::string_view method, std::string_view request_uri) {
  message_builder b{std::string()};
  b.append_clean(method);
  b.out_ += ' ';
  b.append_clean(request_uri);
  b.out_ += " SIP/2.0\r\n";
  return b;
}

message_builder message_builder::response(uint16_t status, std::string_view reason) {
  message_builder b{"SIP/2.0 " + std::to_string(status) + ' '};
  b.append_clean(reason.empty() ? default_reason(status) : reason);
  b.out_ += "\r\n";
  return b;
}

void message_builder::append_clean(std::string_view s) {
  for (char c : s) out_ += (c == '\r' || c == '\n') ? ' ' : c;
}

message_builder& message_builder::add(std::string_view name, std::string_view value) {
  append_clean(name);
  out_ += ": ";
  append_clean(value);
  out_ += "\r\n";
  return *this;
}

message_builder& message_builder::add(header_id id, uint64_t value) {
  return add(header_name(id), std::to_string(value));
}

std::string message_builder::finish(std::string_view body, std::string_view content_type) {
  if (!body.empty() && !content_type.empty()) add(header_id::content_type, content_type);
  add(header_id::content_length, static_cast<uint64_t>(body.size()));
  out_ += "\r\n";
  out_ += body;
  return std::move(out_);
}

namespace {

std::string with_tag(std::string_view to_value, bool has_tag, std::string_view tag) {
  std::string v = text::unfold(to_value);
  if (!has_tag && !tag.empty()) {
    v += ";tag=";
    v += tag;
  }
  return v;
}

}  // namespace

message_builder make_response(const message_view& req, uint16_t status, std::string_view reason,
                              const response_options& options) {
  message_builder b = message_builder::response(status, reason);
  size_t n = 0;
  for (std::string_view v : req.values(header_id::via)) {
    if (n++ == 0 && !options.top_via.empty()) b.add(header_id::via, options.top_via);
    else b.add(header_id::via, text::unfold(v));
  }
  b.add(header_id::from, text::unfold(req.find(header_id::from)->value));
  // RFC 3261 §8.2.6.2: a UAS adds a To tag to every response but 100 Trying.
  b.add(header_id::to, with_tag(req.find(header_id::to)->value, req.to().has_tag,
                                status == 100 ? std::string_view{} : options.to_tag));
  b.add(header_id::call_id, req.call_id());
  b.add(header_id::cseq, text::unfold(req.find(header_id::cseq)->value));
  if (status == 100)
    if (const header_field* ts = req.find(header_id::timestamp)) b.add(header_id::timestamp, text::unfold(ts->value));
  return b;
}

std::string stamp_via(const via& top, std::string_view source_ip, uint16_t source_port) {
  std::string out;
  out.append(top.protocol_name).append("/").append(top.protocol_version).append("/").append(top.transport);
  out += ' ';
  if (top.host_type == host_kind::ipv6) out.append("[").append(top.host).append("]");
  else out.append(top.host);
  if (top.port != 0) out.append(":").append(std::to_string(top.port));
  // RFC 3581 §4: with rport, received is added even when it equals sent-by.
  const bool add_received = top.has_rport || top.host != source_ip;
  bool wrote_received = false;
  text::param_reader r(top.params);
  text::param p;
  while (r.next(p)) {
    if (text::iequals(p.name, "received")) {
      if (add_received && !wrote_received) out.append(";received=").append(source_ip);
      else if (!add_received) out.append(";received=").append(p.value);
      wrote_received = true;
    } else if (text::iequals(p.name, "rport") && !p.has_value) {
      out.append(";rport=").append(std::to_string(source_port));
    } else {
      out.append(";").append(p.name);
      if (p.has_value) out.append("=").append(p.value);
    }
  }
  if (add_received && !wrote_received) out.append(";received=").append(source_ip);
  return out;
}

std::string make_error_response(const parse_error& e, std::string_view to_tag) {
  if (!e.answerable) return {};
  const parse_limits limits;
  std::string_view head = e.head.substr(detail::leading_crlf(e.head));
  const size_t body = detail::start_line_end(head);
  if (body == std::string_view::npos) return {};
  message_builder b = message_builder::response(e.status, reason_phrase(e.reason));
  std::string_view from, to, call_id, cseq;
  size_t pos = body;
  // First pass: the Via values, in order; the others are written after them.
  for (size_t n = 0; n < limits.max_headers; ++n) {
    detail::raw_field f;
    const detail::field_status st = detail::next_field(head, pos, limits.max_header_bytes, f);
    if (st == detail::field_status::end_of_headers || st == detail::field_status::unterminated) break;
    pos = f.next;
    if (st != detail::field_status::ok) continue;
    switch (lookup_header(f.name)) {
      case header_id::via: {
        text::comma_splitter split(f.value);
        std::string_view v;
        while (split.next(v)) b.add(header_id::via, text::unfold(v));
        break;
      }
      case header_id::from: if (from.empty()) from = f.value; break;
      case header_id::to: if (to.empty()) to = f.value; break;
      case header_id::call_id: if (call_id.empty()) call_id = f.value; break;
      case header_id::cseq: if (cseq.empty()) cseq = f.value; break;
      default: break;
    }
  }
  auto to_parsed = parse_name_addr(to);
  b.add(header_id::from, text::unfold(from));
  b.add(header_id::to, with_tag(to, to_parsed && to_parsed->has_tag, to_tag));
  b.add(header_id::call_id, text::trim(call_id));
  b.add(header_id::cseq, text::unfold(cseq));
  return b.finish();
}

}  // namespace tutti::sig
