// libFuzzer target: SIP message parsing, typed header access, response building.
// Invariants (abort on violation): a parsed message's views lie inside the input; a
// response built from a parsed request parses back to the same transaction; an error
// response for an answerable failure parses as a response with the promised status.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "signalling/sip/message.hpp"
#include "signalling/sip/serializer.hpp"

using namespace tutti::sig;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

parse_limits generous() {
  parse_limits l;
  l.max_message_bytes = 1 << 20;
  l.max_header_bytes = 1 << 20;
  return l;
}

void exercise(const message_view& m, std::string_view in) {
  check(inside(m.raw(), in) && inside(m.body(), m.raw()));
  for (const header_field& h : m.headers()) check(inside(h.value, m.raw()) && inside(h.name, m.raw()));
  size_t vias = 0;
  for (std::string_view v : m.values(header_id::via)) {
    check(parse_via(v).ok());
    ++vias;
  }
  check(vias == m.via_count());
  for (header_id id : {header_id::route, header_id::record_route, header_id::contact})
    for (std::string_view v : m.values(id)) (void)parse_contact(v);
  for (std::string_view v : m.values(header_id::accept)) (void)parse_media_type(v);
  for (header_id id : {header_id::allow, header_id::supported, header_id::require})
    if (const header_field* f = m.find(id)) (void)token_list_contains(f->value, "timer");
  (void)m.expires();
  (void)m.event();
  (void)m.subscription_state();
  (void)m.refer_to();
  if (m.is_request() && m.method() != sip_method::ack) {
    const std::string top = stamp_via(m.top_via(), "192.0.2.1", 5060);
    message_builder b = make_response(m, 200, {}, response_options{"fz", top});
    const std::string wire = b.finish("x", "text/plain");
    auto r = parse_message(wire, generous());
    check(r.ok());
    check(r->status() == 200 && r->call_id() == m.call_id() && r->cseq().number == m.cseq().number);
    check(r->via_count() == m.via_count() && r->top_via().branch == m.top_via().branch);
    check(r->to().has_tag && r->body() == "x");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (bool datagram : {true, false}) {
    parse_limits limits;
    limits.datagram = datagram;
    auto r = parse_message(in, limits);
    if (r) {
      exercise(*r, in);
    } else {
      check(!r.error().answerable || r.error().status != 0);
      const std::string answer = make_error_response(r.error(), "fz");
      check(answer.empty() == !can_answer(r.error()));
      if (!answer.empty()) {
        auto a = parse_message(answer, generous());
        check(a.ok());
        check(a->status() == r.error().status);
      }
    }
  }
  const stream_frame f = frame_stream(in);
  if (f.status == stream_frame::state::complete) check(f.skip + f.length <= size);
  return 0;
}
