// The media runtime as the control plane sees it: the data-plane workers, the conferences
// placed on them and the participants in those, and the only code that talks to workers
// (through dataplane/api.hpp rings). Everything here runs on the control thread.
//
// Model: a shadow of what each worker holds (conferences, participants, their ports and
// settings) answers list/show at once; changes are commands to the owning worker, answered
// when the worker replies. Conferences go to the worker with the fewest participants;
// participants get the lowest free even port of the media range (RTCP is muxed on it,
// RFC 5761). Objects are built here (all allocation happens on this thread) and destroyed
// here when a worker gives them back.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "control/services.hpp"
#include "dataplane/media_format.hpp"
#include "dataplane/worker.hpp"

namespace tutti::ctl {

struct media_error {
  std::string code;  // an errc:: code
  std::string message;
};

// What a new participant sends and receives.
struct participant_request {
  std::string conference;
  std::string label;                 // for operators: a user name, "rtp", ...
  dp::media_format format;
  uint32_t remote_ip = 0;            // host order; 0: latch the first source (symmetric RTP)
  uint16_t remote_port = 0;
  bool muted = false;
  uint16_t local_port = 0;           // a port from reserve_port() (dial-out offers it first); 0: pick one
  // A locked conference refuses new participants; true lets one in anyway (a dial-out the
  // focus places on an operator's or a member's request).
  bool admit_when_locked = false;
};

struct participant_info {
  uint32_t id = 0;
  std::string conference;
  std::string label;
  uint16_t local_port = 0;
  uint32_t remote_ip = 0;
  uint16_t remote_port = 0;
  dp::media_format format;
  bool muted = false, deaf = false, speaking = false;
  double input_gain_db = 0, output_gain_db = 0;
};

struct conference_info {
  std::string name;
  uint32_t id = 0;
  unsigned worker = 0;
  uint32_t rate_hz = 0;
  uint32_t speakers = 0;
  bool locked = false;  // refuses new participants (conf.lock)
  std::vector<participant_info> participants;
};

class media_service {
 public:
  template <typename T>
  using done = std::function<void(result<T, media_error>)>;

  // Creates and starts the workers; an operator-readable error on failure.
  static result<std::unique_ptr<media_service>, std::string> start(service_context& ctx);
  ~media_service();

  void create_conference(const std::string& name, uint32_t rate_hz, uint32_t speakers,
                         done<conference_info> cb);
  void destroy_conference(const std::string& name, done<bool> cb);
  void add_participant(const participant_request& r, done<participant_info> cb);
  void remove_participant(const std::string& conference, uint32_t id, done<bool> cb);
  enum class control { mute, unmute, deaf, undeaf, input_gain, output_gain };
  void control_participant(const std::string& conference, uint32_t id, control what,
                           double gain_db, done<participant_info> cb);

  // Takes a free media port for an offer made before the participant exists (dial-out);
  // 0 when none is free. add_participant() with it as local_port consumes it (also when
  // that fails); release_port() gives back one never used.
  uint16_t reserve_port();
  // Takes that port if it is free (a call re-added on the port its peer already sends to).
  bool reserve_port(uint16_t port);
  void release_port(uint16_t port);

  // Called when the engine reports that a participant's RTP stopped (rtp_timeout event);
  // the focus hangs up its call. One listener per kind; the latest wins.
  using participant_listener = std::function<void(const std::string& conference, uint32_t participant)>;
  void on_rtp_timeout(participant_listener l);
  // Called after a participant left the data plane by remove_participant() or with its
  // conference (destroy_conference()): an operator's kick of a SIP participant must end its
  // call. One listener; the latest wins.
  void on_removed(participant_listener l);
  // Calls `listener` on this thread with a conference's name after its roster or a
  // participant's state changed: created, destroyed, participant added or removed, muted,
  // deafened, started or stopped speaking (the conference event package listens).
  void on_change(std::function<void(const std::string& conference)> listener);

  // Locks (refuses new participants) or unlocks a conference; those already in stay.
  result<conference_info, media_error> set_locked(const std::string& name, bool locked);
  // Whether a dial-in to `name` may join now: false only while that conference exists and
  // is locked (an absent one is created on first use). The focus answers a dial-in INVITE
  // 403 Forbidden when this is false, before creating or joining anything (RFC 4579 leaves
  // admission policy to the focus); add_participant refuses a locked conference anyway.
  bool admits(const std::string& name) const;

  std::vector<conference_info> conferences() const;
  std::optional<conference_info> find(const std::string& name) const;
  // Per-worker load and counters.
  struct worker_row {
    unsigned index;
    dp::worker_snapshot snapshot;
  };
  std::vector<worker_row> workers() const;

  // Stops the workers (objects they hold are destroyed), then calls `done`.
  void stop(std::function<void()> done);

 private:
  struct state;
  explicit media_service(std::unique_ptr<state> s);
  std::unique_ptr<state> s_;
};

// Registers conf.* / part.* / workers commands and the media metrics.
void register_media_commands(service_context& ctx, media_service& media);

}  // namespace tutti::ctl
