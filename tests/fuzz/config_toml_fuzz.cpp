// Fuzzes configuration loading: TOML text through toml++ and tuttid's key table and
// validation. Any input must end in a config or a list of errors, never a crash; every
// error must name where it came from.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "control/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = tutti::ctl::parse_config(text, "fuzz.toml");
  if (!r.ok()) {
    if (r.error().list.empty()) std::abort();
    for (auto& e : r.error().list)
      if (e.source != "fuzz.toml" && e.source != "default") std::abort();
    (void)r.error().to_string();
  } else {
    (void)tutti::ctl::describe(*r);
  }
  return 0;
}
