// G.711 against an independent reference built from the standard's segment tables, for all
// 65536 linear inputs and all 256 codes, on every Highway target and for the scalar twins.
#include "simd/g711.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "tests/simd/targets.hpp"

namespace {

using namespace tutti::simd;

// One law's quantiser as G.711 tabulates it: 128 magnitude intervals with their decision
// values (lower edges) and decoder outputs (midpoints), on the law's own amplitude scale.
struct law_table {
  std::array<int, 128> lower{};
  std::array<int, 128> output{};
};

// µ-law, Table 2a: 14-bit scale, top at 8159. Segment 0 is one interval of width 1 then 15
// of width 2; segment s (1..7) is 16 intervals of width 2^(s+1). Output 0 for the first.
law_table mulaw_table() {
  law_table t;
  int edge = 0;
  for (int seg = 0; seg < 8; ++seg) {
    for (int step = 0; step < 16; ++step) {
      const int width = seg == 0 ? (step == 0 ? 1 : 2) : 2 << seg;
      const int i = seg * 16 + step;
      t.lower[i] = edge;
      t.output[i] = i == 0 ? 0 : edge + width / 2;
      edge += width;
    }
  }
  REQUIRE(edge == 8159);
  return t;
}

// A-law, Table 1a: 13-bit scale, top at 4096. Segments 0 and 1 are 16 intervals of width 2;
// segment s (2..7) is 16 intervals of width 2^s.
law_table alaw_table() {
  law_table t;
  int edge = 0;
  for (int seg = 0; seg < 8; ++seg) {
    for (int step = 0; step < 16; ++step) {
      const int width = seg < 2 ? 2 : 1 << seg;
      const int i = seg * 16 + step;
      t.lower[i] = edge;
      t.output[i] = edge + width / 2;
      edge += width;
    }
  }
  REQUIRE(edge == 4096);
  return t;
}

// The interval holding magnitude m: the last one whose decision value is <= m.
int interval(const law_table& t, int m) {
  int i = 0;
  while (i < 127 && t.lower[i + 1] <= m) ++i;
  return i;
}

// G.191 maps int16 to sign and magnitude by one's complement: ~x for negative x.
int magnitude(int x) { return x < 0 ? ~x : x; }

uint8_t ref_ulaw_encode(const law_table& t, int x) {
  const int i = interval(t, magnitude(x) >> 2);
  return static_cast<uint8_t>(x < 0 ? 0x7F - i : 0xFF - i);  // codes are sent inverted
}

int16_t ref_ulaw_decode(const law_table& t, uint8_t code) {
  const int i = 0x7F - (code & 0x7F);
  const int v = t.output[i] * 4;
  return static_cast<int16_t>(code & 0x80 ? v : -v);
}

uint8_t ref_alaw_encode(const law_table& t, int x) {
  const int i = interval(t, magnitude(x) >> 3);
  return static_cast<uint8_t>((x < 0 ? i : 0x80 | i) ^ 0x55);  // even bits inverted
}

int16_t ref_alaw_decode(const law_table& t, uint8_t code) {
  const int c = code ^ 0x55;
  const int v = t.output[c & 0x7F] * 8;
  return static_cast<int16_t>(c & 0x80 ? v : -v);
}

struct all_inputs {
  std::vector<int16_t> pcm;
  std::vector<uint8_t> codes;
  all_inputs() {
    for (int x = -32768; x <= 32767; ++x) pcm.push_back(static_cast<int16_t>(x));
    for (int c = 0; c < 256; ++c) codes.push_back(static_cast<uint8_t>(c));
  }
};

using encode_fn = void (*)(const int16_t*, uint8_t*, size_t) noexcept;
using decode_fn = void (*)(const uint8_t*, int16_t*, size_t) noexcept;

void check_encoder(encode_fn encode, uint8_t (*ref)(const law_table&, int), const law_table& t) {
  const all_inputs in;
  std::vector<uint8_t> out(in.pcm.size());
  encode(in.pcm.data(), out.data(), out.size());
  size_t mismatches = 0;
  for (size_t k = 0; k < in.pcm.size(); ++k) {
    if (out[k] != ref(t, in.pcm[k])) {
      if (++mismatches <= 5)
        FAIL_CHECK("x=" << in.pcm[k] << " got " << int(out[k]) << " want "
                        << int(ref(t, in.pcm[k])));
    }
  }
  CHECK(mismatches == 0);
}

void check_decoder(decode_fn decode, int16_t (*ref)(const law_table&, uint8_t),
                   const law_table& t) {
  const all_inputs in;
  std::vector<int16_t> out(in.codes.size());
  decode(in.codes.data(), out.data(), out.size());
  for (size_t c = 0; c < 256; ++c) {
    INFO("code " << c);
    CHECK(out[c] == ref(t, static_cast<uint8_t>(c)));
  }
}

}  // namespace

