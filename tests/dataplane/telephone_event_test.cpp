// RFC 4733 telephone-event payloads and the DTMF tracker.
#include "dataplane/telephone_event.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <vector>

using namespace tutti::dp;

namespace {

using kind = dtmf_notice::kind;

telephone_event ev(uint8_t event, uint16_t duration, bool end = false, uint8_t volume = 10) {
  return telephone_event{event, end, volume, duration};
}

// Collects every notice the tracker gives for a list of packets.
struct recorder {
  dtmf_tracker t;
  std::vector<dtmf_notice> seen;
  void feed(uint32_t ts, bool marker, const telephone_event& e) {
    const dtmf_notices n = t.on_packet(ts, marker, e);
    for (uint8_t i = 0; i < n.count; ++i) seen.push_back(n.items[i]);
  }
};

void check_notice(const dtmf_notice& n, kind what, uint8_t event, uint32_t ts, uint32_t duration) {
  CHECK(n.what == what);
  CHECK(n.event == event);
  CHECK(n.timestamp == ts);
  CHECK(n.duration == duration);
}

}  // namespace

TEST_CASE("parse_telephone_event reads §2.3 fields", "[dataplane][telephone_event]") {
  const std::array<uint8_t, 4> end_pkt{0x05, 0x8A, 0x03, 0x20};
  auto e = parse_telephone_event(end_pkt.data(), end_pkt.size());
  REQUIRE(e.ok());
  CHECK(e->event == 5);
  CHECK(e->end);
  CHECK(e->volume == 10);
  CHECK(e->duration == 800);

  // The reserved R bit is ignored; volume is 6 bits.
  const std::array<uint8_t, 4> r_bit{0x0B, 0x7F, 0xFF, 0xFF};
  auto r = parse_telephone_event(r_bit.data(), r_bit.size());
  REQUIRE(r.ok());
  CHECK(r->event == 11);
  CHECK_FALSE(r->end);
  CHECK(r->volume == 63);
  CHECK(r->duration == 0xFFFF);

  CHECK(parse_telephone_event(end_pkt.data(), 3).error() == telephone_event_drop::truncated);
  CHECK(parse_telephone_event(nullptr, 0).error() == telephone_event_drop::truncated);
  CHECK(std::string(to_string(telephone_event_drop::truncated)) == "truncated");
}

TEST_CASE("build_telephone_event round-trips", "[dataplane][telephone_event]") {
  std::array<uint8_t, 4> buf{};
  const telephone_event in{15, true, 63, 1234};
  REQUIRE(build_telephone_event(buf.data(), buf.size(), in) == 4);
  CHECK(buf == std::array<uint8_t, 4>{15, 0x80 | 63, 0x04, 0xD2});
  auto out = parse_telephone_event(buf.data(), buf.size());
  REQUIRE(out.ok());
  CHECK(out->event == in.event);
  CHECK(out->end == in.end);
  CHECK(out->volume == in.volume);
  CHECK(out->duration == in.duration);
  CHECK(build_telephone_event(buf.data(), 3, in) == 0);
  CHECK(build_telephone_event(buf.data(), 4, telephone_event{1, false, 64, 0}) == 0);
}

TEST_CASE("dtmf_char maps event codes", "[dataplane][telephone_event]") {
  CHECK(dtmf_char(0) == '0');
  CHECK(dtmf_char(9) == '9');
  CHECK(dtmf_char(10) == '*');
  CHECK(dtmf_char(11) == '#');
  CHECK(dtmf_char(12) == 'A');
  CHECK(dtmf_char(15) == 'D');
  CHECK(dtmf_char(16) == 0);  // flash
  CHECK(dtmf_char(255) == 0);
}

TEST_CASE("tracker: one digit from redundant updates and three end packets",
          "[dataplane][telephone_event]") {
  recorder r;
  r.feed(8000, true, ev(5, 160));
  r.feed(8000, false, ev(5, 320));
  r.feed(8000, false, ev(5, 480));
  CHECK(r.t.active());
  r.feed(8000, false, ev(5, 640, true));
  r.feed(8000, false, ev(5, 640, true));
  r.feed(8000, false, ev(5, 640, true));
  CHECK_FALSE(r.t.active());
  REQUIRE(r.seen.size() == 2);
  check_notice(r.seen[0], kind::begin, 5, 8000, 160);
  CHECK(r.seen[0].volume == 10);
  check_notice(r.seen[1], kind::end, 5, 8000, 640);
  // A late update of the ended event changes nothing.
  r.feed(8000, false, ev(5, 480));
  CHECK(r.seen.size() == 2);

  // The same key again: a new timestamp is a new event, marker or not.
  r.feed(9600, false, ev(5, 160));
  r.feed(9600, false, ev(5, 320, true));
  REQUIRE(r.seen.size() == 4);
  check_notice(r.seen[2], kind::begin, 5, 9600, 160);
  check_notice(r.seen[3], kind::end, 5, 9600, 320);
}

