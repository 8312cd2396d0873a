// RTP parse/build and RFC 8285 extension lookup; see rtp.hpp for the model.
#include "dataplane/rtp.hpp"

#include "dataplane/be_bytes.hpp"

namespace tutti::dp {

namespace {

constexpr size_t fixed_header_len = 12;

// RFC 5761 §4: RTCP packet types 192..223 occupy the same byte as RTP's marker + PT
// 64..95, which RTP sessions multiplexed with RTCP must not use. 200..204 (SR, RR, SDES,
// BYE, APP) lie inside, and so do RTPFB/PSFB/XR (205..207).
constexpr bool is_rtcp_type(uint8_t second_byte) noexcept {
  return second_byte >= 192 && second_byte <= 223;
}

}  // namespace

const char* to_string(rtp_drop reason) noexcept {
  switch (reason) {
    case rtp_drop::truncated: return "truncated";
    case rtp_drop::bad_version: return "bad_version";
    case rtp_drop::bad_padding: return "bad_padding";
    case rtp_drop::bad_csrc: return "bad_csrc";
    case rtp_drop::bad_extension: return "bad_extension";
    case rtp_drop::empty_payload: return "empty_payload";
    case rtp_drop::rtcp_packet: return "rtcp_packet";
    case rtp_drop::too_long: return "too_long";
    case rtp_drop::count: break;
  }
  return "unknown";
}

result<rtp_view, rtp_drop> parse_rtp(const uint8_t* data, size_t len) noexcept {
  if (len < fixed_header_len) return fail(rtp_drop::truncated);
  if (len > 0xFFFF) return fail(rtp_drop::too_long);
  const uint8_t b0 = data[0];
  if ((b0 >> 6) != 2) return fail(rtp_drop::bad_version);
  if (is_rtcp_type(data[1])) return fail(rtp_drop::rtcp_packet);

  rtp_view v{};
  v.payload_type = data[1] & 0x7F;
  v.marker = (data[1] & 0x80) != 0;
  v.sequence = load_be16(data + 2);
  v.timestamp = load_be32(data + 4);
  v.ssrc = load_be32(data + 8);
  v.csrc_count = b0 & 0x0F;
  v.csrcs = data + fixed_header_len;

  size_t off = fixed_header_len + 4u * v.csrc_count;
  if (off > len) return fail(rtp_drop::bad_csrc);

  if (b0 & 0x10) {
    // §5.3.1: 16-bit profile field, 16-bit length in 32-bit words, then the data.
    if (len - off < 4) return fail(rtp_drop::bad_extension);
    v.ext_profile = load_be16(data + off);
    const size_t ext_bytes = 4u * load_be16(data + off + 2);
    off += 4;
    if (len - off < ext_bytes) return fail(rtp_drop::bad_extension);
    v.ext = data + off;
    v.ext_len = static_cast<uint16_t>(ext_bytes);  // < len ≤ 65535
    off += ext_bytes;
  }

  size_t padding = 0;
  if (b0 & 0x20) {
    // §5.1: the last byte counts the padding bytes, itself included, so it is at least 1,
    // and padding can only come out of what follows the header.
    if (off == len) return fail(rtp_drop::bad_padding);
    padding = data[len - 1];
    if (padding == 0 || padding > len - off) return fail(rtp_drop::bad_padding);
  }
  const size_t payload_len = len - off - padding;
  if (payload_len == 0) return fail(rtp_drop::empty_payload);

  v.payload = data + off;
  v.payload_len = static_cast<uint16_t>(payload_len);
  v.header_len = static_cast<uint16_t>(off);
  v.padding_len = static_cast<uint8_t>(padding);
  return v;
}

bool looks_like_rtcp(const uint8_t* data, size_t len) noexcept {
  return len >= 4 && (data[0] >> 6) == 2 && is_rtcp_type(data[1]);
}

uint32_t rtp_csrc(const rtp_view& view, size_t i) noexcept {
  return load_be32(view.csrcs + 4 * i);
}

std::optional<rtp_ext_element> find_extension(const rtp_view& view, uint8_t id) noexcept {
  if (id == 0 || view.ext == nullptr) return std::nullopt;
  const uint8_t* p = view.ext;
  const uint8_t* const end = p + view.ext_len;

  if (view.ext_profile == rtp_ext_profile_one_byte) {
    if (id >= 15) return std::nullopt;
    while (p < end) {
      const uint8_t b = *p;
      if (b == 0) {  // RFC 8285 §4.2: padding byte between or after elements
        ++p;
        continue;
      }
      const uint8_t eid = b >> 4;
      // §4.2: id 15 ends processing; id 0 with a length is not padding but malformed,
      // and nothing after a malformed byte can be trusted.
      if (eid == 15 || eid == 0) return std::nullopt;
      const size_t elen = (b & 0x0F) + 1u;  // L is length - 1
      if (static_cast<size_t>(end - p - 1) < elen) return std::nullopt;
      if (eid == id) return rtp_ext_element{p + 1, static_cast<uint8_t>(elen)};
      p += 1 + elen;
    }
    return std::nullopt;
  }

  if ((view.ext_profile & rtp_ext_profile_two_byte_mask) == rtp_ext_profile_two_byte) {
    while (p < end) {
      if (*p == 0) {  // RFC 8285 §4.3: padding byte
        ++p;
        continue;
      }
      if (end - p < 2) return std::nullopt;
      const uint8_t eid = p[0];
      const uint8_t elen = p[1];  // §4.3: length in bytes, 0 allowed
      if (static_cast<size_t>(end - p - 2) < elen) return std::nullopt;
      if (eid == id) return rtp_ext_element{p + 2, elen};
      p += 2 + elen;
    }
  }
  return std::nullopt;
}

std::optional<audio_level> parse_audio_level(const rtp_view& view, uint8_t ext_id) noexcept {
  const auto e = find_extension(view, ext_id);
  // RFC 6464 §3 defines one data byte; a longer element still starts with it.
  if (!e || e->len < 1) return std::nullopt;
  const uint8_t b = e->data[0];
  return audio_level{(b & 0x80) != 0, static_cast<uint8_t>(b & 0x7F)};
}

size_t rtp_header_size(const rtp_header_fields& fields, size_t csrc_count) noexcept {
  return fixed_header_len + 4 * csrc_count + (fields.audio_level_ext_id != 0 ? 8 : 0);
}

size_t build_rtp_header(uint8_t* out, size_t cap, const rtp_header_fields& fields) noexcept {
  return build_rtp_header(out, cap, fields, {});
}

size_t build_rtp_header(uint8_t* out, size_t cap, const rtp_header_fields& fields,
                        std::span<const uint32_t> csrcs) noexcept {
  if (csrcs.size() > 15 || fields.payload_type > 127 || fields.audio_level_ext_id > 14) return 0;
  const bool ext = fields.audio_level_ext_id != 0;
  const size_t n = rtp_header_size(fields, csrcs.size());
  if (cap < n) return 0;

  out[0] = static_cast<uint8_t>(0x80 | (ext ? 0x10 : 0) | csrcs.size());
  out[1] = static_cast<uint8_t>((fields.marker ? 0x80 : 0) | fields.payload_type);
  store_be16(out + 2, fields.sequence);
  store_be32(out + 4, fields.timestamp);
  store_be32(out + 8, fields.ssrc);
  uint8_t* p = out + fixed_header_len;
  for (uint32_t c : csrcs) {
    store_be32(p, c);
    p += 4;
  }
  if (ext) {
    // One 32-bit word: element header (id, L = 0 for one byte), the level, two padding bytes.
    store_be16(p, rtp_ext_profile_one_byte);
    store_be16(p + 2, 1);
    const uint8_t level = fields.level.level_dbov > 127 ? 127 : fields.level.level_dbov;
    p[4] = static_cast<uint8_t>(fields.audio_level_ext_id << 4);
    p[5] = static_cast<uint8_t>((fields.level.voice ? 0x80 : 0) | level);
    p[6] = 0;
    p[7] = 0;
  }
  return n;
}

}  // namespace tutti::dp
