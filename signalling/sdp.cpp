#include "signalling/sdp.hpp"

#include <array>
#include <limits>

#include "signalling/sip/text.hpp"

namespace tutti::sig::sdp {

std::string_view to_string(direction d) noexcept {
  switch (d) {
    case direction::sendrecv: return "sendrecv";
    case direction::sendonly: return "sendonly";
    case direction::recvonly: return "recvonly";
    case direction::inactive: return "inactive";
  }
  return "sendrecv";
}

std::string_view to_string(sdp_error_reason r) noexcept {
  switch (r) {
    case sdp_error_reason::too_large: return "SDP too large";
    case sdp_error_reason::line_too_long: return "SDP line too long";
    case sdp_error_reason::malformed_line: return "malformed SDP line";
    case sdp_error_reason::missing_version: return "SDP does not start with v=0";
    case sdp_error_reason::missing_origin: return "SDP without o=";
    case sdp_error_reason::bad_origin: return "malformed o=";
    case sdp_error_reason::bad_connection: return "malformed c=";
    case sdp_error_reason::bad_bandwidth: return "malformed b=";
    case sdp_error_reason::bad_timing: return "malformed t=";
    case sdp_error_reason::bad_media: return "malformed m=";
    case sdp_error_reason::bad_rtpmap: return "malformed a=rtpmap";
    case sdp_error_reason::bad_fmtp: return "malformed a=fmtp";
    case sdp_error_reason::bad_ptime: return "malformed a=ptime";
    case sdp_error_reason::bad_rtcp: return "malformed a=rtcp";
    case sdp_error_reason::bad_extmap: return "malformed a=extmap";
    case sdp_error_reason::too_many_media: return "too many m= sections";
    case sdp_error_reason::too_many_formats: return "too many formats on an m= line";
    case sdp_error_reason::too_many_attributes: return "too many attributes";
  }
  return "malformed SDP";
}

const rtpmap* media_description::find_rtpmap(uint8_t payload_type) const noexcept {
  for (const rtpmap& r : rtpmaps)
    if (r.payload_type == payload_type) return &r;
  return nullptr;
}

const fmtp* media_description::find_fmtp(std::string_view format) const noexcept {
  for (const fmtp& f : fmtps)
    if (f.format == format) return &f;
  return nullptr;
}

namespace {

using text::parse_uint;

// Splits on runs of SP/HT into at most N fields; returns how many were found (N + 1 when
// there were more).
template <size_t N>
size_t split_fields(std::string_view s, std::array<std::string_view, N>& out) noexcept {
  size_t n = 0, i = 0;
  while (true) {
    while (i < s.size() && text::is_ws(s[i])) ++i;
    if (i == s.size()) return n;
    const size_t start = i;
    while (i < s.size() && !text::is_ws(s[i])) ++i;
    if (n == N) return N + 1;
    out[n++] = s.substr(start, i - start);
  }
}

std::string_view trim_ws(std::string_view s) noexcept {
  while (!s.empty() && text::is_ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && text::is_ws(s.back())) s.remove_suffix(1);
  return s;
}

// Splits "head rest": head up to the first SP/HT, rest trimmed.
void split_first(std::string_view s, std::string_view& head, std::string_view& rest) noexcept {
  s = trim_ws(s);
  size_t i = 0;
  while (i < s.size() && !text::is_ws(s[i])) ++i;
  head = s.substr(0, i);
  rest = trim_ws(s.substr(i));
}

std::optional<direction> direction_from(std::string_view s) noexcept {
  if (s == "sendrecv") return direction::sendrecv;
  if (s == "sendonly") return direction::sendonly;
  if (s == "recvonly") return direction::recvonly;
  if (s == "inactive") return direction::inactive;
  return std::nullopt;
}

std::optional<connection> parse_connection(std::string_view v) noexcept {
  std::array<std::string_view, 3> f;
  if (split_fields(v, f) != 3) return std::nullopt;
  return connection{std::string(f[0]), std::string(f[1]), std::string(f[2])};
}

std::optional<bandwidth> parse_bandwidth(std::string_view v) noexcept {
  const size_t colon = v.find(':');
  if (colon == std::string_view::npos || colon == 0 || !text::is_token(v.substr(0, colon))) return std::nullopt;
  auto n = parse_uint(trim_ws(v.substr(colon + 1)), std::numeric_limits<uint32_t>::max());
  if (!n) return std::nullopt;
  return bandwidth{std::string(v.substr(0, colon)), static_cast<uint32_t>(*n)};
}

std::optional<origin> parse_origin(std::string_view v) noexcept {
  std::array<std::string_view, 6> f;
  if (split_fields(v, f) != 6) return std::nullopt;
  auto id = parse_uint(f[1], std::numeric_limits<uint64_t>::max());
  auto ver = parse_uint(f[2], std::numeric_limits<uint64_t>::max());
  if (!id || !ver) return std::nullopt;
  return origin{std::string(f[0]), *id, *ver, std::string(f[3]), std::string(f[4]), std::string(f[5])};
}

// "<encoding>/<clock rate>[/<channels>]" after "<pt> "
std::optional<rtpmap> parse_rtpmap(std::string_view v) noexcept {
  std::string_view pt, rest;
  split_first(v, pt, rest);
  auto n = parse_uint(pt, 127);
  if (!n || rest.empty()) return std::nullopt;
  rtpmap r;
  r.payload_type = static_cast<uint8_t>(*n);
  const size_t s1 = rest.find('/');
  if (s1 == 0 || s1 == std::string_view::npos) return std::nullopt;
  r.encoding = std::string(rest.substr(0, s1));
  for (char c : r.encoding)
    if (text::is_ws(c)) return std::nullopt;
  std::string_view tail = rest.substr(s1 + 1);
  const size_t s2 = tail.find('/');
  auto rate = parse_uint(tail.substr(0, s2), std::numeric_limits<uint32_t>::max());
  if (!rate || *rate == 0) return std::nullopt;
  r.clock_rate = static_cast<uint32_t>(*rate);
  if (s2 != std::string_view::npos) {
    auto ch = parse_uint(tail.substr(s2 + 1), 65535);
    if (!ch || *ch == 0) return std::nullopt;
    r.channels = static_cast<uint16_t>(*ch);
  }
  return r;
}

// "20" or "20.5" (some phones send decimals): whole milliseconds.
std::optional<uint32_t> parse_ms(std::string_view v) noexcept {
  v = trim_ws(v);
  const size_t dot = v.find('.');
  if (dot != std::string_view::npos) {
    std::string_view frac = v.substr(dot + 1);
    if (frac.empty() || !parse_uint(frac.substr(0, 9), std::numeric_limits<uint64_t>::max()) || frac.size() > 9)
      return std::nullopt;
    v = v.substr(0, dot);
  }
  auto n = parse_uint(v, std::numeric_limits<uint32_t>::max());
  if (!n) return std::nullopt;
  return static_cast<uint32_t>(*n);
}

std::optional<sdp::rtcp> parse_rtcp(std::string_view v) noexcept {
  std::array<std::string_view, 4> f;
  const size_t n = split_fields(v, f);
  if (n != 1 && n != 4) return std::nullopt;
  auto port = parse_uint(f[0], 65535);
  if (!port) return std::nullopt;
  sdp::rtcp r;
  r.port = static_cast<uint16_t>(*port);
  if (n == 4) r.address = connection{std::string(f[1]), std::string(f[2]), std::string(f[3])};
  return r;
}

// RFC 8285 §5-6: ids 1-14 (one-byte), 1-255 (two-byte), 4096-4351 in offers.
std::optional<extmap> parse_extmap(std::string_view v) noexcept {
  std::string_view head, rest;
  split_first(v, head, rest);
  extmap e;
  const size_t slash = head.find('/');
  auto id = parse_uint(head.substr(0, slash), 4351);
  if (!id || *id == 0 || (*id > 255 && *id < 4096)) return std::nullopt;
  e.id = static_cast<uint16_t>(*id);
  if (slash != std::string_view::npos) {
    e.dir = direction_from(head.substr(slash + 1));
    if (!e.dir) return std::nullopt;
  }
  std::string_view uri, attrs;
  split_first(rest, uri, attrs);
  if (uri.empty()) return std::nullopt;
  e.uri = std::string(uri);
  e.attributes = std::string(attrs);
  return e;
}

// Reads one a= line into the media section m, or the session when m is null.
std::optional<sdp_error_reason> parse_attribute(std::string_view v, session_description& s, media_description* m) {
  const size_t colon = v.find(':');
  const std::string_view name = v.substr(0, colon);
  const bool has_value = colon != std::string_view::npos;
  const std::string_view value = has_value ? v.substr(colon + 1) : std::string_view{};
  if (!has_value) {
    if (auto d = direction_from(name)) {
      (m ? m->dir : s.dir) = *d;
      return std::nullopt;
    }
    if (m && name == "rtcp-mux") {
      m->rtcp_mux = true;
      return std::nullopt;
    }
  } else if (name == "extmap") {
    auto e = parse_extmap(value);
    if (!e) return sdp_error_reason::bad_extmap;
    (m ? m->extmaps : s.extmaps).push_back(std::move(*e));
    return std::nullopt;
  } else if (m) {
    if (name == "rtpmap") {
      auto r = parse_rtpmap(value);
      if (!r) return sdp_error_reason::bad_rtpmap;
      m->rtpmaps.push_back(std::move(*r));
      return std::nullopt;
    }
    if (name == "fmtp") {
      std::string_view format, params;
      split_first(value, format, params);
      if (format.empty()) return sdp_error_reason::bad_fmtp;
      m->fmtps.push_back(fmtp{std::string(format), std::string(params)});
      return std::nullopt;
    }
    if (name == "ptime" || name == "maxptime") {
      auto ms = parse_ms(value);
      if (!ms) return sdp_error_reason::bad_ptime;
      (name == "ptime" ? m->ptime_ms : m->maxptime_ms) = *ms;
      return std::nullopt;
    }
    if (name == "rtcp") {
      auto r = parse_rtcp(value);
      if (!r) return sdp_error_reason::bad_rtcp;
      m->rtcp = std::move(*r);
      return std::nullopt;
    }
  }
  (m ? m->attributes : s.attributes).push_back(attribute{std::string(name), std::string(value), has_value});
  return std::nullopt;
}

// m=<media> <port>[/<count>] <proto> <fmt> ...
std::optional<sdp_error_reason> parse_media_line(std::string_view v, media_description& m, const sdp_limits& limits) {
  std::string_view media, rest, port, proto;
  split_first(v, media, rest);
  split_first(rest, port, rest);
  split_first(rest, proto, rest);
  if (media.empty() || port.empty() || proto.empty() || rest.empty()) return sdp_error_reason::bad_media;
  m.media = std::string(media);
  m.proto = std::string(proto);
  const size_t slash = port.find('/');
  auto p = parse_uint(port.substr(0, slash), 65535);
  if (!p) return sdp_error_reason::bad_media;
  m.port = static_cast<uint16_t>(*p);
  if (slash != std::string_view::npos) {
    auto count = parse_uint(port.substr(slash + 1), 65535);
    if (!count || *count == 0) return sdp_error_reason::bad_media;
    m.port_count = static_cast<uint16_t>(*count);
  }
  while (!rest.empty()) {
    std::string_view fmt;
    split_first(rest, fmt, rest);
    if (m.formats.size() == limits.max_formats) return sdp_error_reason::too_many_formats;
    m.formats.emplace_back(fmt);
  }
  return std::nullopt;
}

}  // namespace

result<session_description, sdp_error> parse(std::string_view body, const sdp_limits& limits) {
  const auto error = [](sdp_error_reason r, size_t line) { return fail(sdp_error{r, line}); };
  if (body.size() > limits.max_bytes) return error(sdp_error_reason::too_large, 0);
  session_description s;
  media_description* m = nullptr;
  size_t attributes = 0, bandwidths = 0, line_no = 0, pos = 0;
  bool seen_v = false, seen_o = false, seen_t = false;
  while (pos < body.size()) {
    const size_t lf = body.find('\n', pos);
    std::string_view line = body.substr(pos, lf == std::string_view::npos ? std::string_view::npos : lf - pos);
    pos = lf == std::string_view::npos ? body.size() : lf + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > limits.max_line_bytes) return error(sdp_error_reason::line_too_long, line_no);
    if (line.empty()) continue;  // a stray blank line, often at the end
    if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z')
      return error(sdp_error_reason::malformed_line, line_no);
    for (char c : line)
      if (c == '\0' || c == '\r') return error(sdp_error_reason::malformed_line, line_no);
    const char type = line[0];
    const std::string_view value = line.substr(2);
    if (!seen_v) {
      if (type != 'v' || value != "0") return error(sdp_error_reason::missing_version, line_no);
      seen_v = true;
      continue;
    }
    switch (type) {
      case 'v':
        return error(sdp_error_reason::malformed_line, line_no);
      case 'o': {
        if (seen_o || m) return error(sdp_error_reason::bad_origin, line_no);
        auto o = parse_origin(value);
        if (!o) return error(sdp_error_reason::bad_origin, line_no);
        s.o = std::move(*o);
        seen_o = true;
        break;
      }
      case 's':
        if (m) return error(sdp_error_reason::malformed_line, line_no);
        s.name = std::string(value);
        break;
      case 'i':
        (m ? m->title : s.info) = std::string(value);
        break;
      case 'c': {
        auto c = parse_connection(value);
        if (!c) return error(sdp_error_reason::bad_connection, line_no);
        std::optional<connection>& target = m ? m->conn : s.conn;
        if (!target) target = std::move(*c);  // later ones are multicast layers (§5.7)
        break;
      }
      case 'b': {
        auto b = parse_bandwidth(value);
        if (!b) return error(sdp_error_reason::bad_bandwidth, line_no);
        if (++bandwidths > limits.max_bandwidths) return error(sdp_error_reason::too_many_attributes, line_no);
        (m ? m->bandwidths : s.bandwidths).push_back(std::move(*b));
        break;
      }
      case 't': {
        if (m) return error(sdp_error_reason::bad_timing, line_no);
        std::array<std::string_view, 2> f;
        if (split_fields(value, f) != 2) return error(sdp_error_reason::bad_timing, line_no);
        auto start = parse_uint(f[0], std::numeric_limits<uint64_t>::max());
        auto stop = parse_uint(f[1], std::numeric_limits<uint64_t>::max());
        if (!start || !stop) return error(sdp_error_reason::bad_timing, line_no);
        if (!seen_t) {
          s.start_time = *start;
          s.stop_time = *stop;
          seen_t = true;
        }
        break;
      }
      case 'm': {
        if (!seen_o) return error(sdp_error_reason::missing_origin, line_no);
        if (s.media.size() == limits.max_media) return error(sdp_error_reason::too_many_media, line_no);
        s.media.emplace_back();
        m = &s.media.back();
        attributes = 0;
        bandwidths = 0;
        if (auto e = parse_media_line(value, *m, limits)) return error(*e, line_no);
        break;
      }
      case 'a': {
        if (++attributes > limits.max_attributes) return error(sdp_error_reason::too_many_attributes, line_no);
        if (auto e = parse_attribute(value, s, m)) return error(*e, line_no);
        break;
      }
      default:
        break;  // u= e= p= r= z= k= and unknown letters: not needed for media, skipped
    }
  }
  if (!seen_v) return error(sdp_error_reason::missing_version, line_no);
  if (!seen_o) return error(sdp_error_reason::missing_origin, line_no);
  return s;
}

