// Per-participant adaptive jitter buffer: turns RTP packets that arrive late, early, out of
// order, twice or never into exactly one frame per mixer tick.
//
// Model: one sender (one SSRC) feeding one consumer that calls get() once per tick (20 ms).
// Playout runs in the sender's RTP timestamp units, not arrival order: a playout point
// advances by tick_ts per get(), and each tick plays the timestamp range
// [point, point + tick_ts). The packets overlapping that range are described as parts
// (usually one): audio (a packet starts: decode it), continued (more of a packet already
// returned, e.g. the second tick of a 40 ms packet), lost (a sequence gap, or nothing arrived
// while speech was playing: conceal) or empty (silence: DTX gap, talk spurt over, not started).
//
// Delay: each packet's delay above the fastest packet of the last 2 s (its jitter) feeds a
// histogram with exponential forgetting; the target lead is its 98th percentile, so the
// target grows within a few packets of a jitter increase and shrinks only after ~40 s
// without one. The playout point sits `lead` timestamp units ahead of the newest packets;
// the lead is measured on every packet and steered to the target by dropping a tick of
// audio or holding the playout point for a tick, during silence when there is any, in speech
// only when the error persists. At the start of each talk spurt (first packet after silence,
// or a marker bit) the playout point is simply re-placed. This also absorbs sender clock
// drift: a 1 % fast sender costs one dropped tick per 100, a slow one one inserted tick.
// A packet that misses its tick while nothing else waits (a delay spike) is not dropped:
// the tick was concealed, and the playout point steps back so the packet plays next.
//
// Loss versus silence: a sequence gap is loss (lost parts, as long as the missing packets
// would have played); a timestamp gap without one is DTX (empty). When nothing has arrived
// yet the buffer cannot know: after a packet marked voice it conceals for conceal_ms, after
// known silence (meta.voice false: CN, Opus DTX) it plays silence at once.
//
// Hot path: put() and get() are noexcept, never allocate, lock or make system calls; all
// storage (capacity + frame::k_max_parts + 1 packet slots of max_payload bytes) is allocated
// by the constructor. Sequence numbers are extended past 16 bits and timestamps past
// 32 bits, so wraparound is invisible. One thread (the owning worker) uses an instance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tutti::dp {

struct jitter_config {
  uint32_t clock_rate_hz = 8000;   // RTP clock: 8000 for G.711, 48000 for Opus
  uint32_t tick_ts = 160;          // timestamp units per mixer tick (20 ms at clock_rate_hz)
  uint16_t min_delay_ms = 20;      // target delay never below this (one tick = next tick)
  uint16_t max_delay_ms = 300;     // target delay never above this
  uint16_t initial_delay_ms = 40;  // delay of the first talk spurt, before jitter is known
  uint16_t conceal_ms = 60;        // an underrun after speech is `lost` this long, then empty
  uint16_t capacity = 64;          // packets held waiting to play (not counting the one playing)
  uint16_t max_payload = 1500;     // bytes per packet; larger ones are refused (too_large)
};
// Out-of-range values are clamped by the constructor: rate 1000..384000 Hz, tick 1 ts..1 s
// (0: 20 ms), capacity 2..4096, max_payload >= 1, min <= initial <= max delay.
// Memory: (capacity + 9) * (max_payload + ~80) bytes: size max_payload for the codec.

// Per-packet data the buffer carries from put() to get() for the mixer. Only `voice` is read
// by the buffer (to tell a talk spurt's end from a loss); the rest is opaque to it.
struct packet_meta {
  uint8_t level_dbov = 127;   // RFC 6464 audio level, -dBov (0 loudest, 127 silence)
  bool has_level = false;     // level_dbov came from the packet
  bool voice = true;          // false when known silence: CN (RFC 3389), Opus DTX frame,
                              // RFC 6464 V=0; true for speech or unknown
  uint8_t payload_type = 0;   // RTP payload type
  uint8_t flags = 0;          // free for the caller
};

