// Jitter buffer: exact playout traces for the protocol cases, long simulations for drift and
// jitter, and a random-field fuzz for robustness. Time is simulated: tick k is at k * 20 ms;
// every packet arriving at or before a tick is put() before that tick's get().
#include "dataplane/jitter_buffer.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace tutti::dp;

namespace {

constexpr uint64_t k_ms = 1'000'000;
constexpr uint64_t k_tick_ns = 20 * k_ms;

packet_info pkt(uint16_t seq, uint32_t ts, uint32_t dur = 160, uint32_t ssrc = 7,
                bool marker = false, bool voice = true) {
  packet_info p;
  p.sequence = seq;
  p.timestamp = ts;
  p.ssrc = ssrc;
  p.marker = marker;
  p.duration_ts = dur;
  p.meta.voice = voice;
  p.meta.level_dbov = uint8_t(seq % 128);
  p.meta.flags = uint8_t(seq >> 8);
  return p;
}

// One char per tick: E empty, L lost, C continued, A audio; several parts as "(..)".
char kind_char(frame_kind k) {
  switch (k) {
    case frame_kind::empty: return 'E';
    case frame_kind::lost: return 'L';
    case frame_kind::continued: return 'C';
    case frame_kind::audio: return 'A';
  }
  return '?';
}

struct sim {
  struct pending {
    uint64_t at_ns;
    packet_info info;
  };
  explicit sim(const jitter_config& cfg) : jb(cfg) {}

  void send(const packet_info& p, uint64_t at_ns) {
    queue.push_back({at_ns, p});
    sorted = false;
  }

  // Puts everything due at or before `now`, in arrival order.
  void deliver(uint64_t now) {
    if (!sorted) {
      std::stable_sort(queue.begin() + long(next), queue.end(),
                       [](const pending& a, const pending& b) { return a.at_ns < b.at_ns; });
      sorted = true;
    }
    for (; next < queue.size() && queue[next].at_ns <= now; ++next) {
      const pending& q = queue[next];
      uint8_t payload[4];
      std::memcpy(payload, &q.info.sequence, 2);
      std::memcpy(payload + 2, &q.info.ssrc, 2);
      results.push_back(jb.put(q.info, payload, sizeof payload, q.at_ns));
      sent_seq.push_back(q.info.sequence);
    }
  }

  const frame& tick() {
    deliver(uint64_t(ticks) * k_tick_ns);
    ++ticks;
    const frame& f = jb.get();
    if (f.n_parts == 1) {
      trace += kind_char(f.kind);
    } else {
      trace += '(';
      for (int i = 0; i < f.n_parts; ++i) trace += kind_char(f.parts[i].kind);
      trace += ')';
    }
    for (int i = 0; i < f.n_parts; ++i) {
      const frame_part& part = f.parts[i];
      if (part.kind != frame_kind::audio) continue;
      uint16_t seq;
      std::memcpy(&seq, part.packet->payload, 2);
      REQUIRE(seq == part.packet->info.sequence);  // payload and metadata travel together
      REQUIRE(part.packet->info.meta.level_dbov == seq % 128);
      played.push_back(seq);
    }
    return f;
  }
  void run(int n) {
    for (int i = 0; i < n; ++i) tick();
  }

  jitter_buffer jb;
  std::vector<pending> queue;
  size_t next = 0;
  bool sorted = true;
  std::vector<put_result> results;
  std::vector<uint16_t> sent_seq;  // sequence of each put, beside results
  std::vector<int> played;
  std::string trace;
  int ticks = 0;
};

std::vector<int> range(int from, int n) {
  std::vector<int> v;
  for (int i = 0; i < n; ++i) v.push_back(uint16_t(from + i));
  return v;
}

// A 20 ms G.711 stream: packet n sent at n * 20 ms, arriving 5 ms later.
void send_stream(sim& s, int n, uint16_t seq0 = 100, uint32_t ts0 = 1000, uint64_t t0 = 0) {
  for (int i = 0; i < n; ++i)
    s.send(pkt(uint16_t(seq0 + i), ts0 + 160u * uint32_t(i)), t0 + uint64_t(i) * k_tick_ns + 5 * k_ms);
}

}  // namespace

