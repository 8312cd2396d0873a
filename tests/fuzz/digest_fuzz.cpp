// libFuzzer target: Digest challenge and credential parsing. Invariants: what parses is
// written back by format_* into text that parses to the same values; verification of
// parsed credentials never crashes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "signalling/digest.hpp"

using namespace tutti::sig;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto c = parse_challenge(in)) {
    auto back = parse_challenge(format_challenge(*c));
    check(back.ok());
    check(back->realm == c->realm && back->nonce == c->nonce && back->opaque == c->opaque &&
          back->domain == c->domain && back->algorithm == c->algorithm && back->qop_auth == c->qop_auth &&
          back->qop_auth_int == c->qop_auth_int && back->stale == c->stale && back->userhash == c->userhash &&
          back->charset_utf8 == c->charset_utf8);
  }
  if (auto k = parse_credentials(in)) {
    auto back = parse_credentials(format_credentials(*k));
    check(back.ok());
    check(back->username == k->username && back->realm == k->realm && back->nonce == k->nonce &&
          back->uri == k->uri && back->response == k->response && back->cnonce == k->cnonce &&
          back->opaque == k->opaque && back->qop == k->qop && back->algorithm == k->algorithm &&
          back->userhash == k->userhash && (k->qop.empty() || back->nc == k->nc));
    const std::string ha1 = digest_ha1(k->algorithm, k->username, k->realm, "pw");
    (void)digest_verify(*k, "REGISTER", ha1, in);
  }
  return 0;
}
