#include "signalling/pidf.hpp"

#include <array>

namespace tutti::sig::pidf {

namespace {

constexpr std::string_view ns_xml = "http://www.w3.org/XML/1998/namespace";

constexpr std::array<std::string_view, static_cast<size_t>(media::count_)> media_names = {
    "audio", "application", "data", "control", "video", "text", "message"};

// RFC 4480 §3.2.
constexpr std::array<std::string_view, 26> activity_names = {
    "appointment", "away", "breakfast", "busy", "dinner", "holiday", "in-transit",
    "looking-for-work", "meal", "meeting", "on-the-phone", "performance", "permanent-absence",
    "playing", "presentation", "shopping", "sleeping", "spectator", "steering", "travel", "tv",
    "unknown", "vacation", "working", "worship", "other"};

std::string trim(std::string_view s) {
  constexpr std::string_view ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}

reason from_xml(xml::error e) {
  switch (e) {
    case xml::error::too_large: return reason::xml_too_large;
    case xml::error::malformed: return reason::xml_malformed;
    case xml::error::doctype: return reason::xml_doctype;
    case xml::error::too_deep: return reason::xml_too_deep;
    case xml::error::too_many_elements: return reason::xml_too_many_elements;
    case xml::error::too_many_attributes: return reason::xml_too_many_attributes;
    case xml::error::text_too_long: return reason::xml_text_too_long;
    case xml::error::rejected: break;
  }
  return reason::xml_malformed;
}

// Where the reader is: the kind of each open element.
enum class kind : uint8_t {
  presence, presence_note, tuple, status, basic, contact, tuple_note, tuple_timestamp, servcaps,
  caps_media, person, activities, activity, activity_other, person_note, display_name,
  person_timestamp, skip,
};

class pidf_reader final : public xml::handler {
 public:
  explicit pidf_reader(const pidf_limits& lim) : lim_(lim) { stack_.reserve(lim.xml.max_depth); }

  document doc;
  std::optional<reason> failed;

  bool start(const xml::name& n, const xml::attributes& a) override {
    if (stack_.empty()) {
      if (!n.is(ns_pidf, "presence")) return refuse(reason::not_pidf);
      const xml::attribute* entity = a.find("entity");
      if (entity == nullptr || entity->value.empty()) return refuse(reason::missing_entity);
      doc.entity = std::string(entity->value);
      return push(kind::presence);
    }
    switch (stack_.back()) {
      case kind::presence:
        if (n.is(ns_pidf, "tuple")) return start_tuple(a);
        if (n.is(ns_pidf, "note")) return start_note(a, doc.notes, kind::presence_note);
        if (n.is(ns_dm, "person")) {
          if (doc.person) return refuse(reason::duplicate_person);
          doc.person.emplace();
          if (const xml::attribute* id = a.find("id")) doc.person->id = std::string(id->value);
          return push(kind::person);
        }
        return push(kind::skip);
      case kind::tuple:
        if (n.is(ns_pidf, "status")) {
          saw_status_ = true;
          return push(kind::status);
        }
        if (n.is(ns_pidf, "contact")) {
          if (const xml::attribute* p = a.find("priority")) doc.tuples.back().contact_priority = std::string(p->value);
          return push(kind::contact);
        }
        if (n.is(ns_pidf, "note")) return start_note(a, doc.tuples.back().notes, kind::tuple_note);
        if (n.is(ns_pidf, "timestamp")) return push(kind::tuple_timestamp);
        if (n.is(ns_caps, "servcaps")) return push(kind::servcaps);
        return push(kind::skip);
      case kind::status:
        return push(n.is(ns_pidf, "basic") ? kind::basic : kind::skip);
      case kind::servcaps:
        if (n.ns == ns_caps) {
          for (size_t i = 0; i < media_names.size(); ++i)
            if (n.local == media_names[i]) {
              media_ = static_cast<media>(i);
              return push(kind::caps_media);
            }
        }
        return push(kind::skip);  // type, methods, event-packages, ...: not modelled
      case kind::person:
        if (n.is(ns_rpid, "activities")) return push(kind::activities);
        if (n.is(ns_dm, "note")) return start_note(a, doc.person->notes, kind::person_note);
        if (n.is(ns_cipid, "display-name")) return push(kind::display_name);
        if (n.is(ns_dm, "timestamp")) return push(kind::person_timestamp);
        return push(kind::skip);
      case kind::activities:
        if (n.ns != ns_rpid || n.local == "note") return push(kind::skip);
        if (!known_activity(n.local)) return refuse(reason::unknown_activity);
        if (doc.person->activities.size() == lim_.max_activities) return refuse(reason::too_many_activities);
        doc.person->activities.push_back(activity{std::string(n.local), {}});
        return push(n.local == "other" ? kind::activity_other : kind::activity);
      default:
        return push(kind::skip);  // inside a leaf or an element tutti does not model
    }
  }

