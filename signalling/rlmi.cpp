#include "signalling/rlmi.hpp"

#include <charconv>
#include <optional>

namespace tutti::sig::rlmi {

namespace {

std::optional<bool> xs_boolean(std::string_view v) {
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return std::nullopt;
}

class rlmi_reader final : public xml::handler {
 public:
  explicit rlmi_reader(size_t max_resources) : max_resources_(max_resources) {}
  list doc;
  std::optional<reason> failed;

  bool start(const xml::name& n, const xml::attributes& a) override {
    ++depth_;
    if (depth_ == 1) {
      if (!n.is(ns_rlmi, "list")) return refuse(reason::not_rlmi);
      const xml::attribute* uri = a.find("uri");
      if (uri == nullptr || uri->value.empty()) return refuse(reason::missing_uri);
      doc.uri = std::string(uri->value);
      const xml::attribute* version = a.find("version");
      if (version == nullptr) return refuse(reason::bad_version);
      const auto v = version->value;
      const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), doc.version);
      if (ec != std::errc{} || end != v.data() + v.size() || v.empty()) return refuse(reason::bad_version);
      const xml::attribute* full = a.find("fullState");
      const auto fs = full ? xs_boolean(full->value) : std::nullopt;
      if (!fs) return refuse(reason::bad_full_state);
      doc.full_state = *fs;
      return true;
    }
    if (depth_ == 2 && n.is(ns_rlmi, "name")) {
      where_ = at::list_name;
      return true;
    }
    if (depth_ == 2 && n.is(ns_rlmi, "resource")) {
      if (doc.resources.size() == max_resources_) return refuse(reason::too_many_resources);
      const xml::attribute* uri = a.find("uri");
      if (uri == nullptr || uri->value.empty()) return refuse(reason::missing_uri);
      doc.resources.emplace_back();
      doc.resources.back().uri = std::string(uri->value);
      in_resource_ = true;
      return true;
    }
    if (depth_ == 3 && in_resource_ && n.is(ns_rlmi, "name")) {
      where_ = at::resource_name;
      return true;
    }
    if (depth_ == 3 && in_resource_ && n.is(ns_rlmi, "instance")) return start_instance(a);
    return true;  // extensions (RFC 4662 §5.3 allows ##other) are skipped
  }

  bool end(const xml::name&, std::string_view text) override {
    if (depth_ == 2) in_resource_ = false;
    if (where_ == at::list_name && depth_ == 2) doc.name = std::string(text);
    if (where_ == at::resource_name && depth_ == 3) doc.resources.back().name = std::string(text);
    if (depth_ <= 3) where_ = at::none;
    --depth_;
    return true;
  }

 private:
  enum class at : uint8_t { none, list_name, resource_name };

  bool refuse(reason r) {
    failed = r;
    return false;
  }

  bool start_instance(const xml::attributes& a) {
    const xml::attribute* id = a.find("id");
    const xml::attribute* state = a.find("state");
    if (id == nullptr || state == nullptr) return refuse(reason::bad_instance);
    instance i;
    i.id = std::string(id->value);
    if (state->value == "active") i.state = instance_state::active;
    else if (state->value == "pending") i.state = instance_state::pending;
    else if (state->value == "terminated") i.state = instance_state::terminated;
    else return refuse(reason::bad_instance);
    if (const xml::attribute* r = a.find("reason")) i.reason = std::string(r->value);
    if (const xml::attribute* c = a.find("cid")) i.cid = std::string(c->value);
    auto& instances = doc.resources.back().instances;
    if (instances.size() == max_resources_) return refuse(reason::too_many_resources);
    instances.push_back(std::move(i));
    return true;
  }

  size_t max_resources_;
  size_t depth_ = 0;
  bool in_resource_ = false;
  at where_ = at::none;
};

