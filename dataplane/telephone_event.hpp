// RFC 4733 telephone-event payloads (DTMF digits sent as named events, not tones) and a
// tracker that turns the stream of redundant packets of each event into one begin and one
// end notice.
//
// Model: a sender repeats each event's packet every ptime with the same RTP timestamp (the
// event's start) and a growing duration, then sends the final packet, E bit set, three
// times (§2.5.1.4). Events longer than the 16-bit duration continue in segments with new
// timestamps and no marker (§2.5.1.3). The tracker keys events by timestamp: one per
// incoming stream, fed each accepted telephone-event packet in arrival order; no
// allocation, no clock of its own.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "base/result.hpp"

namespace tutti::dp {

enum class telephone_event_drop : uint8_t {
  truncated,  // fewer than the 4 bytes of §2.3
  count
};

const char* to_string(telephone_event_drop reason) noexcept;

// One §2.3 payload.
struct telephone_event {
  uint8_t event;      // §3.2: 0-9 digits, 10 '*', 11 '#', 12-15 'A'-'D', 16 flash, ...
  bool end;           // E bit: the last packet(s) of this event
  uint8_t volume;     // 0..63, meaning 0..-63 dBm0 (meaningful for DTMF)
  uint16_t duration;  // in RTP timestamp units since the event's (segment's) timestamp
};

// Reads the first event of a telephone-event payload (RTP padding already removed).
result<telephone_event, telephone_event_drop> parse_telephone_event(const uint8_t* payload,
                                                                     size_t len) noexcept;

// Writes a 4-byte payload; returns 4, or 0 when cap < 4 or volume > 63.
size_t build_telephone_event(uint8_t* out, size_t cap, const telephone_event& ev) noexcept;

// The DTMF character of an event code: '0'-'9', '*', '#', 'A'-'D'; 0 for other events.
char dtmf_char(uint8_t event) noexcept;

// What the tracker reports.
struct dtmf_notice {
  enum class kind : uint8_t { begin, end };
  kind what;
  uint8_t event;       // event code (dtmf_char gives the digit)
  uint8_t volume;      // from the packet that began the event
  uint32_t timestamp;  // RTP timestamp of the event's first segment
  uint32_t duration;   // timestamp units: as first seen (begin) or total, all segments (end)
};

// Up to three notices from one packet, in order: the end of an event whose end packets
// were lost, the begin of the next, and its end when only its end packets arrived.
struct dtmf_notices {
  uint8_t count = 0;
  std::array<dtmf_notice, 3> items{};
};

class dtmf_tracker {
 public:
  // Feeds one telephone-event packet of this stream.
  dtmf_notices on_packet(uint32_t rtp_timestamp, bool marker, const telephone_event& ev) noexcept;
  // Ends the current event if no end packet came (caller's timeout, or audio resumed).
  std::optional<dtmf_notice> flush() noexcept;
  // Forgets everything: a new SSRC or timestamp base.
  void reset() noexcept { *this = dtmf_tracker{}; }
  // True between a begin and its end.
  bool active() const noexcept { return active_; }

 private:
  dtmf_notice notice(dtmf_notice::kind what) const noexcept;
  void update_duration(uint16_t segment_duration) noexcept;

  bool seen_ = false;        // an event has been seen: segment_ts_ is meaningful
  bool active_ = false;      // begun, not yet ended
  uint8_t event_ = 0;
  uint8_t volume_ = 0;
  uint32_t start_ts_ = 0;    // timestamp of the event's first segment
  uint32_t segment_ts_ = 0;  // timestamp of its current segment
  uint32_t duration_ = 0;    // total so far, all segments
};

}  // namespace tutti::dp