TEST_CASE("in-order stream plays in order after the initial delay", "[dataplane][jitter]") {
  sim s{jitter_config{}};
  send_stream(s, 10);
  s.run(16);
  // Tick 0: not started. Packet 0 arrives at 5 ms; 40 ms initial delay = one tick of lead:
  // tick 1 plays the tick before it, tick 2 plays it. After the last packet the underrun is
  // concealed for 60 ms (it might be late), then it is silence.
  CHECK(s.trace == "EEAAAAAAAAAALLLE");
  CHECK(s.played == range(100, 10));
  const auto st = s.jb.stats();
  CHECK(st.stored == 10);
  CHECK(st.played == 10);
  CHECK(st.lost == 0);
  CHECK(st.underrun_ticks == 3);
  CHECK(st.delay_ms == 40);
  CHECK(st.jitter_ts == 0);
}

TEST_CASE("frame parts carry timestamps, offsets and the packet", "[dataplane][jitter]") {
  sim s{jitter_config{}};
  send_stream(s, 3);
  s.run(2);
  const frame& f = s.tick();
  REQUIRE(f.kind == frame_kind::audio);
  REQUIRE(f.n_parts == 1);
  CHECK(f.ts == 1000);
  CHECK(f.parts[0].ts == 1000);
  CHECK(f.parts[0].length_ts == 160);
  CHECK(f.parts[0].offset_ts == 0);
  CHECK(f.packet()->info.timestamp == 1000);
  CHECK(f.packet()->info.duration_ts == 160);
  CHECK(f.packet()->len == 4);
  CHECK(f.packet()->arrival_ns == 5 * k_ms);
  CHECK_FALSE(f.first_after_loss);
  REQUIRE(s.jb.peek_next() != nullptr);
  CHECK(s.jb.peek_next()->info.sequence == 101);
}

TEST_CASE("reordering within the window plays in sequence", "[dataplane][jitter]") {
  sim s{jitter_config{}};
  for (int i = 0; i < 10; ++i) {
    uint64_t at = uint64_t(i) * k_tick_ns + 5 * k_ms;
    if (i == 3) at += 12 * k_ms;  // 3 arrives after 4
    if (i == 6) at += 30 * k_ms;  // 6 arrives after 7 and 8 was sent... still before its tick
    s.send(pkt(uint16_t(100 + i), 1000 + 160u * uint32_t(i)), at);
  }
  s.run(12);
  CHECK(s.trace == "EEAAAAAAAAAA");
  CHECK(s.played == range(100, 10));
  CHECK(s.jb.stats().lost == 0);
}

TEST_CASE("a loss burst yields exactly one lost tick per missing packet", "[dataplane][jitter]") {
  SECTION("underrun: the gap is discovered as it plays") {
    sim s{jitter_config{}};
    for (int i = 0; i < 12; ++i)
      if (i < 5 || i > 7) s.send(pkt(uint16_t(100 + i), 1000 + 160u * uint32_t(i)), uint64_t(i) * k_tick_ns + 5 * k_ms);
    s.run(14);
    CHECK(s.trace == "EEAAAAALLLAAAA");
    std::vector<int> want = range(100, 5);
    for (int i = 8; i < 12; ++i) want.push_back(100 + i);
    CHECK(s.played == want);
    CHECK(s.jb.stats().lost == 3);
    CHECK(s.jb.stats().lost_ticks == 3);
  }
  SECTION("known gap: the packet after it is already buffered") {
    jitter_config cfg;
    cfg.initial_delay_ms = 120;  // lead 5 ticks: packet 11 waits when 6..10 are due
    sim s{cfg};
    for (int i = 0; i < 16; ++i)
      if (i < 6 || i > 10) s.send(pkt(uint16_t(100 + i), 1000 + 160u * uint32_t(i)), uint64_t(i) * k_tick_ns + 5 * k_ms);
    s.run(22);
    CHECK(s.trace == "EEEEEEAAAAAALLLLLAAAAA");
    CHECK(s.jb.stats().lost == 5);
    CHECK(s.jb.stats().underrun_ticks == 0);
  }
  SECTION("first audio after a loss is flagged, FEC can peek the next packet") {
    jitter_config cfg;
    cfg.initial_delay_ms = 60;
    sim s{cfg};
    for (int i = 0; i < 8; ++i)
      if (i != 4) s.send(pkt(uint16_t(100 + i), 1000 + 160u * uint32_t(i)), uint64_t(i) * k_tick_ns + 5 * k_ms);
    s.run(7);
    const frame& lost = s.tick();
    REQUIRE(lost.kind == frame_kind::lost);
    CHECK(lost.parts[0].ts == 1000 + 4 * 160);
    REQUIRE(s.jb.peek_next() != nullptr);
    CHECK(s.jb.peek_next()->info.timestamp == lost.parts[0].ts + lost.parts[0].length_ts);
    const frame& after = s.tick();
    CHECK(after.kind == frame_kind::audio);
    CHECK(after.first_after_loss);
    CHECK_FALSE(s.tick().first_after_loss);
  }
}

