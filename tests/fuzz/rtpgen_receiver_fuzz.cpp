// libFuzzer target: tutti-rtpgen's receiver and tone check on arbitrary datagrams (what the
// system under test sends back is network input). The input is a codec byte, then records
// of [participant+direction, arrival step in ms, length, bytes...]; arrivals may go back in
// time. Every received datagram is checked, summarized, and what was kept is decoded and
// measured. Traps when an invariant breaks.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "perf/rtp_receiver.hpp"
#include "perf/rtpgen_config.hpp"
#include "perf/tone_check.hpp"

using namespace tutti;
using namespace tutti::perf;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr uint64_t ms = 1'000'000;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto codec = static_cast<dp::codec_id>(data[0] % 3);
  constexpr uint32_t participants = 2;
  rtp_receiver rx(codec, participants, 1000 * ms, 3000 * ms, true);
  uint64_t t = 900 * ms;
  uint64_t fed = 0;
  size_t off = 1;
  while (off + 3 <= size) {
    const uint8_t flags = data[off];
    const uint64_t step = uint64_t{data[off + 1]} * ms;
    // Bit 1: the arrival steps back (reordering seen by the kernel clock never happens,
    // but the receiver must not depend on it).
    t = (flags & 2) ? (t > step ? t - step : 0) : t + step;
    const size_t len = std::min<size_t>(data[off + 2], size - off - 3);
    rx.on_packet(flags & 1, data + off + 3, static_cast<uint32_t>(len), t);
    ++fed;
    off += 3 + len;
  }
  check(rx.received() == fed);
  const rx_summary s = rx.summarize();
  check(s.participants.size() == participants);
  check(s.lost <= s.expected);
  check(s.window_received + s.duplicates + s.bad <= fed);
  check(s.loss_pct >= 0 && s.loss_pct <= 100);

  rtpgen_config c;
  c.participants = participants;
  c.conf_size = participants;
  c.codec = codec;
  c.audio = audio_kind::tone;
  for (uint32_t i = 0; i < participants; ++i) {
    const auto kept = rx.kept(i);
    check(kept.size() <= rtp_receiver::kept_packets);
    for (size_t k = 1; k < kept.size(); ++k) check(kept[k - 1].sequence <= kept[k].sequence);
    const decoded_audio audio = decode_payloads(codec, kept);
    check(audio.samples_per_frame > 0);
    const tone_verdict v = check_tones(c, i, audio);
    check(v.lines.size() == 5);
  }
  return 0;
}
