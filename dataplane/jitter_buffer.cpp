// Adaptive jitter buffer: see jitter_buffer.hpp for the model.
#include "dataplane/jitter_buffer.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace tutti::dp {
namespace {

constexpr int64_t k_max_dropout = 3000;  // RFC 3550 A.1 MAX_DROPOUT: forward seq jump allowed
constexpr int64_t k_max_misorder = 100;  // RFC 3550 A.1 MAX_MISORDER: backward seq allowed
constexpr uint32_t k_jump_ms = 3000;     // timestamp jump (beyond max delay) needing confirmation
constexpr uint64_t k_block_ns = 250'000'000;  // transit minimum over 8 blocks of 250 ms = 2 s
// Target = this quantile of jitter: a packet is late only when its jitter exceeds it.
constexpr float k_quantile = 0.98f;
// Histogram memory in packets: each new packet scales older ones by 1 - 1/512, so a new jitter
// level needs ~10 packets to move the 98th percentile up, and an old one ~2000 (40 s at 50
// packets/s) to fade out. The first 512 packets count equally (no forgetting yet).
constexpr uint32_t k_hist_memory = 512;
constexpr float k_hist_growth = 1.0f / (1.0f - 1.0f / k_hist_memory);
constexpr float k_hist_renorm = 1e12f;
// Until this many packets have been measured the target is at least the initial delay.
constexpr uint32_t k_warmup_packets = 100;
// Adjustments in speech wait for the error to persist (ticks); in silence they are immediate.
constexpr uint32_t k_skip_patience = 25;
constexpr uint32_t k_insert_patience = 5;
constexpr int k_ema_shift = 4;  // lead smoothing: 1/16 per packet

int64_t ms_to_ts(uint32_t ms, uint32_t rate_hz) { return int64_t(ms) * rate_hz / 1000; }

}  // namespace

