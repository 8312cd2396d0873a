// The conference focus on top of the SIP stack: dial-in (INVITE to sip:CONF@DOMAIN joins the voice
// conference CONF through the media service; ACK, BYE, CANCEL, re-INVITE/UPDATE for hold,
// resume, codec or address change), dial-out (conf.dial, or REFER to the conference with
// Refer-To a user, RFC 4579/3515: the focus INVITEs the user's registered devices),
// escalation of a chat to voice (chat.escalate, or REFER with Refer-To the room itself and
// method=INVITE: every member is dialled), chat membership (REFER with Refer-To a user and
// method=MESSAGE adds them to the chat of that name, method=BYE also removes them from it:
// the one REFER handler decides, the chat service does it), and liveness (the focus sends BYE when RTP stops
// or an RFC 4028 session timer runs out). Glue between signalling/ (stack, auth,
// registrar, dialogs, offer/answer) and the media service and the store, so it lives in
// control/, the composition root. Implementation: voice_sip.cpp and voice_dialout.cpp
// over control/focus_state.hpp.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "control/chat_service.hpp"
#include "control/services.hpp"

namespace tutti::sig {
class sip_stack;
}  // namespace tutti::sig

namespace tutti::ctl {

class media_service;
class registrar_service;
class store;

class voice_sip {
 public:
  // Registers INVITE, UPDATE, ACK, BYE and REFER handlers on the stack; `users`
  // authenticates callers and finds devices to dial; `db` lists chat members (escalation).
  static std::unique_ptr<voice_sip> start(service_context& ctx, sig::sip_stack& stack,
                                          media_service& media, registrar_service& users, store& db);
  ~voice_sip();

  // Where REFERs that change a chat's membership go (chat_service::refer); without one,
  // method=MESSAGE is answered 501 and method=BYE touches calls only.
  using chat_refer_handler = std::function<void(chat_refer, std::function<void(uint16_t, std::string)>)>;
  void on_chat_refer(chat_refer_handler h);

  // Hangs up every call (BYE is not sent: tuttid is going away), then calls `done`.
  void stop(std::function<void()> done);

  struct state;

 private:
  friend void register_voice_sip_commands(service_context& ctx, voice_sip& v);
  explicit voice_sip(std::unique_ptr<state> s);
  std::unique_ptr<state> s_;
};

// sip.calls (calls, counters), conf.dial, conf.dials, chat.escalate.
void register_voice_sip_commands(service_context& ctx, voice_sip& v);

}  // namespace tutti::ctl
