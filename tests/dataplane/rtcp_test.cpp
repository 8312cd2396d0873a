// RTCP compound validation, typed packets and builders on crafted and built packets.
#include "dataplane/rtcp.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <optional>
#include <set>
#include <string>
#include <vector>

using namespace tutti::dp;

namespace {

using bytes = std::vector<uint8_t>;

bytes operator+(bytes a, const bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

rtcp_drop drop_of(const bytes& b, bool reduced_size = false) {
  auto r = parse_rtcp_compound(b.data(), b.size(), reduced_size);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

rtcp_compound parse_ok(const bytes& b, bool reduced_size = false) {
  auto r = parse_rtcp_compound(b.data(), b.size(), reduced_size);
  if (!r.ok()) FAIL("parse_rtcp_compound dropped: " << to_string(r.error()));
  return *r;
}

std::vector<rtcp_packet> packets(const rtcp_compound& c) {
  std::vector<rtcp_packet> out;
  for (const rtcp_packet& p : c) out.push_back(p);
  return out;
}

// A datagram together with its parsed packets, which point into it (moving a vector keeps
// its buffer, so the pointers stay valid).
struct datagram {
  bytes data;
  std::vector<rtcp_packet> ps;
};

datagram parse_packets(bytes b, bool reduced_size = false) {
  datagram d{std::move(b), {}};
  d.ps = packets(parse_ok(d.data, reduced_size));
  return d;
}

// An empty RR from SSRC 1: the smallest valid compound.
const bytes empty_rr{0x80, 201, 0x00, 0x01, 0, 0, 0, 1};

const rtcp_report_block block_a{0x11111111, 64, -3, 0x0001FFFF, 120, 0xAABBCCDD, 0x00018000};
const rtcp_report_block block_b{0x22222222, 255, 0x7FFFFF, 42, 0, 0, 0};

}  // namespace

TEST_CASE("RR with one report block: exact bytes and back", "[dataplane][rtcp]") {
  std::array<uint8_t, 64> buf{};
  const rtcp_report_block b{0x01020304, 0x40, -2, 0x00010005, 0x11, 0x22334455, 0x66778899};
  REQUIRE(build_rr(buf.data(), buf.size(), 0xCAFEBABE, std::span(&b, 1)) == 32);
  CHECK(bytes(buf.begin(), buf.begin() + 32) ==
        bytes{0x81, 201, 0x00, 0x07, 0xCA, 0xFE, 0xBA, 0xBE,  //
              0x01, 0x02, 0x03, 0x04, 0x40, 0xFF, 0xFF, 0xFE,  //
              0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x11,  //
              0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99});
  auto parsed = parse_rtcp_compound(buf.data(), 32);
  REQUIRE(parsed.ok());
  const rtcp_compound c = *parsed;
  REQUIRE(c.packet_count() == 1);
  const rtcp_packet p = *c.begin();
  CHECK(p.type == rtcp_type_rr);
  CHECK(p.count == 1);
  CHECK(p.body_len == 28);
  auto rr = parse_rr(p);
  REQUIRE(rr.ok());
  CHECK(rr->ssrc == 0xCAFEBABE);
  REQUIRE(rr->reports.count == 1);
  CHECK(rr->reports[0] == b);
  CHECK(build_rr(buf.data(), 31, 1, std::span(&b, 1)) == 0);
}

TEST_CASE("cumulative lost is 24-bit signed, clamped on build", "[dataplane][rtcp]") {
  struct expect_case {
    int32_t given;
    uint32_t wire;
    int32_t read_back;
  };
  const expect_case cases[] = {
      {0, 0x000000, 0},          {1, 0x000001, 1},
      {-1, 0xFFFFFF, -1},        {0x7FFFFF, 0x7FFFFF, 0x7FFFFF},
      {0x800000, 0x7FFFFF, 0x7FFFFF},  {10'000'000, 0x7FFFFF, 0x7FFFFF},
      {-0x800000, 0x800000, -0x800000}, {-9'000'000, 0x800000, -0x800000},
  };
  for (const auto& k : cases) {
    CAPTURE(k.given);
    std::array<uint8_t, 32> buf{};
    rtcp_report_block b{};
    b.cumulative_lost = k.given;
    REQUIRE(build_rr(buf.data(), buf.size(), 5, std::span(&b, 1)) == 32);
    CHECK(((uint32_t{buf[13]} << 16) | (uint32_t{buf[14]} << 8) | buf[15]) == k.wire);
    auto c = parse_rtcp_compound(buf.data(), 32);
    REQUIRE(c.ok());
    CHECK(parse_rr(*c->begin())->reports[0].cumulative_lost == k.read_back);
  }
}

TEST_CASE("compound SR + SDES + BYE builds and parses back", "[dataplane][rtcp]") {
  std::array<uint8_t, 512> buf{};
  const rtcp_sender_info info{0xE1234567'89ABCDEFull, 160000, 1000, 160000};
  const std::array<rtcp_report_block, 2> blocks{block_a, block_b};
  size_t n = build_sr(buf.data(), buf.size(), 0x5EED0001, info, blocks);
  REQUIRE(n == 4 + 24 + 48);
  const size_t sdes = build_sdes_cname(buf.data() + n, buf.size() - n, 0x5EED0001, "mixer@tutti");
  REQUIRE(sdes == 4 + 4 + 16);  // 2 + 11 bytes of item, 3 nulls to the boundary
  n += sdes;
  const std::array<uint32_t, 2> leaving{0x5EED0001, 0x5EED0002};
  const size_t bye = build_bye(buf.data() + n, buf.size() - n, leaving, "conference ended");
  REQUIRE(bye == 4 + 8 + 20);  // 1 + 16 bytes of reason, 3 nulls
  n += bye;

  auto parsed = parse_rtcp_compound(buf.data(), n);
  REQUIRE(parsed.ok());
  const rtcp_compound c = *parsed;
  CHECK(c.size() == n);
  const auto ps = packets(c);
  REQUIRE(ps.size() == 3);
  REQUIRE(c.packet_count() == 3);

  auto sr = parse_sr(ps[0]);
  REQUIRE(sr.ok());
  CHECK(sr->ssrc == 0x5EED0001);
  CHECK(sr->info == info);
  REQUIRE(sr->reports.count == 2);
  CHECK(sr->reports[0] == block_a);
  CHECK(sr->reports[1] == block_b);

  auto sd = parse_sdes(ps[1]);
  REQUIRE(sd.ok());
  CHECK(sd->chunk_count() == 1);
  rtcp_sdes_item item{};
  REQUIRE(sd->next(item));
  CHECK(item.ssrc == 0x5EED0001);
  CHECK(item.type == sdes_item_cname);
  CHECK(item.text_view() == "mixer@tutti");
  CHECK_FALSE(sd->next(item));

  auto by = parse_bye(ps[2]);
  REQUIRE(by.ok());
  REQUIRE(by->count == 2);
  CHECK(by->ssrc(0) == 0x5EED0001);
  CHECK(by->ssrc(1) == 0x5EED0002);
  CHECK(by->reason_view() == "conference ended");

  // Typed parsers refuse other types.
  CHECK(parse_rr(ps[0]).error() == rtcp_drop::wrong_type);
  CHECK(parse_sr(ps[1]).error() == rtcp_drop::wrong_type);
  CHECK(parse_sdes(ps[2]).error() == rtcp_drop::wrong_type);
  CHECK(parse_bye(ps[0]).error() == rtcp_drop::wrong_type);
}

TEST_CASE("compound: bad length fields", "[dataplane][rtcp]") {
  CHECK(parse_ok(empty_rr).packet_count() == 1);
  // Length field one word too long.
  bytes b = empty_rr;
  b[3] = 2;
  CHECK(drop_of(b) == rtcp_drop::bad_length);
  // Lengths that add up to less than the datagram: 1..3 stray bytes, or a stray word
  // (a second header whose length runs past the end).
  for (size_t extra = 1; extra <= 3; ++extra) {
    CAPTURE(extra);
    CHECK(drop_of(empty_rr + bytes(extra, 0x80)) == rtcp_drop::bad_length);
  }
  CHECK(drop_of(empty_rr + bytes{0x80, 202, 0x00, 0x01}) == rtcp_drop::bad_length);
  // Huge length field.
  b = empty_rr;
  b[2] = 0xFF;
  CHECK(drop_of(b) == rtcp_drop::bad_length);
  // Too short for any header, too long for UDP.
  CHECK(drop_of(bytes{0x80, 201, 0x00}) == rtcp_drop::truncated);
  CHECK(parse_rtcp_compound(nullptr, 0).error() == rtcp_drop::truncated);
  bytes big(65536, 0);
  CHECK(drop_of(big) == rtcp_drop::too_long);
}

TEST_CASE("compound: version, first packet, padding", "[dataplane][rtcp]") {
  const bytes sdes{0x81, 202, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0};  // one chunk, no items
  // SR/RR first (§6.1), unless reduced-size RTCP (RFC 5506).
  CHECK(drop_of(sdes) == rtcp_drop::bad_first_packet);
  CHECK(parse_ok(sdes, true).packet_count() == 1);
  CHECK(drop_of(bytes{0x80, 204, 0x00, 0x02, 0, 0, 0, 1, 'a', 'b', 'c', 'd'}) ==
        rtcp_drop::bad_first_packet);
  CHECK(parse_ok(empty_rr + sdes).packet_count() == 2);

  // Version 2 on every packet, not only the first.
  bytes v1 = empty_rr + sdes;
  v1[8] = 0x41;
  CHECK(drop_of(v1) == rtcp_drop::bad_version);
  bytes v0 = empty_rr;
  v0[0] = 0x00;
  CHECK(drop_of(v0) == rtcp_drop::bad_version);

  // Padding on the last packet is excluded from its body.
  bytes padded_last = empty_rr + bytes{0xA1, 202, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 4};
  {
    const auto ps = packets(parse_ok(padded_last));
    REQUIRE(ps.size() == 2);
    CHECK(ps[1].body_len == 8);
    CHECK(parse_sdes(ps[1]).ok());
  }
  // Padding on a packet that is not last.
  bytes padded_first = bytes{0xA0, 201, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 4} + sdes;
  CHECK(drop_of(padded_first) == rtcp_drop::bad_padding);
  // A single packet is its own last: padding allowed.
  {
    const datagram d = parse_packets(bytes{0xA0, 201, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 4});
    const auto& ps = d.ps;
    REQUIRE(ps.size() == 1);
    CHECK(ps[0].body_len == 4);
    CHECK(parse_rr(ps[0])->ssrc == 1);
  }
  // Padding count 0, and larger than the body.
  padded_last.back() = 0;
  CHECK(drop_of(padded_last) == rtcp_drop::bad_padding);
  padded_last.back() = 13;
  CHECK(drop_of(padded_last) == rtcp_drop::bad_padding);
  padded_last.back() = 12;  // the whole body: allowed by the compound, the SDES is then empty
  {
    const auto ps = packets(parse_ok(padded_last));
    CHECK(ps[1].body_len == 0);
    CHECK(parse_sdes(ps[1]).error() == rtcp_drop::bad_sdes);
  }
}

TEST_CASE("SR and RR report counts and sizes", "[dataplane][rtcp]") {
  std::array<uint8_t, 256> buf{};
  const std::array<rtcp_report_block, 2> blocks{block_a, block_b};
  const size_t n = build_sr(buf.data(), buf.size(), 9, {}, blocks);
  REQUIRE(n == 76);
  // Claim three blocks in a packet that holds two.
  bytes b(buf.begin(), buf.begin() + 76);
  b[0] = 0x83;
  CHECK(parse_sr(*parse_ok(b).begin()).error() == rtcp_drop::bad_report_count);
  // An SR too short for its sender info.
  const bytes short_sr{0x80, 200, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
                       0, 0, 0, 0, 0, 0, 0, 0};
  CHECK(parse_sr(*parse_ok(short_sr).begin()).error() == rtcp_drop::truncated);
  // RR: one block claimed, none present; and a block followed by profile extension bytes.
  CHECK(parse_rr(*parse_ok(bytes{0x81, 201, 0x00, 0x01, 0, 0, 0, 1}).begin()).error() ==
        rtcp_drop::bad_report_count);
  const size_t rr = build_rr(buf.data(), buf.size(), 3, std::span(blocks.data(), 1));
  REQUIRE(rr == 32);
  bytes ext(buf.begin(), buf.begin() + 32);
  ext[3] = 8;  // one more word: a profile-specific extension (§6.4.1)
  ext = ext + bytes{0xE0, 0xE1, 0xE2, 0xE3};
  auto r = parse_rr(*parse_ok(ext).begin());
  REQUIRE(r.ok());
  CHECK(r->reports[0] == block_a);
  // Limits of the 5-bit count.
  std::array<rtcp_report_block, 32> many{};
  std::array<uint8_t, 1024> big{};
  CHECK(build_rr(big.data(), big.size(), 1, std::span(many.data(), 31)) == 8 + 31 * 24);
  CHECK(build_rr(big.data(), big.size(), 1, many) == 0);
  CHECK(build_sr(big.data(), big.size(), 1, {}, many) == 0);
  CHECK(build_sr(big.data(), 27, 1, {}, {}) == 0);
  CHECK(build_sr(big.data(), 28, 1, {}, {}) == 28);
}

TEST_CASE("SDES chunks and items", "[dataplane][rtcp]") {
  // Two chunks: SSRC 1 with CNAME "ab" and NAME "x"; SSRC 2 with no items.
  const bytes body{0, 0, 0, 1, 1, 2, 'a', 'b', 2, 1, 'x', 0,  //
                   0, 0, 0, 2, 0, 0, 0, 0};
  const bytes pkt = bytes{0x82, 202, 0x00, 0x05} + body;
  const datagram d = parse_packets(empty_rr + pkt);
  const auto& ps = d.ps;
  REQUIRE(ps.size() == 2);
  auto s = parse_sdes(ps[1]);
  REQUIRE(s.ok());
  CHECK(s->chunk_count() == 2);
  rtcp_sdes_item it{};
  REQUIRE(s->next(it));
  CHECK(it.ssrc == 1);
  CHECK(it.type == 1);
  CHECK(it.text_view() == "ab");
  REQUIRE(s->next(it));
  CHECK(it.ssrc == 1);
  CHECK(it.type == 2);
  CHECK(it.text_view() == "x");
  CHECK_FALSE(s->next(it));
  CHECK_FALSE(s->next(it));

  auto sdes_drop = [](bytes p) {
    const datagram d = parse_packets(empty_rr + p);
    auto r = parse_sdes(d.ps[1]);
    return r.ok() ? std::optional<rtcp_drop>() : r.error();
  };
  // Item terminator missing: CNAME fills the chunk to the end.
  CHECK(sdes_drop(bytes{0x81, 202, 0x00, 0x02, 0, 0, 0, 1, 1, 2, 'a', 'b'}) ==
        rtcp_drop::bad_sdes);
  // Item length past the packet.
  CHECK(sdes_drop(bytes{0x81, 202, 0x00, 0x02, 0, 0, 0, 1, 1, 9, 'a', 'b'}) ==
        rtcp_drop::bad_sdes);
  // Item type as the last byte, with no length byte.
  CHECK(sdes_drop(bytes{0x81, 202, 0x00, 0x02, 0, 0, 0, 1, 1, 1, 'a', 2}) ==
        rtcp_drop::bad_sdes);
  // More chunks claimed than present.
  CHECK(sdes_drop(bytes{0x82, 202, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0}) ==
        rtcp_drop::bad_sdes);
  // Slack after the last chunk.
  CHECK(sdes_drop(bytes{0x81, 202, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}) ==
        rtcp_drop::bad_sdes);
  // CNAME of 255 bytes, the largest; 256 does not fit an item.
  std::array<uint8_t, 300> buf{};
  const std::string longest(255, 'c');
  const size_t n = build_sdes_cname(buf.data(), buf.size(), 7, longest);
  REQUIRE(n == 4 + 4 + 260);
  auto c = parse_rtcp_compound(buf.data(), n, true);
  REQUIRE(c.ok());
  auto l = parse_sdes(*c->begin());
  REQUIRE(l.ok());
  REQUIRE(l->next(it));
  CHECK(it.text_view() == longest);
  CHECK(build_sdes_cname(buf.data(), buf.size(), 7, std::string(256, 'c')) == 0);
  CHECK(build_sdes_cname(buf.data(), n - 1, 7, longest) == 0);
  // Empty CNAME: item header, terminator and padding in one word.
  REQUIRE(build_sdes_cname(buf.data(), buf.size(), 7, "") == 12);
  CHECK(bytes(buf.begin(), buf.begin() + 12) ==
        bytes{0x81, 202, 0x00, 0x02, 0, 0, 0, 7, 1, 0, 0, 0});
}

TEST_CASE("BYE SSRCs and reason", "[dataplane][rtcp]") {
  // Keeps each datagram alive for the rest of the test: a BYE points into it.
  std::vector<datagram> kept;
  auto bye_of = [&kept](bytes p) {
    kept.push_back(parse_packets(empty_rr + p));
    return parse_bye(kept.back().ps[1]);
  };
  // No reason.
  auto plain = bye_of(bytes{0x81, 203, 0x00, 0x01, 0, 0, 0, 9});
  REQUIRE(plain.ok());
  CHECK(plain->count == 1);
  CHECK(plain->ssrc(0) == 9);
  CHECK(plain->reason == nullptr);
  CHECK(plain->reason_view().empty());
  // More SSRCs claimed than present.
  CHECK(bye_of(bytes{0x82, 203, 0x00, 0x01, 0, 0, 0, 9}).error() == rtcp_drop::bad_bye);
  // Reason length exactly fitting, and one past.
  auto fits = bye_of(bytes{0x81, 203, 0x00, 0x02, 0, 0, 0, 9, 3, 'b', 'y', 'e'});
  REQUIRE(fits.ok());
  CHECK(fits->reason_view() == "bye");
  CHECK(bye_of(bytes{0x81, 203, 0x00, 0x02, 0, 0, 0, 9, 4, 'b', 'y', 'e'}).error() ==
        rtcp_drop::bad_bye);
  // Builder: no reason, and the limits.
  std::array<uint8_t, 512> buf{};
  const std::array<uint32_t, 1> one{0x01020304};
  REQUIRE(build_bye(buf.data(), buf.size(), one) == 8);
  CHECK(bytes(buf.begin(), buf.begin() + 8) == bytes{0x81, 203, 0x00, 0x01, 1, 2, 3, 4});
  // A 3-byte reason fills its word exactly (length byte + 3).
  REQUIRE(build_bye(buf.data(), buf.size(), one, "bye") == 12);
  CHECK(bytes(buf.begin() + 8, buf.begin() + 12) == bytes{3, 'b', 'y', 'e'});
  CHECK(build_bye(buf.data(), 11, one, "bye") == 0);
  CHECK(build_bye(buf.data(), buf.size(), one, std::string(256, 'r')) == 0);
  std::array<uint32_t, 32> many{};
  CHECK(build_bye(buf.data(), buf.size(), many) == 0);
  CHECK(build_bye(buf.data(), buf.size(), std::span(many.data(), 31)) == 4 + 124);
}

TEST_CASE("every rtcp_drop has its own name", "[dataplane][rtcp]") {
  std::set<std::string> names;
  for (size_t i = 0; i < static_cast<size_t>(rtcp_drop::count); ++i) {
    const std::string name = to_string(static_cast<rtcp_drop>(i));
    CHECK(name != "unknown");
    names.insert(name);
  }
  CHECK(names.size() == static_cast<size_t>(rtcp_drop::count));
}
