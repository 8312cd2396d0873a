// Text chat over SIP (RFC 3428 page-mode MESSAGE): a room is sip:ROOM@DOMAIN; a member's
// MESSAGE to it gets the room's next sequence number, is committed to the store, answered
// 200 only once durable, then fanned out to every member's registered devices.
//
// Model: everything runs on the control thread. A room is cached once loaded from the store
// (members with their delivery cursors, the newest messages); the cache is reloaded when
// the store's membership version moves (tuttictl chat create/join/leave, user del).
// Each (room, member) has one ordered delivery stream: messages go out in seq order with at
// most `window` unanswered, the member's cursor advances over the contiguous prefix that
// was answered (2xx, or a final refusal, which is counted and skipped) and is written back
// to the store coalesced. A stream with a timeout or transport error pauses, and resumes
// from its cursor when the member registers again or after `retry`; a member without
// bindings is offline and resumes when it registers (offline delivery). Messages older
// than the cached tail are read back from the store. Delivery is at least once: after a
// retry or a restart a device may see a seq again, and orders and deduplicates by it.
//
// What a member's device receives (deliberately plain, so an ordinary client shows it):
//   MESSAGE <contact> ; sent to the binding's source address (NAT, like the registrar)
//   From: "alice" <sip:ROOM@DOMAIN>;tag=...   the room (replies go to the room), the
//                                            sender as the display name clients show
//   To: <sip:bob@DOMAIN>
//   P-Asserted-Identity: <sip:alice@DOMAIN>  the authenticated sender (RFC 3325)
//   X-Tutti-Seq: 42                          the room's sequence number
//   Content-Type: as the sender sent it
// The device a message came from (its source address) does not get it back; the sender's
// other devices do.
//
// Decisions: a plain MESSAGE to a room that does not exist is answered 404. A MESSAGE whose
// body is multipart/mixed with the text and an RFC 4826 resource list (RFC 5365 style,
// control/room_creation.hpp) to a room that does not exist creates it with the sender and
// the listed users (every one must exist: 404; of our domain: 403), and is its seq 1; to
// an existing room the list is ignored and the text posted as usual (membership changes
// go by REFER). A non-member 403; a
// body over max_body_bytes 413 (RFC 3428 §7: page mode is for short messages);
// Content-Type other than text/plain or message/cpim 415 with Accept; an empty body 400.
// A MESSAGE sent again in a new transaction (same Call-ID, CSeq and sender, e.g. after the
// client's transaction timed out before our 200 came) is not stored twice: it gets 200 with
// the original X-Tutti-Seq (a window of the newest `dedup` per room, in memory only: it does
// not survive a restart).
//
// Membership by REFER (RFC 3515, in the spirit of RFC 4579 §5.5; the focus's REFER handler
// in voice_sip.cpp routes here): Refer-To <sip:USER@DOMAIN;method=MESSAGE> adds USER; a room
// that does not exist is created with the referrer and USER (a client creates a room and
// names its participants, one REFER each); in an existing room only a member may add. A
// method=BYE removes USER (USER itself leaving, or any member removing). A new member starts
// at the room's newest message (the store's rule: what came before is history to read with
// chat.history, not a backlog pushed at them). Refusals answer the REFER itself (unknown
// USER 404: known at once from the store's in-memory credentials, so no subscription is
// made for a REFER that cannot succeed).
//
// Roster (RFC 4575 through control/conference_events.hpp, attach()): every member of the
// room is a <user> with one endpoint (entity sip:USER@DOMAIN;chat) carrying one <media> of
// type "message", connected while the member has a registered binding. Only members (and
// whoever is in the voice call of the same URI) may watch. Room membership is known without
// a store round trip (a directory loaded at start and kept by the store's membership
// listener), since the event package answers synchronously.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "control/services.hpp"

namespace tutti::sig {
class sip_stack;
}

namespace tutti::ctl {

class store;
class registrar_service;
class conference_events;
class roster_source;

// A REFER that changes a chat's membership: Refer-To method=MESSAGE adds `user`,
// method=BYE removes them.
struct chat_refer {
  std::string room;
  std::string by;    // the authenticated referrer
  std::string user;  // the Refer-To user
  bool remove = false;
};

struct chat_settings {
  uint32_t window = 32;             // unanswered MESSAGEs per (room, member) stream
  uint32_t tail = 1024;             // newest messages kept in memory per room
  uint32_t fetch = 256;             // messages read back from the store at a time
  uint32_t max_body_bytes = 1300;   // RFC 3428 §7
  uint32_t retry_s = 30;            // a paused stream is retried after this
  uint32_t dedup = 256;             // recent (Call-ID, CSeq) remembered per room
  uint32_t max_create_bytes = 16384;  // a creating MESSAGE's whole multipart body
};

// Counters since start; every field is also a Prometheus counter.
struct chat_counters {
  uint64_t received = 0;        // MESSAGE requests to a room (after authentication)
  uint64_t accepted = 0;        // answered 200 after the commit
  uint64_t refused = 0;         // answered 4xx/5xx (not a member, unknown room, ...)
  uint64_t sent = 0;            // fan-out MESSAGEs sent (one per device)
  uint64_t delivered = 0;       // of which answered 2xx
  uint64_t rejected = 0;        // of which answered with a final error (counted and skipped)
  uint64_t failed = 0;          // of which timed out or could not be sent (stream paused)
  uint64_t fetched = 0;         // messages read back from the store for a stream
  uint64_t duplicates = 0;      // MESSAGEs sent again in a new transaction, answered, not stored
  uint64_t joined = 0;          // members added by REFER (rooms created included)
  uint64_t left = 0;            // members removed by REFER
};

class chat_service {
 public:
  // Registers the MESSAGE handler, the location listener and the chat.status command; takes
  // over chat.send so that messages stored from the CLI are fanned out too.
  static std::unique_ptr<chat_service> start(service_context& ctx, sig::sip_stack& stack, store& db,
                                             registrar_service& users, chat_settings settings = {});
  ~chat_service();

  // Writes every member's cursor, stops retries, then calls `done` (before the store closes).
  void stop(std::function<void()> done);

  const chat_counters& counters() const noexcept;

  // Adds or removes a member on a REFER's behalf. `done(status, reason)`: 200 once the store
  // committed (or nothing was to change), else the refusal: 403 (not a member), 404 (no such
  // user, room or member), 400 (bad room name), 500 (store), 503 (stopped).
  void refer(chat_refer r, std::function<void(uint16_t status, std::string reason)> done);

  // Serves chat members in `events`' rosters and tells it when they change; the package must
  // outlive this service.
  void attach(conference_events& events);
  // Called with a room whose roster changed (members, or a member came online / went
  // offline), after the directory took the change; attach() adds the package's.
  void on_roster_change(std::function<void(std::string_view room)> f);
  // The chat members as a roster source (what attach() hands the package).
  const roster_source& roster() const noexcept;

  struct state;

 private:
  explicit chat_service(std::shared_ptr<state> s);
  std::shared_ptr<state> s_;
};

}  // namespace tutti::ctl
