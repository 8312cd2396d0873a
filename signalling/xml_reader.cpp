#include "signalling/xml_reader.hpp"

#include <expat.h>

#include <optional>
#include <string>
#include <vector>

namespace tutti::sig::xml {

std::string_view to_string(error e) noexcept {
  switch (e) {
    case error::too_large: return "too_large";
    case error::malformed: return "malformed";
    case error::doctype: return "doctype";
    case error::too_deep: return "too_deep";
    case error::too_many_elements: return "too_many_elements";
    case error::too_many_attributes: return "too_many_attributes";
    case error::text_too_long: return "text_too_long";
    case error::rejected: return "rejected";
  }
  return "unknown";
}

namespace {

// Expat gives "uri SP local" for a namespaced name, "local" otherwise.
name split(const XML_Char* full) noexcept {
  const std::string_view s(full);
  const size_t sp = s.rfind(' ');
  if (sp == std::string_view::npos) return {{}, s};
  return {s.substr(0, sp), s.substr(sp + 1)};
}

struct reader {
  XML_Parser parser = nullptr;
  handler* h = nullptr;
  const limits* lim = nullptr;
  size_t depth = 0;
  size_t elements = 0;
  std::string text;
  std::vector<attribute> attrs;
  std::optional<error> failed;

  void stop(error e) {
    if (!failed) failed = e;
    XML_StopParser(parser, XML_FALSE);
  }

  static void on_start(void* self, const XML_Char* el, const XML_Char** atts) {
    auto& r = *static_cast<reader*>(self);
    if (r.failed) return;
    if (++r.depth > r.lim->max_depth) return r.stop(error::too_deep);
    if (++r.elements > r.lim->max_elements) return r.stop(error::too_many_elements);
    r.attrs.clear();
    for (size_t i = 0; atts[i] != nullptr; i += 2) {
      if (r.attrs.size() == r.lim->max_attributes) return r.stop(error::too_many_attributes);
      r.attrs.push_back(attribute{split(atts[i]), std::string_view(atts[i + 1])});
    }
    r.text.clear();
    if (!r.h->start(split(el), attributes(r.attrs))) r.stop(error::rejected);
  }

  static void on_end(void* self, const XML_Char* el) {
    auto& r = *static_cast<reader*>(self);
    if (r.failed) return;
    --r.depth;
    const bool ok = r.h->end(split(el), r.text);
    r.text.clear();
    if (!ok) r.stop(error::rejected);
  }

  static void on_text(void* self, const XML_Char* s, int len) {
    auto& r = *static_cast<reader*>(self);
    if (r.failed || len <= 0) return;
    if (r.text.size() + static_cast<size_t>(len) > r.lim->max_text_bytes) return r.stop(error::text_too_long);
    r.text.append(s, static_cast<size_t>(len));
  }

  // Any DOCTYPE, hence any entity declaration, ends the parse (billion laughs, XXE).
  static void on_doctype(void* self, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    static_cast<reader*>(self)->stop(error::doctype);
  }
  static void on_entity(void* self, const XML_Char*, int, const XML_Char*, int, const XML_Char*,
                        const XML_Char*, const XML_Char*, const XML_Char*) {
    static_cast<reader*>(self)->stop(error::doctype);
  }
};

}  // namespace

result<bool, error> read(std::string_view doc, handler& h, const limits& lim) {
  if (doc.size() > lim.max_bytes) return fail(error::too_large);
  reader r;
  r.h = &h;
  r.lim = &lim;
  r.parser = XML_ParserCreateNS(nullptr, ' ');
  if (r.parser == nullptr) return fail(error::malformed);
  r.attrs.reserve(lim.max_attributes);
  XML_SetUserData(r.parser, &r);
  XML_SetElementHandler(r.parser, &reader::on_start, &reader::on_end);
  XML_SetCharacterDataHandler(r.parser, &reader::on_text);
  XML_SetStartDoctypeDeclHandler(r.parser, &reader::on_doctype);
  XML_SetEntityDeclHandler(r.parser, &reader::on_entity);
  XML_SetParamEntityParsing(r.parser, XML_PARAM_ENTITY_PARSING_NEVER);
  const auto status = XML_Parse(r.parser, doc.data(), static_cast<int>(doc.size()), XML_TRUE);
  XML_ParserFree(r.parser);
  if (r.failed) return fail(*r.failed);
  if (status != XML_STATUS_OK) return fail(error::malformed);
  return true;
}

void escape_into(std::string& out, std::string_view s) {
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\t': out += "&#9;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      default: {
        const auto u = static_cast<unsigned char>(c);
        // XML 1.0 §2.2: of the C0 controls only TAB, LF and CR are characters.
        if (u < 0x20) break;
        out += c;
      }
    }
  }
}

}  // namespace tutti::sig::xml
