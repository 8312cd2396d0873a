#include "control/room_creation.hpp"

#include <algorithm>

#include "signalling/resource_lists.hpp"
#include "signalling/rlmi.hpp"
#include "signalling/sip/text.hpp"
#include "signalling/sip/uri.hpp"

namespace tutti::ctl {

namespace {

// The media type of a part's Content-Type, lowercased, without parameters.
std::string media_type_of(std::string_view ct) {
  std::string t(sig::text::trim(ct.substr(0, ct.find(';'))));
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return t;
}

}  // namespace

std::string_view to_string(room_creation_error e) noexcept {
  switch (e) {
    case room_creation_error::bad_multipart: return "bad multipart body";
    case room_creation_error::no_text: return "no single text/plain or message/cpim part";
    case room_creation_error::no_list: return "no single application/resource-lists+xml part";
    case room_creation_error::bad_list: return "bad resource list";
    case room_creation_error::bad_entry: return "a list entry is not a sip: URI with a user";
    case room_creation_error::too_many: return "too many list entries";
  }
  return "?";
}

result<std::vector<listed_user>, room_creation_error> parse_resource_list(std::string_view doc, size_t max_users) {
  // The one RFC 4826 reader (shared with buddy-list edits); entries are counted after
  // duplicates fold, so the reader may see a few more than the room takes.
  auto d = sig::resource_lists::parse(doc, std::max<size_t>(max_users * 4, 16));
  if (!d) {
    return fail(d.error() == sig::resource_lists::reason::too_many_entries ? room_creation_error::too_many
                                                                            : room_creation_error::bad_list);
  }
  std::vector<listed_user> users;
  for (const auto& e : d->entries) {
    auto u = sig::parse_uri(e.uri);
    if (!u || (u->scheme != sig::uri_scheme::sip && u->scheme != sig::uri_scheme::sips) || u->user.empty())
      return fail(room_creation_error::bad_entry);
    auto user = sig::percent_decode(u->user);
    if (!user || user->empty()) return fail(room_creation_error::bad_entry);
    listed_user l{std::move(*user), std::string(u->host)};
    if (std::find(users.begin(), users.end(), l) != users.end()) continue;
    if (users.size() == max_users) return fail(room_creation_error::too_many);
    users.push_back(std::move(l));
  }
  return users;
}

result<room_creation, room_creation_error> parse_room_creation(std::string_view content_type, std::string_view body,
                                                                size_t max_users) {
  const std::string boundary = sig::rlmi::boundary_of(content_type);
  if (boundary.empty()) return fail(room_creation_error::bad_multipart);
  auto parts = sig::rlmi::parse_multipart(boundary, body, 8);
  if (!parts) return fail(room_creation_error::bad_multipart);
  const sig::rlmi::part* text = nullptr;
  const sig::rlmi::part* list = nullptr;
  for (const auto& p : *parts) {
    // RFC 2046 §5.1: a part without Content-Type is text/plain.
    const std::string t = p.content_type.empty() ? "text/plain" : media_type_of(p.content_type);
    if (t == "text/plain" || t == "message/cpim") {
      if (text) return fail(room_creation_error::no_text);
      text = &p;
    } else if (t == "application/resource-lists+xml") {
      if (list) return fail(room_creation_error::no_list);
      list = &p;
    }
  }
  if (!text) return fail(room_creation_error::no_text);
  if (!list) return fail(room_creation_error::no_list);
  auto users = parse_resource_list(list->body, max_users);
  if (!users) return fail(users.error());
  room_creation c;
  c.content_type = text->content_type.empty() ? "text/plain" : text->content_type;
  c.text = text->body;
  c.users = std::move(*users);
  return c;
}

}  // namespace tutti::ctl
