// libFuzzer target: resource-lists documents (RFC 4826 §3), as a client sends them to set
// its buddy list. Invariant: a document that parses builds into one that parses back into
// the same entries.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "signalling/resource_lists.hpp"

using namespace tutti::sig;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto d = resource_lists::parse(in, 64)) {
    auto again = resource_lists::parse(resource_lists::build(*d), 64);
    if (!again || !(*again == *d)) std::abort();
  }
  return 0;
}
