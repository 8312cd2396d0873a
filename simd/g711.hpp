// G.711 µ-law and A-law companding (ITU-T G.711) between 16-bit linear PCM and 8-bit codes.
//
// Decoding follows G.711's decoder output values (Tables 1a/2a) scaled to 16 bits. Encoding
// follows the ITU-T G.191 reference (g711.c): the 14-bit (µ-law) or 13-bit (A-law) input is
// the top bits of the int16 sample and a negative sample's magnitude is its one's complement
// (~x), so the quantiser is exactly symmetric around -0.5 and encode(~x) differs from
// encode(x) only in the sign bit. Kernels take any n and unaligned pointers; the scalar
// twins in tutti::simd::scalar give identical output.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tutti::simd {

// Encodes n linear samples to µ-law codes (PCMU).
void ulaw_encode(const int16_t* pcm, uint8_t* out, size_t n) noexcept;
// Decodes n µ-law codes to linear samples.
void ulaw_decode(const uint8_t* in, int16_t* pcm, size_t n) noexcept;
// Encodes n linear samples to A-law codes (PCMA).
void alaw_encode(const int16_t* pcm, uint8_t* out, size_t n) noexcept;
// Decodes n A-law codes to linear samples.
void alaw_decode(const uint8_t* in, int16_t* pcm, size_t n) noexcept;

namespace scalar {
void ulaw_encode(const int16_t* pcm, uint8_t* out, size_t n) noexcept;
void ulaw_decode(const uint8_t* in, int16_t* pcm, size_t n) noexcept;
void alaw_encode(const int16_t* pcm, uint8_t* out, size_t n) noexcept;
void alaw_decode(const uint8_t* in, int16_t* pcm, size_t n) noexcept;
}  // namespace scalar

}  // namespace tutti::simd
