// What each tutti-rtpgen participant sends, period by period: RTP packets (RFC 3550) of its
// pre-encoded voice, with an RFC 6464 level when asked, silence as room noise or Opus DTX,
// and its place in the 20 ms period.
//
// Model: participant i sends the packet of period k at start + k * 20 ms + phase(i), phases
// spread evenly over the period. The RTP timestamp advances 20 ms a period whether or not a
// packet goes out (an Opus DTX gap), the sequence number once per packet sent; the marker
// starts a talkspurt (RFC 3551 §4.1). Building a packet is a copy: no encoding, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "perf/rtpgen_audio.hpp"
#include "perf/rtpgen_config.hpp"

namespace tutti::perf {

inline constexpr uint64_t rtp_period_ns = 20'000'000;

class rtp_sender {
 public:
  rtp_sender(const rtpgen_config& c, const voice_bank& voices);

  uint32_t participants() const noexcept { return static_cast<uint32_t>(parts_.size()); }
  // Periods in the run (--seconds of 20 ms).
  uint64_t periods() const noexcept { return periods_; }
  // Offset of participant i's sends within each period.
  uint64_t phase_ns(uint32_t i) const noexcept { return parts_[i].phase_ns; }
  uint32_t ssrc(uint32_t i) const noexcept { return parts_[i].ssrc; }
  // Whether participant i talks in period k (talkers per conference, moving with --rotate).
  bool talking(uint32_t i, uint64_t period) const noexcept;

  // Writes participant i's packet for period k into `out`; returns its length, or 0 when it
  // sends nothing this period (Opus DTX between its 400 ms frames) or `cap` is too small.
  size_t build(uint32_t i, uint64_t period, uint8_t* out, size_t cap) noexcept;

  uint64_t packets_built() const noexcept { return built_; }

 private:
  struct participant {
    uint32_t position;     // in its conference
    uint32_t ssrc;
    uint16_t sequence;     // next to send
    uint32_t timestamp0;   // RTP timestamp of period 0
    uint32_t offset;       // frame of its voice it starts on
    uint64_t phase_ns;
    bool sent_last;        // sent a packet last period (else the next one starts a talkspurt)
  };

  const rtpgen_config& c_;
  const voice_bank& voices_;
  std::vector<participant> parts_;
  uint64_t periods_;
  uint64_t rotate_periods_;
  uint32_t samples_per_period_;
  uint64_t built_ = 0;
};

}  // namespace tutti::perf
