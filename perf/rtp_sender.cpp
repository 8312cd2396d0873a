#include "perf/rtp_sender.hpp"

#include <cmath>
#include <cstring>

#include "dataplane/rtp.hpp"

namespace tutti::perf {

rtp_sender::rtp_sender(const rtpgen_config& c, const voice_bank& voices)
    : c_(c), voices_(voices),
      periods_(static_cast<uint64_t>(std::llround(c.seconds * 50))),
      rotate_periods_(static_cast<uint64_t>(std::llround(c.rotate_s * 50))),
      samples_per_period_(dp::rtp_clock_hz(c.codec) / 50) {
  parts_.reserve(c.participants);
  for (uint32_t i = 0; i < c.participants; ++i) {
    participant p{};
    p.position = c.position_of(i);
    p.ssrc = c.ssrc_base + i;
    // Random-looking but reproducible starting points (RFC 3550 §5.1 wants them random).
    p.sequence = static_cast<uint16_t>(i * 7919u + 11);
    p.timestamp0 = i * 2654435761u;
    const size_t frames = voices.voice_of(p.position).frames();
    p.offset = static_cast<uint32_t>((size_t{i} * 37) % (frames ? frames : 1));
    p.phase_ns = rtp_period_ns * i / c.participants;
    parts_.push_back(p);
  }
}

bool rtp_sender::talking(uint32_t i, uint64_t period) const noexcept {
  const uint32_t members = c_.members_of(c_.conference_of(i));
  const uint32_t talkers = c_.talkers_in(members);
  if (talkers >= members) return true;
  const uint64_t first = rotate_periods_ ? (period / rotate_periods_) % members : 0;
  return (parts_[i].position + members - first) % members < talkers;
}

size_t rtp_sender::build(uint32_t i, uint64_t period, uint8_t* out, size_t cap) noexcept {
  participant& p = parts_[i];
  const bool talks = talking(i, period);
  std::span<const uint8_t> payload;
  uint8_t level = 127;
  if (talks || !c_.dtx) {
    const voice_stream& v = talks ? voices_.voice_of(p.position) : voices_.quiet;
    const size_t f = (period + p.offset) % v.frames();
    payload = v.payload(f);
    level = v.level_dbov(f);
  } else if ((period + i) % 20 == 0) {
    payload = voices_.dtx;  // a VOIP encoder in DTX sends one frame every 400 ms
  } else {
    p.sent_last = false;
    return 0;
  }
  dp::rtp_header_fields h{};
  h.payload_type = c_.payload_type();
  h.marker = !p.sent_last;
  h.sequence = p.sequence;
  h.timestamp = p.timestamp0 + static_cast<uint32_t>(period * samples_per_period_);
  h.ssrc = p.ssrc;
  if (c_.levels) {
    h.audio_level_ext_id = c_.level_ext_id;
    h.level = {talks, level};
  }
  const size_t hl = dp::build_rtp_header(out, cap, h);
  if (hl == 0 || hl + payload.size() > cap) return 0;
  std::memcpy(out + hl, payload.data(), payload.size());
  ++p.sequence;
  p.sent_last = true;
  ++built_;
  return hl + payload.size();
}

}  // namespace tutti::perf
