#include "perf/rtp_receiver.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>

#include "dataplane/rtp.hpp"

namespace tutti::perf {

namespace {

constexpr int64_t jump_ns = 500'000'000;       // a transit change this large is a re-base
constexpr uint64_t jitter_bucket_ns = 10'000;  // histogram resolution
constexpr size_t jitter_buckets = 20'000;      // up to 200 ms
constexpr int64_t none = INT64_MAX;

double median(std::vector<double>& v) {
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(mid), v.end());
  return v[mid];
}

}  // namespace

double least_squares_slope(std::span<const double> x, std::span<const double> y) noexcept {
  const size_t n = std::min(x.size(), y.size());
  if (n < 2) return 0;
  double mx = 0, my = 0;
  for (size_t k = 0; k < n; ++k) {
    mx += x[k];
    my += y[k];
  }
  mx /= double(n);
  my /= double(n);
  double sxy = 0, sxx = 0;
  for (size_t k = 0; k < n; ++k) {
    sxy += (x[k] - mx) * (y[k] - my);
    sxx += (x[k] - mx) * (x[k] - mx);
  }
  return sxx > 0 ? sxy / sxx : 0;
}

rtp_receiver::rtp_receiver(dp::codec_id codec, uint32_t participants, uint64_t window_start_ns,
                           uint64_t window_end_ns, bool keep_payloads)
    : codec_(codec), ns_per_tick_(1e9 / dp::rtp_clock_hz(codec)), window_start_ns_(window_start_ns),
      window_end_ns_(std::max(window_end_ns, window_start_ns + 1)),
      drift_bins_(static_cast<uint32_t>((window_end_ns_ - window_start_ns_ + drift_bin_ns - 1) / drift_bin_ns)),
      seconds_(static_cast<uint32_t>((window_end_ns_ - window_start_ns_ + 999'999'999) / 1'000'000'000)),
      keep_(keep_payloads), st_(participants),
      drift_min_(size_t{participants} * drift_bins_, none),
      per_second_(size_t{participants} * seconds_, 0),
      jitter_hist_(jitter_buckets + 1, 0) {
  if (keep_) {
    kept_seq_.assign(size_t{participants} * kept_packets, 0);
    kept_len_.assign(size_t{participants} * kept_packets, 0);
    kept_data_.assign(size_t{participants} * kept_packets * kept_bytes, 0);
  }
}

void rtp_receiver::jitter_sample(double jitter_ns) noexcept {
  const auto b = static_cast<size_t>(jitter_ns / double(jitter_bucket_ns));
  ++jitter_hist_[std::min(b, jitter_buckets)];
  jitter_max_ns_ = std::max(jitter_max_ns_, jitter_ns);
}

void rtp_receiver::keep(uint32_t i, int64_t seq, const uint8_t* payload, uint32_t len) noexcept {
  state& s = st_[i];
  const size_t slot = size_t{i} * kept_packets + s.kept_next;
  s.kept_next = (s.kept_next + 1) % kept_packets;
  kept_seq_[slot] = seq;
  if (len > kept_bytes) {
    kept_len_[slot] = 0;  // counts as missing
    return;
  }
  kept_len_[slot] = static_cast<uint16_t>(len);
  std::memcpy(&kept_data_[slot * kept_bytes], payload, len);
}

void rtp_receiver::on_packet(uint32_t i, const uint8_t* data, uint32_t len, uint64_t arrival_ns) noexcept {
  ++received_;
  state& s = st_[i];
  ++s.packets;
  const auto parsed = dp::parse_rtp(data, len);
  if (!parsed) {
    ++s.bad;
    return;
  }
  const dp::rtp_view& r = *parsed;
  int64_t ext;
  int64_t ts_ext;
  int64_t rel_transit = 0;  // transit relative to the stream's first
  if (!s.started || r.ssrc != s.ssrc) {
    // A new stream (RFC 3550 §8.2: a new SSRC) continues the numbering where the old one ended.
    // Its timestamps are unrelated to the old ones: place them so that transit carries on.
    if (s.started) {
      ++s.ssrc_changes;
      ext = s.max_seq + 1;
      ts_ext = std::llround(double(static_cast<int64_t>(arrival_ns) - s.last_transit_ns) / ns_per_tick_);
    } else {
      ext = r.sequence;
      ts_ext = 0;
      s.first_transit_ns = s.last_transit_ns = static_cast<int64_t>(arrival_ns);
    }
    s.started = true;
    s.ssrc = r.ssrc;
    s.max_seq = ext;
    s.last_seq16 = r.sequence;
    s.seen_bits = 1;
    s.last_ts = r.timestamp;
    s.ts_ext = ts_ext;
    rel_transit = s.last_transit_ns - s.first_transit_ns;
  } else {
    // Signed distance from the highest sequence number so far (wraps at 2^16).
    const auto d = static_cast<int16_t>(static_cast<uint16_t>(r.sequence - s.last_seq16));
    ext = s.max_seq + d;
    ts_ext = s.ts_ext + static_cast<int32_t>(r.timestamp - s.last_ts);
    if (d > 0) {
      s.seen_bits = d >= 64 ? 1 : (s.seen_bits << d) | 1;
      s.max_seq = ext;
      s.last_seq16 = r.sequence;
      s.last_ts = r.timestamp;
      s.ts_ext = ts_ext;
    } else if (-d < 64 && (s.seen_bits >> -d) & 1) {
      ++s.duplicates;
      return;
    } else if (-d < 64) {
      s.seen_bits |= uint64_t{1} << -d;
    }
    const int64_t transit = static_cast<int64_t>(arrival_ns) - static_cast<int64_t>(double(ts_ext) * ns_per_tick_);
    int64_t delta = transit - s.last_transit_ns;
    if (d > 0 && (delta > jump_ns || delta < -jump_ns)) {
      // The sender moved its timestamps: keep the drift reference continuous across it.
      s.first_transit_ns += delta;
      ++s.timestamp_jumps;
      delta = 0;
    }
    // RFC 3550 §A.8: J += (|D| - J) / 16. A late (reordered) packet counts, but the next
    // in-order one is compared with the last in-order one, so one late packet is one sample.
    s.jitter_ns += (std::fabs(double(delta)) - s.jitter_ns) / 16.0;
    rel_transit = transit - s.first_transit_ns;
    if (d > 0) s.last_transit_ns = transit;
  }
  if (arrival_ns < window_start_ns_ || arrival_ns >= window_end_ns_) return;

  if (!s.in_window) {
    s.in_window = true;
    s.win_first = s.win_max = ext;
  } else {
    s.win_first = std::min(s.win_first, ext);
    s.win_max = std::max(s.win_max, ext);
  }
  ++s.win_packets;
  jitter_sample(s.jitter_ns);
  const uint64_t since = arrival_ns - window_start_ns_;
  int64_t& floor = drift_min_[size_t{i} * drift_bins_ + since / drift_bin_ns];
  floor = std::min(floor, rel_transit);
  ++per_second_[size_t{i} * seconds_ + since / 1'000'000'000];
  if (keep_) keep(i, ext, r.payload, r.payload_len);
}

rx_summary rtp_receiver::summarize() const {
  rx_summary out;
  const uint32_t n = static_cast<uint32_t>(st_.size());
  out.whole_seconds = static_cast<uint32_t>((window_end_ns_ - window_start_ns_) / 1'000'000'000);
  out.participants.resize(n);
  std::vector<double> baseline(n, 0);
  std::vector<bool> has_baseline(n, false);
  bool any_pps = false;
  for (uint32_t i = 0; i < n; ++i) {
    const state& s = st_[i];
    rx_participant_summary& p = out.participants[i];
    p.packets = s.packets;
    p.window_packets = s.win_packets;
    p.expected = s.in_window ? static_cast<uint64_t>(s.win_max - s.win_first + 1) : 0;
    p.lost = p.expected > p.window_packets ? p.expected - p.window_packets : 0;
    p.duplicates = s.duplicates;
    p.bad = s.bad;
    p.ssrc_changes = s.ssrc_changes;
    p.timestamp_jumps = s.timestamp_jumps;
    p.jitter_ms = s.jitter_ns / 1e6;
    if (out.whole_seconds > 0) {
      const uint32_t* sec = &per_second_[size_t{i} * seconds_];
      p.pps_min = *std::min_element(sec, sec + out.whole_seconds);
      p.pps_max = *std::max_element(sec, sec + out.whole_seconds);
      out.pps_min = any_pps ? std::min(out.pps_min, p.pps_min) : p.pps_min;
      out.pps_max = std::max(out.pps_max, p.pps_max);
      any_pps = true;
    }
    std::vector<double> x, y;
    for (uint32_t b = 0; b < drift_bins_; ++b) {
      const int64_t v = drift_min_[size_t{i} * drift_bins_ + b];
      if (v == none) continue;
      if (!has_baseline[i]) {
        has_baseline[i] = true;
        baseline[i] = double(v);
      }
      x.push_back((b + 0.5) * double(drift_bin_ns) / 1e9);
      y.push_back((double(v) - baseline[i]) / 1e6);
    }
    p.drift_ms_per_s = least_squares_slope(x, y);

    out.received += s.packets;
    out.window_received += s.win_packets;
    out.expected += p.expected;
    out.lost += p.lost;
    out.duplicates += s.duplicates;
    out.bad += s.bad;
    if (s.win_packets == 0) ++out.silent;
  }
  out.loss_pct = out.expected ? 100.0 * double(out.lost) / double(out.expected) : 0;

  // The participants' median drift floor per bin, and its slope.
  std::vector<double> x, y, column;
  for (uint32_t b = 0; b < drift_bins_; ++b) {
    column.clear();
    for (uint32_t i = 0; i < n; ++i) {
      const int64_t v = drift_min_[size_t{i} * drift_bins_ + b];
      if (v != none && has_baseline[i]) column.push_back((double(v) - baseline[i]) / 1e6);
    }
    if (column.empty()) continue;
    x.push_back((b + 0.5) * double(drift_bin_ns) / 1e9);
    y.push_back(median(column));
  }
  out.drift_bins = static_cast<uint32_t>(x.size());
  out.drift_valid = x.size() >= 3;
  out.drift_ms_per_s = least_squares_slope(x, y);
  out.backlog_ms = y.empty() ? 0 : y.back() - y.front();

  uint64_t total = 0;
  for (uint64_t c : jitter_hist_) total += c;
  auto quantile = [&](double q) {
    if (total == 0) return 0.0;
    const auto want = static_cast<uint64_t>(std::ceil(q * double(total)));
    uint64_t seen = 0;
    for (size_t b = 0; b < jitter_hist_.size(); ++b) {
      seen += jitter_hist_[b];
      if (seen >= want) return b == jitter_buckets ? jitter_max_ns_ / 1e6 : (double(b) + 0.5) * jitter_bucket_ns / 1e6;
    }
    return jitter_max_ns_ / 1e6;
  };
  out.jitter_p50_ms = quantile(0.50);
  out.jitter_p99_ms = quantile(0.99);
  out.jitter_max_ms = jitter_max_ns_ / 1e6;
  return out;
}

std::vector<kept_payload> rtp_receiver::kept(uint32_t i) const {
  std::vector<kept_payload> out;
  if (!keep_) return out;
  for (uint32_t k = 0; k < kept_packets; ++k) {
    const size_t slot = size_t{i} * kept_packets + k;
    if (kept_len_[slot] == 0) continue;
    out.push_back({kept_seq_[slot], {&kept_data_[slot * kept_bytes], kept_len_[slot]}});
  }
  std::sort(out.begin(), out.end(), [](const kept_payload& a, const kept_payload& b) { return a.sequence < b.sequence; });
  return out;
}

}  // namespace tutti::perf
