// Synthetic audio for load generation and tests: "speech-like" voices (a glottal-pulse-like
// harmonic series whose pitch glides, shaped by a syllable-rate envelope with pauses, plus
// a little noise) and pure tones. Deterministic for a given voice index.
#pragma once

#include <cstdint>
#include <vector>

namespace tutti::perf {

// `frames` frames of 20 ms at `rate_hz` of voice number `voice` (each voice has its own pitch,
// syllable rhythm and pauses), peak around -12 dBFS.
std::vector<int16_t> speech_like(uint32_t voice, uint32_t rate_hz, uint32_t frames);

// A sine of `frequency_hz` at `level_dbfs` (0 = full scale peak).
std::vector<int16_t> tone(double frequency_hz, double level_dbfs, uint32_t rate_hz, uint32_t samples,
                          uint32_t phase_offset = 0);

// Low-level white noise (background of a quiet participant).
std::vector<int16_t> noise(double level_dbfs, uint32_t rate_hz, uint32_t frames, uint32_t seed);

}  // namespace tutti::perf