TEST_CASE("duplicates are dropped and counted", "[dataplane][jitter]") {
  sim s{jitter_config{}};
  send_stream(s, 10);
  s.send(pkt(103, 1000 + 3 * 160), 70 * k_ms);   // 103 still waiting (plays at 100 ms)
  s.send(pkt(101, 1000 + 1 * 160), 75 * k_ms);   // 101 played at 60 ms
  s.send(pkt(104, 1000 + 4 * 160), 300 * k_ms);  // 104 played long ago
  s.run(16);
  CHECK(s.played == range(100, 10));
  CHECK(s.jb.stats().duplicates == 3);
  CHECK(std::count(s.results.begin(), s.results.end(), put_result::duplicate) == 3);
}

TEST_CASE("a packet after its playout time is dropped as late", "[dataplane][jitter]") {
  sim s{jitter_config{}};
  for (int i = 0; i < 10; ++i) {
    uint64_t at = uint64_t(i) * k_tick_ns + 5 * k_ms;
    if (i == 5) at += 60 * k_ms;  // due at tick 7 (140 ms), arrives at 165 ms
    s.send(pkt(uint16_t(100 + i), 1000 + 160u * uint32_t(i)), at);
  }
  s.run(12);
  CHECK(s.trace == "EEAAAAALAAAA");
  CHECK(s.jb.stats().too_late == 1);
  CHECK(s.jb.stats().lost == 1);
  CHECK(std::count(s.results.begin(), s.results.end(), put_result::too_late) == 1);
}

TEST_CASE("a late packet during an underrun is played, not dropped", "[dataplane][jitter]") {
  // From packet 5 on the path is 50 ms slower: 5 misses its tick at 140 ms (concealed),
  // arrives at 155 ms, and since nothing else waits the playout point steps back to it: it
  // plays at 160 ms, the concealed tick became one tick of added delay.
  sim s{jitter_config{}};
  for (int i = 0; i < 12; ++i)
    s.send(pkt(uint16_t(100 + i), 1000 + 160u * uint32_t(i)),
           uint64_t(i) * k_tick_ns + (i < 5 ? 5 : 55) * k_ms);
  s.run(16);
  CHECK(s.trace == "EEAAAAALAAAAAAAL");
  CHECK(s.played == range(100, 12));
  const auto st = s.jb.stats();
  CHECK(st.too_late == 0);
  CHECK(st.lost == 0);
  CHECK(st.realigned == 1);
  CHECK(st.realign_ts == -160);
  CHECK(st.target_delay_ms == 73);  // now covers the 50 ms step
}

TEST_CASE("refused packets: full, too large, invalid", "[dataplane][jitter]") {
  jitter_config cfg;
  cfg.capacity = 4;
  cfg.max_payload = 8;
  sim s{cfg};
  for (int i = 0; i < 10; ++i) s.send(pkt(uint16_t(100 + i), 1000 + 160u * uint32_t(i)), 5 * k_ms);
  s.run(7);
  CHECK(std::count(s.results.begin(), s.results.end(), put_result::stored) == 4);
  CHECK(std::count(s.results.begin(), s.results.end(), put_result::buffer_full) == 6);
  CHECK(s.played == range(100, 4));
  // 103 arriving with 100 says the sender is three ticks ahead of what 100 suggested: the
  // lead is far over target, so the silent tick before 100 is skipped at once.
  CHECK(s.trace == "EAAAALL");
  CHECK(s.jb.stats().skipped_ticks == 1);

  jitter_buffer& jb = s.jb;
  const uint8_t big[9] = {};
  CHECK(jb.put(pkt(200, 5000), big, 9, 0) == put_result::too_large);
  CHECK(jb.put(pkt(200, 5000), big, 0, 0) == put_result::invalid);
  CHECK(jb.put(pkt(200, 5000), nullptr, 4, 0) == put_result::invalid);
  CHECK(jb.put(pkt(200, 5000, 0), big, 4, 0) == put_result::invalid);
  CHECK(jb.put(pkt(200, 5000, 39), big, 4, 0) == put_result::invalid);    // < tick / 4
  CHECK(jb.put(pkt(200, 5000, 2561), big, 4, 0) == put_result::invalid);  // > 16 ticks
  const auto st = jb.stats();
  CHECK(st.too_large == 1);
  CHECK(st.invalid == 5);
  CHECK(st.buffer_full == 6);
}

