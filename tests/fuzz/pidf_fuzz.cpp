// libFuzzer target: PIDF parsing (through the hardened Expat reader), building and
// composition. Invariant: whatever parses builds into a document that parses back to the
// same model, and composing it with itself keeps its tuples.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "signalling/pidf.hpp"

using namespace tutti::sig;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = pidf::parse(in);
  if (!r) return 0;
  (void)r->overall();
  (void)r->caps();
  // The builder declares every namespace and escapes: allow for the growth.
  pidf::pidf_limits roomy;
  roomy.xml.max_bytes = 8 * pidf::pidf_limits{}.xml.max_bytes;
  auto again = pidf::parse(pidf::build(*r), roomy);
  if (!again || !(*again == *r)) std::abort();
  const pidf::document* twice[] = {&*r, &*r};
  const pidf::document c = pidf::compose(r->entity, twice);
  if (c.tuples.size() != r->tuples.size()) std::abort();
  return 0;
}
