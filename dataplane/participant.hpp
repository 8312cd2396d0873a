// One voice participant as its conference sees it: where its RTP comes from and goes to,
// its jitter buffer and decoder, its outgoing RTP header state, and what the current tick
// found in its stream. Created with all its memory on the control thread, then owned by
// exactly one conference on one worker; nothing else touches it.
#pragma once

#include <cstdint>

#include "dataplane/audio_decoder.hpp"
#include "dataplane/io/packet_io.hpp"
#include "dataplane/jitter_buffer.hpp"
#include "dataplane/media_format.hpp"
#include "dataplane/rtp_stats.hpp"
#include "dataplane/telephone_event.hpp"

namespace tutti::dp {

inline constexpr int32_t unity_gain_q12 = 4096;

struct participant_config {
  uint32_t id = 0;
  uint16_t local_port = 0;       // our UDP port for its RTP (and RTCP, muxed: RFC 5761)
  io::endpoint remote;           // where its RTP must come from and where ours goes; ip 0:
                                 // latch the first source seen (symmetric RTP)
  media_format format;           // one codec each way (what SDP negotiated)
  uint32_t ssrc = 0;             // our SSRC toward it
  int32_t input_gain_q12 = unity_gain_q12;   // applied to what it says
  int32_t output_gain_q12 = unity_gain_q12;  // applied to what it hears
  bool muted = false;            // not mixed
  bool deaf = false;             // gets nothing
};

// Counters of one participant; single writer (its worker).
struct participant_stats {
  uint64_t rx_packets = 0;        // RTP accepted into the jitter buffer
  uint64_t rx_bytes = 0;          // their payload bytes
  uint64_t rx_dropped = 0;        // RTP refused (parse, source, payload type, buffer)
  uint64_t tx_packets = 0;        // RTP sent to it
  uint64_t frames_decoded = 0;    // payloads decoded
  uint64_t frames_skipped = 0;    // payloads not decoded because they said silence
  uint64_t frames_concealed = 0;  // lost frames filled by PLC or FEC
  uint64_t frames_forwarded = 0;  // ticks it heard a payload forwarded without transcoding
  uint64_t frames_encoded = 0;    // ticks it heard its own encode (speaker or own gain)
  uint64_t frames_shared = 0;     // ticks it heard its group's shared encode
  uint64_t dtmf_events = 0;       // RFC 4733 digits recognised
};

// What a tick found in a participant's stream.
enum class frame_state : uint8_t {
  silence,           // nothing to mix: no packet, DTX, comfort noise, level below threshold
  pcm,               // pcm holds the frame at the mix rate
  speech_undecoded,  // the packet's RFC 6464 level says speech; decoded only if it is mixed
};

// Field order is by temperature: what every packet and tick touches comes first, so a
// tick over thousands of participants pulls in as few cache lines per participant as it
// can; statistics and rarely used state follow; the big buffers come last.
struct participant {
  explicit participant(const participant_config& c, uint32_t mix_rate_hz);

  participant_config config;

  // This tick.
  frame_state state = frame_state::silence;
  bool frame_is_whole_packet = false;  // payload below is one original 20 ms packet
  bool mixed = false;                  // a seated speaker with audio this tick
  uint8_t level_dbov = 127;
  int8_t encoder_slot = -1;            // speaker encoder of its output group while it has one
  uint16_t payload_len = 0;
  const uint8_t* payload = nullptr;    // the packet behind `state`, valid during the tick
  uint64_t last_decoded_tick = 0;      // conference tick number of its last decode

  // Outgoing RTP header state: continuous across speaker/listener and forwarded/encoded
  // switches (RFC 3550 §5.1: one SSRC, sequence +1 per packet, timestamp +20 ms).
  uint16_t tx_sequence = 0;
  bool tx_started = false;
  bool timed_out = false;              // an rtp_timeout event was posted and not yet undone
  uint32_t tx_timestamp = 0;
  uint32_t rtcp_countdown = 0;         // ticks until our next RTCP report
  uint32_t remote_ssrc = 0;            // SSRC of its RTP, for our report blocks
  uint64_t last_rx_ns = 0;             // last RTP received (0: none yet)
  uint64_t tx_bytes = 0;               // RTP payload octets sent (SR octet count)

  participant_stats stats;
  jitter_buffer jitter;
  audio_decoder decoder;
  rtp_source_stats reception;          // RFC 3550 A.1/A.3/A.8 for RR and metrics
  dtmf_tracker dtmf;
  uint64_t rx_rtcp = 0;                // RTCP compounds accepted from it
  rtcp_sr_log sent_reports;            // our last SRs, to compute RTT from its report blocks
  uint32_t rtt_us = 0;                 // last round trip from RFC 3550 §6.4.1; 0: unknown

  // Decoder continuity: the last payload it was not fed, to warm it before decoding again
  // (Opus state predicts from the past).
  uint16_t skipped_len = 0;
  uint16_t carry_pos = 0;
  uint16_t carry_len = 0;
  alignas(64) int16_t pcm[max_tick_samples];
  uint8_t skipped_payload[256];
  // Long packets (40/60 ms Opus) are decoded whole and played 20 ms per tick from here.
  int16_t carry[max_packet_samples];
};

}  // namespace tutti::dp