TEST_CASE("flush starts over at the next packet", "[dataplane][jitter]") {
  sim s{jitter_config{}};
  send_stream(s, 5);
  s.run(4);  // 100 and 101 played, 102 waiting
  s.jb.flush();
  CHECK(s.jb.stats().buffered == 0);
  CHECK(s.jb.stats().dropped == 1);
  CHECK(s.jb.peek_next() == nullptr);
  s.run(3);  // 103 arrives at 65 ms: a new start, one tick of lead
  CHECK(s.trace == "EEAA" "EAA");
  CHECK(s.played == std::vector<int>{100, 101, 103, 104});
  CHECK(s.results.back() == put_result::stored);
  CHECK(s.jb.stats().resyncs == 0);
}

TEST_CASE("sequence and timestamp wraparound mid-stream", "[dataplane][jitter]") {
  SECTION("16-bit sequence") {
    sim s{jitter_config{}};
    send_stream(s, 20, 65530, 5000);
    s.run(22);
    CHECK(s.trace == "EE" + std::string(20, 'A'));
    CHECK(s.played == range(65530, 20));
    CHECK(s.jb.stats().lost == 0);
  }
  SECTION("32-bit timestamp, with a loss and a reorder across the wrap") {
    sim s{jitter_config{}};
    const uint32_t ts0 = 0xFFFFFFFFu - 5 * 160 + 1;
    for (int i = 0; i < 20; ++i) {
      uint64_t at = uint64_t(i) * k_tick_ns + 5 * k_ms;
      if (i == 6) at += 15 * k_ms;
      if (i == 9) continue;
      s.send(pkt(uint16_t(65533 + i), ts0 + 160u * uint32_t(i)), at);
    }
    s.run(22);
    CHECK(s.trace == "EEAAAAAAAAALAAAAAAAAAA");
    CHECK(s.jb.stats().lost == 1);
    CHECK(s.jb.stats().too_late == 0);
  }
}

TEST_CASE("an SSRC change resyncs", "[dataplane][jitter]") {
  sim s{jitter_config{}};
  send_stream(s, 5);
  // A new source 5 ticks later: unrelated sequence and timestamp bases.
  for (int i = 0; i < 5; ++i)
    s.send(pkt(uint16_t(40000 + i), 777777u + 160u * uint32_t(i), 160, 99),
           uint64_t(5 + i) * k_tick_ns + 5 * k_ms);
  s.run(13);
  CHECK(s.results[5] == put_result::resync);
  CHECK(s.jb.stats().resyncs == 1);
  CHECK(s.jb.stats().lost == 0);
  std::vector<int> want = range(100, 4);
  for (int i = 0; i < 5; ++i) want.push_back(40000 + i);
  CHECK(s.played == want);
  // 104 plays at tick 6; 40000 arrived before tick 6 and is placed one tick ahead: tick 6
  // is that lead tick (silence: the old packet is flushed) and the new stream plays at 7.
  CHECK(s.trace == "EEAAAAEAAAAAL");
  CHECK(s.jb.stats().dropped == 1);  // 104 was waiting when 40000 came
}

