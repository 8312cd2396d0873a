// libFuzzer target: the whole SIP receive path. Bytes go into the transport's receive entry
// as datagrams or as a TCP stream, then through the transaction layer, the stack's UAS
// checks and the handlers a registrar and a focus plug in (digest authentication, the
// registrar, an INVITE/ACK/BYE/CANCEL dialog table with SDP offer/answer); whatever the
// stack answers is captured by the transport's tap, never sent on a network.
//
// Input: byte 0 bit 0 picks UDP (0) or TCP (1); the rest is cut at NUL bytes into
// messages (UDP: one datagram each; TCP: stream chunks, framed by frame_stream as a
// connection would). After each message, every 401 the stack sent is answered the way a
// client would: the same request with a new branch and an Authorization for alice (MD5 or
// SHA-256 as challenged), so mutations reach the authenticated paths too.
//
// Invariants (abort on violation): every message the stack sends parses as a SIP message
// and is a response with a status 100..699, or a CRLF keep-alive pong on TCP; the stack's
// request counters never exceed the messages fed in.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "signalling/auth.hpp"
#include "signalling/digest.hpp"
#include "signalling/offer_answer.hpp"
#include "signalling/registrar.hpp"
#include "signalling/sdp.hpp"
#include "signalling/sip/serializer.hpp"
#include "signalling/sip_stack.hpp"

using namespace tutti::sig;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr uint64_t now_s = 1'800'000'000;  // fixed: nonces depend on the input only
constexpr std::string_view realm = "example.com";

struct harness {
  boost::asio::io_context io;
  sip_stack stack{io, settings()};
  memory_credentials users;
  authenticator auth{auth_settings(), users};
  location_service locations;
  registrar reg{registrar_config{{std::string(realm), "127.0.0.1"}, 3600, 60, 3600, 10}, locations};
  std::set<std::string> dialogs;  // Call-IDs answered 200
  std::vector<std::string> sent;  // what the stack sent since the last look
  peer client{transport_kind::udp, boost::asio::ip::make_address("127.0.0.1"), 5070, 0};
  uint64_t fed = 0;

  static stack_settings settings() {
    stack_settings s;
    s.supported = {"timer", "100rel"};
    return s;
  }
  static auth_config auth_settings() {
    auth_config a;
    a.realm = std::string(realm);
    a.secret = "fuzz-secret";
    a.replay_table_size = 64;  // small: fresh per input, and its eviction runs too
    return a;
  }

  // Digest check as the services do it: false when the challenge or refusal went out.
  bool authenticated(const message_view& req, const request_context& ctx, const server_transaction_ptr& tx) {
    auto o = auth.check(req, ctx);
    if (o.status == auth_status::ok) return true;
    tx->send(o.response);
    return false;
  }

  request_context context(const message_view& req, const peer& from, std::string& top) {
    top = stamp_via(req.top_via(), "127.0.0.1", from.port);
    request_context c;
    c.now_s = now_s;
    c.transport = from.reliable() ? "tcp" : "udp";
    c.source_ip = "127.0.0.1";
    c.source_port = from.port;
    c.to_tag = req.to().has_tag ? "" : "fz1";
    c.top_via = top;
    return c;
  }

  harness() {
    users.add_password("alice", realm, "wonderland");
    stack.wire().set_tap([this](const peer&, std::string_view bytes) {
      sent.emplace_back(bytes);
      return true;
    });
    stack.on_request(sip_method::register_, [this](const message_view& req, const peer& from,
                                                   server_transaction_ptr tx) {
      std::string top;
      const request_context ctx = context(req, from, top);
      if (!authenticated(req, ctx, tx)) return;
      tx->send(reg.handle(req, ctx).response);
    });
    stack.on_request(sip_method::invite, [this](const message_view& req, const peer& from,
                                                server_transaction_ptr tx) {
      std::string top;
      const request_context ctx = context(req, from, top);
      if (!authenticated(req, ctx, tx)) return;
      const auto offer = sdp::parse(req.body());
      if (!offer) {
        tx->reply(488);
        return;
      }
      const auto audio = negotiate_audio(*offer);
      if (!audio) {
        tx->reply(488);
        return;
      }
      const bool known = dialogs.count(std::string(req.call_id())) != 0;
      if (req.to().has_tag && !known) {
        tx->reply(481);
        return;
      }
      dialogs.emplace(req.call_id());
      auto r = tx->response(200);
      r.add("Contact", "<sip:focus@127.0.0.1>;isfocus");
      tx->send(r.finish(sdp::build(build_answer(*offer, *audio, "127.0.0.1", 40000, 1, 1)), "application/sdp"));
    });
    stack.on_request(sip_method::bye, [this](const message_view& req, const peer&, server_transaction_ptr tx) {
      tx->reply(dialogs.erase(std::string(req.call_id())) ? 200 : 481);
    });
    stack.on_ack([](const message_view&, const peer&) {});
  }

