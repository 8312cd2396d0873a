// PIDF presence documents (RFC 3863) with the extensions tutti keeps per user: service
// capabilities (RFC 5196 servcaps: which media a device can use), RPID activities and notes
// (RFC 4480) and the display name (CIPID, RFC 4482) on the person element of the data model
// (RFC 4479).
//
// Model: parse() validates a document (through the hardened reader of xml_reader.hpp) into
// a `document` — tuples (one per service/device: basic status, contact, caps, note),
// at most one person (activities, note, display name) and presence-level notes. Elements
// tutti does not model are checked for well-formedness and skipped. compose() merges the
// publications of one user's devices into one document (RFC 4479 §3.4 spirit: the union of
// their tuples, the person from the most recent publication that has one); build() writes
// a document back as PIDF, escaped.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "signalling/xml_reader.hpp"

namespace tutti::sig::pidf {

inline constexpr std::string_view ns_pidf = "urn:ietf:params:xml:ns:pidf";
inline constexpr std::string_view ns_dm = "urn:ietf:params:xml:ns:pidf:data-model";
inline constexpr std::string_view ns_rpid = "urn:ietf:params:xml:ns:pidf:rpid";
inline constexpr std::string_view ns_caps = "urn:ietf:params:xml:ns:pidf:caps";
inline constexpr std::string_view ns_cipid = "urn:ietf:params:xml:ns:pidf:cipid";
inline constexpr std::string_view content_type = "application/pidf+xml";

// Limits beyond the XML reader's.
struct pidf_limits {
  xml::limits xml;
  size_t max_tuples = 32;
  size_t max_notes = 8;        // per element that carries notes
  size_t max_activities = 16;
};

enum class reason : uint8_t {
  xml_too_large, xml_malformed, xml_doctype, xml_too_deep, xml_too_many_elements,
  xml_too_many_attributes, xml_text_too_long,
  not_pidf,           // the root is not {urn:ietf:params:xml:ns:pidf}presence
  missing_entity,     // presence without entity= (RFC 3863 §4.1.2)
  missing_tuple_id,   // tuple without id= (§4.1.4)
  duplicate_tuple_id,
  missing_status,     // tuple without status (§4.1.4)
  bad_basic,          // basic other than open / closed (§4.1.4)
  bad_caps_value,     // a servcaps media element other than true / false (RFC 5196 §3)
  unknown_activity,   // an rpid element in activities that RFC 4480 §3.2 does not define
  too_many_tuples,
  too_many_notes,
  too_many_activities,
  duplicate_person,   // more than one person element (tutti keeps one per document)
  count_
};
std::string_view to_string(reason r) noexcept;

enum class basic_status : uint8_t { unknown, open, closed };
std::string_view to_string(basic_status b) noexcept;

// RFC 5196 §3.2 media type capabilities, one bit each.
enum class media : uint8_t { audio, application, data, control, video, text, message, count_ };
std::string_view to_string(media m) noexcept;

struct media_caps {
  uint8_t supported = 0;  // bit (1 << media): the device can use it
  uint8_t specified = 0;  // bit set: the document said true or false
  bool has(media m) const noexcept { return (supported >> static_cast<unsigned>(m)) & 1u; }
  void set(media m, bool on) noexcept;
  bool empty() const noexcept { return specified == 0; }
  bool operator==(const media_caps&) const = default;
};

struct note {
  std::string text;
  std::string lang;  // xml:lang, "" when absent
  bool operator==(const note&) const = default;
};

struct tuple {
  std::string id;
  basic_status basic = basic_status::unknown;
  std::string contact;
  std::string contact_priority;  // "0.8"; "" when absent
  std::string timestamp;         // xs:dateTime as sent; "" when absent
  media_caps caps;
  std::vector<note> notes;
  bool operator==(const tuple&) const = default;
};

// One RPID activity (RFC 4480 §3.2): a defined name ("on-the-phone", "away") or "other"
// with free text.
struct activity {
  std::string name;
  std::string other_text;  // for name == "other"
  bool operator==(const activity&) const = default;
};

// Whether `name` is an activity RFC 4480 §3.2 defines (other included).
bool known_activity(std::string_view name) noexcept;

struct person {
  std::string id;
  std::vector<activity> activities;
  std::vector<note> notes;
  std::string display_name;  // CIPID display-name
  std::string timestamp;
  bool operator==(const person&) const = default;
};

struct document {
  std::string entity;
  std::vector<tuple> tuples;
  std::optional<pidf::person> person;
  std::vector<note> notes;  // presence-level notes
  bool operator==(const document&) const = default;

  // Open if any tuple is open, closed if any is closed, else unknown.
  basic_status overall() const noexcept;
  // The union of every tuple's supported media.
  media_caps caps() const noexcept;
};

// Validates and reads a PIDF document.
result<document, reason> parse(std::string_view body, const pidf_limits& lim = {});

// Writes a document as PIDF (namespaces declared on the root, text escaped).
std::string build(const document& d);

// One document from a user's publications, oldest first: their tuples (a later tuple with
// an id seen before replaces it), the person of the newest that has one, the newest
// presence-level notes; entity is `entity`.
document compose(std::string_view entity, std::span<const document* const> oldest_first);

}  // namespace tutti::sig::pidf
