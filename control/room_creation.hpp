// The body of a MESSAGE that creates a chat room (in the style of RFC 5365): multipart/mixed
// (RFC 2046 §5.1.3) with the message itself (text/plain or message/cpim) and the room's
// participants as an RFC 4826 resource list (application/resource-lists+xml, one <entry
// uri="sip:USER@DOMAIN"/> each; copyControl and other attributes are ignored).
//
// Model: a pure parser over the received body; the chat service decides what a creation
// means (control/chat_service.hpp). The list is read by signalling/resource_lists (the reader
// buddy-list edits use); this module turns its entries into users.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tutti::ctl {

enum class room_creation_error : uint8_t {
  bad_multipart,  // no boundary, or the body does not split into parts
  no_text,        // no text/plain or message/cpim part, or more than one
  no_list,        // no application/resource-lists+xml part, or more than one
  bad_list,       // the list is not a well-formed resource-lists document (or over limits)
  bad_entry,      // an entry's uri is not a sip:/sips: URI with a user part
  too_many,       // more entries than allowed
};
std::string_view to_string(room_creation_error e) noexcept;

// One listed participant.
struct listed_user {
  std::string user;  // percent-decoded user part
  std::string host;
  bool operator==(const listed_user&) const = default;
};

struct room_creation {
  std::string content_type;  // of the text part, as sent ("text/plain;charset=UTF-8")
  std::string text;
  std::vector<listed_user> users;  // in document order, duplicates removed
};

// Reads a multipart/mixed body whose Content-Type header value is `content_type`.
result<room_creation, room_creation_error> parse_room_creation(std::string_view content_type,
                                                                std::string_view body, size_t max_users = 64);

// The entries of an RFC 4826 resource-lists document (every <entry> of every <list>).
result<std::vector<listed_user>, room_creation_error> parse_resource_list(std::string_view doc,
                                                                           size_t max_users = 64);

}  // namespace tutti::ctl
