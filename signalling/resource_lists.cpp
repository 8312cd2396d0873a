#include "signalling/resource_lists.hpp"

#include <optional>

namespace tutti::sig::resource_lists {

namespace {

class lists_reader final : public xml::handler {
 public:
  explicit lists_reader(size_t max_entries) : max_entries_(max_entries) {}
  document doc;
  std::optional<reason> failed;

  bool start(const xml::name& n, const xml::attributes& a) override {
    ++depth_;
    if (depth_ == 1) {
      if (!n.is(ns, "resource-lists")) return refuse(reason::not_resource_lists);
      parent_ = at::root;
      return true;
    }
    if (skip_ != 0 || n.ns != ns) {
      // Extensions (RFC 4826 §3.2: ##other) and everything inside them.
      if (skip_ == 0) skip_ = depth_;
      return true;
    }
    if (n.local == "list") {
      if (parent_ != at::root && parent_ != at::list) return refuse(reason::misplaced);
      ++lists_;
      parent_ = at::list;
      return true;
    }
    if (n.local == "entry") {
      if (parent_ != at::list) return refuse(reason::misplaced);
      if (doc.entries.size() == max_entries_) return refuse(reason::too_many_entries);
      const xml::attribute* uri = a.find("uri");
      if (uri == nullptr || uri->value.empty()) return refuse(reason::missing_uri);
      doc.entries.push_back({std::string(uri->value), {}});
      parent_ = at::entry;
      entry_depth_ = depth_;
      return true;
    }
    if (n.local == "external" || n.local == "entry-ref") return refuse(reason::reference);
    if (n.local == "display-name" && parent_ == at::entry && depth_ == entry_depth_ + 1) {
      in_name_ = true;
      return true;
    }
    // Other elements of the namespace (a list's display-name, unknown ones) say nothing
    // about membership.
    skip_ = depth_;
    return true;
  }

  bool end(const xml::name& n, std::string_view text) override {
    if (skip_ != 0) {
      if (skip_ == depth_) skip_ = 0;
    } else if (in_name_) {
      doc.entries.back().display_name = std::string(text);
      in_name_ = false;
    } else if (n.ns == ns && n.local == "entry") {
      parent_ = at::list;
    } else if (n.ns == ns && n.local == "list") {
      // Back to the enclosing list, or to the root when this was a top-level one.
      parent_ = --lists_ == 0 ? at::root : at::list;
    }
    --depth_;
    return true;
  }

 private:
  enum class at : uint8_t { root, list, entry };

  bool refuse(reason r) {
    failed = r;
    return false;
  }

  size_t max_entries_;
  size_t depth_ = 0;
  size_t skip_ = 0;         // depth of the skipped element being read; 0: none
  size_t lists_ = 0;        // open <list> elements
  size_t entry_depth_ = 0;  // depth of the open <entry>
  at parent_ = at::root;
  bool in_name_ = false;
};

}  // namespace

std::string_view to_string(reason r) noexcept {
  switch (r) {
    case reason::xml: return "xml";
    case reason::not_resource_lists: return "not_resource_lists";
    case reason::misplaced: return "misplaced";
    case reason::missing_uri: return "missing_uri";
    case reason::reference: return "reference";
    case reason::too_many_entries: return "too_many_entries";
    case reason::count_: break;
  }
  return "unknown";
}

result<document, reason> parse(std::string_view body, size_t max_entries, xml::error* detail) {
  lists_reader r(max_entries);
  xml::limits lim;
  // An entry with its display-name is two elements; a few lists besides.
  lim.max_elements = 2 * max_entries + 64;
  lim.max_bytes = 1 << 20;
  auto ok = xml::read(body, r, lim);
  if (!ok) {
    if (r.failed) return fail(*r.failed);
    if (detail != nullptr) *detail = ok.error();
    return fail(reason::xml);
  }
  return std::move(r.doc);
}

std::string build(const document& d) {
  std::string out;
  out.reserve(160 + 80 * d.entries.size());
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<resource-lists xmlns=\"";
  out += ns;
  out += "\">\n<list>\n";
  for (const entry& e : d.entries) {
    out += "<entry uri=\"";
    xml::escape_into(out, e.uri);
    out += '"';
    if (e.display_name.empty()) {
      out += "/>\n";
      continue;
    }
    out += "><display-name>";
    xml::escape_into(out, e.display_name);
    out += "</display-name></entry>\n";
  }
  out += "</list>\n</resource-lists>\n";
  return out;
}

}  // namespace tutti::sig::resource_lists
