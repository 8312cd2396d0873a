#include "dataplane/participant.hpp"

namespace tutti::dp {

namespace {

jitter_config jitter_config_for(const media_format& f) {
  jitter_config c{};
  c.clock_rate_hz = rtp_clock_hz(f.codec);
  c.tick_ts = c.clock_rate_hz / 50;
  // Slots hold max_delay (300 ms) of 10 ms packets; a slot holds 40 ms of G.711 or a 20 ms
  // Opus frame up to 256 kbit/s. The buffer is most of a participant's memory, and what a
  // tick touches of it is what limits participants per core.
  c.capacity = 32;
  c.max_payload = f.codec == codec_id::opus ? 640 : 320;
  return c;
}

// RFC 3550 §5.1: sequence and timestamp start at random values; derived from the SSRC
// (itself random) so a participant's stream is reproducible in tests.
uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

}  // namespace

participant::participant(const participant_config& c, uint32_t mix_rate_hz)
    : config(c),
      tx_sequence(static_cast<uint16_t>(mix32(c.ssrc))),
      tx_timestamp(mix32(c.ssrc ^ 0x9e3779b9U)),
      jitter(jitter_config_for(c.format)),
      decoder(c.format.codec, mix_rate_hz) {}

}  // namespace tutti::dp
