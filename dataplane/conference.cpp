#include "dataplane/conference.hpp"

#include <algorithm>
#include <cstring>

#include "simd/level.hpp"
#include "simd/mix.hpp"

namespace tutti::dp {

namespace {

constexpr size_t max_warmup_payload = sizeof(participant::skipped_payload);

// Whether a packet says silence by itself: comfort noise and Opus DTX (marked by the engine
// as not voice), or an RFC 6464 level below the speech threshold.
bool packet_says_silence(const stored_packet& pkt, uint8_t threshold) noexcept {
  return !pkt.info.meta.voice || (pkt.info.meta.has_level && pkt.info.meta.level_dbov >= threshold);
}

}  // namespace

conference::conference(const conference_config& c)
    : config_(c), samples_per_tick_(samples_per_20ms(c.mix_rate_hz)), selector_(c.speakers) {
  members_.reserve(c.max_participants);
  seats_.reserve(c.max_participants);
  changes_.resize(2u * c.speakers.max_speakers + 2u);
  speakers_.reserve(c.speakers.max_speakers);
}

conference::~conference() = default;

bool conference::add(std::unique_ptr<participant>& p, std::unique_ptr<output_group>& group) noexcept {
  if (!p || full()) return false;
  const size_t g = index(p->config.format.codec);
  if (!groups_[g]) {
    if (!group || group->codec != p->config.format.codec) return false;
    groups_[g] = std::move(group);
  }
  p->encoder_slot = -1;
  if (p->config.output_gain_q12 != unity_gain_q12) p->encoder_slot = static_cast<int8_t>(groups_[g]->take_slot());
  members_.push_back(std::move(p));
  seats_.push_back(speaker_state{});
  return true;
}

std::unique_ptr<participant> conference::remove(uint32_t participant_id) noexcept {
  for (size_t i = 0; i < members_.size(); ++i) {
    if (members_[i]->config.id != participant_id) continue;
    std::unique_ptr<participant> p = std::move(members_[i]);
    release_seat_encoder(*p);
    group_of(*p).release_slot(p->encoder_slot);
    p->encoder_slot = -1;
    // Order does not matter to the mix; swap-remove keeps removal O(1) after the search.
    members_[i] = std::move(members_.back());
    members_.pop_back();
    seats_[i] = seats_.back();
    seats_.pop_back();
    return p;
  }
  return nullptr;
}

participant* conference::find(uint32_t participant_id) noexcept {
  for (auto& m : members_)
    if (m->config.id == participant_id) return m.get();
  return nullptr;
}

bool conference::set_muted(uint32_t participant_id, bool muted) noexcept {
  participant* p = find(participant_id);
  if (!p) return false;
  p->config.muted = muted;
  return true;
}

bool conference::set_deaf(uint32_t participant_id, bool deaf) noexcept {
  participant* p = find(participant_id);
  if (!p) return false;
  p->config.deaf = deaf;
  return true;
}

bool conference::set_input_gain(uint32_t participant_id, int32_t gain_q12) noexcept {
  participant* p = find(participant_id);
  if (!p) return false;
  p->config.input_gain_q12 = gain_q12;
  return true;
}

bool conference::set_output_gain(uint32_t participant_id, int32_t gain_q12) noexcept {
  participant* p = find(participant_id);
  if (!p) return false;
  const bool had_own = p->config.output_gain_q12 != unity_gain_q12;
  p->config.output_gain_q12 = gain_q12;
  // A listener with its own gain hears its own encode; one back at unity shares again
  // (unless it holds a speaker seat, which keeps its encoder until it leaves the seat).
  if (!had_own && gain_q12 != unity_gain_q12 && p->encoder_slot < 0)
    p->encoder_slot = static_cast<int8_t>(group_of(*p).take_slot());
  if (had_own && gain_q12 == unity_gain_q12 && !p->mixed) {
    for (size_t i = 0; i < members_.size(); ++i)
      if (members_[i].get() == p && !seats_[i].speaker) release_seat_encoder(*p);
  }
  return true;
}

bool conference::decode_now(participant& p) noexcept {
  if (p.last_decoded_tick + 1 != stats_.ticks) {
    // It was not decoded last tick: start the decoder clean, then let it see the last
    // packet it missed so its first real output does not start from nothing.
    p.decoder.reset();
    if (p.skipped_len > 0) p.decoder.decode(p.skipped_payload, p.skipped_len, scratch_, max_packet_samples);
  }
  p.skipped_len = 0;
  p.last_decoded_tick = stats_.ticks;
  ++stats_.decodes;
  ++p.stats.frames_decoded;
  const uint64_t t0 = codec_start();
  const int n = p.decoder.decode(p.payload, p.payload_len, p.pcm, max_tick_samples);
  codec_done(t0, codec_time_.decode_ns, codec_time_.decodes);
  if (n != static_cast<int>(samples_per_tick_)) {
    p.state = frame_state::silence;
    return false;
  }
  p.state = frame_state::pcm;
  return true;
}

void conference::pull(participant& p) noexcept {
  p.state = frame_state::silence;
  p.frame_is_whole_packet = false;
  p.payload = nullptr;
  p.payload_len = 0;
  p.mixed = false;
  p.level_dbov = 127;

  const frame& f = p.jitter.get();
  const uint32_t tick_ts = p.jitter.config().tick_ts;
  if (f.kind == frame_kind::empty) {
    p.skipped_len = 0;
    return;
  }
  // The common case: one packet of exactly one tick. Its level may come from the packet,
  // and it may be forwarded as it is.
  if (f.n_parts == 1 && f.kind == frame_kind::audio && f.parts[0].offset_ts == 0 &&
      f.packet()->info.duration_ts == tick_ts) {
    const stored_packet& pkt = *f.packet();
    p.payload = pkt.payload;
    p.payload_len = pkt.len;
    if (packet_says_silence(pkt, config_.speech_threshold_dbov)) {
      p.skipped_len = 0;
      ++p.stats.frames_skipped;
      return;
    }
    p.frame_is_whole_packet = true;
    if (pkt.info.meta.has_level) {
      // The sender measured its level (RFC 6464): decode only if this frame is mixed.
      p.level_dbov = pkt.info.meta.level_dbov;
      p.state = frame_state::speech_undecoded;
      return;
    }
    if (decode_now(p)) p.level_dbov = simd::level_dbov(p.pcm, samples_per_tick_);
    return;
  }
  assemble(p, f);
}

void conference::assemble(participant& p, const frame& f) noexcept {
  // Anything else (10 ms or 40/60 ms packets, a loss, a tick straddling packets) is built
  // part by part into p.pcm. Long packets are decoded whole once, into p.carry.
  const uint32_t clock = rtp_clock_hz(p.config.format.codec);
  const uint32_t rate = config_.mix_rate_hz;
  const bool was_decoding = p.last_decoded_tick + 1 == stats_.ticks;
  bool any_sound = false;
  uint32_t at = 0;  // samples of p.pcm filled
  for (uint8_t k = 0; k < f.n_parts && at < samples_per_tick_; ++k) {
    const frame_part& part = f.parts[k];
    const uint32_t want = std::min<uint32_t>(
        static_cast<uint32_t>(uint64_t{part.length_ts} * rate / clock), samples_per_tick_ - at);
    int16_t* out = p.pcm + at;
    at += want;
    switch (part.kind) {
      case frame_kind::audio: {
        const stored_packet& pkt = *part.packet;
        if (!pkt.info.meta.voice) break;  // DTX or comfort noise inside a mixed tick
        if (!was_decoding && !any_sound) p.decoder.reset();
        const uint64_t t0 = codec_start();
        const int n = p.decoder.decode(pkt.payload, pkt.len, p.carry, max_packet_samples);
        codec_done(t0, codec_time_.decode_ns, codec_time_.decodes);
        ++stats_.decodes;
        ++p.stats.frames_decoded;
        p.carry_len = static_cast<uint16_t>(n > 0 ? n : 0);
        [[fallthrough]];
      }
      case frame_kind::continued: {
        const uint32_t from = static_cast<uint32_t>(uint64_t{part.offset_ts} * rate / clock);
        if (from + want > p.carry_len) break;
        std::memcpy(out, p.carry + from, want * sizeof(int16_t));
        any_sound = true;
        continue;
      }
      case frame_kind::lost: {
        // Conceal only a stream that was being heard; a gap in silence stays silence.
        if (!was_decoding && !any_sound) break;
        const stored_packet* next = p.jitter.peek_next();
        const uint64_t t0 = codec_start();
        if (next && next->info.meta.voice && k + 1 == f.n_parts)
          p.decoder.recover_from_next(next->payload, next->len, out, want);
        else
          p.decoder.conceal(out, want);
        codec_done(t0, codec_time_.decode_ns, codec_time_.decodes);
        ++p.stats.frames_concealed;
        any_sound = true;
        continue;
      }
      case frame_kind::empty:
        break;
    }
    std::fill_n(out, want, int16_t{0});
  }
  std::fill(p.pcm + at, p.pcm + samples_per_tick_, int16_t{0});
  if (!any_sound) return;
  p.skipped_len = 0;
  p.last_decoded_tick = stats_.ticks;
  p.state = frame_state::pcm;
  p.level_dbov = simd::level_dbov(p.pcm, samples_per_tick_);
}

void conference::ensure_sum() noexcept {
  if (sum_ready_) return;
  sum_ready_ = true;
  std::fill_n(sum_, samples_per_tick_, 0);
  for (uint32_t i : speakers_) {
    participant& p = *members_[i];
    if (p.state == frame_state::speech_undecoded && !decode_now(p)) continue;
    if (p.state != frame_state::pcm) continue;
    if (p.config.input_gain_q12 != unity_gain_q12)
      simd::apply_gain(p.pcm, samples_per_tick_, p.config.input_gain_q12);
    simd::accumulate(sum_, p.pcm, samples_per_tick_);
  }
}

bool conference::can_forward(const participant& s, const participant& listener) const noexcept {
  return s.frame_is_whole_packet && s.config.input_gain_q12 == unity_gain_q12 &&
         s.config.format.codec == listener.config.format.codec &&
         (s.state == frame_state::pcm || s.state == frame_state::speech_undecoded);
}

void conference::release_seat_encoder(participant& p) noexcept {
  // A listener with its own output gain keeps its encoder whether it speaks or not.
  if (p.config.output_gain_q12 != unity_gain_q12 || p.encoder_slot < 0) return;
  group_of(p).release_slot(p.encoder_slot);
  p.encoder_slot = -1;
}

tx_desc conference::own_encode(participant& p, const int16_t* mix) noexcept {
  output_group& g = group_of(p);
  if (p.encoder_slot < 0) p.encoder_slot = static_cast<int8_t>(g.take_slot());
  if (p.encoder_slot < 0) {
    ++stats_.slot_shortages;
    return {&p, nullptr, 0};  // caller falls back to the shared encode
  }
  const int16_t* pcm = mix;
  if (p.config.output_gain_q12 != unity_gain_q12) {
    if (mix != mix_) std::memcpy(mix_, mix, samples_per_tick_ * sizeof(int16_t));
    simd::apply_gain(mix_, samples_per_tick_, p.config.output_gain_q12);
    pcm = mix_;
  }
  auto& slot = g.slots[static_cast<size_t>(p.encoder_slot)];
  const uint64_t t0 = codec_start();
  slot.len = slot.encoder->encode(pcm, slot.payload, sizeof slot.payload);
  codec_done(t0, codec_time_.encode_ns, codec_time_.encodes);
  if (slot.len <= 0) {
    ++stats_.encoder_failures;
    return {&p, g.silence_payload, g.silence_len};
  }
  ++stats_.own_encodes;
  ++p.stats.frames_encoded;
  return {&p, slot.payload, static_cast<uint16_t>(slot.len)};
}

tx_desc conference::output_for(size_t i) noexcept {
  participant& p = *members_[i];
  output_group& g = group_of(p);
  const bool own_gain = p.config.output_gain_q12 != unity_gain_q12;
  const tx_desc silence{&p, g.silence_payload, g.silence_len};

  const size_t others = speakers_.size() - (p.mixed ? 1 : 0);
  if (others == 0) return silence;
  if (others == 1 && !own_gain) {
    const uint32_t s = speakers_[0] == i ? speakers_[1] : speakers_[0];
    participant& speaker = *members_[s];
    if (can_forward(speaker, p)) {
      ++stats_.forwards;
      ++p.stats.frames_forwarded;
      return {&p, speaker.payload, speaker.payload_len};
    }
  }
  ensure_sum();
  if (p.mixed || own_gain) {
    if (p.mixed && p.state == frame_state::pcm)
      simd::mix_minus(sum_, p.pcm, mix_, samples_per_tick_);
    else
      simd::saturate(sum_, mix_, samples_per_tick_);
    const tx_desc own = own_encode(p, mix_);
    if (own.payload) return own;
    if (p.mixed) return silence;  // never send a speaker its own voice
  }
  if (g.shared_tick != stats_.ticks) {
    simd::saturate(sum_, mix_, samples_per_tick_);
    const uint64_t t0 = codec_start();
    g.shared_len = g.shared.encode(mix_, g.shared_payload, sizeof g.shared_payload);
    codec_done(t0, codec_time_.encode_ns, codec_time_.encodes);
    g.shared_tick = stats_.ticks;
    ++stats_.shared_encodes;
    if (g.shared_len <= 0) ++stats_.encoder_failures;
  }
  if (g.shared_len <= 0) return silence;
  ++p.stats.frames_shared;
  return {&p, g.shared_payload, static_cast<uint16_t>(g.shared_len)};
}

size_t conference::tick(tx_desc* tx, size_t tx_cap, event_sink* events) noexcept {
  ++stats_.ticks;
  codec_time_ = {};
  timing_ = stats_.ticks % codec_sample_ticks == 0;
  sum_ready_ = false;
  speakers_.clear();
  const size_t n = members_.size();

  for (size_t i = 0; i < n; ++i) {
    // Thousands of participants do not fit in cache: fetch the hot head of the one after
    // next while this one is pulled.
    if (i + 2 < n) {
      const auto* ahead = reinterpret_cast<const char*>(members_[i + 2].get());
      __builtin_prefetch(ahead);
      __builtin_prefetch(ahead + 64);
      __builtin_prefetch(ahead + 128);
    }
    participant& p = *members_[i];
    pull(p);
    speaker_state& seat = seats_[i];
    seat.eligible = !p.config.muted && p.state != frame_state::silence;
    seat.loudness = static_cast<uint8_t>(127 - std::min<uint8_t>(p.level_dbov, 127));
  }

  const size_t changes = selector_.select(seats_.data(), n, changes_.data(), changes_.size());
  stats_.speaker_changes += changes;
  for (size_t c = 0; c < std::min(changes, changes_.size()); ++c) {
    participant& p = *members_[changes_[c].index];
    if (!changes_[c].became_speaker) release_seat_encoder(p);
    if (events)
      events->post({changes_[c].became_speaker ? event_type::speaker_started : event_type::speaker_stopped,
                    config_.id, p.config.id, 0});
  }

  // A seated speaker in a pause (or just muted) is not in this tick's mix: it hears
  // everyone like a listener.
  for (size_t i = 0; i < n && speakers_.size() < speakers_.capacity(); ++i) {
    participant& p = *members_[i];
    if (seats_[i].speaker && p.state != frame_state::silence && !p.config.muted) {
      p.mixed = true;
      speakers_.push_back(static_cast<uint32_t>(i));
    }
  }

  size_t sent = 0;
  for (size_t i = 0; i < n; ++i) {
    participant& p = *members_[i];
    if (!p.config.deaf && sent < tx_cap) tx[sent++] = output_for(i);
    if (p.state == frame_state::speech_undecoded) {
      // Not mixed this tick: keep the payload to warm its decoder should it be mixed next.
      ++p.stats.frames_skipped;
      if (p.config.format.codec == codec_id::opus && p.payload_len <= max_warmup_payload) {
        std::memcpy(p.skipped_payload, p.payload, p.payload_len);
        p.skipped_len = p.payload_len;
      } else {
        p.skipped_len = 0;
      }
    }
  }
  return sent;
}

}  // namespace tutti::dp
