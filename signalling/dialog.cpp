#include "signalling/dialog.hpp"

#include <algorithm>

#include "signalling/sip/text.hpp"

namespace tutti::sig {

namespace {

// The Contact URI of a message (first value), or nullopt.
std::optional<std::string> contact_uri(const message_view& m) {
  for (std::string_view v : m.values(header_id::contact)) {
    auto c = parse_contact(v);
    if (!c || c->star) return std::nullopt;
    return std::string(c->address.uri.text);
  }
  return std::nullopt;
}

std::vector<std::string> record_route(const message_view& m) {
  std::vector<std::string> routes;
  for (std::string_view v : m.values(header_id::record_route)) routes.push_back(text::unfold(v));
  return routes;
}

void name_addr_to(std::string& out, std::string_view display, std::string_view uri, std::string_view tag) {
  if (!display.empty()) out.append(quote_display(display)).append(" ");
  out.append("<").append(uri).append(">");
  if (!tag.empty()) out.append(";tag=").append(tag);
}

// Route, From, To, Call-ID, CSeq and Max-Forwards of a request in the dialog (§12.2.1.1).
void add_dialog_headers(message_builder& b, const dialog& d, std::string_view method, uint32_t cseq) {
  for (const std::string& r : d.route_set) b.add(header_id::route, r);
  std::string from, to;
  name_addr_to(from, {}, d.local_uri, d.local_tag);
  name_addr_to(to, {}, d.remote_uri, d.remote_tag);
  b.add(header_id::from, from);
  b.add(header_id::to, to);
  b.add(header_id::call_id, d.call_id);
  b.add(header_id::cseq, std::to_string(cseq) + " " + std::string(method));
  b.add(header_id::max_forwards, 70);
}

}  // namespace

std::string quote_display(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\r' || c == '\n') c = ' ';
    out += c;
  }
  out += '"';
  return out;
}

std::optional<dialog> dialog_as_uas(const message_view& req, const peer& from, std::string_view to_tag,
                                    std::string_view local_contact) {
  if (!req.from().has_tag || req.from().tag.empty() || to_tag.empty()) return std::nullopt;
  auto target = contact_uri(req);
  if (!target) return std::nullopt;
  dialog d;
  d.call_id = std::string(req.call_id());
  d.local_tag = std::string(to_tag);
  d.remote_tag = std::string(req.from().tag);
  d.local_uri = std::string(req.to().uri.text);
  d.remote_uri = std::string(req.from().uri.text);
  d.remote_target = std::move(*target);
  d.route_set = record_route(req);  // §12.1.1: in order
  d.local_contact = std::string(local_contact);
  d.remote_cseq = req.cseq().number;
  d.next_hop = from;
  return d;
}

std::optional<dialog> dialog_as_uac(const message_view& req, const message_view& response, const peer& to,
                                    std::string_view local_contact) {
  if (!response.to().has_tag || response.to().tag.empty()) return std::nullopt;
  auto target = contact_uri(response);
  if (!target) return std::nullopt;
  dialog d;
  d.call_id = std::string(req.call_id());
  d.local_tag = std::string(req.from().tag);
  d.remote_tag = std::string(response.to().tag);
  d.local_uri = std::string(req.from().uri.text);
  d.remote_uri = std::string(req.to().uri.text);
  d.remote_target = std::move(*target);
  d.route_set = record_route(response);  // §12.1.2: in reverse order
  std::reverse(d.route_set.begin(), d.route_set.end());
  d.local_contact = std::string(local_contact);
  d.local_cseq = req.cseq().number;
  d.next_hop = to;
  return d;
}


message_builder build_request(dialog& d, std::string_view method, bool with_contact, std::optional<uint32_t> cseq) {
  const uint32_t number = cseq ? *cseq : ++d.local_cseq;
  message_builder b = message_builder::request(method, d.remote_target);
  add_dialog_headers(b, d, method, number);
  if (with_contact && !d.local_contact.empty()) b.add(header_id::contact, "<" + d.local_contact + ">");
  return b;
}

std::string ack_for_2xx(const dialog& d, uint32_t invite_cseq, std::string_view via_transport,
                        std::string_view sent_by, std::string_view branch) {
  message_builder b = message_builder::request("ACK", d.remote_target);
  b.add(header_id::via, "SIP/2.0/" + std::string(via_transport) + " " + std::string(sent_by) + ";branch=" +
                            std::string(branch) + ";rport");
  add_dialog_headers(b, d, "ACK", invite_cseq);
  return b.finish();
}

bool check_remote_cseq(dialog& d, uint32_t cseq) noexcept {
  if (d.remote_cseq && cseq <= *d.remote_cseq) return false;
  d.remote_cseq = cseq;
  return true;
}

bool in_dialog(const dialog& d, const message_view& req) noexcept {
  return req.call_id() == d.call_id && req.to().tag == d.local_tag && req.from().tag == d.remote_tag;
}

message_builder build_request(const request_head& h) {
  message_builder b = message_builder::request(h.method, h.request_uri);
  std::string from, to;
  name_addr_to(from, h.from_display, h.from_uri, h.from_tag);
  name_addr_to(to, h.to_display, h.to_uri, {});
  b.add(header_id::from, from);
  b.add(header_id::to, to);
  b.add(header_id::call_id, h.call_id);
  b.add(header_id::cseq, std::to_string(h.cseq) + " " + std::string(h.method));
  b.add(header_id::max_forwards, 70);
  return b;
}

std::optional<dialog> dialog_as_uac(const request_head& sent, const message_view& response, const peer& to,
                                    std::string_view local_contact) {
  if (!response.to().has_tag || response.to().tag.empty()) return std::nullopt;
  auto target = contact_uri(response);
  if (!target) return std::nullopt;
  dialog d;
  d.call_id = std::string(sent.call_id);
  d.local_tag = std::string(sent.from_tag);
  d.remote_tag = std::string(response.to().tag);
  d.local_uri = std::string(sent.from_uri);
  d.remote_uri = std::string(sent.to_uri);
  d.remote_target = std::move(*target);
  d.route_set = record_route(response);  // §12.1.2: in reverse order
  std::reverse(d.route_set.begin(), d.route_set.end());
  d.local_contact = std::string(local_contact);
  d.local_cseq = sent.cseq;
  d.next_hop = to;
  return d;
}

}  // namespace tutti::sig
