// The conference focus on top of the SIP stack: dial-in (INVITE to sip:CONF@DOMAIN joins the voice
// conference CONF through the media service; ACK, BYE, CANCEL, re-INVITE for hold and
// resume). Glue between signalling/ (stack, auth, registrar, offer/answer) and the media
// service, so it lives in control/, the composition root.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "control/services.hpp"

namespace tutti::sig {
class sip_stack;
}  // namespace tutti::sig

namespace tutti::ctl {

class media_service;
class registrar_service;

class voice_sip {
 public:
  // Registers INVITE, ACK and BYE handlers on the stack; `users` authenticates callers.
  static std::unique_ptr<voice_sip> start(service_context& ctx, sig::sip_stack& stack,
                                          media_service& media, registrar_service& users);
  ~voice_sip();

  // Hangs up every call (BYE is not sent: tuttid is going away), then calls `done`.
  void stop(std::function<void()> done);

  struct state;

 private:
  friend void register_voice_sip_commands(service_context& ctx, voice_sip& v);
  explicit voice_sip(std::unique_ptr<state> s);
  std::unique_ptr<state> s_;
};

// sip.calls: dial-in counters, live calls and registrations.
void register_voice_sip_commands(service_context& ctx, voice_sip& v);

}  // namespace tutti::ctl