TEST_CASE("a sequence jump is confirmed by a second packet before resync", "[dataplane][jitter]") {
  sim s{jitter_config{}};
  send_stream(s, 6);
  s.send(pkt(30000, 1000 + 6 * 160), 6 * k_tick_ns + 5 * k_ms);  // stray: dropped
  s.send(pkt(106, 1000 + 6 * 160), 6 * k_tick_ns + 6 * k_ms);    // stream goes on
  s.send(pkt(20000, 90000), 7 * k_tick_ns + 5 * k_ms);           // jump ...
  s.send(pkt(20001, 90160), 8 * k_tick_ns + 5 * k_ms);           // ... confirmed
  s.send(pkt(20002, 90320), 9 * k_tick_ns + 5 * k_ms);
  s.run(12);
  CHECK(s.results[6] == put_result::probation);
  CHECK(s.results[7] == put_result::stored);
  CHECK(s.results[8] == put_result::probation);
  CHECK(s.results[9] == put_result::resync);
  CHECK(s.results[10] == put_result::stored);
  std::vector<int> want = range(100, 7);
  want.push_back(20001);
  want.push_back(20002);
  CHECK(s.played == want);
}

TEST_CASE("DTX and talk spurts: silence is empty, not lost", "[dataplane][jitter]") {
  SECTION("a short timestamp gap seen in advance") {
    jitter_config cfg;
    cfg.initial_delay_ms = 100;
    sim s{cfg};
    // 100..104, then 2 ticks of silence (timestamps jump, sequence does not), then 105..109.
    for (int i = 0; i < 10; ++i) {
      const int slot = i < 5 ? i : i + 2;
      s.send(pkt(uint16_t(100 + i), 1000 + 160u * uint32_t(slot), 160, 7, i == 5),
             uint64_t(slot) * k_tick_ns + 5 * k_ms);
    }
    s.run(17);
    CHECK(s.trace == "EEEEEAAAAAEEAAAAA");
    CHECK(s.jb.stats().lost == 0);
    CHECK(s.jb.stats().realigned == 0);
  }
  SECTION("a long gap after a comfort-noise packet") {
    sim s{jitter_config{}};
    for (int i = 0; i < 5; ++i)
      s.send(pkt(uint16_t(100 + i), 1000 + 160u * uint32_t(i), 160, 7, false, i != 4),
             uint64_t(i) * k_tick_ns + 5 * k_ms);
    // One second later, the next talk spurt (marker), 50 ticks on in both clocks.
    for (int i = 0; i < 3; ++i)
      s.send(pkt(uint16_t(105 + i), 1000 + 160u * uint32_t(55 + i), 160, 7, i == 0),
             uint64_t(55 + i) * k_tick_ns + 5 * k_ms);
    s.run(60);
    CHECK(s.trace == "EE" "AAAAA" + std::string(50, 'E') + "AAA");
    CHECK(s.jb.stats().lost == 0);
    CHECK(s.jb.stats().lost_ticks == 0);
  }
  SECTION("a gap after speech is concealed for conceal_ms, then silence") {
    sim s{jitter_config{}};
    send_stream(s, 5);
    for (int i = 0; i < 3; ++i)
      s.send(pkt(uint16_t(105 + i), 1000 + 160u * uint32_t(20 + i), 160, 7, i == 0),
             uint64_t(20 + i) * k_tick_ns + 5 * k_ms);
    s.run(25);
    CHECK(s.trace == "EE" "AAAAA" "LLL" + std::string(12, 'E') + "AAA");
    CHECK(s.jb.stats().lost == 0);
  }
  SECTION("a talk spurt re-places the playout point at the target delay") {
    jitter_config cfg;
    cfg.initial_delay_ms = 100;
    sim s{cfg};
    send_stream(s, 5);
    // The sender's clock ran 3 ticks ahead during the silence: without realignment the
    // next spurt would wait 3 ticks more than the first.
    for (int i = 0; i < 3; ++i)
      s.send(pkt(uint16_t(105 + i), 1000 + 160u * uint32_t(23 + i), 160, 7, i == 0),
             uint64_t(20 + i) * k_tick_ns + 5 * k_ms);
    s.run(29);
    CHECK(s.trace == "EEEEE" "AAAAA" "LLL" + std::string(12, 'E') + "AAA" "L");
    CHECK(s.jb.stats().realigned == 1);
    CHECK(s.jb.stats().realign_ts == 3 * 160);
  }
}