jitter_buffer::jitter_buffer(const jitter_config& in) : cfg_(in) {
  cfg_.clock_rate_hz = std::clamp<uint32_t>(cfg_.clock_rate_hz, 1000, 384000);
  if (cfg_.tick_ts == 0) cfg_.tick_ts = cfg_.clock_rate_hz / 50;
  cfg_.tick_ts = std::min(cfg_.tick_ts, cfg_.clock_rate_hz);
  cfg_.capacity = std::clamp<uint16_t>(cfg_.capacity, 2, 4096);
  cfg_.max_payload = std::max<uint16_t>(cfg_.max_payload, 1);
  cfg_.max_delay_ms = std::max(cfg_.max_delay_ms, cfg_.min_delay_ms);
  cfg_.initial_delay_ms = std::clamp(cfg_.initial_delay_ms, cfg_.min_delay_ms, cfg_.max_delay_ms);

  const uint32_t rate = cfg_.clock_rate_hz;
  tick_ = cfg_.tick_ts;
  // Timestamp units per nanosecond in 24.40 fixed point: ~1e-7 relative error, far below
  // any real clock drift, and one multiply instead of divisions on every packet.
  ts_per_ns_q40_ = int64_t((__int128(rate) << 40) / 1'000'000'000);
  // The lead is the delay less one tick: a packet with lead 0 plays at the next tick.
  min_lead_ = std::max<int64_t>(0, ms_to_ts(cfg_.min_delay_ms, rate) - tick_);
  max_lead_ = std::max(min_lead_, ms_to_ts(cfg_.max_delay_ms, rate) - tick_);
  initial_lead_ = std::clamp(ms_to_ts(cfg_.initial_delay_ms, rate) - tick_, min_lead_, max_lead_);
  conceal_ts_ = ms_to_ts(cfg_.conceal_ms, rate);
  jump_ts_ = max_lead_ + ms_to_ts(k_jump_ms, rate);
  hyst_ts_ = tick_ / 8;
  min_dur_ = std::max<int64_t>(1, tick_ / 4);
  max_dur_ = tick_ * 16;
  bin_w_ = std::max<int64_t>(std::max<int64_t>(1, tick_ / 8),
                             (max_lead_ + tick_ + k_hist_bins - 2) / (k_hist_bins - 1));
  capacity_ = cfg_.capacity;

  // Waiting packets, plus the one playing, plus those an earlier frame still points to.
  const int pool = capacity_ + frame::k_max_parts + 3;
  slots_.resize(pool);
  payload_.resize(size_t(pool) * cfg_.max_payload);
  free_.resize(pool);
  order_.resize(capacity_);
  for (int i = 0; i < pool; ++i) {
    slots_[i].pkt.payload = &payload_[size_t(i) * cfg_.max_payload];
    free_[i] = uint16_t(pool - 1 - i);
  }
  n_free_ = pool;
  target_ = initial_lead_;
}

// ---- put ---------------------------------------------------------------------------------

put_result jitter_buffer::put(const packet_info& p, const uint8_t* payload, uint16_t len,
                              uint64_t arrival_ns) noexcept {
  if (len == 0 || payload == nullptr || p.duration_ts < min_dur_ || p.duration_ts > max_dur_) {
    ++stats_.invalid;
    return put_result::invalid;
  }
  if (len > cfg_.max_payload) {
    ++stats_.too_large;
    return put_result::too_large;
  }
  if (!started_ || p.ssrc != ssrc_) return begin(p, payload, len, arrival_ns);

  // Extend to 64 bits around where playout is (RFC 3550 A.1 does the same with cycles).
  const int64_t seq = play_seq_ + int16_t(uint16_t(p.sequence - uint16_t(play_seq_)));
  const int64_t ts = next_play_ + int32_t(p.timestamp - uint32_t(next_play_));
  const int64_t dseq = seq - play_seq_;
  const int64_t lead = ts - next_play_;

  const bool jump = dseq > k_max_dropout || dseq < -k_max_misorder ||
                    (!idle_ && (lead > jump_ts_ || lead < -jump_ts_));
  if (jump) {
    // RFC 3550 A.1: one stray packet is dropped; a second that continues it restarts.
    if (probation_ && p.sequence == bad_seq_ && p.ssrc == bad_ssrc_)
      return begin(p, payload, len, arrival_ns);
    probation_ = true;
    bad_seq_ = uint16_t(p.sequence + 1);
    bad_ssrc_ = p.ssrc;
    ++stats_.probation;
    return put_result::probation;
  }
  probation_ = false;

  bool reorder_early = false;
  if (dseq < 0) {
    const uint64_t back = uint64_t(-dseq - 1);
    if (back < 64 && ((played_mask_ >> back) & 1)) {
      ++stats_.duplicates;
      return put_result::duplicate;
    }
    // Passed over already, unless nothing has played since the playout point was placed and
    // it still fits before the first packet (reordering at a talk spurt's start).
    reorder_early = fresh_ && lead >= 0;
  } else if (find(seq) >= 0) {
    ++stats_.duplicates;
    return put_result::duplicate;
  }

  measure(ts, arrival_ns);
  const int64_t d = last_d_;
  const bool quiet = count_ == 0 && cur_ < 0;
  if (dseq >= 0 && quiet && (idle_ || p.marker || (lead < 0 && -lead <= max_lead_))) {
    // Start of a talk spurt: place the playout point afresh. A late packet while nothing
    // else waits plays at the next tick instead of being dropped (the ticks concealed for
    // it become delay); the controller adds more if the target asks for it.
    anchor(seq, ts, p.duration_ts, d, true, lead < 0 && !idle_ && !p.marker);
  } else {
    if (!idle_) lead_q8_ += ((lead + d) * 256 - lead_q8_) >> k_ema_shift;
    if (dseq < 0 && !reorder_early) {
      ++stats_.too_late;
      return put_result::too_late;
    }
    if (lead < 0) {
      ++stats_.too_late;
      return put_result::too_late;
    }
  }
  if (reorder_early) {
    if (count_ >= capacity_) {
      ++stats_.buffer_full;
      return put_result::buffer_full;
    }
    advance_seq(seq, false);
  }
  return store(p, seq, ts, payload, len, arrival_ns);
}

// Delay of this packet above the fastest one of the last 2 s (its jitter), into last_d_, the
// histogram, and RFC 3550 A.8's interarrival jitter.
void jitter_buffer::measure(int64_t ts, uint64_t arrival_ns) noexcept {
  int64_t dns = int64_t(arrival_ns - base_ns_);
  dns = std::clamp<int64_t>(dns, -(int64_t(1) << 52), int64_t(1) << 52);
  const int64_t arrival_ts = int64_t((__int128(dns) * ts_per_ns_q40_) >> 40);
  const int64_t transit = arrival_ts - ts;

  if (have_transit_) {
    int64_t dt = transit - last_transit_;
    dt = std::min<int64_t>(dt < 0 ? -dt : dt, int64_t(1) << 40);
    jitter_q4_ += dt - ((jitter_q4_ + 8) >> 4);  // RFC 3550 A.8
  }
  const int64_t block = int64_t(arrival_ns / k_block_ns);
  if (!have_transit_) {
    std::fill(std::begin(transit_min_), std::end(transit_min_),
              std::numeric_limits<int64_t>::max());
    block_ = block;
    block_idx_ = 0;
  } else if (block > block_) {
    const int64_t steps = std::min<int64_t>(block - block_, k_min_blocks);
    for (int64_t i = 0; i < steps; ++i) {
      block_idx_ = (block_idx_ + 1) % k_min_blocks;
      transit_min_[block_idx_] = std::numeric_limits<int64_t>::max();
    }
    block_ = block;
  }
  have_transit_ = true;
  last_transit_ = transit;
  transit_min_[block_idx_] = std::min(transit_min_[block_idx_], transit);
  int64_t wmin = transit;
  for (int64_t m : transit_min_) wmin = std::min(wmin, m);
  last_d_ = std::min(transit - wmin, max_lead_ + tick_);

  const int bin = int(std::min<int64_t>(last_d_ / bin_w_, k_hist_bins - 1));
  if (hist_n_ >= k_hist_memory) hist_weight_ *= k_hist_growth;
  else ++hist_n_;
  hist_[bin] += hist_weight_;
  hist_total_ += hist_weight_;
  // The quantile can rise only through a sample at or above it; falling is slow anyway, so
  // the 64-bin scan runs for those and for every 8th packet.
  if ((bin + 1) * bin_w_ > target_ || (++hist_updates_ & 7) == 0) update_target();
  if (hist_weight_ > k_hist_renorm) {
    hist_total_ = 0;
    for (float& h : hist_) {
      h /= hist_weight_;
      hist_total_ += h;
    }
    hist_weight_ = 1;
  }
}

// Places the playout point so that this packet (jitter d) waits the target lead (rounded up
// to whole ticks, keeping ticks aligned to packets), or plays at the next tick (`now`).
void jitter_buffer::anchor(int64_t seq, int64_t ts, uint32_t duration, int64_t d,
                           bool same_stream, bool now) noexcept {
  const int64_t want = now ? 0 : std::max<int64_t>(0, target_ - d);
  const int64_t lead = (want + tick_ - 1) / tick_ * tick_;
  const int64_t np = ts - lead;
  if (same_stream) {
    if (np != next_play_) {
      ++stats_.realigned;
      stats_.realign_ts += np - next_play_;
    }
    if (seq > play_seq_) stats_.lost += uint64_t(seq - play_seq_);
    advance_seq(seq, false);
  } else {
    play_seq_ = seq;
    played_mask_ = 0;
  }
  next_play_ = np;
  lead_q8_ = (lead + d) * 256;
  last_end_ = np;
  last_dur_ = duration;
  fresh_ = true;
  idle_ = false;
  underrun_ts_ = 0;
  over_ticks_ = under_ticks_ = 0;
}

// New stream (first packet, SSRC change, confirmed jump): flush, then anchor on p.
put_result jitter_buffer::begin(const packet_info& p, const uint8_t* payload, uint16_t len,
                                uint64_t arrival_ns) noexcept {
  const bool was = started_;
  const int64_t ts =
      was ? next_play_ + int32_t(p.timestamp - uint32_t(next_play_)) : int64_t(p.timestamp);
  if (was) stats_.dropped += uint64_t(count_);
  release_all(false);
  started_ = true;
  ssrc_ = p.ssrc;
  probation_ = false;
  base_ns_ = arrival_ns;
  have_transit_ = false;
  jitter_q4_ = 0;
  last_voice_ = false;
  prev_lost_ = false;
  measure(ts, arrival_ns);
  anchor(p.sequence, ts, p.duration_ts, last_d_, false, false);
  store(p, p.sequence, ts, payload, len, arrival_ns);  // cannot fail: everything was freed
  if (!was) return put_result::stored;
  --stats_.stored;  // a resync packet counts as a resync only
  ++stats_.resyncs;
  return put_result::resync;
}

put_result jitter_buffer::store(const packet_info& p, int64_t seq, int64_t ts,
                                const uint8_t* payload, uint16_t len,
                                uint64_t arrival_ns) noexcept {
  if (count_ >= capacity_ || n_free_ == 0) {
    ++stats_.buffer_full;
    return put_result::buffer_full;
  }
  const uint16_t s = free_[--n_free_];
  slot& sl = slots_[s];
  sl.pkt.info = p;
  std::memcpy(const_cast<uint8_t*>(sl.pkt.payload), payload, len);
  sl.pkt.len = len;
  sl.pkt.arrival_ns = arrival_ns;
  sl.seq = seq;
  sl.ts = ts;
  sl.end = ts + p.duration_ts;
  int i = count_;
  while (i > 0 && at(i - 1).seq > seq) --i;
  for (int j = count_; j > i; --j) order_[wrap(head_ + j)] = order_[wrap(head_ + j - 1)];
  order_[wrap(head_ + i)] = s;
  ++count_;
  idle_ = false;
  ++stats_.stored;
  return put_result::stored;
}

int jitter_buffer::find(int64_t seq) const noexcept {
  for (int i = count_ - 1; i >= 0; --i) {
    const int64_t s = at(i).seq;
    if (s == seq) return i;
    if (s < seq) break;
  }
  return -1;
}

// ---- get ---------------------------------------------------------------------------------

const frame& jitter_buffer::get() noexcept {
  for (int i = 0; i < n_pending_; ++i) free_[n_free_++] = pending_[i];
  n_pending_ = 0;
  frame_.n_parts = 0;  // parts past n_parts are stale, never read
  frame_.first_after_loss = frame_.inserted = frame_.skipped = false;
  ++stats_.ticks;
  underrun_now_ = false;
  if (!started_) {
    emit(frame_kind::empty, 0, tick_, nullptr);
    finish();
    return frame_;
  }
  int64_t pos = next_play_;
  const bool boundary = cur_ < 0 || slots_[cur_].end <= pos;
  if (!idle_) {
    // In silence: drop a tick when one less still meets the target, add one below it. In
    // speech the band is half a tick wider each way (a talk spurt's drift waits for the
    // silence after it) and the error must persist; far too much delay is cut at once.
    const bool over = lead_q8_ >= (target_ + tick_ + hyst_ts_) * 256;
    const bool far_over = lead_q8_ >= (target_ + 4 * tick_) * 256;
    const bool under = lead_q8_ < target_ * 256;
    const bool speech_over = lead_q8_ >= (target_ + tick_ + tick_ / 2) * 256;
    const bool speech_under = lead_q8_ < (target_ - tick_ / 2) * 256;
    over_ticks_ = speech_over ? over_ticks_ + 1 : 0;
    under_ticks_ = speech_under ? under_ticks_ + 1 : 0;
    const bool silent = silent_at(pos);
    const bool waiting = count_ > 0;  // skipping through an underrun gains nothing
    if (over && waiting &&
        (far_over || (boundary && (silent || over_ticks_ > k_skip_patience)))) {
      // Too much delay: this tick's audio is dropped and the next one plays instead.
      pass_to(pos + tick_);
      pos += tick_;
      lead_q8_ -= tick_ * 256;
      ++stats_.skipped_ticks;
      frame_.skipped = true;
      over_ticks_ = 0;
    } else if (under && boundary && (silent || under_ticks_ > k_insert_patience)) {
      // Too little: hold the playout point for a tick (silence, or a tick to conceal).
      const frame_kind k = hold_kind(pos);
      if (k == frame_kind::lost && count_ == 0) {
        underrun_ts_ += tick_;
        underrun_now_ = true;
      }
      emit(k, pos, pos + tick_, nullptr);
      lead_q8_ += tick_ * 256;
      ++stats_.inserted_ticks;
      frame_.inserted = true;
      under_ticks_ = 0;
      finish();
      return frame_;
    }
  }
  fill(pos, pos + tick_);
  next_play_ = pos + tick_;
  finish();
  return frame_;
}

// Builds the parts of [pos, end).
void jitter_buffer::fill(int64_t pos, int64_t end) noexcept {
  while (pos < end) {
    if (frame_.n_parts >= frame::k_max_parts - 1) {
      // Fragments beyond what a frame can describe (packets far shorter than a tick, with
      // gaps): the rest of the tick is concealed and what it held is dropped.
      emit(count_ > 0 || cur_ >= 0 ? frame_kind::lost : underrun_kind(), pos, end, nullptr);
      pass_to(end);
      return;
    }
    const slot* nx = count_ > 0 ? &at(0) : nullptr;
    const bool nx_next = nx != nullptr && nx->seq == play_seq_;
    if (cur_ >= 0) {
      const slot& c = slots_[cur_];
      if (c.end > pos && !(nx_next && nx->ts <= pos)) {
        int64_t to = std::min(end, c.end);
        if (nx_next && nx->ts > pos) to = std::min(to, nx->ts);  // overlap: the next one wins
        emit(frame_kind::continued, pos, to, &c);
        pos = to;
        continue;
      }
      retire(uint16_t(cur_));
      cur_ = -1;
    }
    if (nx == nullptr) {
      const frame_kind k = underrun_kind();
      if (k == frame_kind::lost) {
        underrun_ts_ += end - pos;
        underrun_now_ = true;
      }
      emit(k, pos, end, nullptr);
      return;
    }
    if (!nx_next) {
      // Sequence gap (RFC 3550: loss) before nx: conceal as long as the missing packets
      // would have played; any timestamp gap beyond that is silence (DTX), not loss.
      const int64_t le = lost_end(*nx);
      if (pos < le) {
        const int64_t to = std::min(end, le);
        emit(frame_kind::lost, pos, to, nullptr);
        pos = to;
        continue;
      }
      stats_.lost += uint64_t(nx->seq - play_seq_);
      advance_seq(nx->seq, false);
      continue;
    }
    if (nx->end <= pos) {  // overtaken by the packet before it (timestamps out of order)
      drop_front();
      continue;
    }
    if (nx->ts > pos) {  // silence before it: a DTX gap or an unaligned timestamp
      const int64_t to = std::min(end, nx->ts);
      emit(frame_kind::empty, pos, to, nullptr);
      pos = to;
      continue;
    }
    // nx starts playing (at an offset when it began before pos).
    const int s = order_[head_];
    pop_front();
    cur_ = s;
    const slot& c = slots_[s];
    advance_seq(c.seq + 1, true);
    ++stats_.played;
    last_end_ = c.end;
    last_dur_ = c.end - c.ts;
    last_voice_ = c.pkt.info.meta.voice;
    underrun_ts_ = 0;
    fresh_ = false;
    int64_t to = std::min(end, c.end);
    if (count_ > 0 && at(0).seq == play_seq_ && at(0).ts > pos) to = std::min(to, at(0).ts);
    emit(frame_kind::audio, pos, to, &c);
    pos = to;
  }
}

// Drops whatever would play before `to` (a skipped tick, or an overfull frame).
void jitter_buffer::pass_to(int64_t to) noexcept {
  if (cur_ >= 0 && slots_[cur_].end <= to) {
    retire(uint16_t(cur_));
    cur_ = -1;
  }
  while (count_ > 0) {
    const slot& nx = at(0);
    if (nx.seq != play_seq_) {
      if (lost_end(nx) > to) return;
      stats_.lost += uint64_t(nx.seq - play_seq_);
      advance_seq(nx.seq, false);
      continue;
    }
    if (nx.ts >= to || nx.end > to) return;
    drop_front();
  }
}

// Where the concealment of the sequence gap before `next` ends: the missing packets are
// assumed as long as the last one played (RFC 3550 gives no better guess).
int64_t jitter_buffer::lost_end(const slot& next) const noexcept {
  const int64_t missing = std::min<int64_t>(next.seq - play_seq_, k_max_dropout);
  const int64_t dur = last_dur_ > 0 ? last_dur_ : next.end - next.ts;
  return std::min(last_end_ + missing * dur, next.ts);
}

// True when nothing audible would play at pos: a good moment to drop or insert a tick.
bool jitter_buffer::silent_at(int64_t pos) const noexcept {
  if (cur_ >= 0 && slots_[cur_].end > pos) return !slots_[cur_].pkt.info.meta.voice;
  if (count_ == 0) return true;  // underrun: concealing or silent already
  const slot& nx = at(0);
  if (nx.seq != play_seq_ && pos < lost_end(nx)) return true;  // concealing a loss
  if (nx.ts >= pos + tick_) return true;
  return !nx.pkt.info.meta.voice;
}

// What an inserted tick at pos sounds like.
frame_kind jitter_buffer::hold_kind(int64_t pos) const noexcept {
  if (cur_ >= 0 && slots_[cur_].end > pos)
    return slots_[cur_].pkt.info.meta.voice ? frame_kind::lost : frame_kind::empty;
  if (count_ == 0) return underrun_kind();
  const slot& nx = at(0);
  if (nx.seq != play_seq_ && pos < lost_end(nx)) return frame_kind::lost;
  if (nx.ts > pos) return frame_kind::empty;
  return nx.pkt.info.meta.voice ? frame_kind::lost : frame_kind::empty;
}

// Nothing waits: if speech was playing it is concealed for conceal_ms (it may be late or
// lost), otherwise (or after that) it is silence.
frame_kind jitter_buffer::underrun_kind() const noexcept {
  return last_voice_ && underrun_ts_ < conceal_ts_ ? frame_kind::lost : frame_kind::empty;
}

void jitter_buffer::emit(frame_kind k, int64_t from, int64_t to, const slot* s) noexcept {
  if (to <= from) return;
  if (frame_.n_parts > 0 && s == nullptr) {
    frame_part& last = frame_.parts[frame_.n_parts - 1];
    if (last.kind == k && last.packet == nullptr) {  // merge runs of lost or empty
      last.length_ts += uint32_t(to - from);
      return;
    }
  }
  frame_part& part = frame_.parts[frame_.n_parts++];
  part.kind = k;
  part.ts = uint32_t(from);
  part.length_ts = uint32_t(to - from);
  part.offset_ts = s != nullptr ? uint32_t(from - s->ts) : 0;
  part.packet = s != nullptr ? &s->pkt : nullptr;
  if ((k == frame_kind::audio || k == frame_kind::continued) && prev_lost_)
    frame_.first_after_loss = true;
  prev_lost_ = k == frame_kind::lost;
}

void jitter_buffer::finish() noexcept {
  frame_kind k = frame_kind::empty;
  for (int i = 0; i < frame_.n_parts; ++i) k = std::max(k, frame_.parts[i].kind);
  frame_.kind = k;
  frame_.ts = frame_.parts[0].ts;
  if (k == frame_kind::audio || k == frame_kind::continued) ++stats_.audio_ticks;
  else if (k == frame_kind::lost) ++stats_.lost_ticks;
  else ++stats_.empty_ticks;
  if (underrun_now_) ++stats_.underrun_ticks;
  idle_ = count_ == 0 && cur_ < 0 && frame_.parts[frame_.n_parts - 1].kind == frame_kind::empty;
  if (idle_) over_ticks_ = under_ticks_ = 0;
}

// Target lead: the k_quantile of the jitter histogram, within [min, max].
void jitter_buffer::update_target() noexcept {
  if (hist_total_ <= 0) {
    target_ = initial_lead_;
    return;
  }
  const float tail_max = hist_total_ * (1.0f - k_quantile);
  float tail = 0;
  int b = k_hist_bins - 1;
  for (; b > 0; --b) {
    tail += hist_[b];
    if (tail > tail_max) break;
  }
  target_ = std::clamp((b + 1) * bin_w_, min_lead_, max_lead_);
  if (hist_n_ < k_warmup_packets) target_ = std::max(target_, initial_lead_);
}

// ---- queue and slots ---------------------------------------------------------------------

void jitter_buffer::pop_front() noexcept {
  head_ = wrap(head_ + 1);
  --count_;
}

// Drops the first waiting packet unplayed; the timeline goes on as if it had played.
void jitter_buffer::drop_front() noexcept {
  const slot& nx = at(0);
  advance_seq(nx.seq + 1, true);
  last_end_ = nx.end;
  last_dur_ = nx.end - nx.ts;
  last_voice_ = nx.pkt.info.meta.voice;
  free_[n_free_++] = order_[head_];
  pop_front();
  ++stats_.dropped;
}

void jitter_buffer::retire(uint16_t s) noexcept { pending_[n_pending_++] = s; }

// Moves play_seq_ to `to`, keeping played_mask_ aligned; `played`: to-1 was received.
void jitter_buffer::advance_seq(int64_t to, bool played) noexcept {
  const int64_t k = to - play_seq_;
  if (k > 0) played_mask_ = k >= 64 ? 0 : played_mask_ << k;
  else if (k < 0) played_mask_ = -k >= 64 ? 0 : played_mask_ >> -k;
  if (played) played_mask_ |= 1;
  play_seq_ = to;
}

void jitter_buffer::release_all(bool now) noexcept {
  if (cur_ >= 0) {
    if (now) free_[n_free_++] = uint16_t(cur_);
    else retire(uint16_t(cur_));
    cur_ = -1;
  }
  if (now) {
    for (int i = 0; i < n_pending_; ++i) free_[n_free_++] = pending_[i];
    n_pending_ = 0;
  }
  while (count_ > 0) {
    free_[n_free_++] = order_[head_];
    pop_front();
  }
  head_ = 0;
}

const stored_packet* jitter_buffer::peek_next() const noexcept {
  return count_ > 0 ? &at(0).pkt : nullptr;
}

void jitter_buffer::flush() noexcept {
  if (started_) stats_.dropped += uint64_t(count_);
  release_all(true);
  started_ = false;
  idle_ = true;
  fresh_ = false;
  probation_ = false;
  last_voice_ = false;
  prev_lost_ = false;
  underrun_ts_ = 0;
  over_ticks_ = under_ticks_ = 0;
}

jitter_stats jitter_buffer::stats() const noexcept {
  jitter_stats s = stats_;
  const int64_t rate = cfg_.clock_rate_hz;
  s.jitter_ts = uint32_t(std::min<int64_t>(jitter_q4_ >> 4, std::numeric_limits<uint32_t>::max()));
  s.target_delay_ms = uint32_t((target_ + tick_) * 1000 / rate);
  s.delay_ms = uint32_t((std::clamp<int64_t>(lead_q8_ / 256, 0, int64_t(1) << 40) + tick_) *
                        1000 / rate);
  s.buffered = uint16_t(count_);
  return s;
}

}  // namespace tutti::dp
