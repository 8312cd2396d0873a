// libFuzzer target: arbitrary Authorization headers and whole requests through the digest
// authenticator and the registrar. Input: first byte picks the mode, the rest is
//   mode 0: an Authorization value put into a REGISTER for alice;
//   mode 1: a whole SIP message (authenticated, then, if ok or not, registered);
// In mode 0, "@N@" becomes a fresh valid nonce, "@O@" our opaque, then "@R@" the correct response for the
// credentials as parsed, so the fuzzer reaches the replay, stale and identity checks.
// Invariants: no crash; every refusal carries a response that parses with the matching status.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "signalling/auth.hpp"
#include "signalling/registrar.hpp"

using namespace tutti::sig;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}

struct state {
  memory_credentials users;
  location_service loc;
  authenticator auth;
  registrar reg;
  uint64_t now = 1'700'000'000;
  state()
      : auth((users.add_password("alice", "example.com", "pw"), auth_config{"example.com", "fuzz", 300, 8, false, true}),
             users),
        reg(registrar_config{{"example.com"}, 3600, 60, 3600, 4}, loc) {}
};

void run(state& s, const std::string& msg) {
  auto m = parse_message(msg);
  if (!m || !m->is_request()) return;
  request_context ctx;
  ctx.now_s = s.now;
  ctx.transport = "udp";
  ctx.source_ip = "192.0.2.1";
  ctx.source_port = 5060;
  ctx.to_tag = "t";
  const auth_outcome o = s.auth.check(*m, ctx);
  if (o.status != auth_status::ok) {
    auto r = parse_message(o.response);
    check(r.ok() && r->is_response());
    const uint16_t want = o.status == auth_status::forbidden ? 403 : o.status == auth_status::bad_request ? 400 : 401;
    check(r->status() == want);
  } else {
    check(o.user == "alice");
  }
  if (m->method() == sip_method::register_) {
    const register_result r = s.reg.handle(*m, ctx);
    auto p = parse_message(r.response);
    check(p.ok() && p->status() == r.status);
  }
  s.loc.expire(s.now);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static state s;  // kept across inputs: the replay table and location service fill up
  if (size == 0) return 0;
  s.now += data[0] >> 2;  // time moves on, so nonces expire now and then
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((data[0] & 1) == 0) {
    std::string value(in);
    if (value.find('\r') != std::string::npos || value.find('\n') != std::string::npos) return 0;
    replace_all(value, "@N@", s.auth.make_nonce(s.now));
    replace_all(value, "@O@", s.auth.opaque());
    if (auto c = parse_credentials(value)) {
      const std::string ha1 = digest_ha1(c->algorithm, c->username, c->realm, "pw");
      replace_all(value, "@R@",
                  digest_response(c->algorithm, ha1,
                                  digest_input{"REGISTER", c->uri, c->nonce, c->nc, c->cnonce, c->qop, {}}));
    }
    std::string msg =
        "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
        "To: <sip:alice@example.com>\r\nFrom: <sip:alice@example.com>;tag=f\r\nCall-ID: fuzz\r\n"
        "CSeq: " + std::to_string(s.now % 100000) + " REGISTER\r\nContact: <sip:alice@192.0.2.1>;expires=60\r\n"
        "Authorization: " + value + "\r\nContent-Length: 0\r\n\r\n";
    run(s, msg);
  } else {
    run(s, std::string(in));
  }
  return 0;
}
