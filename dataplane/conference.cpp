#include "dataplane/conference.hpp"

#include <algorithm>
#include <cstring>

#include "simd/level.hpp"
#include "simd/mix.hpp"

namespace tutti::dp {

namespace {

constexpr uint8_t comfort_noise_pt = 13;  // RFC 3389
constexpr size_t max_warmup_payload = sizeof(participant::skipped_payload);

// A packet that says silence by itself: Opus DTX frames are a TOC byte or two (RFC 6716
// §3.2.1 code 0 with an empty frame), comfort noise has its own payload type.
bool packet_says_silence(const participant& p, const jitter_frame& f, uint8_t threshold) {
  if (f.info.payload_type == comfort_noise_pt) return true;
  if (p.config.format.codec == codec_id::opus && f.len <= 2) return true;
  return f.info.has_level && f.info.level_dbov >= threshold;
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
  const int n = p.decoder.decode(p.payload, p.payload_len, p.pcm, max_tick_samples);
  if (n != static_cast<int>(samples_per_tick_)) {
    p.state = frame_state::silence;
    return false;
  }
  p.state = frame_state::pcm;
  return true;
}

void conference::pull(participant& p) noexcept {
  const bool decoded_last_tick = p.last_decoded_tick + 1 == stats_.ticks;
  p.state = frame_state::silence;
  p.frame_is_whole_packet = false;
  p.payload = nullptr;
  p.payload_len = 0;
  p.mixed = false;
  const uint8_t quiet = 127;

  const jitter_frame f = p.jitter.get();
  const uint32_t tick_ts = rtp_clock_hz(p.config.format.codec) / 50;
  switch (f.kind) {
    case jitter_frame_kind::audio: {
      p.payload = f.payload;
      p.payload_len = f.len;
      if (packet_says_silence(p, f, config_.speech_threshold_dbov)) {
        p.level_dbov = quiet;
        p.skipped_len = 0;
        ++p.stats.frames_skipped;
        return;
      }
      if (f.info.duration_ts == tick_ts) {
        p.frame_is_whole_packet = true;
        if (f.info.has_level) {
          // The sender measured its level (RFC 6464): decode only if this frame is mixed.
          p.level_dbov = f.info.level_dbov;
          p.state = frame_state::speech_undecoded;
          return;
        }
        if (decode_now(p)) p.level_dbov = simd::level_dbov(p.pcm, samples_per_tick_);
        return;
      }
      // 40/60 ms: decode the whole packet and play it a tick at a time from the carry.
      p.last_decoded_tick = stats_.ticks;
      ++p.stats.frames_decoded;
      ++stats_.decodes;
      const int n = p.decoder.decode(p.payload, p.payload_len, p.carry, max_packet_samples);
      if (n < static_cast<int>(samples_per_tick_)) return;
      p.carry_len = static_cast<uint16_t>(n);
      p.carry_pos = 0;
      [[fallthrough]];
    }
    case jitter_frame_kind::continued:
      if (p.carry_pos + samples_per_tick_ <= p.carry_len) {
        std::memcpy(p.pcm, p.carry + p.carry_pos, samples_per_tick_ * sizeof(int16_t));
        p.carry_pos = static_cast<uint16_t>(p.carry_pos + samples_per_tick_);
        p.last_decoded_tick = stats_.ticks;
        p.state = frame_state::pcm;
        p.level_dbov = simd::level_dbov(p.pcm, samples_per_tick_);
      }
      return;
    case jitter_frame_kind::lost:
      // Conceal only a stream that was being heard; a gap in silence stays silence.
      if (!decoded_last_tick) return;
      if (f.next_payload)
        p.decoder.recover_from_next(f.next_payload, f.next_len, p.pcm, samples_per_tick_);
      else
        p.decoder.conceal(p.pcm, samples_per_tick_);
      ++p.stats.frames_concealed;
      p.last_decoded_tick = stats_.ticks;
      p.state = frame_state::pcm;
      p.level_dbov = simd::level_dbov(p.pcm, samples_per_tick_);
      return;
    case jitter_frame_kind::empty:
      p.level_dbov = quiet;
      return;
  }
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
  slot.len = slot.encoder->encode(pcm, slot.payload, sizeof slot.payload);
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
    g.shared_len = g.shared.encode(mix_, g.shared_payload, sizeof g.shared_payload);
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
  sum_ready_ = false;
  speakers_.clear();
  const size_t n = members_.size();

  for (size_t i = 0; i < n; ++i) {
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

  // A seated speaker in a pause is not in this tick's mix: it hears everyone like a listener.
  for (size_t i = 0; i < n && speakers_.size() < speakers_.capacity(); ++i) {
    participant& p = *members_[i];
    if (seats_[i].speaker && p.state != frame_state::silence) {
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
