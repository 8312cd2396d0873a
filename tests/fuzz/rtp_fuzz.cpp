// libFuzzer target: RTP parse, RFC 8285 extension lookup, RFC 6464 levels, RFC 4733
// telephone events and A.1/A.8 statistics on arbitrary datagrams. Checks invariants
// (views stay inside the input, build → parse round-trips) and traps when one breaks.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dataplane/rtp.hpp"
#include "dataplane/rtp_stats.hpp"
#include "dataplane/telephone_event.hpp"

using namespace tutti::dp;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool inside(const uint8_t* p, size_t n, const uint8_t* base, size_t len) {
  return p >= base && n <= len && static_cast<size_t>(p - base) <= len - n;
}

// Reads every byte of a range so ASan sees any read outside the input.
uint32_t touch(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += p[i];
  return sum;
}

void round_trip(const rtp_view& v, const uint8_t* data) {
  std::array<uint8_t, 128> hdr{};
  rtp_header_fields f{v.payload_type, v.marker, v.sequence, v.timestamp, v.ssrc};
  // Carry an audio level over when the packet has one in the first one-byte id.
  for (uint8_t id = 1; id <= 14; ++id) {
    if (auto a = parse_audio_level(v, id)) {
      f.audio_level_ext_id = id;
      f.level = *a;
      break;
    }
  }
  std::array<uint32_t, 15> csrcs{};
  for (size_t i = 0; i < v.csrc_count; ++i) csrcs[i] = rtp_csrc(v, i);
  const size_t h = build_rtp_header(hdr.data(), hdr.size(), f, std::span(csrcs.data(), v.csrc_count));
  check(h == rtp_header_size(f, v.csrc_count));
  // Header plus (at most 64 bytes of) the payload, parsed again.
  const size_t n = v.payload_len < 64 ? v.payload_len : 64;
  std::array<uint8_t, 192> pkt{};
  std::memcpy(pkt.data(), hdr.data(), h);
  std::memcpy(pkt.data() + h, v.payload, n);
  auto r = parse_rtp(pkt.data(), h + n);
  check(r.ok());
  check(r->payload_type == v.payload_type && r->marker == v.marker);
  check(r->sequence == v.sequence && r->timestamp == v.timestamp && r->ssrc == v.ssrc);
  check(r->csrc_count == v.csrc_count && r->payload_len == n);
  check(std::memcmp(r->payload, v.payload, n) == 0);
  for (size_t i = 0; i < v.csrc_count; ++i) check(rtp_csrc(*r, i) == csrcs[i]);
  if (f.audio_level_ext_id) {
    auto a = parse_audio_level(*r, f.audio_level_ext_id);
    check(a && a->voice == f.level.voice && a->level_dbov == f.level.level_dbov);
  }
  (void)data;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)looks_like_rtcp(data, size);

  // The input as a telephone-event payload stream: 4-byte events fed to a tracker, with
  // timestamps taken from the bytes, so every path of the tracker sees odd orders.
  dtmf_tracker tracker;
  for (size_t off = 0; off + 8 <= size; off += 8) {
    auto ev = parse_telephone_event(data + off, 4);
    check(ev.ok() && ev->volume <= 63);
    const uint32_t ts = (uint32_t{data[off + 4]} << 24) | (uint32_t{data[off + 5]} << 8) |
                        data[off + 6];
    const dtmf_notices n = tracker.on_packet(ts, data[off + 7] & 1, *ev);
    check(n.count <= n.items.size());
  }
  (void)tracker.flush();

  auto r = parse_rtp(data, size);
  if (!r.ok()) {
    check(r.error() < rtp_drop::count);
    return 0;
  }
  const rtp_view& v = *r;
  check(v.payload_len > 0);
  check(size_t{v.header_len} + v.payload_len + v.padding_len == size);
  check(inside(v.payload, v.payload_len, data, size));
  check(v.payload == data + v.header_len);
  check(inside(v.csrcs, 4u * v.csrc_count, data, size));
  if (v.ext) check(inside(v.ext, v.ext_len, data, size));
  else check(v.ext_len == 0 && v.ext_profile == 0);

  uint32_t sink = touch(v.payload, v.payload_len);
  for (unsigned id = 0; id < 256; ++id) {
    auto e = find_extension(v, static_cast<uint8_t>(id));
    if (!e) continue;
    check(id != 0 && v.ext != nullptr);
    check(inside(e->data, e->len, v.ext, v.ext_len));
    if (v.ext_profile == rtp_ext_profile_one_byte) check(id <= 14 && e->len >= 1 && e->len <= 16);
    sink += touch(e->data, e->len);
    if (auto a = parse_audio_level(v, static_cast<uint8_t>(id))) check(a->level_dbov <= 127);
  }

  if (auto te = parse_telephone_event(v.payload, v.payload_len); te.ok()) {
    dtmf_tracker t;
    const dtmf_notices n = t.on_packet(v.timestamp, v.marker, *te);
    check(n.count >= 1 && n.items[0].what == dtmf_notice::kind::begin);
    check(n.count == (te->end ? 2 : 1));
  }

  // Statistics over the payload read as a run of sequence numbers.
  rtp_source_stats stats(1);
  for (size_t i = 0; i + 1 < v.payload_len; i += 2) {
    const auto seq = static_cast<uint16_t>((v.payload[i] << 8) | v.payload[i + 1]);
    stats.update(seq, v.timestamp + 160u * static_cast<uint32_t>(i), sink + static_cast<uint32_t>(i));
  }
  if (stats.valid()) {
    check(stats.received() >= 1);
    const rtcp_report_block b = stats.make_report_block(v.ssrc, 0);
    check(b.cumulative_lost >= -0x800000 && b.cumulative_lost <= 0x7FFFFF);
  }

  round_trip(v, data);
  return 0;
}