  bool end(const xml::name&, std::string_view text) override {
    const kind k = stack_.back();
    stack_.pop_back();
    switch (k) {
      case kind::tuple:
        if (!saw_status_) return refuse(reason::missing_status);
        break;
      case kind::basic: {
        const std::string v = trim(text);
        if (v == "open") doc.tuples.back().basic = basic_status::open;
        else if (v == "closed") doc.tuples.back().basic = basic_status::closed;
        else return refuse(reason::bad_basic);
        break;
      }
      case kind::contact: doc.tuples.back().contact = trim(text); break;
      case kind::tuple_timestamp: doc.tuples.back().timestamp = trim(text); break;
      case kind::tuple_note: doc.tuples.back().notes.back().text = trim(text); break;
      case kind::presence_note: doc.notes.back().text = trim(text); break;
      case kind::person_note: doc.person->notes.back().text = trim(text); break;
      case kind::display_name: doc.person->display_name = trim(text); break;
      case kind::person_timestamp: doc.person->timestamp = trim(text); break;
      case kind::activity_other: doc.person->activities.back().other_text = trim(text); break;
      case kind::caps_media: {
        // xs:boolean (RFC 5196 §3.2.1): true, false, 1, 0.
        const std::string v = trim(text);
        if (v == "true" || v == "1") doc.tuples.back().caps.set(media_, true);
        else if (v == "false" || v == "0") doc.tuples.back().caps.set(media_, false);
        else return refuse(reason::bad_caps_value);
        break;
      }
      default: break;
    }
    return true;
  }

 private:
  bool push(kind k) {
    stack_.push_back(k);
    return true;
  }
  bool refuse(reason r) {
    failed = r;
    return false;
  }

  bool start_tuple(const xml::attributes& a) {
    const xml::attribute* id = a.find("id");
    if (id == nullptr || id->value.empty()) return refuse(reason::missing_tuple_id);
    if (doc.tuples.size() == lim_.max_tuples) return refuse(reason::too_many_tuples);
    for (const tuple& t : doc.tuples)
      if (t.id == id->value) return refuse(reason::duplicate_tuple_id);
    doc.tuples.emplace_back();
    doc.tuples.back().id = std::string(id->value);
    saw_status_ = false;
    return push(kind::tuple);
  }

  bool start_note(const xml::attributes& a, std::vector<note>& notes, kind k) {
    if (notes.size() == lim_.max_notes) return refuse(reason::too_many_notes);
    notes.emplace_back();
    for (const xml::attribute& x : a.all())
      if (x.name.is(ns_xml, "lang")) notes.back().lang = std::string(x.value);
    return push(k);
  }