  void feed(std::string_view message, const peer& from) {
    ++fed;
    stack.wire().receive(message, from);
  }

  // The request again with a new branch and digest credentials for alice, as a client
  // answers a challenge (RFC 3261 §22.2).
  void answer_challenge(std::string_view request, std::string_view challenge_response, const peer& from) {
    auto resp = parse_message(challenge_response, parse_limits{});
    auto req = parse_message(request, parse_limits{});
    if (!resp || !req || !req->is_request()) return;
    const header_field* h = resp->find(header_id::www_authenticate);
    if (!h) return;
    auto ch = parse_challenge(h->value);
    if (!ch) return;
    const std::string uri(req->request_uri().text);
    const std::string ha1 = digest_ha1(ch->algorithm, "alice", ch->realm, "wonderland");
    digest_credentials c;
    c.username = "alice";
    c.realm = ch->realm;
    c.nonce = ch->nonce;
    c.uri = uri;
    c.opaque = ch->opaque;
    c.algorithm = ch->algorithm;
    if (ch->qop_auth) {
      c.qop = "auth";
      c.nc = "00000001";
      c.nc_value = 1;
      c.cnonce = "fz";
    }
    c.response = digest_response(ch->algorithm, ha1,
                                 digest_input{method_name(req->method()), uri, c.nonce, c.nc, c.cnonce, c.qop, {}});
    std::string again(request);
    const size_t line_end = again.find("\r\n");
    if (line_end == std::string::npos) return;
    again.insert(line_end + 2, "Authorization: " + format_credentials(c) + "\r\n");
    const size_t b = again.find("branch=");
    if (b != std::string::npos) again.insert(b + 7, "z9hG4bKau");
    feed(again, from);
  }

  // Checks what went out; returns the 401 responses among it.
  std::vector<std::string> take_sent(bool tcp) {
    std::vector<std::string> challenges;
    for (const std::string& s : sent) {
      if (tcp && (s == "\r\n")) continue;
      parse_limits l;
      l.datagram = !tcp;
      auto m = parse_message(s, l);
      check(m.ok());
      check(m->is_response() && m->status() >= 100 && m->status() <= 699);
      if (m->status() == 401) challenges.push_back(s);
    }
    sent.clear();
    return challenges;
  }

  void message(std::string_view bytes, const peer& from, bool tcp) {
    feed(bytes, from);
    for (const std::string& ch : take_sent(tcp)) answer_challenge(bytes, ch, from);
    take_sent(tcp);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool tcp = (data[0] & 1) != 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  harness h;
  peer from = h.client;
  if (tcp) {
    from.transport = transport_kind::tcp;
    from.connection = 1;
  }
  std::string stream;  // TCP: what has arrived and not yet been framed
  size_t start = 0;
  while (start <= in.size()) {
    size_t end = in.find('\0', start);
    if (end == std::string_view::npos) end = in.size();
    const std::string_view chunk = in.substr(start, end - start);
    start = end + 1;
    if (!tcp) {
      h.message(chunk, from, false);
      continue;
    }
    stream.append(chunk);
    size_t off = 0;
    bool lost = false;
    while (!lost) {
      const stream_frame f = frame_stream(std::string_view(stream).substr(off));
      if (f.status == stream_frame::state::need_more) break;
      if (f.status == stream_frame::state::error) lost = true;  // the connection would close
      else if (f.status == stream_frame::state::keepalive) off += f.skip;
      else {
        h.message(std::string_view(stream).substr(off + f.skip, f.length), from, true);
        off += f.skip + f.length;
      }
    }
    if (lost) break;
    stream.erase(0, off);
  }
  // Every new request counted by the stack came in through feed().
  uint64_t counted = 0;
  for (uint64_t n : h.stack.counters().requests) counted += n;
  check(counted <= h.fed);
  // Timers due now (none have run: no time passed) may not break anything either.
  h.io.poll();
  return 0;
}
