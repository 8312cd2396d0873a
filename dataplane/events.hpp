// What a worker tells the control plane: small trivially-copyable events posted to a sink
// (the worker's event ring in tuttid, a vector in tests). Never formatted on the worker.
#pragma once

#include <cstdint>

namespace tutti::dp {

enum class event_type : uint8_t {
  speaker_started,   // participant took a speaker seat
  speaker_stopped,   // participant left its seat
  dtmf,              // value: RFC 4733 event code (0-9, 10 '*', 11 '#', 12-15 A-D)
  rtp_timeout,       // no RTP from the participant for the configured time
  rtp_resumed,       // RTP came back after a timeout
};

struct engine_event {
  event_type type;
  uint32_t conference_id;
  uint32_t participant_id;
  uint32_t value;
};

class event_sink {
 public:
  virtual ~event_sink() = default;
  // Must not block; a full sink drops and counts.
  virtual void post(const engine_event& e) noexcept = 0;
};

}  // namespace tutti::dp