  const pidf_limits& lim_;
  std::vector<kind> stack_;
  bool saw_status_ = false;
  media media_ = media::audio;
};

void write_notes(std::string& out, const std::vector<note>& notes, std::string_view tag) {
  for (const note& n : notes) {
    out += '<';
    out += tag;
    if (!n.lang.empty()) {
      out += " xml:lang=\"";
      xml::escape_into(out, n.lang);
      out += '"';
    }
    out += '>';
    xml::escape_into(out, n.text);
    out += "</";
    out += tag;
    out += '>';
  }
}

void write_element(std::string& out, std::string_view tag, std::string_view text) {
  out += '<';
  out += tag;
  out += '>';
  xml::escape_into(out, text);
  out += "</";
  out += tag;
  out += '>';
}

}  // namespace

std::string_view to_string(reason r) noexcept {
  switch (r) {
    case reason::xml_too_large: return "xml_too_large";
    case reason::xml_malformed: return "xml_malformed";
    case reason::xml_doctype: return "xml_doctype";
    case reason::xml_too_deep: return "xml_too_deep";
    case reason::xml_too_many_elements: return "xml_too_many_elements";
    case reason::xml_too_many_attributes: return "xml_too_many_attributes";
    case reason::xml_text_too_long: return "xml_text_too_long";
    case reason::not_pidf: return "not_pidf";
    case reason::missing_entity: return "missing_entity";
    case reason::missing_tuple_id: return "missing_tuple_id";
    case reason::duplicate_tuple_id: return "duplicate_tuple_id";
    case reason::missing_status: return "missing_status";
    case reason::bad_basic: return "bad_basic";
    case reason::bad_caps_value: return "bad_caps_value";
    case reason::unknown_activity: return "unknown_activity";
    case reason::too_many_tuples: return "too_many_tuples";
    case reason::too_many_notes: return "too_many_notes";
    case reason::too_many_activities: return "too_many_activities";
    case reason::duplicate_person: return "duplicate_person";
    case reason::count_: break;
  }
  return "unknown";
}

std::string_view to_string(basic_status b) noexcept {
  switch (b) {
    case basic_status::open: return "open";
    case basic_status::closed: return "closed";
    case basic_status::unknown: break;
  }
  return "unknown";
}

std::string_view to_string(media m) noexcept {
  const auto i = static_cast<size_t>(m);
  return i < media_names.size() ? media_names[i] : "unknown";
}

bool known_activity(std::string_view name) noexcept {
  for (std::string_view a : activity_names)
    if (a == name) return true;
  return false;
}

void media_caps::set(media m, bool on) noexcept {
  const auto bit = static_cast<uint8_t>(1u << static_cast<unsigned>(m));
  specified |= bit;
  supported = on ? (supported | bit) : (supported & ~bit);
}

basic_status document::overall() const noexcept {
  basic_status s = basic_status::unknown;
  for (const tuple& t : tuples) {
    if (t.basic == basic_status::open) return basic_status::open;
    if (t.basic == basic_status::closed) s = basic_status::closed;
  }
  return s;
}

media_caps document::caps() const noexcept {
  media_caps c;
  for (const tuple& t : tuples) {
    c.supported |= t.caps.supported;
    c.specified |= t.caps.specified;
  }
  return c;
}

result<document, reason> parse(std::string_view body, const pidf_limits& lim) {
  pidf_reader r(lim);
  auto ok = xml::read(body, r, lim.xml);
  if (!ok) {
    if (ok.error() == xml::error::rejected && r.failed) return fail(*r.failed);
    return fail(from_xml(ok.error()));
  }
  return std::move(r.doc);
}

std::string build(const document& d) {
  std::string out;
  out.reserve(512 + 256 * d.tuples.size());
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence xmlns=\"";
  out += ns_pidf;
  out += "\" xmlns:dm=\"";
  out += ns_dm;
  out += "\" xmlns:rpid=\"";
  out += ns_rpid;
  out += "\" xmlns:caps=\"";
  out += ns_caps;
  out += "\" xmlns:cipid=\"";
  out += ns_cipid;
  out += "\" entity=\"";
  xml::escape_into(out, d.entity);
  out += "\">\n";
  // RFC 3863 §4.1: tuples, then notes, then extensions (the person).
  for (const tuple& t : d.tuples) {
    out += "<tuple id=\"";
    xml::escape_into(out, t.id);
    out += "\">";
    if (t.basic == basic_status::unknown) out += "<status/>";
    else {
      out += "<status><basic>";
      out += to_string(t.basic);
      out += "</basic></status>";
    }
    if (!t.caps.empty()) {
      out += "<caps:servcaps>";
      for (size_t i = 0; i < media_names.size(); ++i) {
        if (((t.caps.specified >> i) & 1u) == 0) continue;
        out += "<caps:";
        out += media_names[i];
        out += ((t.caps.supported >> i) & 1u) ? ">true</caps:" : ">false</caps:";
        out += media_names[i];
        out += '>';
      }
      out += "</caps:servcaps>";
    }
    if (!t.contact.empty() || !t.contact_priority.empty()) {
      out += "<contact";
      if (!t.contact_priority.empty()) {
        out += " priority=\"";
        xml::escape_into(out, t.contact_priority);
        out += '"';
      }
      out += '>';
      xml::escape_into(out, t.contact);
      out += "</contact>";
    }
    write_notes(out, t.notes, "note");
    if (!t.timestamp.empty()) write_element(out, "timestamp", t.timestamp);
    out += "</tuple>\n";
  }
  write_notes(out, d.notes, "note");
  if (d.person) {
    const person& p = *d.person;
    out += "<dm:person";
    if (!p.id.empty()) {
      out += " id=\"";
      xml::escape_into(out, p.id);
      out += '"';
    }
    out += '>';
    if (!p.activities.empty()) {
      out += "<rpid:activities>";
      for (const activity& a : p.activities) {
        if (a.name == "other") write_element(out, "rpid:other", a.other_text);
        else {
          out += "<rpid:";
          out += a.name;
          out += "/>";
        }
      }
      out += "</rpid:activities>";
    }
    if (!p.display_name.empty()) write_element(out, "cipid:display-name", p.display_name);
    write_notes(out, p.notes, "dm:note");
    if (!p.timestamp.empty()) write_element(out, "dm:timestamp", p.timestamp);
    out += "</dm:person>\n";
  }
  out += "</presence>\n";
  return out;
}

document compose(std::string_view entity, std::span<const document* const> oldest_first) {
  document out;
  out.entity = std::string(entity);
  for (const document* d : oldest_first) {
    for (const tuple& t : d->tuples) {
      bool replaced = false;
      for (tuple& have : out.tuples)
        if (have.id == t.id) {
          have = t;
          replaced = true;
          break;
        }
      if (!replaced) out.tuples.push_back(t);
    }
    if (d->person) out.person = d->person;
    if (!d->notes.empty()) out.notes = d->notes;
  }
  return out;
}

}  // namespace tutti::sig::pidf
