// RTP packets on the wire (RFC 3550 §5.1) and the header extensions a mixer reads and writes:
// RFC 8285 one-byte and two-byte extension elements, RFC 6464 client-to-mixer audio level.
//
// Model: parse_rtp validates a received datagram in place and returns a view whose pointers
// point into the caller's buffer (valid as long as the buffer is); a packet that fails a
// check is a counted drop with its reason, never an error path that allocates or throws.
// build_rtp_header writes a header in front of a payload the caller places after it.
// Everything here runs per packet on a data-plane worker: noexcept, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "base/result.hpp"

namespace tutti::dp {

// Why a datagram was not accepted as RTP; doubles as a drop counter index.
enum class rtp_drop : uint8_t {
  truncated,      // shorter than the 12-byte fixed header
  bad_version,    // version field is not 2
  bad_padding,    // P set but the padding count is 0 or exceeds the bytes after the header
  bad_csrc,       // the CSRC list (CC × 4 bytes) runs past the end
  bad_extension,  // X set but the extension header or its data runs past the end
  empty_payload,  // nothing left after header and padding
  rtcp_packet,    // second byte 192..223: RTCP multiplexed on the RTP port (RFC 5761 §4)
  too_long,       // longer than 65535 bytes (cannot come from one UDP datagram)
  count
};

// Stable lower-case name of a drop reason, for metrics labels.
const char* to_string(rtp_drop reason) noexcept;

// A validated RTP packet. Pointers point into the parsed buffer.
struct rtp_view {
  uint8_t payload_type;    // 7-bit PT
  bool marker;             // M bit
  uint16_t sequence;
  uint32_t timestamp;
  uint32_t ssrc;
  uint8_t csrc_count;      // CC: 0..15 CSRCs follow the fixed header
  const uint8_t* payload;  // first payload byte (after header, CSRCs and extension)
  uint16_t payload_len;    // payload bytes, padding excluded; never 0
  uint16_t ext_profile;    // "defined by profile" field of the extension; 0 without one
  const uint8_t* ext;      // extension data after its 4-byte header; nullptr without X
  uint16_t ext_len;        // bytes of extension data
  const uint8_t* csrcs;    // the CSRC list (csrc_count × 4 bytes, big-endian)
  uint16_t header_len;     // bytes before the payload: fixed header, CSRCs, extension
  uint8_t padding_len;     // padding bytes after the payload (0 without P)
};

// Validates `len` bytes as one RTP packet (RFC 3550 §5.1, §A.1 checks): version 2, CSRC
// list and extension within the packet, padding count > 0 and within what follows the
// header, a non-empty payload, and not an RTCP packet type (RFC 5761 §4).
result<rtp_view, rtp_drop> parse_rtp(const uint8_t* data, size_t len) noexcept;

// RFC 5761 §4 demultiplexing of RTP and RTCP on one port: version 2, at least the 4-byte
// RTCP common header, and a second byte (marker + PT, or RTCP packet type) in 192..223.
bool looks_like_rtcp(const uint8_t* data, size_t len) noexcept;

// The i-th CSRC of a parsed packet (i < csrc_count).
uint32_t rtp_csrc(const rtp_view& view, size_t i) noexcept;

// Extension profiles of RFC 8285 §4.2 (one-byte) and §4.3 (two-byte, low 4 bits: appbits).
inline constexpr uint16_t rtp_ext_profile_one_byte = 0xBEDE;
inline constexpr uint16_t rtp_ext_profile_two_byte = 0x1000;
inline constexpr uint16_t rtp_ext_profile_two_byte_mask = 0xFFF0;

// One RFC 8285 extension element: its data bytes (not its header).
struct rtp_ext_element {
  const uint8_t* data;
  uint8_t len;  // 1..16 in the one-byte form, 0..255 in the two-byte form
};

// The first element with local identifier `id` (1..14 one-byte, 1..255 two-byte form).
// Padding bytes (0) between elements are skipped; in the one-byte form, id 15 ends the
// block (RFC 8285 §4.2). An element that runs past the block, or any unknown profile,
// finds nothing.
std::optional<rtp_ext_element> find_extension(const rtp_view& view, uint8_t id) noexcept;

// RFC 6464 audio level: V flag (voice activity) and level in -dBov (0 loudest, 127 silence).
struct audio_level {
  bool voice;
  uint8_t level_dbov;  // 0..127 meaning 0..-127 dBov
};

// The RFC 6464 audio level carried in extension element `ext_id`, if present and non-empty.
std::optional<audio_level> parse_audio_level(const rtp_view& view, uint8_t ext_id) noexcept;

// What build_rtp_header writes.
struct rtp_header_fields {
  uint8_t payload_type;             // 0..127
  bool marker;
  uint16_t sequence;
  uint32_t timestamp;
  uint32_t ssrc;
  uint8_t audio_level_ext_id = 0;   // 1..14: add an RFC 6464 element with this id; 0: none
  audio_level level{};              // level_dbov above 127 is sent as 127
};

// Bytes build_rtp_header writes for these fields and `csrc_count` CSRCs.
size_t rtp_header_size(const rtp_header_fields& fields, size_t csrc_count = 0) noexcept;

// Writes the 12-byte header and, when audio_level_ext_id != 0, a one-byte-form extension
// block (RFC 8285 §4.2) holding the audio level: 20 bytes then. Returns the header length,
// or 0 when `cap` is too small or a field is out of range (PT > 127, ext id > 14).
size_t build_rtp_header(uint8_t* out, size_t cap, const rtp_header_fields& fields) noexcept;

// The same with a CSRC list (a mixer names its contributing sources, RFC 3550 §7.1);
// at most 15 CSRCs, else 0.
size_t build_rtp_header(uint8_t* out, size_t cap, const rtp_header_fields& fields,
                        std::span<const uint32_t> csrcs) noexcept;

}  // namespace tutti::dp
