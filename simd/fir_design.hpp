// Windowed-sinc low-pass design (Kaiser window) for the resampler's polyphase filters.
//
// Runs once when a resampler is built, never on the hot path. Frequencies are fractions of
// the sample rate the filter runs at (cycles per sample, 0 .. 0.5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tutti::simd::fir {

// Kaiser window shape parameter for a stopband attenuation in dB (Kaiser's formula).
double kaiser_beta(double atten_db) noexcept;

// Taps a Kaiser low-pass needs for this attenuation and transition width (Kaiser's formula).
size_t kaiser_length(double atten_db, double transition) noexcept;

// An odd-length, linear-phase low-pass: ideal response cut at `cutoff`, Kaiser window of
// shape `beta`, scaled so the taps sum to `gain`.
std::vector<double> kaiser_lowpass(size_t length, double cutoff, double beta, double gain);

// The filter's gain at frequency f (magnitude of its DTFT).
double response(const std::vector<double>& taps, double f) noexcept;

}  // namespace tutti::simd::fir