// The parsed RTP fields put() needs (the buffer does not parse RTP).
struct packet_info {
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  bool marker = false;        // RFC 3551 §4.1: first packet of a talk spurt
  uint32_t duration_ts = 0;   // timestamp units this packet covers, from the codec
                              // (160 for 20 ms PCMU; 480/960/1920/2880 for 10..60 ms Opus)
  packet_meta meta;
};

// A packet held by the buffer, as returned to the consumer.
struct stored_packet {
  packet_info info;
  const uint8_t* payload = nullptr;
  uint16_t len = 0;           // payload bytes
  uint64_t arrival_ns = 0;    // as passed to put()
};

// What put() did with a packet. Every put() counts in exactly one jitter_stats counter.
enum class put_result : uint8_t {
  stored,       // kept for playout
  resync,       // new stream (SSRC change, or a sequence/timestamp jump confirmed by a second
                // packet as RFC 3550 A.1 does): waiting packets dropped, this one stored and
                // played after the target delay; counters and jitter history kept
  duplicate,    // this sequence number is already held or was played: dropped
  too_late,     // its playout time has passed: dropped (its delay still feeds the target).
                // Not when nothing else waits: then it is stored and plays next tick.
  too_large,    // len > max_payload: dropped
  buffer_full,  // `capacity` packets already wait: the new packet is dropped, held ones kept
  invalid,      // len 0, null payload, or duration_ts outside tick_ts/4 .. 16 ticks: dropped
  probation,    // sequence or timestamp jumped out of range: dropped; a next packet that
                // continues the jump resyncs (RFC 3550 A.1), anything else forgets it
};

enum class frame_kind : uint8_t {
  empty,      // silence: not started, DTX gap, talk spurt ended, stream stopped. No PLC.
  lost,       // audio expected but missing (sequence gap, underrun in speech): conceal
  continued,  // the rest of a packet returned earlier as audio (packets longer than a tick)
  audio,      // a packet starts here: decode it
};

// One run of the tick's timeline. Parts are contiguous and cover exactly tick_ts.
struct frame_part {
  frame_kind kind = frame_kind::empty;
  uint32_t ts = 0;            // RTP timestamp where this part starts
  uint32_t length_ts = 0;     // timestamp units of the tick it covers
  uint32_t offset_ts = 0;     // audio/continued: where in the packet it starts (decoded
                              // sample offset, in timestamp units); else 0
  const stored_packet* packet = nullptr;  // audio/continued: the packet; else null
};

// What plays during one tick. Pointers stay valid until the next get() or flush().
struct frame {
  static constexpr int k_max_parts = 8;
  frame_kind kind = frame_kind::empty;  // the tick in one word: the part's kind when there is
                                        // one part, else the strongest (audio > continued >
                                        // lost > empty): read the parts then
  uint8_t n_parts = 0;                  // 1 unless packets are shorter than a tick or unaligned
  bool first_after_loss = false;        // first audio after concealment: merge (PLC), and
                                        // the decoder state may be stale
  bool inserted = false;                // the playout point was held this tick to add delay
  bool skipped = false;                 // a tick of audio was dropped before this one
  uint32_t ts = 0;                      // RTP timestamp at the start of this tick
  frame_part parts[k_max_parts];
  const stored_packet* packet() const noexcept { return parts[0].packet; }
};

