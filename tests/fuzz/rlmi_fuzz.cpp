// libFuzzer target: RLMI documents and multipart bodies (RFC 4662). The first line of the
// input is a boundary; the rest is tried as a multipart body with it and as an RLMI document.
// Invariants: an RLMI document that parses builds into one that parses back equal; parts
// that split rebuild into a body that splits into the same parts when the boundary is absent
// from them.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "signalling/rlmi.hpp"

using namespace tutti::sig;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  const std::string_view boundary = nl == std::string_view::npos ? std::string_view{} : in.substr(0, nl);
  const std::string_view rest = nl == std::string_view::npos ? in : in.substr(nl + 1);

  if (auto l = rlmi::parse(rest, 256)) {
    auto again = rlmi::parse(rlmi::build(*l), 256);
    if (!again || !(*again == *l)) std::abort();
  }
  if (auto parts = rlmi::parse_multipart(boundary, rest, 64)) {
    const std::string delim = "--" + std::string(boundary);
    // RFC 2046 §5.1.1 bcharsnospace only, so boundary_of() reads it back.
    bool clean = !boundary.empty() && boundary.find_first_not_of(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?") == std::string_view::npos;
    for (const auto& p : *parts)
      clean = clean && p.body.find(delim) == std::string::npos && p.content_id.find_first_of("<>\r\n") == std::string::npos &&
              p.content_type.find_first_of("\r\n") == std::string::npos;
    if (clean) {
      const auto m = rlmi::build_related(boundary, *parts);
      auto back = rlmi::parse_multipart(rlmi::boundary_of(m.content_type), m.body, 64);
      if (!back) std::abort();
    }
  }
  return 0;
}
