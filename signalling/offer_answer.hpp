// SDP offer/answer for a voice conference (RFC 3264): from a client's offer, the one audio
// stream tutti will run — codec, payload types, the RFC 4733 and RFC 6464 extras, where the
// client's RTP comes from — and the answer that says so. Other m= lines are refused with
// port 0 (RFC 3264 §6). Signalling never includes dataplane/: control/ maps the result onto
// a media participant.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "signalling/sdp.hpp"

namespace tutti::sig {

enum class audio_codec : uint8_t { pcmu, pcma, opus };
const char* to_string(audio_codec c) noexcept;

// What the conference supports, in order of preference.
struct audio_policy {
  std::vector<audio_codec> codecs{audio_codec::opus, audio_codec::pcmu, audio_codec::pcma};
  bool telephone_event = true;  // RFC 4733 DTMF
  bool audio_level = true;      // RFC 6464 client-to-mixer levels
};

// The audio stream an offer and our policy agree on.
struct negotiated_audio {
  size_t media_index = 0;            // the m= line it came from
  audio_codec codec = audio_codec::pcmu;
  uint8_t payload_type = 0;
  uint8_t telephone_event_pt = 0;    // 0: none
  uint8_t audio_level_ext_id = 0;    // 0: none
  std::string remote_address;        // IPv4 text from c=
  uint16_t remote_port = 0;          // 0: the stream is put on hold (RFC 3264 §8.4 with c=0.0.0.0)
  sdp::direction offer_direction = sdp::direction::sendrecv;
  bool rtcp_mux = false;
  uint32_t ptime_ms = 20;
  bool on_hold() const noexcept {
    return remote_port == 0 || remote_address == "0.0.0.0" ||
           offer_direction == sdp::direction::sendonly || offer_direction == sdp::direction::inactive;
  }
};

enum class offer_error : uint8_t {
  no_audio,         // no usable audio m= line (488)
  no_common_codec,  // audio offered, but none of our codecs (488)
  no_address,       // no c= for the audio stream, or not IPv4 (488)
  refused,          // an answer refused the audio stream (port 0, RFC 3264 §6)
};
const char* to_string(offer_error e) noexcept;

// Picks the first audio m= line (RTP/AVP or RTP/SAVP... only plain RTP/AVP(F) is accepted)
// with a codec we support, by our preference.
result<negotiated_audio, offer_error> negotiate_audio(const sdp::session_description& offer,
                                                      const audio_policy& policy = {});

// Our answer: the same m= lines in order, the negotiated one with our address and port, the
// chosen codec (and telephone-event, audio level, rtcp-mux when agreed), the mirrored
// direction; the others refused with port 0.
sdp::session_description build_answer(const sdp::session_description& offer,
                                      const negotiated_audio& chosen,
                                      const std::string& local_address, uint16_t local_port,
                                      uint64_t session_id, uint64_t session_version);

// Payload types of our offer (RFC 3551 static ones for G.711, dynamic for the rest).
inline constexpr uint8_t offer_pt_opus = 111;
inline constexpr uint8_t offer_pt_dtmf_8k = 101;
inline constexpr uint8_t offer_pt_dtmf_48k = 110;
inline constexpr uint8_t offer_audio_level_id = 1;

// Our offer for a call we place (dial-out, RFC 3264 §5): one sendrecv audio stream at
// local_address:local_port with the policy's codecs in order (Opus 48 kHz, PCMU, PCMA),
// telephone-event at 8 and 48 kHz, the RFC 6464 level extension, rtcp-mux, ptime 20.
sdp::session_description build_offer(const std::string& local_address, uint16_t local_port,
                                     uint64_t session_id, uint64_t session_version,
                                     const audio_policy& policy = {});

// The stream an answer to build_offer() settles on (RFC 3264 §7): its first accepted audio
// line, the codec the answerer listed first among ours, its address and port, the extras it
// kept. remote_port 0 means refused.
result<negotiated_audio, offer_error> read_answer(const sdp::session_description& answer,
                                                  const audio_policy& policy = {});

}  // namespace tutti::sig