TEST_CASE("packets longer than a tick play once, then continue", "[dataplane][jitter]") {
  SECTION("40 ms") {
    sim s{jitter_config{}};
    for (int i = 0; i < 4; ++i)
      s.send(pkt(uint16_t(100 + i), 1000 + 320u * uint32_t(i), 320), uint64_t(2 * i) * k_tick_ns + 5 * k_ms);
    const frame* f = nullptr;
    s.run(3);
    f = &s.tick();
    REQUIRE(f->kind == frame_kind::continued);
    CHECK(f->parts[0].offset_ts == 160);
    CHECK(f->packet()->info.sequence == 100);
    s.run(6);
    CHECK(s.trace == "EEACACACAC");
  }
  SECTION("60 ms") {
    sim s{jitter_config{}};
    for (int i = 0; i < 3; ++i)
      s.send(pkt(uint16_t(100 + i), 1000 + 480u * uint32_t(i), 480), uint64_t(3 * i) * k_tick_ns + 5 * k_ms);
    s.run(11);
    CHECK(s.trace == "EEACCACCACC");
  }
  SECTION("30 ms: packets straddle ticks") {
    sim s{jitter_config{}};
    for (int i = 0; i < 4; ++i)
      s.send(pkt(uint16_t(100 + i), 1000 + 240u * uint32_t(i), 240), uint64_t(3 * i) * k_tick_ns / 2 + 5 * k_ms);
    s.run(8);
    CHECK(s.trace == "EEA(CA)CA(CA)C");
    CHECK(s.played == range(100, 4));
  }
  SECTION("10 ms Opus at 48 kHz: two packets per tick") {
    jitter_config cfg;
    cfg.clock_rate_hz = 48000;
    cfg.tick_ts = 960;
    sim s{cfg};
    for (int i = 0; i < 8; ++i)
      s.send(pkt(uint16_t(100 + i), 48000 + 480u * uint32_t(i), 480), uint64_t(i) * k_tick_ns / 2 + 5 * k_ms);
    s.run(6);
    CHECK(s.trace == "EE(AA)(AA)(AA)(AA)");
    CHECK(s.played == range(100, 8));
  }
}

TEST_CASE("config values are clamped", "[dataplane][jitter]") {
  jitter_config cfg;
  cfg.clock_rate_hz = 0;
  cfg.tick_ts = 0;
  cfg.capacity = 0;
  cfg.max_payload = 0;
  cfg.min_delay_ms = 100;
  cfg.max_delay_ms = 50;
  cfg.initial_delay_ms = 0;
  jitter_buffer jb(cfg);
  CHECK(jb.config().clock_rate_hz == 1000);
  CHECK(jb.config().tick_ts == 20);
  CHECK(jb.config().capacity == 2);
  CHECK(jb.config().max_payload == 1);
  CHECK(jb.config().max_delay_ms == 100);
  CHECK(jb.config().initial_delay_ms == 100);
}

TEST_CASE("sender clock drift is absorbed", "[dataplane][jitter]") {
  // Ten minutes of continuous speech from a sender whose clock runs 1 % fast or slow,
  // arriving 5..7 ms after sending. Every tick is 20 ms of the mixer's clock.
  const int ticks = 30000;
  for (const double drift : {0.01, -0.01}) {
    INFO("drift " << drift);
    sim s{jitter_config{}};
    std::mt19937 rng(42);
    const double period_ns = 20e6 / (1.0 + drift);
    int sent = 0;
    for (; double(sent) * period_ns < double(ticks) * 20e6; ++sent) {
      const uint64_t at = uint64_t(double(sent) * period_ns) + 5 * k_ms + rng() % (2 * k_ms);
      s.send(pkt(uint16_t(sent), 160u * uint32_t(sent)), at);
    }
    uint32_t max_delay = 0;
    uint16_t max_buffered = 0;
    for (int t = 0; t < ticks; ++t) {
      s.tick();
      const auto st = s.jb.stats();
      if (t > 50) max_delay = std::max(max_delay, st.delay_ms);
      max_buffered = std::max(max_buffered, st.buffered);
    }
    const auto st = s.jb.stats();
    CHECK(max_delay <= 70);
    CHECK(max_buffered <= 4);
    CHECK(st.too_late == 0);
    CHECK(st.lost == 0);
    // A slow sender's packet may be a little late for its tick: that tick is inserted
    // (concealed while the playout point waits), never a packet dropped.
    CHECK(st.underrun_ticks <= st.inserted_ticks);
    // Each tick plays one packet, drops one (skip) or plays none (insert).
    const int consumed = int(st.played + st.dropped + st.buffered);
    CHECK(consumed + int(st.inserted_ticks) - int(st.skipped_ticks) - 2 <= ticks);
    if (drift > 0) {
      const int excess = sent - ticks;  // ~297: what the drift implies
      CHECK(st.inserted_ticks == 0);
      CHECK(int(st.skipped_ticks) >= excess - 5);
      CHECK(int(st.skipped_ticks) <= excess + 2);
      CHECK(st.dropped == st.skipped_ticks);
    } else {
      const int deficit = ticks - sent;  // ~303
      CHECK(st.skipped_ticks == 0);
      CHECK(int(st.inserted_ticks) >= deficit - 5);
      CHECK(int(st.inserted_ticks) <= deficit + 2);
      CHECK(st.lost_ticks == st.inserted_ticks);  // inserted in speech: concealed
      CHECK(st.dropped == 0);
    }
  }
}

