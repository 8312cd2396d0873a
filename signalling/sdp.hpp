// SDP session descriptions (RFC 4566): the data model offer/answer (RFC 3264) works on,
// a parser for what phones send, and a builder for what we answer.
//
// The model owns its strings (SDP is handled on the control thread, once per offer).
// The parser is strict where the data matters to media (v, o, m, c, rtpmap, fmtp, ptime,
// direction, rtcp, extmap) and tolerant elsewhere: unknown attributes are kept in
// `attributes`, unknown line types are skipped, and LF line ends are accepted. Every
// count and length is bounded by sdp_limits, so a hostile body costs bounded memory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tutti::sig::sdp {

enum class direction : uint8_t { sendrecv, sendonly, recvonly, inactive };
std::string_view to_string(direction d) noexcept;

// o= (RFC 4566 §5.2)
struct origin {
  std::string username = "-";
  uint64_t session_id = 0;
  uint64_t session_version = 0;
  std::string net_type = "IN";
  std::string addr_type = "IP4";
  std::string address;
  bool operator==(const origin&) const = default;
};

// c= (§5.7); ttl and address count only for multicast, kept as text after the address.
struct connection {
  std::string net_type = "IN";
  std::string addr_type = "IP4";
  std::string address;
  bool operator==(const connection&) const = default;
};

// b= (§5.8)
struct bandwidth {
  std::string type;  // "AS", "CT", "TIAS", ...
  uint32_t value = 0;
  bool operator==(const bandwidth&) const = default;
};

// a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>] (§6)
struct rtpmap {
  uint8_t payload_type = 0;
  std::string encoding;  // "opus", "PCMU", "telephone-event"
  uint32_t clock_rate = 0;
  uint16_t channels = 1;
  bool operator==(const rtpmap&) const = default;
};

// a=fmtp:<format> <parameters> (§6)
struct fmtp {
  std::string format;  // usually a payload type number
  std::string params;  // "minptime=10;useinbandfec=1"
  bool operator==(const fmtp&) const = default;
};

// a=extmap:<id>[/<direction>] <uri> [<attributes>] (RFC 8285 §8)
struct extmap {
  uint16_t id = 0;
  std::optional<direction> dir;
  std::string uri;
  std::string attributes;
  bool operator==(const extmap&) const = default;
};

// a=rtcp:<port> [<nettype> <addrtype> <address>] (RFC 3605)
struct rtcp {
  uint16_t port = 0;
  std::optional<connection> address;
  bool operator==(const rtcp&) const = default;
};

// Any other a= line, in order: "a=name" or "a=name:value".
struct attribute {
  std::string name;
  std::string value;
  bool has_value = false;
  bool operator==(const attribute&) const = default;
};

// m= and the lines under it (§5.14).
struct media_description {
  std::string media = "audio";  // audio, video, text, application, message
  uint16_t port = 0;
  uint16_t port_count = 1;      // m=audio 49170/2 ...
  std::string proto = "RTP/AVP";
  std::vector<std::string> formats;  // payload type numbers for RTP profiles
  std::string title;                 // i=
  std::optional<connection> conn;
  std::vector<bandwidth> bandwidths;
  std::vector<rtpmap> rtpmaps;
  std::vector<fmtp> fmtps;
  std::optional<uint32_t> ptime_ms;
  std::optional<uint32_t> maxptime_ms;
  std::optional<direction> dir;  // absent: the session's (RFC 4566 §6: sendrecv by default)
  std::optional<sdp::rtcp> rtcp;
  bool rtcp_mux = false;         // RFC 5761
  std::vector<extmap> extmaps;
  std::vector<attribute> attributes;

  const rtpmap* find_rtpmap(uint8_t payload_type) const noexcept;
  const fmtp* find_fmtp(std::string_view format) const noexcept;
  bool operator==(const media_description&) const = default;
};

struct session_description {
  origin o;
  std::string name = "-";  // s=
  std::string info;        // i=
  std::optional<connection> conn;
  std::vector<bandwidth> bandwidths;
  uint64_t start_time = 0;  // t= (the first; more are skipped)
  uint64_t stop_time = 0;
  std::optional<direction> dir;
  std::vector<extmap> extmaps;
  std::vector<attribute> attributes;
  std::vector<media_description> media;

  // The direction of m after inheriting the session's (sendrecv when neither says).
  direction effective_direction(const media_description& m) const noexcept {
    return m.dir ? *m.dir : dir ? *dir : direction::sendrecv;
  }
  // The connection address of m (its own or the session's), or nullptr.
  const connection* effective_connection(const media_description& m) const noexcept {
    return m.conn ? &*m.conn : conn ? &*conn : nullptr;
  }
  bool operator==(const session_description&) const = default;
};

struct sdp_limits {
  size_t max_bytes = 65535;       // the whole description
  size_t max_line_bytes = 4096;
  size_t max_media = 32;
  size_t max_formats = 64;        // per m= line
  size_t max_attributes = 256;    // a= lines in one section (session or media)
  size_t max_bandwidths = 8;      // b= lines in one section
};

enum class sdp_error_reason : uint8_t {
  too_large,           // over max_bytes
  line_too_long,
  malformed_line,      // not "<letter>=<value>"
  missing_version,     // the first line is not v=0
  missing_origin,
  bad_origin,
  bad_connection,
  bad_bandwidth,
  bad_timing,
  bad_media,           // m= line
  bad_rtpmap,
  bad_fmtp,
  bad_ptime,
  bad_rtcp,
  bad_extmap,
  too_many_media,
  too_many_formats,
  too_many_attributes,
};
std::string_view to_string(sdp_error_reason r) noexcept;

struct sdp_error {
  sdp_error_reason reason = sdp_error_reason::malformed_line;
  size_t line = 0;  // 1-based line number where it was found
};

// Parses a session description (a SIP body of type application/sdp).
result<session_description, sdp_error> parse(std::string_view body, const sdp_limits& limits = {});

// Writes a session description, CRLF line ends, in RFC 4566 §5 order. parse(build(s)) == s
// for every s that parse() can return.
std::string build(const session_description& s);

}  // namespace tutti::sig::sdp
