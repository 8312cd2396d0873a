// A voice conference: every participant hears the mix of all the others (N-1). Owned by one
// worker, which calls tick() every 20 ms. A tick:
//   1. pulls a frame per participant from its jitter buffer and learns its level: from the
//      RFC 6464 extension when present (the payload is then not decoded yet), else from the
//      decoded PCM; DTX, comfort noise and levels below the speech threshold are silence;
//   2. seats the K loudest as speakers, with hysteresis (speaker_selector);
//   3. sums the speakers once in int32, decoding a speaker only if some listener needs the
//      sum;
//   4. gives each speaker sat16(sum - own) from its own encoder, and every other listener of
//      a codec the same sat16(sum) encoded once per tick;
//   5. where a listener's mix is one speaker of its own codec, forwards that speaker's payload
//      instead of decoding and encoding it.
// It writes what to send as tx_desc entries; the engine builds the RTP headers and sends.
// Nothing in tick() allocates, locks or makes a system call.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/clock.hpp"
#include "dataplane/events.hpp"
#include "dataplane/output_group.hpp"
#include "dataplane/participant.hpp"
#include "dataplane/speaker_selector.hpp"

namespace tutti::dp {

struct conference_config {
  uint32_t id = 0;
  uint32_t mix_rate_hz = 48000;          // 8000, 16000 or 48000
  uint32_t max_participants = 64;        // capacity reserved at creation
  speaker_selector_config speakers;
  uint8_t speech_threshold_dbov = 50;    // frames quieter than -50 dBov are not speech
  uint8_t spare_encoders = 3;            // own-encoder slots beyond K, for listeners with gain
  opus_encoder_settings opus;
};

// One RTP payload for one participant, built into a packet by the engine.
struct tx_desc {
  participant* to;
  const uint8_t* payload;
  uint16_t len;
};

// Counters of one conference; single writer.
struct conference_stats {
  uint64_t ticks = 0;
  uint64_t shared_encodes = 0;   // one per codec group per tick where listeners share it
  uint64_t own_encodes = 0;      // per speaker (or listener with gain) per tick
  uint64_t forwards = 0;         // payloads forwarded without transcoding
  uint64_t decodes = 0;
  uint64_t encoder_failures = 0;
  uint64_t slot_shortages = 0;   // a listener needing its own encoder found none free
  uint64_t speaker_changes = 0;
};

// Codec time of one tick, measured on sampled ticks only (1 in codec_sample_ticks; zero on
// the others): two clock reads around every call would cost G.711 a visible share of its
// few hundred nanoseconds. Decodes include concealment.
struct codec_time {
  uint64_t decode_ns = 0, decodes = 0;
  uint64_t encode_ns = 0, encodes = 0;
};
inline constexpr uint64_t codec_sample_ticks = 16;

class conference {
 public:
  explicit conference(const conference_config& c);
  ~conference();
  conference(const conference&) = delete;
  conference& operator=(const conference&) = delete;

  uint32_t id() const noexcept { return config_.id; }
  const conference_config& config() const noexcept { return config_; }
  const conference_stats& stats() const noexcept { return stats_; }
  // Codec time spent in the last tick, when that tick was sampled (else zeros).
  const codec_time& last_tick_codec_time() const noexcept { return codec_time_; }
  size_t size() const noexcept { return members_.size(); }
  bool full() const noexcept { return members_.size() >= config_.max_participants; }

  // Whether a participant of this codec needs an output_group to come with it.
  bool has_group(codec_id codec) const noexcept { return groups_[index(codec)] != nullptr; }

  // Adds a participant (and the group for its codec, when has_group() said false). Takes
  // ownership; false (nothing taken) when full or the group is missing.
  bool add(std::unique_ptr<participant>& p, std::unique_ptr<output_group>& group) noexcept;
  // Removes a participant and hands it back for destruction off the worker.
  std::unique_ptr<participant> remove(uint32_t participant_id) noexcept;
  participant* find(uint32_t participant_id) noexcept;
  // Control of one participant; false when it is not here. Effective from the next tick.
  bool set_muted(uint32_t participant_id, bool muted) noexcept;
  bool set_deaf(uint32_t participant_id, bool deaf) noexcept;
  bool set_input_gain(uint32_t participant_id, int32_t gain_q12) noexcept;
  bool set_output_gain(uint32_t participant_id, int32_t gain_q12) noexcept;
  participant* at(size_t i) noexcept { return members_[i].get(); }
  bool is_speaker(size_t i) const noexcept { return seats_[i].speaker; }

  // Runs one 20 ms mix tick; writes at most `tx_cap` payloads to send into `tx` and returns
  // how many. `events` may be null.
  size_t tick(tx_desc* tx, size_t tx_cap, event_sink* events) noexcept;

 private:
  static size_t index(codec_id c) noexcept { return static_cast<size_t>(c); }
  output_group& group_of(const participant& p) noexcept {
    return *groups_[index(p.config.format.codec)];
  }

  void pull(participant& p) noexcept;
  void assemble(participant& p, const frame& f) noexcept;
  bool decode_now(participant& p) noexcept;
  void ensure_sum() noexcept;
  bool can_forward(const participant& speaker, const participant& listener) const noexcept;
  tx_desc output_for(size_t i) noexcept;
  tx_desc own_encode(participant& p, const int16_t* mix) noexcept;
  void release_seat_encoder(participant& p) noexcept;

  conference_config config_;
  uint32_t samples_per_tick_;
  speaker_selector selector_;
  conference_stats stats_;
  codec_time codec_time_;
  bool timing_ = false;  // this tick is sampled for codec_time_

  // Around a codec call: a start time on sampled ticks (0 otherwise), then the time taken.
  uint64_t codec_start() const noexcept { return timing_ ? monotonic_ns() : 0; }
  void codec_done(uint64_t t0, uint64_t& ns, uint64_t& calls) noexcept {
    if (!timing_) return;
    ns += monotonic_ns() - t0;
    ++calls;
  }

  std::vector<std::unique_ptr<participant>> members_;
  std::vector<speaker_state> seats_;                  // parallel to members_
  std::vector<selection_change> changes_;
  std::array<std::unique_ptr<output_group>, 3> groups_;

  // This tick's speakers (indexes into members_) and their sum.
  std::vector<uint32_t> speakers_;
  bool sum_ready_ = false;
  alignas(64) int32_t sum_[max_tick_samples];
  alignas(64) int16_t mix_[max_tick_samples];
  alignas(64) int16_t scratch_[max_packet_samples];
};

}  // namespace tutti::dp
