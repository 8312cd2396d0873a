// Everything a conference needs to send one codec: the encoder whose single encode of the
// speakers' sum every plain listener of that codec shares, a small pool of encoders for the
// listeners that need their own mix (speakers hear the sum minus themselves; a listener with
// its own output gain), and the payload that means silence. Allocated on the control thread
// when a conference gets its first participant of that codec.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/audio_encoder.hpp"
#include "dataplane/media_format.hpp"

namespace tutti::dp {

inline constexpr size_t max_payload_bytes = 1500;

struct output_group {
  output_group(codec_id codec, uint32_t mix_rate_hz, size_t own_encoder_slots,
               const opus_encoder_settings& opus);

  // A free own-encoder slot, or -1 when all are taken.
  int take_slot() noexcept;
  void release_slot(int slot) noexcept;

  codec_id codec;
  audio_encoder shared;
  uint64_t shared_tick = ~uint64_t{0};  // tick whose sum `shared_payload` holds
  int shared_len = 0;
  uint8_t shared_payload[max_payload_bytes];

  struct slot {
    std::unique_ptr<audio_encoder> encoder;
    bool in_use = false;
    int len = 0;
    uint8_t payload[max_payload_bytes];
  };
  std::vector<slot> slots;

  uint16_t silence_len = 0;
  uint8_t silence_payload[max_payload_bytes];
};

}  // namespace tutti::dp
