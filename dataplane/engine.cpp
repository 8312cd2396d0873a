#include "dataplane/engine.hpp"

#include <algorithm>
#include <cstring>

#include "base/clock.hpp"
#include "dataplane/rtcp.hpp"
#include "dataplane/rtp_stats.hpp"
#include "dataplane/telephone_event.hpp"

namespace tutti::dp {

namespace {

constexpr uint8_t comfort_noise_pt = 13;  // RFC 3389
constexpr uint64_t slot_ns(uint64_t period_ns) { return period_ns / engine::phase_slots; }

}  // namespace

const char* to_string(rx_drop reason) noexcept {
  switch (reason) {
    case rx_drop::unknown_port: return "unknown_port";
    case rx_drop::wrong_source: return "wrong_source";
    case rx_drop::not_rtp: return "not_rtp";
    case rx_drop::unknown_payload_type: return "unknown_payload_type";
    case rx_drop::bad_payload: return "bad_payload";
    case rx_drop::jitter_refused: return "jitter_refused";
    case rx_drop::count: break;
  }
  return "unknown";
}

engine::engine(io::packet_io& io, const engine_config& config, event_sink* events)
    : io_(io), config_(config), events_(events), by_port_(65536) {
  tx_descs_.resize(config_.max_participants);
  conferences_.reserve(config_.max_participants);
  for (auto& s : slots_) s.reserve(config_.max_participants);
}

engine::~engine() {
  flush_tx();
  for (auto& entry : by_port_)
    if (entry.p) io_.close_port(entry.p->config.local_port);
}

bool engine::add_conference(std::unique_ptr<conference>& c) noexcept {
  if (!c || find_conference(c->id()) || conferences_.size() >= conferences_.capacity()) return false;
  // Least loaded slot by participants, then by conferences, so ticks spread over the period.
  size_t best = 0;
  for (size_t s = 1; s < phase_slots; ++s) {
    if (slot_load_[s] < slot_load_[best] ||
        (slot_load_[s] == slot_load_[best] && slots_[s].size() < slots_[best].size()))
      best = s;
  }
  slots_[best].push_back(c.get());
  slot_load_[best] += static_cast<uint32_t>(c->size());
  conferences_.push_back({std::move(c), static_cast<uint8_t>(best)});
  return true;
}

conference* engine::find_conference(uint32_t id) noexcept {
  for (auto& pc : conferences_)
    if (pc.conf->id() == id) return pc.conf.get();
  return nullptr;
}

std::unique_ptr<conference> engine::remove_conference(
    uint32_t id, std::vector<std::unique_ptr<participant>>& members) {
  for (size_t i = 0; i < conferences_.size(); ++i) {
    conference* c = conferences_[i].conf.get();
    if (c->id() != id) continue;
    while (c->size() > 0) members.push_back(remove_participant(id, c->at(0)->config.id));
    auto& slot = slots_[conferences_[i].slot];
    slot.erase(std::find(slot.begin(), slot.end(), c));
    std::unique_ptr<conference> out = std::move(conferences_[i].conf);
    conferences_.erase(conferences_.begin() + static_cast<long>(i));
    return out;
  }
  return nullptr;
}

bool engine::add_participant(uint32_t conference_id, std::unique_ptr<participant>& p,
                             std::unique_ptr<output_group>& group) noexcept {
  if (!p || participants_ >= config_.max_participants) return false;
  const uint16_t port = p->config.local_port;
  if (port == 0 || by_port_[port].p) return false;
  size_t ci = 0;
  while (ci < conferences_.size() && conferences_[ci].conf->id() != conference_id) ++ci;
  if (ci == conferences_.size()) return false;
  conference* c = conferences_[ci].conf.get();
  if (c->full() || (!c->has_group(p->config.format.codec) && !group)) return false;
  if (!io_.open_port(port)) return false;
  participant* raw = p.get();
  if (!c->add(p, group)) {
    io_.close_port(port);
    return false;
  }
  by_port_[port] = {raw, c};
  ++participants_;
  ++slot_load_[conferences_[ci].slot];
  return true;
}

std::unique_ptr<participant> engine::remove_participant(uint32_t conference_id,
                                                        uint32_t participant_id) noexcept {
  for (auto& pc : conferences_) {
    if (pc.conf->id() != conference_id) continue;
    std::unique_ptr<participant> p = pc.conf->remove(participant_id);
    if (!p) return nullptr;
    io_.close_port(p->config.local_port);
    by_port_[p->config.local_port] = {};
    --participants_;
    --slot_load_[pc.slot];
    return p;
  }
  return nullptr;
}

void engine::receive(io::packet** pkts, uint16_t n) noexcept {
  for (uint16_t i = 0; i < n; ++i) {
    // The port table entry of the packet after next is the load most likely to miss.
    if (i + 2 < n) __builtin_prefetch(&by_port_[pkts[i + 2]->local_port]);
    receive_one(*pkts[i]);
    io_.release(pkts[i]);
  }
}

void engine::receive_one(io::packet& pkt) noexcept {
  const port_entry entry = by_port_[pkt.local_port];
  participant* p = entry.p;
  if (!p) return drop(rx_drop::unknown_port);
  // No RTP bleed: media from any address but the negotiated (or first latched) one is dropped.
  if (p->config.remote.ip == 0) {
    p->config.remote = pkt.remote;
  } else if (!(pkt.remote == p->config.remote)) {
    ++p->stats.rx_dropped;
    return drop(rx_drop::wrong_source);
  }
  if (looks_like_rtcp(pkt.data, pkt.len)) {
    // RTCP muxed on the media port (RFC 5761): validated and counted; SR times feed the
    // LSR/DLSR of our receiver reports.
    if (const auto compound = parse_rtcp_compound(pkt.data, pkt.len, true)) {
      ++stats_.rx_rtcp;
      ++p->rx_rtcp;
      for (const rtcp_packet& rp : *compound) {
        if (rp.type != rtcp_type_sr) continue;
        if (const auto sr = parse_sr(rp))
          p->reception.on_sender_report(sr->info.ntp_timestamp,
                                        ntp_compact(ntp_from_unix_ns(pkt.rx_ns)));
      }
    }
    return;
  }
  const auto parsed = parse_rtp(pkt.data, pkt.len);
  if (!parsed) {
    ++stats_.rtp_drops[static_cast<size_t>(parsed.error())];
    ++p->stats.rx_dropped;
    return drop(rx_drop::not_rtp);
  }
  const rtp_view& rtp = *parsed;
  const media_format& fmt = p->config.format;
  p->last_rx_ns = pkt.rx_ns;
  p->remote_ssrc = rtp.ssrc;
  if (p->timed_out) {
    p->timed_out = false;
    if (events_) events_->post({event_type::rtp_resumed, entry.c->id(), p->config.id, 0});
  }

  if (fmt.telephone_event_pt != 0 && rtp.payload_type == fmt.telephone_event_pt) {
    const auto ev = parse_telephone_event(rtp.payload, rtp.payload_len);
    if (!ev) return drop(rx_drop::bad_payload);
    const dtmf_notices notices = p->dtmf.on_packet(rtp.timestamp, rtp.marker, *ev);
    for (uint8_t k = 0; k < notices.count; ++k) {
      if (notices.items[k].what != dtmf_notice::kind::end) continue;
      ++p->stats.dtmf_events;
      if (events_) events_->post({event_type::dtmf, entry.c->id(), p->config.id, notices.items[k].event});
    }
    return;
  }

  packet_info info{};
  info.sequence = rtp.sequence;
  info.timestamp = rtp.timestamp;
  info.ssrc = rtp.ssrc;
  info.marker = rtp.marker;
  info.meta.payload_type = rtp.payload_type;
  if (rtp.payload_type == fmt.payload_type) {
    const int duration = p->decoder.packet_duration_ts(rtp.payload, rtp.payload_len);
    if (duration <= 0) {
      ++p->stats.rx_dropped;
      return drop(rx_drop::bad_payload);
    }
    info.duration_ts = static_cast<uint32_t>(duration);
    // Opus DTX frames are a TOC byte or two (RFC 6716 §3.2.1): silence the sender declares.
    if (fmt.codec == codec_id::opus && rtp.payload_len <= 2) info.meta.voice = false;
  } else if (rtp.payload_type == comfort_noise_pt) {
    info.duration_ts = rtp_clock_hz(fmt.codec) / 50;
    info.meta.voice = false;
  } else {
    ++p->stats.rx_dropped;
    return drop(rx_drop::unknown_payload_type);
  }
  if (fmt.audio_level_ext_id != 0) {
    if (const auto level = parse_audio_level(rtp, fmt.audio_level_ext_id)) {
      info.meta.has_level = true;
      info.meta.level_dbov = level->level_dbov;
    }
  }
  // A.8 wants the arrival time in the stream's timestamp units.
  const auto arrival_ts = static_cast<uint32_t>(pkt.rx_ns * rtp_clock_hz(fmt.codec) / 1'000'000'000);
  p->reception.update(rtp.sequence, rtp.timestamp, arrival_ts);
  const put_result put = p->jitter.put(info, rtp.payload, rtp.payload_len, pkt.rx_ns);
  if (put != put_result::stored && put != put_result::resync) {
    ++p->stats.rx_dropped;
    return drop(rx_drop::jitter_refused);
  }
  ++p->stats.rx_packets;
  p->stats.rx_bytes += rtp.payload_len;
  ++stats_.rx_rtp;
}

size_t engine::poll_rx(size_t max_bursts) noexcept {
  size_t total = 0;
  for (size_t b = 0; b < max_bursts; ++b) {
    const uint16_t n = io_.rx_burst(rx_burst_, burst);
    if (n == 0) break;
    receive(rx_burst_, n);
    total += n;
  }
  return total;
}

void engine::start(uint64_t now_ns) noexcept {
  started_ = true;
  period_start_ns_ = now_ns;
  next_slot_ = 0;
}

uint64_t engine::next_due_ns() const noexcept {
  return period_start_ns_ + next_slot_ * slot_ns(config_.tick_period_ns);
}

size_t engine::run_due_ticks(uint64_t now_ns) noexcept {
  if (!started_) start(now_ns);
  const uint64_t slot = slot_ns(config_.tick_period_ns);
  // After a long stall, drop whole periods rather than run a backlog of ticks back to back.
  const uint64_t backlog = config_.max_catch_up_ticks * config_.tick_period_ns;
  if (now_ns > next_due_ns() + backlog) {
    const uint64_t skip = (now_ns - next_due_ns()) / config_.tick_period_ns;
    period_start_ns_ += skip * config_.tick_period_ns;
    stats_.skipped_periods += skip;
  }
  size_t ran = 0;
  while (next_due_ns() <= now_ns) {
    if (now_ns - next_due_ns() > slot) stats_.late_ticks += slots_[next_slot_].size();
    ran += slots_[next_slot_].size();
    run_slot(next_slot_, now_ns);
    if (++next_slot_ == phase_slots) {
      next_slot_ = 0;
      period_start_ns_ += config_.tick_period_ns;
    }
  }
  flush_tx();
  return ran;
}

void engine::run_slot(size_t slot, uint64_t now_ns) noexcept {
  for (conference* c : slots_[slot]) {
    const uint64_t t0 = monotonic_ns();
    const size_t n = c->tick(tx_descs_.data(), tx_descs_.size(), events_);
    const codec_time& ct = c->last_tick_codec_time();
    stats_.codec.decode_ns += ct.decode_ns;
    stats_.codec.decodes += ct.decodes;
    stats_.codec.encode_ns += ct.encode_ns;
    stats_.codec.encodes += ct.encodes;
    send(tx_descs_.data(), n);
    housekeeping(*c, now_ns);
    tick_times_.record(monotonic_ns() - t0);
    ++stats_.ticks;
  }
}

void engine::send(const tx_desc* tx, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i) {
    participant& p = *tx[i].to;
    if (p.config.remote.ip == 0) {
      ++stats_.tx_no_destination;
      continue;
    }
    io::packet* pkt = io_.alloc_tx();
    if (!pkt) {
      ++stats_.tx_no_buffer;
      continue;
    }
    const media_format& fmt = p.config.format;
    rtp_header_fields h{};
    h.payload_type = fmt.payload_type;
    h.marker = !p.tx_started;  // first packet of the stream (RFC 3551 §4.1)
    h.sequence = p.tx_sequence;
    h.timestamp = p.tx_timestamp;
    h.ssrc = p.config.ssrc;
    const size_t header = build_rtp_header(pkt->data, pkt->capacity, h);
    if (header == 0 || header + tx[i].len > pkt->capacity) {
      io_.release(pkt);
      ++stats_.tx_no_buffer;
      continue;
    }
    std::memcpy(pkt->data + header, tx[i].payload, tx[i].len);
    pkt->len = static_cast<uint16_t>(header + tx[i].len);
    pkt->local_port = p.config.local_port;
    pkt->remote = p.config.remote;
    // Sequence and timestamp advance per tick whatever produced the payload, so a listener
    // sees one continuous stream across speaker, forwarded and shared switches.
    p.tx_started = true;
    ++p.tx_sequence;
    p.tx_timestamp += rtp_clock_hz(fmt.codec) / 50;
    ++p.stats.tx_packets;
    ++stats_.tx_rtp;
    p.tx_bytes += tx[i].len;
    tx_burst_[tx_pending_++] = pkt;
    if (tx_pending_ == burst) flush_tx();
  }
}

void engine::housekeeping(conference& c, uint64_t now_ns) noexcept {
  const uint64_t timeout_ns = uint64_t{config_.rtp_timeout_ms} * 1'000'000;
  stats_.jitter_depth_samples += c.size();
  for (size_t i = 0; i < c.size(); ++i) {
    participant& p = *c.at(i);
    stats_.jitter_depth_sum += p.jitter.buffered();
    // A participant that never sent is not timed out: it may be listen-only until it does.
    if (timeout_ns && !p.timed_out && p.last_rx_ns && now_ns > p.last_rx_ns + timeout_ns) {
      p.timed_out = true;
      ++stats_.rtp_timeouts;
      if (events_) events_->post({event_type::rtp_timeout, c.id(), p.config.id, 0});
    }
    if (config_.rtcp_interval_ticks == 0) continue;
    if (p.rtcp_countdown == 0) {
      // First report after a spread-out delay so participants that joined together don't
      // report together.
      p.rtcp_countdown = 1 + p.config.id % config_.rtcp_interval_ticks;
    } else if (--p.rtcp_countdown == 0) {
      send_rtcp(p);
      p.rtcp_countdown = config_.rtcp_interval_ticks;
    }
  }
}

void engine::send_rtcp(participant& p) noexcept {
  if (p.config.remote.ip == 0 || !p.tx_started) return;
  io::packet* pkt = io_.alloc_tx();
  if (!pkt) {
    ++stats_.tx_no_buffer;
    return;
  }
  // SR about what we sent it, a report block about what it sent us, SDES CNAME: the
  // compound RFC 3550 §6.1 requires, muxed on the RTP port (RFC 5761) when the peer agreed,
  // else sent from it to the peer's RTCP port.
  const uint64_t ntp = ntp_from_unix_ns(realtime_ns());
  rtcp_sender_info info{ntp, p.tx_timestamp, static_cast<uint32_t>(p.stats.tx_packets),
                        static_cast<uint32_t>(p.tx_bytes)};
  rtcp_report_block block{};
  const bool report = p.reception.valid();
  if (report) block = p.reception.make_report_block(p.remote_ssrc, ntp_compact(ntp));
  size_t len = build_sr(pkt->data, pkt->capacity, p.config.ssrc, info,
                        std::span<const rtcp_report_block>(&block, report ? 1 : 0));
  if (len) len += build_sdes_cname(pkt->data + len, pkt->capacity - len, p.config.ssrc, "tutti");
  if (len == 0) {
    io_.release(pkt);
    return;
  }
  p.sent_reports.record(ntp);
  pkt->len = static_cast<uint16_t>(len);
  pkt->local_port = p.config.local_port;
  pkt->remote = p.config.remote;
  if (!p.config.format.rtcp_mux && pkt->remote.port < 65535) ++pkt->remote.port;
  ++stats_.tx_rtcp;
  tx_burst_[tx_pending_++] = pkt;
  if (tx_pending_ == burst) flush_tx();
}

void engine::flush_tx() noexcept {
  if (tx_pending_ == 0) return;
  stats_.tx_packets += io_.tx_burst(tx_burst_, tx_pending_);
  tx_pending_ = 0;
}

}  // namespace tutti::dp