TEST_CASE("drift is absorbed in silence when there is silence", "[dataplane][jitter]") {
  // Talk spurts of 2 s, then a comfort-noise packet and 1 s of nothing, for 10 minutes, from
  // a sender 0.5 % fast or slow: 10 ms of drift per talk spurt, which waits for the silence.
  const int ticks = 30000;
  for (const double drift : {0.005, -0.005}) {
    INFO("drift " << drift);
    sim s{jitter_config{}};
    const double period_ns = 20e6 / (1.0 + drift);
    int voice = 0;
    uint16_t seq = 0;
    for (int n = 0; double(n) * period_ns < double(ticks) * 20e6; ++n) {
      const int in_cycle = n % 150;  // sender frames: 100 speech, 1 CN, 49 nothing
      if (in_cycle > 100) continue;
      const bool is_voice = in_cycle < 100;
      voice += is_voice;
      s.send(pkt(seq++, 160u * uint32_t(n), 160, 7, in_cycle == 0, is_voice),
             uint64_t(double(n) * period_ns) + 5 * k_ms);
    }
    s.run(ticks);
    const auto st = s.jb.stats();
    CHECK(st.too_late == 0);
    CHECK(st.lost == 0);
    CHECK(st.lost_ticks == 0);  // no tick inserted in speech
    CHECK(int(st.played) >= voice - 1);  // every speech packet played (the last may wait)
    CHECK(int(st.played + st.dropped + st.buffered) == int(s.results.size()));
    CHECK(int(st.dropped) <= int(s.results.size()) - voice);  // only comfort noise dropped
    // The playout point moved by what the drift implies (+ = timestamps skipped), within
    // a tick: 600 s * 0.5 % * 8000 = 24000.
    const int64_t implied = int64_t(drift * 600 * 8000);
    const int64_t moved =
        st.realign_ts + 160 * (int64_t(st.skipped_ticks) - int64_t(st.inserted_ticks));
    CHECK(moved >= implied - 160);
    CHECK(moved <= implied + 160);
  }
}

TEST_CASE("target delay follows jitter up quickly and down slowly", "[dataplane][jitter]") {
  // 60 s of 10..70 ms uniform network delay (packets reorder), then 10 ms flat for 4 min.
  sim s{jitter_config{}};
  std::mt19937 rng(1234);
  const int jitter_packets = 3000, total = 15000;
  for (int i = 0; i < total; ++i) {
    uint64_t delay = 10 * k_ms;
    if (i < jitter_packets) delay += uint64_t(double(rng()) / 4294967296.0 * 60e6);
    s.send(pkt(uint16_t(i), 160u * uint32_t(i)), uint64_t(i) * k_tick_ns + delay);
  }
  s.run(250);  // 5 s of warm-up
  const size_t warm = s.results.size();
  s.run(jitter_packets - 250);
  const auto at_60s = s.jb.stats();
  size_t late = 0, counted = 0;
  for (size_t i = warm; i < s.results.size(); ++i) {
    if (s.sent_seq[i] >= jitter_packets) continue;
    ++counted;
    late += s.results[i] == put_result::too_late;
  }
  INFO("late " << late << " of " << counted << ", target " << at_60s.target_delay_ms);
  CHECK(counted > 2500);
  CHECK(double(late) / double(counted) < 0.01);
  CHECK(at_60s.target_delay_ms >= 78);  // 98th percentile of 0..60 ms, plus a tick
  CHECK(at_60s.target_delay_ms <= 100);
  CHECK(at_60s.delay_ms >= 78);

  s.run(500);  // 10 s after the jitter stopped: barely moved
  CHECK(s.jb.stats().target_delay_ms >= 70);
  s.run(total - jitter_packets - 500);
  const auto end = s.jb.stats();
  CHECK(end.target_delay_ms <= 30);
  CHECK(end.delay_ms <= 45);
  CHECK(end.skipped_ticks >= 2);
}

