// RTCP packets on the wire (RFC 3550 §6): compound packet validation and iteration, the
// typed packets a conference endpoint reads and writes (SR, RR, SDES, BYE), and builders.
//
// Model: parse_rtcp_compound checks a whole received datagram once (§6.1 and the A.2
// validity checks: version 2 everywhere, length fields that add up exactly to the
// datagram, an SR or RR first, padding only on the last packet) and returns a view that
// iterates its packets without further checks. Typed parsers (parse_sr, parse_rr,
// parse_sdes, parse_bye) check one packet's own layout; unknown types (APP, feedback, XR)
// are passed over by the caller. Views point into the caller's buffer. Builders write one
// packet each and return its length; a compound packet is their concatenation, e.g.
// SR + SDES(CNAME) (+ BYE). Per-packet path: noexcept, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.hpp"

namespace tutti::dp {

// RTCP packet types (§12.1) and SDES item types (§12.2) used here.
inline constexpr uint8_t rtcp_type_sr = 200;
inline constexpr uint8_t rtcp_type_rr = 201;
inline constexpr uint8_t rtcp_type_sdes = 202;
inline constexpr uint8_t rtcp_type_bye = 203;
inline constexpr uint8_t rtcp_type_app = 204;
inline constexpr uint8_t sdes_item_cname = 1;

// Why a datagram or one of its packets was not accepted as RTCP; a drop counter index.
enum class rtcp_drop : uint8_t {
  truncated,         // shorter than a packet header or than a packet's fixed part
  too_long,          // longer than 65535 bytes
  bad_version,       // a packet's version is not 2
  bad_length,        // length fields run past the datagram or do not add up to it
  bad_first_packet,  // the compound does not start with SR or RR (§6.1)
  bad_padding,       // P on a packet that is not last, or a padding count of 0 or too big
  bad_report_count,  // RC report blocks do not fit in the SR/RR
  bad_sdes,          // an SDES chunk or item runs past the packet or lacks its terminator
  bad_bye,           // BYE SSRCs or reason run past the packet
  wrong_type,        // a typed parser was given another packet type
  count
};

const char* to_string(rtcp_drop reason) noexcept;

// One packet of a validated compound.
struct rtcp_packet {
  uint8_t type;          // PT: 200 SR, 201 RR, 202 SDES, 203 BYE, 204 APP, 205.. feedback/XR
  uint8_t count;         // the 5-bit RC / SC / subtype field
  const uint8_t* data;   // its 4-byte header
  const uint8_t* body;   // what follows the header
  uint16_t body_len;     // bytes after the header, padding excluded
};

// A validated compound RTCP packet; iterate it with range-for.
class rtcp_compound {
 public:
  class iterator {
   public:
    rtcp_packet operator*() const noexcept;
    iterator& operator++() noexcept;
    bool operator==(const iterator& o) const noexcept { return off_ == o.off_; }

   private:
    friend class rtcp_compound;
    iterator(const rtcp_compound* c, size_t off) noexcept : c_(c), off_(off) {}
    const rtcp_compound* c_;
    size_t off_;
  };

  iterator begin() const noexcept { return iterator(this, 0); }
  iterator end() const noexcept { return iterator(this, len_); }
  size_t packet_count() const noexcept { return packets_; }
  size_t size() const noexcept { return len_; }

