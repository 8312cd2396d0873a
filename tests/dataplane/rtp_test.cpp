// RTP parse/build, RFC 8285 extension lookup and RFC 6464 audio levels on crafted packets.
#include "dataplane/rtp.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <deque>
#include <set>
#include <string>
#include <vector>

#include "dataplane/drop_counters.hpp"

using namespace tutti::dp;

namespace {

using bytes = std::vector<uint8_t>;

// A 12-byte header: V=2 and the given flags, PT 0, seq 0x1234, ts 0x01020304, SSRC 0xCAFEBABE.
bytes header(uint8_t b0_flags = 0, uint8_t b1 = 0) {
  return bytes{static_cast<uint8_t>(0x80 | b0_flags), b1, 0x12, 0x34, 0x01, 0x02, 0x03, 0x04,
               0xCA, 0xFE, 0xBA, 0xBE};
}

bytes operator+(bytes a, const bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

rtp_drop drop_of(const bytes& b) {
  auto r = parse_rtp(b.data(), b.size());
  REQUIRE_FALSE(r.ok());
  return r.error();
}

// Parses a copy that lives until the end of the test run: views point into it, and tests
// parse temporaries.
rtp_view parse_ok(const bytes& packet) {
  static std::deque<bytes> kept;
  const bytes& b = kept.emplace_back(packet);
  auto r = parse_rtp(b.data(), b.size());
  if (!r.ok()) FAIL("parse_rtp dropped: " << to_string(r.error()));
  return *r;
}

// A packet with X set, the given profile and extension data (padded by the caller to
// whole words), and a 2-byte payload.
bytes with_extension(uint16_t profile, const bytes& ext) {
  REQUIRE(ext.size() % 4 == 0);
  const auto words = static_cast<uint16_t>(ext.size() / 4);
  return header(0x10) +
         bytes{static_cast<uint8_t>(profile >> 8), static_cast<uint8_t>(profile),
               static_cast<uint8_t>(words >> 8), static_cast<uint8_t>(words)} +
         ext + bytes{0xAA, 0xBB};
}

}  // namespace

TEST_CASE("parse_rtp reads every field of a minimal packet", "[dataplane][rtp]") {
  const bytes b = header(0, 0x80 | 111) + bytes{1, 2, 3};
  const rtp_view v = parse_ok(b);
  CHECK(v.payload_type == 111);
  CHECK(v.marker);
  CHECK(v.sequence == 0x1234);
  CHECK(v.timestamp == 0x01020304u);
  CHECK(v.ssrc == 0xCAFEBABEu);
  CHECK(v.csrc_count == 0);
  CHECK(v.payload[0] == 1);
  CHECK(v.payload[2] == 3);
  CHECK(v.payload_len == 3);
  CHECK(v.ext == nullptr);
  CHECK(v.ext_len == 0);
  CHECK(v.ext_profile == 0);
  CHECK(v.header_len == 12);
  CHECK(v.padding_len == 0);
}

TEST_CASE("parse_rtp: truncated, too long, version", "[dataplane][rtp]") {
  CHECK(parse_rtp(nullptr, 0).error() == rtp_drop::truncated);
  bytes b = header() + bytes{1};
  CHECK(parse_rtp(b.data(), 11).error() == rtp_drop::truncated);
  CHECK(parse_rtp(b.data(), 13).ok());

  bytes big(65536, 0);
  std::memcpy(big.data(), b.data(), b.size());
  CHECK(drop_of(big) == rtp_drop::too_long);
  big.resize(65535);
  CHECK(parse_ok(big).payload_len == 65535 - 12);

  for (uint8_t v : {0x00, 0x40, 0xC0}) {
    b[0] = v;
    CHECK(drop_of(b) == rtp_drop::bad_version);
  }
}

TEST_CASE("parse_rtp: RTCP packet types are not RTP (RFC 5761 §4)", "[dataplane][rtp]") {
  for (int second = 192; second <= 223; ++second) {
    CAPTURE(second);
    CHECK(drop_of(header(0, static_cast<uint8_t>(second)) + bytes{0, 0, 0, 0}) ==
          rtp_drop::rtcp_packet);
  }
  // The same payload types without the marker, and the neighbours with it, are RTP.
  CHECK(parse_ok(header(0, 72) + bytes{1}).payload_type == 72);
  CHECK(parse_ok(header(0, 76) + bytes{1}).payload_type == 76);
  CHECK(parse_ok(header(0, 191) + bytes{1}).payload_type == 63);
  CHECK(parse_ok(header(0, 224) + bytes{1}).payload_type == 96);
}

TEST_CASE("looks_like_rtcp demultiplexes by the second byte", "[dataplane][rtp]") {
  const bytes sr{0x80, 200, 0x00, 0x06};
  CHECK(looks_like_rtcp(sr.data(), sr.size()));
  CHECK_FALSE(looks_like_rtcp(sr.data(), 3));
  const bytes rr_padded{0xA1, 201, 0x00, 0x07};
  CHECK(looks_like_rtcp(rr_padded.data(), rr_padded.size()));
  const bytes old_version{0x40, 200, 0x00, 0x06};
  CHECK_FALSE(looks_like_rtcp(old_version.data(), old_version.size()));
  const bytes rtp = header(0, 0x80 | 96) + bytes{1};
  CHECK_FALSE(looks_like_rtcp(rtp.data(), rtp.size()));
  const bytes pt72 = header(0, 72) + bytes{1};
  CHECK_FALSE(looks_like_rtcp(pt72.data(), pt72.size()));
}

TEST_CASE("parse_rtp: CSRC list bounds", "[dataplane][rtp]") {
  bytes csrcs;
  for (uint8_t i = 1; i <= 15; ++i) csrcs = csrcs + bytes{0, 0, 0, i};

  const rtp_view v = parse_ok(header(15) + csrcs + bytes{0x55});
  CHECK(v.csrc_count == 15);
  CHECK(v.header_len == 12 + 60);
  CHECK(v.payload_len == 1);
  CHECK(v.payload[0] == 0x55);
  CHECK(rtp_csrc(v, 0) == 1);
  CHECK(rtp_csrc(v, 14) == 15);

  // Exactly the CSRC list and nothing after: the list fits, the payload is empty.
  CHECK(drop_of(header(15) + csrcs) == rtp_drop::empty_payload);
  // One byte short of the list.
  bytes short_list(csrcs.begin(), csrcs.end() - 1);
  CHECK(drop_of(header(15) + short_list) == rtp_drop::bad_csrc);
  CHECK(drop_of(header(1) + bytes{0, 0, 0}) == rtp_drop::bad_csrc);
}

TEST_CASE("parse_rtp: extension length at the boundary and one past", "[dataplane][rtp]") {
  // Extension header alone cut short.
  CHECK(drop_of(header(0x10) + bytes{0xBE, 0xDE, 0x00}) == rtp_drop::bad_extension);
  // Header only, zero words, then payload.
  {
    const bytes b = header(0x10) + bytes{0xBE, 0xDE, 0x00, 0x00, 0x77};
    const rtp_view v = parse_ok(b);
    CHECK(v.ext == v.payload);  // zero bytes of data end where the payload starts
    CHECK(v.ext_len == 0);
    CHECK(v.ext_profile == 0xBEDE);
    CHECK(v.payload_len == 1);
    CHECK(v.header_len == 16);
  }
  const bytes two_words{0x00, 0x02, 1, 2, 3, 4, 5, 6, 7, 8};
  // Two words of data exactly present, one payload byte.
  {
    const bytes b = header(0x10) + bytes{0x12, 0x34} + two_words + bytes{0x99};
    const rtp_view v = parse_ok(b);
    CHECK(v.ext_profile == 0x1234);
    CHECK(v.ext_len == 8);
    CHECK(v.ext[7] == 8);
    CHECK(v.payload[0] == 0x99);
    CHECK(v.payload_len == 1);
  }
  // Data ends exactly at the end of the packet: fits, but nothing is left for payload.
  CHECK(drop_of(header(0x10) + bytes{0x12, 0x34} + two_words) == rtp_drop::empty_payload);
  // One byte past the end.
  const bytes short_ext(two_words.begin(), two_words.end() - 1);
  CHECK(drop_of(header(0x10) + bytes{0x12, 0x34} + short_ext) == rtp_drop::bad_extension);
  // Length field far past the end.
  CHECK(drop_of(header(0x10) + bytes{0xBE, 0xDE, 0xFF, 0xFF, 1, 2, 3, 4}) ==
        rtp_drop::bad_extension);
  // CSRCs and extension together: the extension starts after the list.
  {
    const bytes b = header(0x11) + bytes{9, 9, 9, 9} + bytes{0xBE, 0xDE, 0, 1, 0x10, 0x2A, 0, 0} +
                    bytes{0x42};
    const rtp_view v = parse_ok(b);
    CHECK(v.ext[0] == 0x10);
    CHECK(v.payload - v.ext == 4);
    CHECK(v.header_len == 24);
  }
}

TEST_CASE("parse_rtp: padding edge cases", "[dataplane][rtp]") {
  // Padding count 0 is invalid (it counts itself).
  CHECK(drop_of(header(0x20) + bytes{1, 2, 3, 0}) == rtp_drop::bad_padding);
  // Count larger than everything after the header.
  CHECK(drop_of(header(0x20) + bytes{1, 2, 3, 5}) == rtp_drop::bad_padding);
  CHECK(drop_of(header(0x20) + bytes{1, 2, 3, 255}) == rtp_drop::bad_padding);
  // P set but no byte after the header to hold the count.
  CHECK(drop_of(header(0x20)) == rtp_drop::bad_padding);
  // Count equal to everything after the header: all padding, no payload.
  CHECK(drop_of(header(0x20) + bytes{1, 2, 3, 4}) == rtp_drop::empty_payload);
  CHECK(drop_of(header(0x20) + bytes{1}) == rtp_drop::empty_payload);
  // One less: one payload byte.
  {
    const bytes b = header(0x20) + bytes{0xEE, 2, 3, 3};
    const rtp_view v = parse_ok(b);
    CHECK(v.payload_len == 1);
    CHECK(v.payload[0] == 0xEE);
    CHECK(v.padding_len == 3);
  }
  // Count 1: just the count byte.
  CHECK(parse_ok(header(0x20) + bytes{7, 8, 1}).payload_len == 2);
  // Padding cannot reach back into the extension.
  const bytes ext{0xBE, 0xDE, 0x00, 0x01, 0x10, 0x2A, 0x00, 0x00};
  CHECK(drop_of(header(0x30) + ext + bytes{0xAB, 0x03}) == rtp_drop::bad_padding);
  CHECK(drop_of(header(0x30) + ext + bytes{0xAB, 0x02}) == rtp_drop::empty_payload);
  CHECK(parse_ok(header(0x30) + ext + bytes{0xAB, 0x01}).payload_len == 1);
}

TEST_CASE("every rtp_drop has its own name and can be counted", "[dataplane][rtp]") {
  std::set<std::string> names;
  drop_counters<rtp_drop> counters;
  for (size_t i = 0; i < static_cast<size_t>(rtp_drop::count); ++i) {
    const auto reason = static_cast<rtp_drop>(i);
    const std::string name = to_string(reason);
    CHECK(name != "unknown");
    names.insert(name);
    counters.add(reason, i + 1);
  }
  CHECK(names.size() == static_cast<size_t>(rtp_drop::count));
  CHECK(std::string(to_string(rtp_drop::count)) == "unknown");
  CHECK(counters.get(rtp_drop::truncated) == 1);
  CHECK(counters.get(rtp_drop::too_long) == static_cast<uint64_t>(rtp_drop::too_long) + 1);
  const uint64_t n = static_cast<uint64_t>(rtp_drop::count);
  CHECK(counters.total() == n * (n + 1) / 2);
  counters.add(rtp_drop::count);  // out of range: ignored
  CHECK(counters.total() == n * (n + 1) / 2);
  CHECK(counters.get(rtp_drop::count) == 0);
}

TEST_CASE("find_extension: one-byte form with padding between elements", "[dataplane][rtp]") {
  // id 1 (1 byte), two padding bytes, id 2 (3 bytes), padding, id 14 (16 bytes), padding.
  bytes ext{0x10, 0x2A, 0x00, 0x00, 0x22, 0xA1, 0xA2, 0xA3, 0x00, 0xEF};
  for (uint8_t i = 0; i < 16; ++i) ext.push_back(static_cast<uint8_t>(0xC0 + i));
  ext = ext + bytes{0x00, 0x00};
  REQUIRE(ext.size() == 28);
  const bytes b = with_extension(0xBEDE, ext);
  const rtp_view v = parse_ok(b);

  auto e1 = find_extension(v, 1);
  REQUIRE(e1);
  CHECK(e1->len == 1);
  CHECK(e1->data[0] == 0x2A);
  auto e2 = find_extension(v, 2);
  REQUIRE(e2);
  CHECK(e2->len == 3);
  CHECK(e2->data[2] == 0xA3);
  auto e14 = find_extension(v, 14);
  REQUIRE(e14);
  CHECK(e14->len == 16);
  CHECK(e14->data[0] == 0xC0);
  CHECK(e14->data[15] == 0xCF);
  CHECK_FALSE(find_extension(v, 3));
  CHECK_FALSE(find_extension(v, 0));
  CHECK_FALSE(find_extension(v, 15));
  CHECK_FALSE(find_extension(v, 200));  // beyond the one-byte range
}

TEST_CASE("find_extension: one-byte id 15 stops parsing (RFC 8285 §4.2)", "[dataplane][rtp]") {
  const bytes b = with_extension(0xBEDE, bytes{0x10, 0x01, 0xF3, 0x30, 0x02, 0x00, 0x00, 0x00});
  const rtp_view v = parse_ok(b);
  CHECK(find_extension(v, 1));
  CHECK_FALSE(find_extension(v, 3));  // after id 15, ignored
  // id 0 with a non-zero length is malformed, not padding: nothing after it counts.
  const rtp_view w = parse_ok(with_extension(0xBEDE, bytes{0x10, 0x01, 0x01, 0x30, 0x02, 0, 0, 0}));
  CHECK(find_extension(w, 1));
  CHECK_FALSE(find_extension(w, 3));
}

TEST_CASE("find_extension: one-byte element at the block boundary and one past",
          "[dataplane][rtp]") {
  // id 1 with L=2 (3 data bytes) fills the 4-byte block exactly.
  const rtp_view exact = parse_ok(with_extension(0xBEDE, bytes{0x12, 1, 2, 3}));
  auto e = find_extension(exact, 1);
  REQUIRE(e);
  CHECK(e->len == 3);
  CHECK(e->data[2] == 3);
  // L=3 (4 data bytes) would run one byte past it.
  const rtp_view past = parse_ok(with_extension(0xBEDE, bytes{0x13, 1, 2, 3}));
  CHECK_FALSE(find_extension(past, 1));
  // An element header as the very last byte has no data at all.
  const rtp_view last = parse_ok(with_extension(0xBEDE, bytes{0x10, 0x05, 0x00, 0x20}));
  CHECK(find_extension(last, 1));
  CHECK_FALSE(find_extension(last, 2));
}

TEST_CASE("find_extension: two-byte form with appbits, padding and empty elements",
          "[dataplane][rtp]") {
  // id 1 empty, padding, id 200 (5 bytes), padding, id 255 (1 byte), padding to a word.
  const bytes ext{0x01, 0x00, 0x00, 0xC8, 0x05, 1, 2, 3, 4, 5, 0x00, 0xFF, 0x01, 0x7E, 0x00, 0x00};
  for (uint16_t profile : {0x1000, 0x100F, 0x1005}) {
    CAPTURE(profile);
    const rtp_view v = parse_ok(with_extension(profile, ext));
    auto e1 = find_extension(v, 1);
    REQUIRE(e1);
    CHECK(e1->len == 0);
    auto e200 = find_extension(v, 200);
    REQUIRE(e200);
    CHECK(e200->len == 5);
    CHECK(e200->data[4] == 5);
    auto e255 = find_extension(v, 255);
    REQUIRE(e255);
    CHECK(e255->len == 1);
    CHECK(e255->data[0] == 0x7E);
    CHECK_FALSE(find_extension(v, 2));
    CHECK_FALSE(find_extension(v, 0));
  }
  // Not the two-byte profile: the top 12 bits must be 0x100.
  CHECK_FALSE(find_extension(parse_ok(with_extension(0x1010, ext)), 200));
  CHECK_FALSE(find_extension(parse_ok(with_extension(0x0000, ext)), 200));
  CHECK_FALSE(find_extension(parse_ok(with_extension(0xBEDF, ext)), 1));

  // Element filling the block exactly, then one byte longer than the block.
  const rtp_view exact = parse_ok(with_extension(0x1000, bytes{0x07, 0x02, 0xAB, 0xCD}));
  REQUIRE(find_extension(exact, 7));
  CHECK(find_extension(exact, 7)->data[1] == 0xCD);
  CHECK_FALSE(find_extension(parse_ok(with_extension(0x1000, bytes{0x07, 0x03, 0xAB, 0xCD})), 7));
  // A lone id byte at the end has no length byte.
  const rtp_view lone = parse_ok(with_extension(0x1000, bytes{0x07, 0x01, 0xAB, 0x09}));
  CHECK(find_extension(lone, 7));
  CHECK_FALSE(find_extension(lone, 9));
  // No extension at all.
  CHECK_FALSE(find_extension(parse_ok(header() + bytes{1}), 1));
}

TEST_CASE("parse_audio_level reads RFC 6464 in both forms", "[dataplane][rtp]") {
  const rtp_view one = parse_ok(with_extension(0xBEDE, bytes{0x30, 0x80 | 42, 0x00, 0x00}));
  auto a = parse_audio_level(one, 3);
  REQUIRE(a);
  CHECK(a->voice);
  CHECK(a->level_dbov == 42);
  CHECK_FALSE(parse_audio_level(one, 1));

  const rtp_view two = parse_ok(with_extension(0x1000, bytes{0x05, 0x01, 0x7F, 0x00}));
  auto b = parse_audio_level(two, 5);
  REQUIRE(b);
  CHECK_FALSE(b->voice);
  CHECK(b->level_dbov == 127);

  // An empty two-byte element carries no level.
  const rtp_view empty = parse_ok(with_extension(0x1000, bytes{0x05, 0x00, 0x00, 0x00}));
  CHECK_FALSE(parse_audio_level(empty, 5));
}

TEST_CASE("build_rtp_header writes the exact bytes", "[dataplane][rtp]") {
  std::array<uint8_t, 64> out{};
  rtp_header_fields f{0, false, 0, 0, 0};
  f.payload_type = 8;
  f.marker = true;
  f.sequence = 0xFFFE;
  f.timestamp = 0xDEADBEEF;
  f.ssrc = 0x01020304;
  REQUIRE(build_rtp_header(out.data(), out.size(), f) == 12);
  CHECK(bytes(out.begin(), out.begin() + 12) ==
        bytes{0x80, 0x88, 0xFF, 0xFE, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04});

  f.audio_level_ext_id = 1;
  f.level = {true, 30};
  REQUIRE(rtp_header_size(f) == 20);
  REQUIRE(build_rtp_header(out.data(), out.size(), f) == 20);
  CHECK(bytes(out.begin(), out.begin() + 20) ==
        bytes{0x90, 0x88, 0xFF, 0xFE, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04,
              0xBE, 0xDE, 0x00, 0x01, 0x10, 0x80 | 30, 0x00, 0x00});

  // Too small by one byte, with and without the extension.
  CHECK(build_rtp_header(out.data(), 19, f) == 0);
  f.audio_level_ext_id = 0;
  CHECK(build_rtp_header(out.data(), 11, f) == 0);
  CHECK(build_rtp_header(out.data(), 12, f) == 12);
  // Out-of-range fields.
  f.payload_type = 128;
  CHECK(build_rtp_header(out.data(), out.size(), f) == 0);
  f.payload_type = 0;
  f.audio_level_ext_id = 15;
  CHECK(build_rtp_header(out.data(), out.size(), f) == 0);
  f.audio_level_ext_id = 14;
  f.level = {false, 200};  // clamped to 127
  REQUIRE(build_rtp_header(out.data(), out.size(), f) == 20);
  CHECK(out[16] == 0xE0);
  CHECK(out[17] == 127);
}

TEST_CASE("build then parse round-trips every field and level", "[dataplane][rtp]") {
  std::array<uint8_t, 128> buf{};
  for (uint8_t id : {1, 7, 14}) {
    for (int voice = 0; voice < 2; ++voice) {
      for (uint8_t level = 0; level < 128; ++level) {
        rtp_header_fields f{0, false, 0, 0, 0};
        f.payload_type = static_cast<uint8_t>(level % 128);
        f.marker = voice;
        f.sequence = static_cast<uint16_t>(level * 517);
        f.timestamp = 160u * level;
        f.ssrc = 0x10000u + level;
        f.audio_level_ext_id = id;
        f.level = {voice != 0, level};
        const size_t h = build_rtp_header(buf.data(), buf.size(), f);
        REQUIRE(h == 20);
        buf[h] = 0x5A;
        auto r = parse_rtp(buf.data(), h + 1);
        if (f.marker && f.payload_type >= 64 && f.payload_type <= 95) {
          // Marker + PT 64..95 is RTCP's range: a sender must not build these (RFC 5761).
          CHECK(r.error() == rtp_drop::rtcp_packet);
          continue;
        }
        REQUIRE(r.ok());
        CHECK(r->payload_type == f.payload_type);
        CHECK(r->marker == f.marker);
        CHECK(r->sequence == f.sequence);
        CHECK(r->timestamp == f.timestamp);
        CHECK(r->ssrc == f.ssrc);
        CHECK(r->payload_len == 1);
        CHECK(r->payload[0] == 0x5A);
        auto a = parse_audio_level(*r, id);
        REQUIRE(a);
        CHECK(a->voice == (voice != 0));
        CHECK(a->level_dbov == level);
      }
    }
  }
}

TEST_CASE("build_rtp_header with CSRCs round-trips", "[dataplane][rtp]") {
  std::array<uint32_t, 16> csrcs{};
  for (uint32_t i = 0; i < 16; ++i) csrcs[i] = 0xA0000000u + i;
  std::array<uint8_t, 128> buf{};
  rtp_header_fields f{96, false, 7, 8, 9};
  f.audio_level_ext_id = 2;
  f.level = {true, 5};
  const size_t h = build_rtp_header(buf.data(), buf.size(), f, std::span(csrcs.data(), 15));
  REQUIRE(h == 12 + 60 + 8);
  CHECK(rtp_header_size(f, 15) == h);
  CHECK(build_rtp_header(buf.data(), buf.size(), f, std::span(csrcs.data(), 16)) == 0);
  CHECK(build_rtp_header(buf.data(), h - 1, f, std::span(csrcs.data(), 15)) == 0);
  buf[h] = 1;
  buf[h + 1] = 2;
  auto r = parse_rtp(buf.data(), h + 2);
  REQUIRE(r.ok());
  CHECK(r->csrc_count == 15);
  for (size_t i = 0; i < 15; ++i) CHECK(rtp_csrc(*r, i) == csrcs[i]);
  CHECK(r->header_len == h);
  CHECK(r->payload_len == 2);
  REQUIRE(parse_audio_level(*r, 2));
  CHECK(parse_audio_level(*r, 2)->level_dbov == 5);
}
