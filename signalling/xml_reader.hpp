// A hardened, namespace-aware XML reader for the bodies peers send (PIDF, RLMI): Expat
// (Debian libexpat1-dev) with limits, so bad input is a counted rejection, never a crash,
// an unbounded allocation or an entity expansion.
//
// Model: read() feeds the whole document to Expat (XML_ParserCreateNS, names as
// "namespace-uri SP local-name") and calls the handler for each element start and end. A
// document with a DOCTYPE is refused outright (PIDF, RLMI and RFC 3863 §4 need none): no
// internal entities (billion laughs), no external entities, no parameter entities.
// The handler sees an element's own text at its end (character data since its last child,
// bounded by max_text_bytes) and may refuse the document by returning false.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.hpp"

namespace tutti::sig::xml {

struct limits {
  size_t max_bytes = 65536;      // whole document
  size_t max_depth = 16;         // element nesting
  size_t max_elements = 2048;    // elements in the document
  size_t max_attributes = 16;    // attributes on one element
  size_t max_text_bytes = 4096;  // character data of one element
};

enum class error : uint8_t {
  too_large,            // over max_bytes
  malformed,            // not well-formed XML (Expat's error), or not UTF-8
  doctype,              // a DOCTYPE (entity declarations) is present
  too_deep,             // over max_depth
  too_many_elements,    // over max_elements
  too_many_attributes,  // over max_attributes
  text_too_long,        // over max_text_bytes
  rejected,             // the handler refused the document
};
std::string_view to_string(error e) noexcept;

// An expanded name: namespace URI ("" when none) and local name.
struct name {
  std::string_view ns;
  std::string_view local;
  bool is(std::string_view n, std::string_view l) const noexcept { return ns == n && local == l; }
};

struct attribute {
  xml::name name;
  std::string_view value;
};

// An element's attributes; find() looks up an unqualified attribute (RFC 3863 uses those).
class attributes {
 public:
  explicit attributes(std::span<const attribute> a) noexcept : a_(a) {}
  const attribute* find(std::string_view local) const noexcept {
    for (const attribute& x : a_)
      if (x.name.ns.empty() && x.name.local == local) return &x;
    return nullptr;
  }
  std::span<const attribute> all() const noexcept { return a_; }

 private:
  std::span<const attribute> a_;
};

class handler {
 public:
  virtual ~handler() = default;
  // An element starts; false refuses the document.
  virtual bool start(const name& n, const attributes& a) = 0;
  // An element ends; `text` is its character data after its last child element.
  virtual bool end(const name& n, std::string_view text) = 0;
};

// Parses `doc`, calling `h`; the error says why it stopped early.
result<bool, error> read(std::string_view doc, handler& h, const limits& lim = {});

// `s` with &, <, >, " and ' escaped as entities (text and attribute values alike), TAB, LF
// and CR as character references (so attribute normalisation keeps them, XML 1.0 §3.3.3).
// Control characters that XML 1.0 forbids are dropped.
void escape_into(std::string& out, std::string_view s);

}  // namespace tutti::sig::xml
