// libFuzzer target: SDP parsing and building. Invariant: whatever parses, builds into text
// that parses back to the same model.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "signalling/sdp.hpp"

using namespace tutti::sig;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = sdp::parse(in);
  if (!r) return 0;
  for (const sdp::media_description& m : r->media) {
    (void)r->effective_direction(m);
    (void)r->effective_connection(m);
    for (const std::string& f : m.formats) (void)m.find_fmtp(f);
  }
  // The builder writes CRLF where the input may have used LF: allow for the growth.
  sdp::sdp_limits roomy;
  roomy.max_bytes = 4 * sdp::sdp_limits{}.max_bytes;
  auto again = sdp::parse(sdp::build(*r), roomy);
  if (!again || !(*again == *r)) std::abort();
  return 0;
}