 private:
  friend result<rtcp_compound, rtcp_drop> parse_rtcp_compound(const uint8_t*, size_t,
                                                               bool) noexcept;
  const uint8_t* data_ = nullptr;
  size_t len_ = 0;
  size_t packets_ = 0;
  uint8_t padding_ = 0;  // padding bytes at the end of the last packet
};

// Validates a compound RTCP packet (§6.1, A.2). `reduced_size` lifts the SR/RR-first rule
// for RFC 5506 reduced-size RTCP, when negotiated.
result<rtcp_compound, rtcp_drop> parse_rtcp_compound(const uint8_t* data, size_t len,
                                                     bool reduced_size = false) noexcept;

// A report block (§6.4.1): reception statistics about one source.
struct rtcp_report_block {
  uint32_t ssrc;             // source the block is about
  uint8_t fraction_lost;     // lost/expected since the last report, 8-bit fixed point
  int32_t cumulative_lost;   // 24-bit signed on the wire: -8388608..8388607
  uint32_t ext_highest_seq;  // cycles << 16 | highest sequence number received
  uint32_t jitter;           // interarrival jitter, timestamp units
  uint32_t lsr;              // middle 32 bits of the last SR's NTP time; 0: none yet
  uint32_t dlsr;             // delay since that SR, 1/65536 s
  friend bool operator==(const rtcp_report_block&, const rtcp_report_block&) = default;
};

// The report blocks of an SR or RR, decoded on access.
struct rtcp_report_blocks {
  const uint8_t* data = nullptr;
  uint8_t count = 0;
  rtcp_report_block operator[](size_t i) const noexcept;  // i < count
};

// Sender info of an SR (§6.4.1).
struct rtcp_sender_info {
  uint64_t ntp_timestamp;  // 32.32 fixed point seconds since 1900
  uint32_t rtp_timestamp;  // the same instant on the RTP clock
  uint32_t packet_count;   // RTP packets sent since the start
  uint32_t octet_count;    // RTP payload octets sent since the start
  friend bool operator==(const rtcp_sender_info&, const rtcp_sender_info&) = default;
};

struct rtcp_sr {
  uint32_t ssrc;
  rtcp_sender_info info;
  rtcp_report_blocks reports;
};

struct rtcp_rr {
  uint32_t ssrc;
  rtcp_report_blocks reports;
};

// One SDES item (§6.5) with the SSRC of the chunk it belongs to.
struct rtcp_sdes_item {
  uint32_t ssrc;
  uint8_t type;        // 1 CNAME, 2 NAME, ... 8 PRIV
  const uint8_t* text; // UTF-8, not NUL-terminated
  uint8_t len;
  std::string_view text_view() const noexcept {
    return {reinterpret_cast<const char*>(text), len};
  }
};

// A validated SDES packet; next() yields its items chunk by chunk.
class rtcp_sdes {
 public:
  // The next item; false after the last.
  bool next(rtcp_sdes_item& out) noexcept;
  uint8_t chunk_count() const noexcept { return chunks_; }

 private:
  friend result<rtcp_sdes, rtcp_drop> parse_sdes(const rtcp_packet&) noexcept;
  const uint8_t* body_ = nullptr;
  size_t len_ = 0;
  size_t off_ = 0;       // next byte to read
  uint8_t chunks_ = 0;
  uint8_t chunks_left_ = 0;
  bool in_chunk_ = false;
  uint32_t ssrc_ = 0;
};

struct rtcp_bye {
  uint8_t count;           // SSRC/CSRCs leaving
  const uint8_t* ssrcs;
  const uint8_t* reason;   // nullptr when absent
  uint8_t reason_len;
  uint32_t ssrc(size_t i) const noexcept;  // i < count
  std::string_view reason_view() const noexcept {
    return {reinterpret_cast<const char*>(reason), reason ? reason_len : 0u};
  }
};

// Typed parsers of one packet from a validated compound. Trailing profile-specific
// extensions after an SR/RR's report blocks are allowed and ignored (§6.4.1).
result<rtcp_sr, rtcp_drop> parse_sr(const rtcp_packet& p) noexcept;
result<rtcp_rr, rtcp_drop> parse_rr(const rtcp_packet& p) noexcept;
result<rtcp_sdes, rtcp_drop> parse_sdes(const rtcp_packet& p) noexcept;
result<rtcp_bye, rtcp_drop> parse_bye(const rtcp_packet& p) noexcept;

// Builders: each writes one packet and returns its length, or 0 when `cap` is too small
// or an argument is out of range (more than 31 blocks or SSRCs, text over 255 bytes).
// cumulative_lost outside the 24-bit range is clamped (A.3).
size_t build_sr(uint8_t* out, size_t cap, uint32_t ssrc, const rtcp_sender_info& info,
                std::span<const rtcp_report_block> reports) noexcept;
size_t build_rr(uint8_t* out, size_t cap, uint32_t ssrc,
                std::span<const rtcp_report_block> reports) noexcept;
size_t build_sdes_cname(uint8_t* out, size_t cap, uint32_t ssrc, std::string_view cname) noexcept;
size_t build_bye(uint8_t* out, size_t cap, std::span<const uint32_t> ssrcs,
                 std::string_view reason = {}) noexcept;

}  // namespace tutti::dp
