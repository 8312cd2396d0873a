// libFuzzer target: RTCP compound validation and iteration, typed SR/RR/SDES/BYE parsers,
// RTT from report blocks, and build → parse round trips of what was parsed. Traps when an
// invariant breaks (a view outside the input, a round trip that differs).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "dataplane/rtcp.hpp"
#include "dataplane/rtp_stats.hpp"

using namespace tutti::dp;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool inside(const uint8_t* p, size_t n, const uint8_t* base, size_t len) {
  return p >= base && n <= len && static_cast<size_t>(p - base) <= len - n;
}

uint32_t touch(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += p[i];
  return sum;
}

std::array<uint8_t, 2048> scratch;

void check_blocks(const rtcp_report_blocks& blocks, std::array<rtcp_report_block, 31>& out) {
  rtcp_sr_log log;
  log.record(0x0000ABCD'12340000ull);
  for (size_t i = 0; i < blocks.count; ++i) {
    out[i] = blocks[i];
    check(out[i].cumulative_lost >= -0x800000 && out[i].cumulative_lost <= 0x7FFFFF);
    if (auto rtt = rtcp_round_trip(out[i], out[i].lsr + 0x10000, log))
      check(*rtt <= 0x10000);
  }
}

void on_sr(const rtcp_packet& p) {
  auto sr = parse_sr(p);
  if (!sr.ok()) return;
  std::array<rtcp_report_block, 31> blocks{};
  check_blocks(sr->reports, blocks);
  const size_t n = build_sr(scratch.data(), scratch.size(), sr->ssrc, sr->info,
                            std::span(blocks.data(), sr->reports.count));
  check(n == 28 + 24u * sr->reports.count);
  auto c = parse_rtcp_compound(scratch.data(), n);
  check(c.ok() && c->packet_count() == 1);
  auto again = parse_sr(*c->begin());
  check(again.ok() && again->ssrc == sr->ssrc && again->info == sr->info);
  for (size_t i = 0; i < sr->reports.count; ++i) check(again->reports[i] == blocks[i]);
}

void on_rr(const rtcp_packet& p) {
  auto rr = parse_rr(p);
  if (!rr.ok()) return;
  std::array<rtcp_report_block, 31> blocks{};
  check_blocks(rr->reports, blocks);
  const size_t n = build_rr(scratch.data(), scratch.size(), rr->ssrc,
                            std::span(blocks.data(), rr->reports.count));
  check(n == 8 + 24u * rr->reports.count);
  auto c = parse_rtcp_compound(scratch.data(), n);
  check(c.ok());
  auto again = parse_rr(*c->begin());
  check(again.ok() && again->ssrc == rr->ssrc);
  for (size_t i = 0; i < rr->reports.count; ++i) check(again->reports[i] == blocks[i]);
}

void on_sdes(const rtcp_packet& p) {
  auto sdes = parse_sdes(p);
  if (!sdes.ok()) return;
  rtcp_sdes_item item{};
  size_t items = 0;
  while (sdes->next(item)) {
    check(++items <= p.body_len / 2);
    check(item.type != 0);
    check(inside(item.text, item.len, p.body, p.body_len));
    (void)touch(item.text, item.len);
    if (item.type != sdes_item_cname) continue;
    const size_t n = build_sdes_cname(scratch.data(), scratch.size(), item.ssrc, item.text_view());
    check(n > 0 && n % 4 == 0);
    auto c = parse_rtcp_compound(scratch.data(), n, true);
    check(c.ok());
    auto again = parse_sdes(*c->begin());
    check(again.ok());
    rtcp_sdes_item back{};
    check(again->next(back) && back.ssrc == item.ssrc && back.text_view() == item.text_view());
    check(!again->next(back));
  }
}

void on_bye(const rtcp_packet& p) {
  auto bye = parse_bye(p);
  if (!bye.ok()) return;
  check(inside(bye->ssrcs, 4u * bye->count, p.body, p.body_len));
  if (bye->reason) check(inside(bye->reason, bye->reason_len, p.body, p.body_len));
  std::array<uint32_t, 31> ids{};
  for (size_t i = 0; i < bye->count; ++i) ids[i] = bye->ssrc(i);
  const size_t n = build_bye(scratch.data(), scratch.size(), std::span(ids.data(), bye->count),
                             bye->reason_view());
  check(n > 0);
  auto c = parse_rtcp_compound(scratch.data(), n, true);
  check(c.ok());
  auto again = parse_bye(*c->begin());
  check(again.ok() && again->count == bye->count && again->reason_view() == bye->reason_view());
  for (size_t i = 0; i < bye->count; ++i) check(again->ssrc(i) == ids[i]);
}

void walk(const uint8_t* data, size_t size, bool reduced_size) {
  auto c = parse_rtcp_compound(data, size, reduced_size);
  if (!c.ok()) {
    check(c.error() < rtcp_drop::count);
    return;
  }
  check(c->size() == size);
  size_t count = 0;
  for (const rtcp_packet& p : *c) {
    ++count;
    check(count <= size / 4);
    check(p.data >= data && p.body == p.data + 4);
    check(inside(p.body, p.body_len, data, size));
    (void)touch(p.body, p.body_len);
    switch (p.type) {
      case rtcp_type_sr: on_sr(p); break;
      case rtcp_type_rr: on_rr(p); break;
      case rtcp_type_sdes: on_sdes(p); break;
      case rtcp_type_bye: on_bye(p); break;
      default: break;
    }
  }
  check(count == c->packet_count() && count >= 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  walk(data, size, false);
  walk(data, size, true);
  return 0;
}