void attr(std::string& out, std::string_view name, std::string_view value) {
  out += ' ';
  out += name;
  out += "=\"";
  xml::escape_into(out, value);
  out += '"';
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view to_string(instance_state s) noexcept {
  switch (s) {
    case instance_state::active: return "active";
    case instance_state::pending: return "pending";
    case instance_state::terminated: return "terminated";
  }
  return "unknown";
}

std::string_view to_string(reason r) noexcept {
  switch (r) {
    case reason::xml: return "xml";
    case reason::not_rlmi: return "not_rlmi";
    case reason::missing_uri: return "missing_uri";
    case reason::bad_version: return "bad_version";
    case reason::bad_full_state: return "bad_full_state";
    case reason::bad_instance: return "bad_instance";
    case reason::too_many_resources: return "too_many_resources";
    case reason::bad_multipart: return "bad_multipart";
    case reason::too_many_parts: return "too_many_parts";
  }
  return "unknown";
}

std::string build(const list& l) {
  std::string out;
  out.reserve(256 + 160 * l.resources.size());
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<list xmlns=\"";
  out += ns_rlmi;
  out += '"';
  attr(out, "uri", l.uri);
  attr(out, "version", std::to_string(l.version));
  attr(out, "fullState", l.full_state ? "true" : "false");
  out += ">\n";
  if (!l.name.empty()) {
    out += "<name>";
    xml::escape_into(out, l.name);
    out += "</name>\n";
  }
  for (const resource& r : l.resources) {
    out += "<resource";
    attr(out, "uri", r.uri);
    out += '>';
    if (!r.name.empty()) {
      out += "<name>";
      xml::escape_into(out, r.name);
      out += "</name>";
    }
    for (const instance& i : r.instances) {
      out += "<instance";
      attr(out, "id", i.id);
      attr(out, "state", to_string(i.state));
      if (!i.reason.empty()) attr(out, "reason", i.reason);
      if (!i.cid.empty()) attr(out, "cid", i.cid);
      out += "/>";
    }
    out += "</resource>\n";
  }
  out += "</list>\n";
  return out;
}

result<list, reason> parse(std::string_view body, size_t max_resources) {
  rlmi_reader r(max_resources);
  xml::limits lim;
  lim.max_elements = 4 * max_resources + 8;
  lim.max_bytes = 1 << 20;
  auto ok = xml::read(body, r, lim);
  if (!ok) return fail(r.failed ? *r.failed : reason::xml);
  return std::move(r.doc);
}

multipart build_related(std::string_view boundary, const std::vector<part>& parts) {
  multipart m;
  std::string_view root_type = parts.empty() ? content_type : std::string_view(parts[0].content_type);
  if (const size_t semi = root_type.find(';'); semi != std::string_view::npos) root_type = root_type.substr(0, semi);
  m.content_type = "multipart/related;type=\"";
  m.content_type += root_type;
  m.content_type += '"';
  if (!parts.empty() && !parts[0].content_id.empty()) {
    m.content_type += ";start=\"<";
    m.content_type += parts[0].content_id;
    m.content_type += ">\"";
  }
  m.content_type += ";boundary=\"";
  m.content_type += boundary;
  m.content_type += '"';
  size_t size = 0;
  for (const part& p : parts) size += p.body.size() + 160;
  m.body.reserve(size);
  for (const part& p : parts) {
    m.body += "--";
    m.body += boundary;
    m.body += "\r\nContent-Transfer-Encoding: binary\r\n";
    if (!p.content_id.empty()) {
      m.body += "Content-ID: <";
      m.body += p.content_id;
      m.body += ">\r\n";
    }
    if (!p.content_type.empty()) {
      m.body += "Content-Type: ";
      m.body += p.content_type;
      m.body += "\r\n";
    }
    m.body += "\r\n";
    m.body += p.body;
    m.body += "\r\n";
  }
  m.body += "--";
  m.body += boundary;
  m.body += "--\r\n";
  return m;
}

std::string boundary_of(std::string_view ct) {
  size_t pos = 0;
  while ((pos = ct.find(';', pos)) != std::string_view::npos) {
    ++pos;
    const size_t next = ct.find(';', pos);
    std::string_view param = trim(ct.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos));
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos || !iequal(trim(param.substr(0, eq)), "boundary")) continue;
    std::string_view v = trim(param.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return {};
}

result<std::vector<part>, reason> parse_multipart(std::string_view boundary, std::string_view body,
                                                  size_t max_parts) {
  // RFC 2046 §5.1.1: boundaries are 1..70 characters.
  if (boundary.empty() || boundary.size() > 70) return fail(reason::bad_multipart);
  const std::string delim = "--" + std::string(boundary);
  const std::string inner = "\r\n" + delim;
  // The first delimiter starts the body or follows a CRLF (the preamble is ignored).
  size_t at = body.substr(0, delim.size()) == delim ? 0 : body.find(inner);
  if (at == std::string_view::npos) return fail(reason::bad_multipart);
  if (at != 0) at += 2;
  std::vector<part> parts;
  for (;;) {
    at += delim.size();
    if (body.substr(at, 2) == "--") return parts;  // close-delimiter
    const size_t eol = body.find("\r\n", at);
    if (eol == std::string_view::npos) return fail(reason::bad_multipart);
    const size_t begin = eol + 2;
    const size_t next = body.find(inner, begin);
    if (next == std::string_view::npos) return fail(reason::bad_multipart);
    if (parts.size() == max_parts) return fail(reason::too_many_parts);
    const std::string_view whole = body.substr(begin, next - begin);
    part p;
    // Headers up to the empty line; a part may have none (then it starts with CRLF).
    size_t hend;
    if (whole.substr(0, 2) == "\r\n") hend = 0;
    else {
      hend = whole.find("\r\n\r\n");
      if (hend == std::string_view::npos) return fail(reason::bad_multipart);
      hend += 2;
    }
    std::string_view headers = whole.substr(0, hend);
    while (!headers.empty()) {
      const size_t e = headers.find("\r\n");
      const std::string_view line = headers.substr(0, e);
      headers.remove_prefix(e + 2);
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) return fail(reason::bad_multipart);
      const std::string_view name = trim(line.substr(0, colon));
      std::string_view value = trim(line.substr(colon + 1));
      if (iequal(name, "Content-ID")) {
        if (value.size() >= 2 && value.front() == '<' && value.back() == '>') value = value.substr(1, value.size() - 2);
        p.content_id = std::string(value);
      } else if (iequal(name, "Content-Type")) {
        p.content_type = std::string(value);
      }
    }
    p.body = std::string(whole.substr(hend + 2));
    parts.push_back(std::move(p));
    at = next + 2;
  }
}

}  // namespace tutti::sig::rlmi
