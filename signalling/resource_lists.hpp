// Resource lists (RFC 4826 §3, application/resource-lists+xml): the document a client sends
// to set its server-held buddy list (a MESSAGE to its list URI, control/buddy_edit.hpp).
//
// Model: a <resource-lists> root holds <list>s, which hold <entry uri=...> elements (each
// with an optional <display-name>) and nested <list>s. parse() flattens every entry of
// every list, in document order, into one sequence; duplicates are kept (the caller folds
// them) and URIs are not interpreted (the caller checks scheme and domain). <external> and
// <entry-ref> point at documents elsewhere (XCAP, RFC 4826 §3.2) and are refused: this
// box holds whole lists, it fetches nothing. Elements of other namespaces are skipped
// (§3.2 allows ##other). Reading goes through the hardened XML reader (xml_reader.hpp:
// Expat, no DOCTYPE, size/depth/element limits). build() writes one <list> that parses
// back into the same entries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "signalling/xml_reader.hpp"

namespace tutti::sig::resource_lists {

inline constexpr std::string_view ns = "urn:ietf:params:xml:ns:resource-lists";
inline constexpr std::string_view content_type = "application/resource-lists+xml";

struct entry {
  std::string uri;           // as written (not checked, not normalised)
  std::string display_name;  // "" when none
  bool operator==(const entry&) const = default;
};

struct document {
  std::vector<entry> entries;  // every list's entries, in document order
  bool operator==(const document&) const = default;
};

enum class reason : uint8_t {
  xml,                // the XML reader refused the document (see xml::error)
  not_resource_lists, // the root is not {urn:ietf:params:xml:ns:resource-lists}resource-lists
  misplaced,          // an <entry> or <list> outside a <list> / the root
  missing_uri,        // an <entry> without uri=, or with an empty one
  reference,          // <external> or <entry-ref>: lists held elsewhere are not fetched
  too_many_entries,   // over max_entries
  count_,
};
std::string_view to_string(reason r) noexcept;

// Reads a document with at most `max_entries` entries (counted before duplicates fold);
// on reason::xml, `*detail` (when given) says what the XML reader refused.
result<document, reason> parse(std::string_view body, size_t max_entries = 1000, xml::error* detail = nullptr);

// Writes the entries as one <list> inside <resource-lists>.
std::string build(const document& d);

}  // namespace tutti::sig::resource_lists
