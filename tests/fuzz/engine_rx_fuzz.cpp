// The whole receive path of the engine on arbitrary datagrams: port table, source check,
// RTP/RTCP demux and validation, DTMF, codec duration checks, jitter buffer, decoders (Opus
// and G.711 on garbage payloads), speaker selection and mixing. Input: a sequence of
// records [participant:1][length:1][bytes], with a mix tick after every fourth record.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "dataplane/engine.hpp"
#include "dataplane/io/memory_io.hpp"

using namespace tutti;

namespace {

struct rig {
  rig() : io(256, 2048), eng(io, {}, nullptr) {
    const dp::codec_id codecs[] = {dp::codec_id::pcmu, dp::codec_id::opus, dp::codec_id::pcma};
    const uint32_t rates[] = {8000, 48000, 16000};
    for (uint32_t c = 0; c < 3; ++c) {
      dp::conference_config cc;
      cc.id = c + 1;
      cc.mix_rate_hz = rates[c];
      cc.max_participants = 4;
      cc.speakers.max_speakers = 2;
      auto conf = std::make_unique<dp::conference>(cc);
      eng.add_conference(conf);
      for (uint32_t i = 0; i < 3; ++i) {
        dp::participant_config pc;
        pc.id = c * 10 + i + 1;
        pc.local_port = static_cast<uint16_t>(5000 + c * 10 + i);
        pc.remote = {0x7f000001, static_cast<uint16_t>(6000 + c * 10 + i)};
        pc.format.codec = codecs[c];
        pc.format.payload_type = c == 1 ? 111 : (c == 0 ? 0 : 8);
        pc.format.telephone_event_pt = 101;
        pc.format.audio_level_ext_id = i == 2 ? 1 : 0;
        pc.ssrc = pc.id;
        pc.output_gain_q12 = i == 1 ? 2048 : dp::unity_gain_q12;
        auto p = std::make_unique<dp::participant>(pc, rates[c]);
        std::unique_ptr<dp::output_group> g;
        if (i == 0) g = std::make_unique<dp::output_group>(codecs[c], rates[c], 5, cc.opus);
        eng.add_participant(cc.id, p, g);
      }
    }
  }
  dp::io::memory_io io;
  dp::engine eng;
  uint64_t now = 1'000'000'000;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static rig* r = new rig();  // one engine across inputs: state carries over, as in life
  size_t records = 0;
  while (size >= 2) {
    const uint8_t who = data[0] % 10;  // 9: an unknown port
    const size_t len = std::min<size_t>(data[1], size - 2);
    const uint16_t port = static_cast<uint16_t>(who == 9 ? 5999 : 5000 + (who / 3) * 10 + who % 3);
    const uint16_t from = static_cast<uint16_t>(who == 9 ? 1 : 6000 + (who / 3) * 10 + who % 3);
    r->io.inject(port, {0x7f000001, from}, data + 2, static_cast<uint16_t>(len), r->now);
    data += 2 + len;
    size -= 2 + len;
    if (++records % 4 == 0) {
      r->eng.poll_rx();
      r->now += 20'000'000;
      r->eng.run_due_ticks(r->now);
    }
  }
  r->eng.poll_rx();
  r->now += 20'000'000;
  r->eng.run_due_ticks(r->now);
  return 0;
}
