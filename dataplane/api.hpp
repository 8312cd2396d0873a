// The only way the control plane programs the data plane: commands to a worker and the
// messages a worker sends back, both small trivially-copyable structs carried by one SPSC
// ring each way (base/spsc_ring.hpp).
//
// Ownership: conferences, participants and output groups are allocated by the control thread
// and handed to a worker inside a command; whatever a worker lets go of (removed, or refused)
// comes back inside a message and is destroyed by the control thread. So a worker never
// allocates or frees memory.
#pragma once

#include <cstdint>
#include <type_traits>

#include "dataplane/events.hpp"

namespace tutti::dp {

class conference;
struct participant;
struct output_group;

enum class command_type : uint8_t {
  add_conference,      // conf: takes ownership
  remove_conference,   // conference_id: gives back the conference and all its participants
  add_participant,     // conference_id, part, group (when the conference lacks its codec)
  remove_participant,  // conference_id, participant_id
  set_muted,           // conference_id, participant_id, value 0/1
  set_deaf,            // conference_id, participant_id, value 0/1
  set_input_gain,      // conference_id, participant_id, value: gain Q12
  set_output_gain,     // conference_id, participant_id, value: gain Q12
};

const char* to_string(command_type t) noexcept;

struct command {
  command_type type = command_type::add_conference;
  uint64_t request_id = 0;    // echoed in the reply
  uint32_t conference_id = 0;
  uint32_t participant_id = 0;
  int32_t value = 0;
  conference* conf = nullptr;
  participant* part = nullptr;
  output_group* group = nullptr;
};

enum class message_type : uint8_t {
  reply,      // to the command with request_id; ok says whether it was done
  event,      // something the engine saw
  give_back,  // objects for the control thread to destroy
};

struct worker_message {
  message_type type = message_type::reply;
  bool ok = false;
  command_type command = command_type::add_conference;
  uint64_t request_id = 0;
  engine_event event{};
  // reply or give_back: objects the worker no longer holds (refused or removed)
  conference* conf = nullptr;
  participant* part = nullptr;
  output_group* group = nullptr;
};

static_assert(std::is_trivially_copyable_v<command>);
static_assert(std::is_trivially_copyable_v<worker_message>);

}  // namespace tutti::dp