struct jitter_stats {
  // put() outcomes: each put() counts in exactly one of these eight.
  uint64_t stored = 0;         // packets kept for playout
  uint64_t resyncs = 0;        // new streams (the packet is kept and counted here only)
  uint64_t duplicates = 0;     // already held or already played
  uint64_t too_late = 0;       // arrived after their playout time
  uint64_t too_large = 0;      // longer than max_payload
  uint64_t buffer_full = 0;    // refused because `capacity` packets were waiting
  uint64_t invalid = 0;        // bad length, payload pointer or duration
  uint64_t probation = 0;      // out-of-range sequence/timestamp, waiting for confirmation
  // Playout, counted by get().
  uint64_t ticks = 0;          // get() calls
  uint64_t played = 0;         // packets returned (as an audio part)
  uint64_t lost = 0;           // sequence numbers not received by the time they were due
                               // (a too_late packet counts here too)
  uint64_t dropped = 0;        // packets received in time but never played: dropped to cut
                               // delay, overtaken by a later packet, or flushed by a resync
  uint64_t audio_ticks = 0;    // ticks whose summary kind was audio or continued
  uint64_t lost_ticks = 0;     // ... lost (concealed)
  uint64_t empty_ticks = 0;    // ... empty
  uint64_t underrun_ticks = 0; // ticks with nothing to play while speech was expected
  uint64_t skipped_ticks = 0;  // ticks of audio dropped to cut delay (drift, jitter fell)
  uint64_t inserted_ticks = 0; // ticks the playout point was held to add delay
  uint64_t realigned = 0;      // talk spurt starts where the playout point was re-placed
  int64_t realign_ts = 0;      // net timestamp units those moved it forward (+ = delay cut)
  // Current state.
  uint32_t jitter_ts = 0;      // RFC 3550 A.8 interarrival jitter in timestamp units (RTCP RR)
  uint32_t target_delay_ms = 0;// delay the buffer steers to (98th percentile of jitter)
  uint32_t delay_ms = 0;       // estimated delay now (lead + one tick)
  uint16_t buffered = 0;       // packets waiting to play
};

class jitter_buffer {
 public:
  // Allocates every slot; nothing allocates afterwards.
  explicit jitter_buffer(const jitter_config& cfg);

  // Offers one received packet; arrival_ns is the receive time on the clock the mixer ticks
  // by (CLOCK_MONOTONIC). The payload is copied. Any field values are safe.
  put_result put(const packet_info& p, const uint8_t* payload, uint16_t len,
                 uint64_t arrival_ns) noexcept;

  // Once per tick: advances the playout point by tick_ts and returns what plays.
  const frame& get() noexcept;

  // The next packet waiting to play after this tick, or null: for Opus in-band FEC, decode it
  // with fec=1 when it starts where a lost part ends. Valid until the next put()/get().
  const stored_packet* peek_next() const noexcept;

  // Drops every packet and starts over at the next put(); counters and the jitter history
  // (the network is still the same) are kept.
  void flush() noexcept;

  jitter_stats stats() const noexcept;
  // Packets waiting to play (stats().buffered without building the whole struct).
  uint16_t buffered() const noexcept { return static_cast<uint16_t>(count_); }
  const jitter_config& config() const noexcept { return cfg_; }

 private:
  struct slot {
    stored_packet pkt;
    int64_t seq = 0;   // extended sequence number
    int64_t ts = 0;    // extended timestamp
    int64_t end = 0;   // ts + duration
  };
  static constexpr int k_hist_bins = 64;
  static constexpr int k_min_blocks = 8;

  // put() helpers
  put_result begin(const packet_info& p, const uint8_t* payload, uint16_t len,
                   uint64_t arrival_ns) noexcept;
  void measure(int64_t ts, uint64_t arrival_ns) noexcept;
  void anchor(int64_t seq, int64_t ts, uint32_t duration, int64_t d, bool same_stream,
              bool now) noexcept;
  put_result store(const packet_info& p, int64_t seq, int64_t ts, const uint8_t* payload,
                   uint16_t len, uint64_t arrival_ns) noexcept;
  int find(int64_t seq) const noexcept;  // position in the queue, or -1
  // get() helpers
  int64_t lost_end(const slot& next) const noexcept;
  bool silent_at(int64_t pos) const noexcept;
  frame_kind hold_kind(int64_t pos) const noexcept;
  frame_kind underrun_kind() const noexcept;
  void emit(frame_kind k, int64_t from, int64_t to, const slot* s) noexcept;
  void finish() noexcept;
  void pass_to(int64_t pos) noexcept;
  void fill(int64_t pos, int64_t end) noexcept;
  void update_target() noexcept;
  // queue and slots
  slot& at(int i) noexcept { return slots_[order_[wrap(head_ + i)]]; }
  const slot& at(int i) const noexcept { return slots_[order_[wrap(head_ + i)]]; }
  int wrap(int i) const noexcept { return i >= capacity_ ? i - capacity_ : i; }
  void pop_front() noexcept;
  void drop_front() noexcept;
  void retire(uint16_t s) noexcept;  // slot goes back to the pool at the next get()
  void release_all(bool now) noexcept;
  void advance_seq(int64_t to, bool played) noexcept;