TEST_CASE("tracker: lost end packets and lost start packets", "[dataplane][telephone_event]") {
  recorder r;
  r.feed(1000, true, ev(1, 160));
  r.feed(1000, false, ev(1, 320));
  // Event 2 starts before any end packet of event 1 arrived.
  r.feed(3000, true, ev(2, 160));
  REQUIRE(r.seen.size() == 3);
  check_notice(r.seen[0], kind::begin, 1, 1000, 160);
  check_notice(r.seen[1], kind::end, 1, 1000, 320);
  check_notice(r.seen[2], kind::begin, 2, 3000, 160);
  // Event 3 is seen only through its end packets, while 2 never ended: three notices.
  const dtmf_notices n = r.t.on_packet(5000, false, ev(3, 800, true));
  REQUIRE(n.count == 3);
  check_notice(n.items[0], kind::end, 2, 3000, 160);
  check_notice(n.items[1], kind::begin, 3, 5000, 800);
  check_notice(n.items[2], kind::end, 3, 5000, 800);
  CHECK(r.t.on_packet(5000, false, ev(3, 800, true)).count == 0);
  CHECK(r.t.on_packet(5000, false, ev(3, 800, true)).count == 0);
}

TEST_CASE("tracker: reordered and stale packets", "[dataplane][telephone_event]") {
  recorder r;
  r.feed(2000, true, ev(7, 480));
  r.feed(2000, false, ev(7, 320));  // older update arriving late: duration keeps 480
  r.feed(2000, false, ev(8, 640));  // other event code on the same timestamp: ignored
  r.feed(2000, false, ev(7, 800, true));
  REQUIRE(r.seen.size() == 2);
  check_notice(r.seen[1], kind::end, 7, 2000, 800);

  r.feed(4000, true, ev(9, 160));
  // A late packet of the earlier event (older timestamp) does not restart it.
  r.feed(2000, false, ev(7, 800, true));
  CHECK(r.seen.size() == 3);
  CHECK(r.t.active());
  // Timestamps wrap: a later event just past 2^32 is still "later".
  recorder w;
  w.feed(0xFFFFFF00u, true, ev(1, 160, true));
  w.feed(0x00000100u, true, ev(2, 160, true));
  REQUIRE(w.seen.size() == 4);
  check_notice(w.seen[2], kind::begin, 2, 0x100, 160);
  // A jump far backwards is a new timestamp base, not a late packet.
  w.feed(0x00000100u - (1u << 21), true, ev(3, 160));
  REQUIRE(w.seen.size() == 5);
  check_notice(w.seen[4], kind::begin, 3, 0x100 - (1u << 21), 160);
}

TEST_CASE("tracker: long events continue in segments (§2.5.1.3)", "[dataplane][telephone_event]") {
  recorder r;
  r.feed(100, true, ev(4, 160));
  r.feed(100, false, ev(4, 0xFFFF));
  // Next segment: new timestamp, same event, no marker.
  r.feed(100 + 0xFFFF, false, ev(4, 160));
  r.feed(100 + 0xFFFF, false, ev(4, 800, true));
  REQUIRE(r.seen.size() == 2);
  check_notice(r.seen[0], kind::begin, 4, 100, 160);
  check_notice(r.seen[1], kind::end, 4, 100, 0xFFFF + 800);

  // With the marker set it is a new key press instead.
  recorder m;
  m.feed(100, true, ev(4, 160));
  m.feed(900, true, ev(4, 160));
  REQUIRE(m.seen.size() == 3);
  check_notice(m.seen[1], kind::end, 4, 100, 160);
  check_notice(m.seen[2], kind::begin, 4, 900, 160);
}

TEST_CASE("tracker: flush and reset", "[dataplane][telephone_event]") {
  dtmf_tracker t;
  CHECK_FALSE(t.flush());
  CHECK(t.on_packet(500, true, ev(12, 160)).count == 1);
  auto f = t.flush();
  REQUIRE(f);
  CHECK(f->what == kind::end);
  CHECK(f->event == 12);
  CHECK(f->duration == 160);
  CHECK_FALSE(t.flush());
  // Packets of the flushed event give nothing more, even its end packets.
  CHECK(t.on_packet(500, false, ev(12, 320)).count == 0);
  CHECK(t.on_packet(500, false, ev(12, 480, true)).count == 0);
  // After reset, even an "older" timestamp begins a new event.
  t.reset();
  CHECK_FALSE(t.active());
  const dtmf_notices n = t.on_packet(400, true, ev(1, 160));
  REQUIRE(n.count == 1);
  CHECK(n.items[0].what == kind::begin);
}