TEST_CASE("put() survives arbitrary field values", "[dataplane][jitter]") {
  jitter_config cfg;
  cfg.capacity = 16;
  cfg.max_payload = 64;
  jitter_buffer jb(cfg);
  std::mt19937 rng(7);
  uint8_t payload[100];
  uint64_t now = 0, puts = 0;
  uint16_t seq = 0;
  uint32_t ts = 0;
  for (int op = 0; op < 300000; ++op) {
    const uint32_t r = rng();
    if (r % 3 == 0) {
      const frame& f = jb.get();
      REQUIRE(f.n_parts >= 1);
      REQUIRE(f.n_parts <= frame::k_max_parts);
      uint32_t covered = 0, at = f.parts[0].ts;
      for (int i = 0; i < f.n_parts; ++i) {
        const frame_part& p = f.parts[i];
        REQUIRE(p.ts == at);
        REQUIRE(p.length_ts > 0);
        at += p.length_ts;
        covered += p.length_ts;
        const bool has_packet = p.kind == frame_kind::audio || p.kind == frame_kind::continued;
        REQUIRE((p.packet != nullptr) == has_packet);
        if (has_packet) {
          REQUIRE(p.packet->len >= 1);
          REQUIRE(p.packet->len <= 64);
          REQUIRE(p.offset_ts < p.packet->info.duration_ts);
          uint16_t got;
          std::memcpy(&got, p.packet->payload, 2);
          if (p.packet->len >= 2) REQUIRE(got == p.packet->info.sequence);
        }
      }
      REQUIRE(covered == 160);
      REQUIRE(f.kind == std::max_element(f.parts, f.parts + f.n_parts,
                                         [](const frame_part& a, const frame_part& b) {
                                           return a.kind < b.kind;
                                         })->kind);
      now += k_tick_ns;
    } else {
      packet_info p;
      const uint32_t mode = rng() % 8;
      // Mostly a plausible stream with disorder; sometimes anything at all.
      seq = mode == 0 ? uint16_t(rng()) : uint16_t(seq + 1 + int(rng() % 5) - 2);
      ts = mode == 1 ? rng() : ts + 160 * (rng() % 4) - (mode == 2 ? 320 * (rng() % 8) : 0);
      p.sequence = seq;
      p.timestamp = ts;
      p.ssrc = rng() % 50 == 0 ? rng() % 3 : 1;
      p.marker = rng() % 10 == 0;
      p.duration_ts = mode == 3 ? rng() : 40 * (rng() % 20);
      p.meta.voice = rng() % 4 != 0;
      uint16_t len = uint16_t(mode == 4 ? rng() % 100 : 2 + rng() % 40);
      std::memcpy(payload, &seq, 2);
      const uint64_t arrival = mode == 5 ? uint64_t(rng()) << 20 : now + rng() % (100 * k_ms);
      jb.put(p, payload, len, arrival);
      ++puts;
      if (rng() % 5000 == 0) jb.flush();
    }
    const auto st = jb.stats();
    REQUIRE(st.buffered <= 16);
    if (rng() % 64 == 0) {
      const stored_packet* n = jb.peek_next();
      if (n != nullptr && n->len >= 2) {
        uint16_t got;
        std::memcpy(&got, n->payload, 2);
        REQUIRE(got == n->info.sequence);
      }
    }
  }
  const auto st = jb.stats();
  CHECK(st.stored + st.resyncs + st.duplicates + st.too_late + st.too_large + st.buffer_full +
            st.invalid + st.probation ==
        puts);
  // Every outcome happened at least once.
  CHECK(st.stored > 0);
  CHECK(st.resyncs > 0);
  CHECK(st.duplicates > 0);
  CHECK(st.too_late > 0);
  CHECK(st.too_large > 0);
  CHECK(st.invalid > 0);
  CHECK(st.probation > 0);
  CHECK(st.played > 0);
  CHECK(st.lost > 0);
}
