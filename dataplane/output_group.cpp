#include "dataplane/output_group.hpp"

#include <algorithm>

namespace tutti::dp {

output_group::output_group(codec_id c, uint32_t mix_rate_hz, size_t own_encoder_slots,
                           const opus_encoder_settings& opus)
    : codec(c), shared(c, mix_rate_hz, opus), slots(own_encoder_slots) {
  for (auto& s : slots) s.encoder = std::make_unique<audio_encoder>(c, mix_rate_hz, opus);
  // Silence is encoded once by a throwaway encoder so the shared one's state stays the mix's.
  audio_encoder silence_encoder(c, mix_rate_hz, opus);
  int16_t zero[max_tick_samples] = {};
  const int len = silence_encoder.encode(zero, silence_payload, sizeof silence_payload);
  silence_len = static_cast<uint16_t>(std::max(len, 0));
}

int output_group::take_slot() noexcept {
  for (size_t i = 0; i < slots.size(); ++i) {
    if (!slots[i].in_use) {
      slots[i].in_use = true;
      // A fresh listener: the encoder must not predict from the previous owner's audio.
      slots[i].encoder->reset();
      return static_cast<int>(i);
    }
  }
  return -1;
}

void output_group::release_slot(int slot) noexcept {
  if (slot >= 0 && static_cast<size_t>(slot) < slots.size()) slots[slot].in_use = false;
}

}  // namespace tutti::dp
