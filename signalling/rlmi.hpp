// Resource lists (RFC 4662): the RLMI document that says which resources a list
// subscription holds and in what state, and the multipart/related body (RFC 2387) that
// carries it with one part per resource's state.
//
// Model: a NOTIFY for a list carries a multipart/related body whose root part (named by
// `start`) is application/rlmi+xml; each <instance> with cid= points at the part holding
// that resource's state (here PIDF). build_*() write such bodies; parse_*() read them back
// for tests and the fuzz target, through the hardened XML reader (xml_reader.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "signalling/xml_reader.hpp"

namespace tutti::sig::rlmi {

inline constexpr std::string_view ns_rlmi = "urn:ietf:params:xml:ns:rlmi";
inline constexpr std::string_view content_type = "application/rlmi+xml";

// RFC 4662 §5.2: an instance's subscription state.
enum class instance_state : uint8_t { active, pending, terminated };
std::string_view to_string(instance_state s) noexcept;

struct instance {
  std::string id;
  instance_state state = instance_state::active;
  std::string reason;  // for terminated ("rejected", "noresource", ...); "" otherwise
  std::string cid;     // Content-ID of the part holding its state, without <>; "" when none
  bool operator==(const instance&) const = default;
};

struct resource {
  std::string uri;
  std::string name;  // display name, "" when none
  std::vector<rlmi::instance> instances;
  bool operator==(const resource&) const = default;
};

struct list {
  std::string uri;
  uint32_t version = 0;
  bool full_state = true;
  std::string name;
  std::vector<rlmi::resource> resources;
  bool operator==(const list&) const = default;
};

enum class reason : uint8_t {
  xml,              // the XML reader refused the document (see xml::error)
  not_rlmi,         // the root is not {urn:ietf:params:xml:ns:rlmi}list
  missing_uri,      // list or resource without uri=
  bad_version,      // list version= absent or not a 32-bit number
  bad_full_state,   // fullState= absent or not a boolean
  bad_instance,     // instance without id= or state=, or an unknown state
  too_many_resources,
  bad_multipart,    // no boundary, or the body does not follow RFC 2046 §5.1.1
  too_many_parts,
};
std::string_view to_string(reason r) noexcept;

// Writes the RLMI document.
std::string build(const list& l);
// Reads one (at most max_resources resources).
result<list, reason> parse(std::string_view body, size_t max_resources = 1024);

// One body part of a multipart body.
struct part {
  std::string content_id;    // without <>; "" when none
  std::string content_type;  // "" when none
  std::string body;
  bool operator==(const part&) const = default;
};

struct multipart {
  std::string content_type;  // the Content-Type header value of the whole body
  std::string body;
};

// multipart/related (RFC 2387) with parts[0] as the root: type= and start= name it
// (RFC 4662 §5.1). The boundary must not occur in any part.
multipart build_related(std::string_view boundary, const std::vector<part>& parts);

// The boundary parameter of a Content-Type value ("" when absent).
std::string boundary_of(std::string_view content_type);

// Splits a multipart body (RFC 2046 §5.1.1) into its parts (at most max_parts).
result<std::vector<part>, reason> parse_multipart(std::string_view boundary, std::string_view body,
                                                  size_t max_parts = 1024);

}  // namespace tutti::sig::rlmi