TEST_CASE("G.711 reference tables hold the standard's anchor values", "[simd][g711]") {
  const auto mu = mulaw_table();
  const auto a = alaw_table();
  CHECK(ref_ulaw_decode(mu, 0xFF) == 0);
  CHECK(ref_ulaw_decode(mu, 0x7F) == 0);
  CHECK(ref_ulaw_decode(mu, 0x80) == 32124);
  CHECK(ref_ulaw_decode(mu, 0x00) == -32124);
  CHECK(ref_ulaw_decode(mu, 0xFE) == 8);
  CHECK(ref_ulaw_encode(mu, 0) == 0xFF);
  CHECK(ref_ulaw_encode(mu, -1) == 0x7F);  // one's complement: -1 is "-0"
  CHECK(ref_ulaw_encode(mu, 32767) == 0x80);
  CHECK(ref_ulaw_encode(mu, -32768) == 0x00);
  CHECK(ref_alaw_decode(a, 0xD5) == 8);
  CHECK(ref_alaw_decode(a, 0x55) == -8);
  CHECK(ref_alaw_decode(a, 0xAA) == 32256);
  CHECK(ref_alaw_decode(a, 0x2A) == -32256);
  CHECK(ref_alaw_encode(a, 0) == 0xD5);
  CHECK(ref_alaw_encode(a, -1) == 0x55);
  CHECK(ref_alaw_encode(a, 32767) == 0xAA);
  CHECK(ref_alaw_encode(a, -32768) == 0x2A);
}

TEST_CASE("scalar G.711 twins match the reference for every input", "[simd][g711]") {
  const auto mu = mulaw_table();
  const auto a = alaw_table();
  check_encoder(scalar::ulaw_encode, ref_ulaw_encode, mu);
  check_decoder(scalar::ulaw_decode, ref_ulaw_decode, mu);
  check_encoder(scalar::alaw_encode, ref_alaw_encode, a);
  check_decoder(scalar::alaw_decode, ref_alaw_decode, a);
}

TEST_CASE("SIMD G.711 matches the reference for every input on every target", "[simd][g711]") {
  const auto mu = mulaw_table();
  const auto a = alaw_table();
  tutti::simd::test::for_each_target([&](int64_t) {
    check_encoder(ulaw_encode, ref_ulaw_encode, mu);
    check_decoder(ulaw_decode, ref_ulaw_decode, mu);
    check_encoder(alaw_encode, ref_alaw_encode, a);
    check_decoder(alaw_decode, ref_alaw_decode, a);
  });
}

TEST_CASE("every decoded value encodes back to its code", "[simd][g711]") {
  const all_inputs in;
  std::vector<int16_t> lin(256);
  std::vector<uint8_t> back(256);
  std::vector<int16_t> again(256);
  ulaw_decode(in.codes.data(), lin.data(), 256);
  ulaw_encode(lin.data(), back.data(), 256);
  ulaw_decode(back.data(), again.data(), 256);
  CHECK(again == lin);
  auto want = in.codes;
  want[0x7F] = 0xFF;  // µ-law's negative zero decodes to 0, which encodes as positive zero
  CHECK(back == want);
  alaw_decode(in.codes.data(), lin.data(), 256);
  alaw_encode(lin.data(), back.data(), 256);
  CHECK(back == in.codes);  // A-law has no negative zero: every code round-trips
}

TEST_CASE("SIMD G.711 equals its scalar twin for any length and alignment", "[simd][g711]") {
  std::mt19937 rng(711);
  tutti::simd::test::for_each_target([&](int64_t) {
    for (const size_t n : tutti::simd::test::edge_lengths) {
      for (const size_t offset : {size_t{0}, size_t{1}, size_t{3}}) {
        INFO("n=" << n << " offset=" << offset);
        const auto pcm = tutti::simd::test::random_pcm(rng, n + offset);
        std::vector<uint8_t> codes(n + offset + 1, 0xA5);
        for (auto& c : codes) c = static_cast<uint8_t>(rng());
        for (const auto& [simd_enc, scalar_enc] :
             {std::pair<encode_fn, encode_fn>{ulaw_encode, scalar::ulaw_encode},
              std::pair<encode_fn, encode_fn>{alaw_encode, scalar::alaw_encode}}) {
          // A sentinel byte past the end must survive.
          std::vector<uint8_t> got(n + offset + 1, 0xEE), want(n + offset + 1, 0xEE);
          simd_enc(pcm.data() + offset, got.data() + offset, n);
          scalar_enc(pcm.data() + offset, want.data() + offset, n);
          CHECK(got == want);
        }
        for (const auto& [simd_dec, scalar_dec] :
             {std::pair<decode_fn, decode_fn>{ulaw_decode, scalar::ulaw_decode},
              std::pair<decode_fn, decode_fn>{alaw_decode, scalar::alaw_decode}}) {
          std::vector<int16_t> got(n + offset + 1, 0x7EEE), want(n + offset + 1, 0x7EEE);
          simd_dec(codes.data() + offset, got.data() + offset, n);
          scalar_dec(codes.data() + offset, want.data() + offset, n);
          CHECK(got == want);
        }
      }
    }
  });
}
