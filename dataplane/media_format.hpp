// What a participant's RTP carries: codec, payload type and RTP clock. The mixer groups
// listeners by output format so every group shares one encode per tick.
#pragma once

#include <cstdint>

namespace tutti::dp {

enum class codec_id : uint8_t { pcmu, pcma, opus };

const char* to_string(codec_id c) noexcept;

// The RTP clock a codec uses on the wire: 8 kHz for G.711, always 48 kHz for Opus (RFC 7587 §4.1).
constexpr uint32_t rtp_clock_hz(codec_id c) noexcept { return c == codec_id::opus ? 48000 : 8000; }

struct media_format {
  codec_id codec = codec_id::pcmu;
  uint8_t payload_type = 0;
  uint8_t telephone_event_pt = 0;    // RFC 4733 payload type, 0 when not negotiated
  uint8_t audio_level_ext_id = 0;    // RFC 6464 extension id, 0 when not negotiated
  bool rtcp_mux = true;              // RTCP on the RTP port (RFC 5761); else our reports go to
                                     // the peer's RTP port + 1 (RFC 3550 §11)
};

// Two legs can exchange payloads without transcoding when codec and clock match: the payload
// type is rewritten by the listener's own header anyway.
constexpr bool same_codec(const media_format& a, const media_format& b) noexcept {
  return a.codec == b.codec;
}

// Samples per 20 ms at a rate.
constexpr uint32_t samples_per_20ms(uint32_t rate_hz) noexcept { return rate_hz / 50; }

// The mix rates a conference may run at.
constexpr bool valid_mix_rate(uint32_t rate_hz) noexcept {
  return rate_hz == 8000 || rate_hz == 16000 || rate_hz == 48000;
}

// Largest frame the engine handles: 60 ms at 48 kHz (Opus accepts 10/20/40/60 ms input).
inline constexpr uint32_t max_packet_samples = 2880;
// Largest 20 ms frame at the highest mix rate.
inline constexpr uint32_t max_tick_samples = 960;

}  // namespace tutti::dp