  jitter_config cfg_;
  int64_t tick_ = 160;
  int64_t min_lead_ = 0, max_lead_ = 0, initial_lead_ = 0, conceal_ts_ = 0, jump_ts_ = 0;
  int64_t hyst_ts_ = 0, min_dur_ = 0, max_dur_ = 0, bin_w_ = 1;
  int capacity_ = 0;

  std::vector<slot> slots_;
  std::vector<uint8_t> payload_;
  std::vector<uint16_t> free_;    // stack of free slot indices
  int n_free_ = 0;
  std::vector<uint16_t> order_;   // ring of waiting slots, sorted by extended sequence
  int head_ = 0, count_ = 0;
  uint16_t pending_[frame::k_max_parts + 2] = {};  // slots freed at the next get()
  int n_pending_ = 0;
  int cur_ = -1;                  // slot playing (its part may continue), or -1

  // Timeline.
  bool started_ = false;
  bool idle_ = true;              // silence with nothing waiting: the next packet re-anchors
  bool fresh_ = false;            // nothing played since the anchor (early reorder allowed)
  bool last_voice_ = false;       // the last packet played was (possibly) speech
  bool prev_lost_ = false;        // the last part emitted was lost
  uint32_t ssrc_ = 0;
  int64_t next_play_ = 0;         // timestamp the next tick starts at
  int64_t play_seq_ = 0;          // next sequence number to play (last played + 1)
  int64_t last_end_ = 0;          // end timestamp of the last packet played
  int64_t last_dur_ = 0;          // its duration (to size a sequence gap)
  int64_t underrun_ts_ = 0;       // timestamp units concealed since the last packet
  bool underrun_now_ = false;     // this tick concealed an underrun
  uint64_t played_mask_ = 0;      // bit i: sequence play_seq_-1-i was received (duplicates)
  bool probation_ = false;
  uint16_t bad_seq_ = 0;          // the sequence that confirms a jump (RFC 3550 A.1)
  uint32_t bad_ssrc_ = 0;

  // Delay estimation.
  int64_t lead_q8_ = 0;           // smoothed lead, timestamp units * 256
  int64_t target_ = 0;            // target lead, timestamp units
  uint32_t over_ticks_ = 0, under_ticks_ = 0;
  uint64_t base_ns_ = 0;
  int64_t block_ = 0;             // current 250 ms block of the transit window
  int block_idx_ = 0;
  int64_t transit_min_[k_min_blocks] = {};
  bool have_transit_ = false;
  int64_t last_transit_ = 0;
  int64_t jitter_q4_ = 0;         // RFC 3550 A.8 J, timestamp units * 16
  int64_t last_d_ = 0;            // jitter of the last packet measured, timestamp units
  int64_t ts_per_ns_q40_ = 0;     // clock rate / 1e9, fixed point with 40 fraction bits
  uint32_t hist_updates_ = 0;
  float hist_[k_hist_bins] = {};
  float hist_total_ = 0, hist_weight_ = 1;
  uint32_t hist_n_ = 0;

  jitter_stats stats_;
  frame frame_;
};

}  // namespace tutti::dp
