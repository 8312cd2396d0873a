// libFuzzer target: the body of a MESSAGE that creates a chat room (multipart/mixed with a
// text part and an RFC 4826 resource list, control/room_creation.hpp). The first line of
// the input is the Content-Type value; the rest is the body, also tried as a bare list.
// Invariants: never more users than allowed, none empty, no duplicates.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "control/room_creation.hpp"

using namespace tutti::ctl;

namespace {

void check(const std::vector<listed_user>& users, size_t max) {
  if (users.size() > max) std::abort();
  for (size_t i = 0; i < users.size(); ++i) {
    if (users[i].user.empty()) std::abort();
    if (std::find(users.begin() + static_cast<std::ptrdiff_t>(i) + 1, users.end(), users[i]) != users.end()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  const std::string_view type = nl == std::string_view::npos ? std::string_view{} : in.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? in : in.substr(nl + 1);
  if (auto c = parse_room_creation(type, body, 8)) check(c->users, 8);
  if (auto l = parse_resource_list(body, 8)) check(*l, 8);
  return 0;
}