namespace {

void line(std::string& out, char type, std::string_view value) {
  out += type;
  out += '=';
  out += value;
  out += "\r\n";
}

std::string connection_text(const connection& c) { return c.net_type + ' ' + c.addr_type + ' ' + c.address; }

void write_common(std::string& out, const std::vector<bandwidth>& bws) {
  for (const bandwidth& b : bws) line(out, 'b', b.type + ':' + std::to_string(b.value));
}

void write_extmaps(std::string& out, const std::vector<extmap>& extmaps) {
  for (const extmap& e : extmaps) {
    std::string v = "extmap:" + std::to_string(e.id);
    if (e.dir) v.append("/").append(to_string(*e.dir));
    v.append(" ").append(e.uri);
    if (!e.attributes.empty()) v.append(" ").append(e.attributes);
    line(out, 'a', v);
  }
}

void write_attributes(std::string& out, const std::vector<attribute>& attrs) {
  for (const attribute& a : attrs) line(out, 'a', a.has_value ? a.name + ':' + a.value : a.name);
}

}  // namespace

std::string build(const session_description& s) {
  std::string out;
  line(out, 'v', "0");
  line(out, 'o', s.o.username + ' ' + std::to_string(s.o.session_id) + ' ' + std::to_string(s.o.session_version) +
                     ' ' + s.o.net_type + ' ' + s.o.addr_type + ' ' + s.o.address);
  line(out, 's', s.name);
  if (!s.info.empty()) line(out, 'i', s.info);
  if (s.conn) line(out, 'c', connection_text(*s.conn));
  write_common(out, s.bandwidths);
  line(out, 't', std::to_string(s.start_time) + ' ' + std::to_string(s.stop_time));
  write_extmaps(out, s.extmaps);
  if (s.dir) line(out, 'a', to_string(*s.dir));
  write_attributes(out, s.attributes);
  for (const media_description& m : s.media) {
    std::string mline = m.media + ' ' + std::to_string(m.port);
    if (m.port_count != 1) mline += '/' + std::to_string(m.port_count);
    mline += ' ' + m.proto;
    for (const std::string& f : m.formats) mline += ' ' + f;
    line(out, 'm', mline);
    if (!m.title.empty()) line(out, 'i', m.title);
    if (m.conn) line(out, 'c', connection_text(*m.conn));
    write_common(out, m.bandwidths);
    for (const rtpmap& r : m.rtpmaps) {
      std::string v = "rtpmap:" + std::to_string(r.payload_type) + ' ' + r.encoding + '/' + std::to_string(r.clock_rate);
      if (r.channels != 1) v += '/' + std::to_string(r.channels);
      line(out, 'a', v);
    }
    for (const fmtp& f : m.fmtps) line(out, 'a', "fmtp:" + f.format + (f.params.empty() ? "" : " " + f.params));
    if (m.ptime_ms) line(out, 'a', "ptime:" + std::to_string(*m.ptime_ms));
    if (m.maxptime_ms) line(out, 'a', "maxptime:" + std::to_string(*m.maxptime_ms));
    if (m.rtcp) {
      std::string v = "rtcp:" + std::to_string(m.rtcp->port);
      if (m.rtcp->address) v += ' ' + connection_text(*m.rtcp->address);
      line(out, 'a', v);
    }
    if (m.rtcp_mux) line(out, 'a', "rtcp-mux");
    write_extmaps(out, m.extmaps);
    if (m.dir) line(out, 'a', to_string(*m.dir));
    write_attributes(out, m.attributes);
  }
  return out;
}

}  // namespace tutti::sig::sdp
