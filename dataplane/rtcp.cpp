// RTCP compound validation, typed packet parsers and builders; see rtcp.hpp.
#include "dataplane/rtcp.hpp"

#include <algorithm>
#include <cstring>

#include "dataplane/be_bytes.hpp"

namespace tutti::dp {

namespace {

constexpr size_t header_len = 4;
constexpr size_t report_block_len = 24;
constexpr size_t sender_info_len = 20;
constexpr size_t max_count = 31;  // the 5-bit RC/SC field

// Bytes of one packet from its length field (§6.4.1: 32-bit words minus one).
size_t packet_bytes(const uint8_t* p) noexcept { return (load_be16(p + 2) + 1u) * 4u; }

void write_header(uint8_t* out, size_t count, uint8_t type, size_t total_bytes) noexcept {
  out[0] = static_cast<uint8_t>(0x80 | count);
  out[1] = type;
  store_be16(out + 2, static_cast<uint16_t>(total_bytes / 4 - 1));
}

void write_report_block(uint8_t* p, const rtcp_report_block& b) noexcept {
  store_be32(p, b.ssrc);
  p[4] = b.fraction_lost;
  // A.3: the field is 24-bit signed; clamp rather than wrap.
  const int32_t lost = std::clamp<int32_t>(b.cumulative_lost, -0x800000, 0x7FFFFF);
  store_be24(p + 5, static_cast<uint32_t>(lost) & 0xFFFFFF);
  store_be32(p + 8, b.ext_highest_seq);
  store_be32(p + 12, b.jitter);
  store_be32(p + 16, b.lsr);
  store_be32(p + 20, b.dlsr);
}

}  // namespace

const char* to_string(rtcp_drop reason) noexcept {
  switch (reason) {
    case rtcp_drop::truncated: return "truncated";
    case rtcp_drop::too_long: return "too_long";
    case rtcp_drop::bad_version: return "bad_version";
    case rtcp_drop::bad_length: return "bad_length";
    case rtcp_drop::bad_first_packet: return "bad_first_packet";
    case rtcp_drop::bad_padding: return "bad_padding";
    case rtcp_drop::bad_report_count: return "bad_report_count";
    case rtcp_drop::bad_sdes: return "bad_sdes";
    case rtcp_drop::bad_bye: return "bad_bye";
    case rtcp_drop::wrong_type: return "wrong_type";
    case rtcp_drop::count: break;
  }
  return "unknown";
}

// ---- compound ------------------------------------------------------------------------

result<rtcp_compound, rtcp_drop> parse_rtcp_compound(const uint8_t* data, size_t len,
                                                     bool reduced_size) noexcept {
  if (len < header_len) return fail(rtcp_drop::truncated);
  if (len > 0xFFFF) return fail(rtcp_drop::too_long);
  if (!reduced_size && data[1] != rtcp_type_sr && data[1] != rtcp_type_rr)
    return fail(rtcp_drop::bad_first_packet);

  rtcp_compound c;
  c.data_ = data;
  c.len_ = len;
  size_t off = 0;
  while (off < len) {
    const uint8_t* p = data + off;
    if (len - off < header_len) return fail(rtcp_drop::bad_length);
    if ((p[0] >> 6) != 2) return fail(rtcp_drop::bad_version);
    const size_t n = packet_bytes(p);
    if (n > len - off) return fail(rtcp_drop::bad_length);
    const bool last = off + n == len;
    if (p[0] & 0x20) {
      // §6.4.1/A.2: only the last packet may be padded; its last byte counts the padding,
      // itself included, and the padding comes out of the packet's body.
      if (!last) return fail(rtcp_drop::bad_padding);
      const uint8_t pad = p[n - 1];
      if (pad == 0 || pad > n - header_len) return fail(rtcp_drop::bad_padding);
      c.padding_ = pad;
    }
    off += n;
    ++c.packets_;
  }
  return c;
}

rtcp_packet rtcp_compound::iterator::operator*() const noexcept {
  const uint8_t* p = c_->data_ + off_;
  const size_t n = packet_bytes(p);
  const size_t pad = off_ + n == c_->len_ ? c_->padding_ : 0;
  return rtcp_packet{p[1], static_cast<uint8_t>(p[0] & 0x1F), p, p + header_len,
                     static_cast<uint16_t>(n - header_len - pad)};
}

rtcp_compound::iterator& rtcp_compound::iterator::operator++() noexcept {
  off_ += packet_bytes(c_->data_ + off_);
  return *this;
}

// ---- SR / RR -------------------------------------------------------------------------

rtcp_report_block rtcp_report_blocks::operator[](size_t i) const noexcept {
  const uint8_t* p = data + report_block_len * i;
  rtcp_report_block b;
  b.ssrc = load_be32(p);
  b.fraction_lost = p[4];
  // Sign-extend the 24-bit two's complement count.
  const uint32_t raw = load_be24(p + 5);
  b.cumulative_lost = static_cast<int32_t>(raw ^ 0x800000u) - 0x800000;
  b.ext_highest_seq = load_be32(p + 8);
  b.jitter = load_be32(p + 12);
  b.lsr = load_be32(p + 16);
  b.dlsr = load_be32(p + 20);
  return b;
}

result<rtcp_sr, rtcp_drop> parse_sr(const rtcp_packet& p) noexcept {
  if (p.type != rtcp_type_sr) return fail(rtcp_drop::wrong_type);
  if (p.body_len < 4 + sender_info_len) return fail(rtcp_drop::truncated);
  if (p.body_len < 4 + sender_info_len + report_block_len * p.count)
    return fail(rtcp_drop::bad_report_count);
  rtcp_sr sr;
  sr.ssrc = load_be32(p.body);
  sr.info.ntp_timestamp = load_be64(p.body + 4);
  sr.info.rtp_timestamp = load_be32(p.body + 12);
  sr.info.packet_count = load_be32(p.body + 16);
  sr.info.octet_count = load_be32(p.body + 20);
  sr.reports = {p.body + 4 + sender_info_len, p.count};
  return sr;
}

result<rtcp_rr, rtcp_drop> parse_rr(const rtcp_packet& p) noexcept {
  if (p.type != rtcp_type_rr) return fail(rtcp_drop::wrong_type);
  if (p.body_len < 4) return fail(rtcp_drop::truncated);
  if (p.body_len < 4 + report_block_len * p.count) return fail(rtcp_drop::bad_report_count);
  return rtcp_rr{load_be32(p.body), {p.body + 4, p.count}};
}

// ---- SDES ----------------------------------------------------------------------------

result<rtcp_sdes, rtcp_drop> parse_sdes(const rtcp_packet& p) noexcept {
  if (p.type != rtcp_type_sdes) return fail(rtcp_drop::wrong_type);
  // §6.5: SC chunks, each an SSRC and items (type, length, text) ended by a null type
  // byte, then null bytes up to the next 32-bit boundary. The body starts aligned.
  const uint8_t* b = p.body;
  const size_t len = p.body_len;
  size_t off = 0;
  for (uint8_t c = 0; c < p.count; ++c) {
    if (len - off < 4) return fail(rtcp_drop::bad_sdes);
    off += 4;
    for (;;) {
      if (off >= len) return fail(rtcp_drop::bad_sdes);  // no terminator
      if (b[off] == 0) break;
      if (len - off < 2 || len - off - 2 < b[off + 1]) return fail(rtcp_drop::bad_sdes);
      off += 2u + b[off + 1];
    }
    off = (off + 4) & ~size_t{3};  // past the terminator, to the boundary
    if (off > len) return fail(rtcp_drop::bad_sdes);
  }
  // The length field must cover exactly the chunks (A.2 sums lengths, so slack here
  // would be bytes nobody can interpret).
  if (off != len) return fail(rtcp_drop::bad_sdes);
  rtcp_sdes s;
  s.body_ = b;
  s.len_ = len;
  s.chunks_ = s.chunks_left_ = p.count;
  return s;
}

bool rtcp_sdes::next(rtcp_sdes_item& out) noexcept {
  for (;;) {
    if (!in_chunk_) {
      if (chunks_left_ == 0) return false;
      --chunks_left_;
      ssrc_ = load_be32(body_ + off_);
      off_ += 4;
      in_chunk_ = true;
    }
    const uint8_t type = body_[off_];
    if (type == 0) {
      off_ = (off_ + 4) & ~size_t{3};
      in_chunk_ = false;
      continue;
    }
    const uint8_t n = body_[off_ + 1];
    out = rtcp_sdes_item{ssrc_, type, body_ + off_ + 2, n};
    off_ += 2u + n;
    return true;
  }
}

// ---- BYE -----------------------------------------------------------------------------

uint32_t rtcp_bye::ssrc(size_t i) const noexcept { return load_be32(ssrcs + 4 * i); }

result<rtcp_bye, rtcp_drop> parse_bye(const rtcp_packet& p) noexcept {
  if (p.type != rtcp_type_bye) return fail(rtcp_drop::wrong_type);
  const size_t ids = 4u * p.count;
  if (p.body_len < ids) return fail(rtcp_drop::bad_bye);
  rtcp_bye bye{p.count, p.body, nullptr, 0};
  if (p.body_len > ids) {
    // §6.6: optional reason, a length byte and text, padded with nulls to 32 bits.
    const uint8_t n = p.body[ids];
    if (p.body_len - ids - 1 < n) return fail(rtcp_drop::bad_bye);
    bye.reason = p.body + ids + 1;
    bye.reason_len = n;
  }
  return bye;
}

// ---- builders ------------------------------------------------------------------------

size_t build_sr(uint8_t* out, size_t cap, uint32_t ssrc, const rtcp_sender_info& info,
                std::span<const rtcp_report_block> reports) noexcept {
  if (reports.size() > max_count) return 0;
  const size_t n = header_len + 4 + sender_info_len + report_block_len * reports.size();
  if (cap < n) return 0;
  write_header(out, reports.size(), rtcp_type_sr, n);
  store_be32(out + 4, ssrc);
  store_be64(out + 8, info.ntp_timestamp);
  store_be32(out + 16, info.rtp_timestamp);
  store_be32(out + 20, info.packet_count);
  store_be32(out + 24, info.octet_count);
  for (size_t i = 0; i < reports.size(); ++i)
    write_report_block(out + 28 + report_block_len * i, reports[i]);
  return n;
}

size_t build_rr(uint8_t* out, size_t cap, uint32_t ssrc,
                std::span<const rtcp_report_block> reports) noexcept {
  if (reports.size() > max_count) return 0;
  const size_t n = header_len + 4 + report_block_len * reports.size();
  if (cap < n) return 0;
  write_header(out, reports.size(), rtcp_type_rr, n);
  store_be32(out + 4, ssrc);
  for (size_t i = 0; i < reports.size(); ++i)
    write_report_block(out + 8 + report_block_len * i, reports[i]);
  return n;
}

size_t build_sdes_cname(uint8_t* out, size_t cap, uint32_t ssrc,
                        std::string_view cname) noexcept {
  if (cname.size() > 255) return 0;
  // One chunk: SSRC, the CNAME item, then 1..4 null bytes to the 32-bit boundary.
  const size_t items = 2 + cname.size();
  const size_t n = header_len + 4 + ((items + 4) & ~size_t{3});
  if (cap < n) return 0;
  write_header(out, 1, rtcp_type_sdes, n);
  store_be32(out + 4, ssrc);
  out[8] = sdes_item_cname;
  out[9] = static_cast<uint8_t>(cname.size());
  if (!cname.empty()) std::memcpy(out + 10, cname.data(), cname.size());
  std::memset(out + 10 + cname.size(), 0, n - 10 - cname.size());
  return n;
}

size_t build_bye(uint8_t* out, size_t cap, std::span<const uint32_t> ssrcs,
                 std::string_view reason) noexcept {
  if (ssrcs.size() > max_count || reason.size() > 255) return 0;
  const size_t ids = 4 * ssrcs.size();
  const size_t text = reason.empty() ? 0 : (1 + reason.size() + 3) & ~size_t{3};
  const size_t n = header_len + ids + text;
  if (cap < n) return 0;
  write_header(out, ssrcs.size(), rtcp_type_bye, n);
  for (size_t i = 0; i < ssrcs.size(); ++i) store_be32(out + 4 + 4 * i, ssrcs[i]);
  if (text) {
    uint8_t* p = out + header_len + ids;
    p[0] = static_cast<uint8_t>(reason.size());
    std::memcpy(p + 1, reason.data(), reason.size());
    std::memset(p + 1 + reason.size(), 0, text - 1 - reason.size());
  }
  return n;
}

}  // namespace tutti::dp
