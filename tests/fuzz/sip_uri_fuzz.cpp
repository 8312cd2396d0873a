// libFuzzer target: URI parsing, percent-decoding and RFC 3261 §19.1.4 comparison.
// The input is split at the first newline into two URIs. Invariants: comparison is
// reflexive and symmetric; every view lies inside the input.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "signalling/sip/uri.hpp"

using namespace tutti::sig;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void exercise(const uri& u, std::string_view text) {
  for (std::string_view part : {u.scheme_text, u.user, u.password, u.host, u.params, u.headers, u.opaque, u.hostport()})
    check(inside(part, text));
  check(uri_equal(u, u));
  (void)percent_decode(u.user);
  (void)u.param("transport");
  (void)u.header("subject");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  const std::string_view first = in.substr(0, nl);
  const std::string_view second = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  auto a = parse_uri(first);
  auto b = parse_uri(second);
  if (a) exercise(*a, first);
  if (b) exercise(*b, second);
  if (a && b) check(uri_equal(*a, *b) == uri_equal(*b, *a));
  (void)percent_decode(in);
  (void)classify_host(first);
  (void)parse_host_port(first, true);
  return 0;
}
