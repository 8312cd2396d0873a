// RFC 4733 telephone-event parse/build and the DTMF tracker; see telephone_event.hpp.
#include "dataplane/telephone_event.hpp"

#include "dataplane/be_bytes.hpp"

namespace tutti::dp {

namespace {

// A timestamp this far behind the current event is a stream restart (new timestamp base),
// not a late packet of an earlier event: 2^20 units is over 20 s even at 48 kHz.
constexpr uint32_t max_backwards = 1u << 20;

// §2.5.1.3: a segment lasts at most 0xFFFF units, so a continuation segment starts no
// further than that from the previous one.
constexpr uint32_t max_segment = 0xFFFF;

}  // namespace

const char* to_string(telephone_event_drop reason) noexcept {
  switch (reason) {
    case telephone_event_drop::truncated: return "truncated";
    case telephone_event_drop::count: break;
  }
  return "unknown";
}

result<telephone_event, telephone_event_drop> parse_telephone_event(const uint8_t* payload,
                                                                     size_t len) noexcept {
  // §2.3: event (8) | E (1) R (1) volume (6) | duration (16). Anything after the first
  // four bytes is ignored: RFC 4733 sends one event per packet (redundancy is RFC 2198).
  if (len < 4) return fail(telephone_event_drop::truncated);
  return telephone_event{payload[0], (payload[1] & 0x80) != 0,
                         static_cast<uint8_t>(payload[1] & 0x3F), load_be16(payload + 2)};
}

size_t build_telephone_event(uint8_t* out, size_t cap, const telephone_event& ev) noexcept {
  if (cap < 4 || ev.volume > 63) return 0;
  out[0] = ev.event;
  out[1] = static_cast<uint8_t>((ev.end ? 0x80 : 0) | ev.volume);  // R bit sent as 0
  store_be16(out + 2, ev.duration);
  return 4;
}

char dtmf_char(uint8_t event) noexcept {
  static constexpr char digits[] = "0123456789*#ABCD";
  return event < 16 ? digits[event] : 0;
}

dtmf_notice dtmf_tracker::notice(dtmf_notice::kind what) const noexcept {
  return dtmf_notice{what, event_, volume_, start_ts_, duration_};
}

void dtmf_tracker::update_duration(uint16_t segment_duration) noexcept {
  // Reordered updates must not shorten the event.
  const uint32_t total = (segment_ts_ - start_ts_) + segment_duration;
  if (total > duration_) duration_ = total;
}

dtmf_notices dtmf_tracker::on_packet(uint32_t rtp_timestamp, bool marker,
                                     const telephone_event& ev) noexcept {
  dtmf_notices out;
  const uint32_t ahead = rtp_timestamp - segment_ts_;  // modulo 2^32

  if (seen_ && ahead == 0) {
    // Another packet of the current segment: an update, or a repeated end (§2.5.1.4),
    // or a late packet of an event already ended or flushed.
    if (!active_ || ev.event != event_) return out;
    update_duration(ev.duration);
    if (ev.end) {
      active_ = false;
      out.items[out.count++] = notice(dtmf_notice::kind::end);
    }
    return out;
  }
  if (seen_ && ahead > 0x80000000u && 0u - ahead <= max_backwards) {
    return out;  // a late packet of an earlier event
  }

  if (seen_ && active_ && ev.event == event_ && !marker && ahead <= max_segment) {
    // §2.5.1.3: the next segment of a long event, not a new key press.
    segment_ts_ = rtp_timestamp;
    update_duration(ev.duration);
    if (ev.end) {
      active_ = false;
      out.items[out.count++] = notice(dtmf_notice::kind::end);
    }
    return out;
  }

  if (active_) {
    // The previous event's end packets were all lost; a new event implies it ended.
    out.items[out.count++] = notice(dtmf_notice::kind::end);
  }
  seen_ = true;
  event_ = ev.event;
  volume_ = ev.volume;
  start_ts_ = segment_ts_ = rtp_timestamp;
  duration_ = ev.duration;
  out.items[out.count++] = notice(dtmf_notice::kind::begin);
  active_ = !ev.end;
  // Only this event's end packets arrived: it begins and ends at once.
  if (ev.end) out.items[out.count++] = notice(dtmf_notice::kind::end);
  return out;
}

std::optional<dtmf_notice> dtmf_tracker::flush() noexcept {
  if (!active_) return std::nullopt;
  active_ = false;
  return notice(dtmf_notice::kind::end);
}

}  // namespace tutti::dp
