// The SIP stack as a tuttid service: creates signalling/sip_stack on the configured
// address (--sip, port 0 for an ephemeral one), exposes its counters as metrics and the
// `sip.status` command, and closes its sockets on stop.
//
// Model: the service owns the stack; later services (registrar, presence, chat, focus)
// get it from services::sip and register their method handlers on it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "control/services.hpp"

namespace tutti::sig {
class sip_stack;
}

namespace tutti::ctl {

class sip_service {
 public:
  // Binds UDP and TCP on cfg.sip; an operator-readable error on failure.
  static result<std::unique_ptr<sip_service>, std::string> start(service_context& ctx);
  ~sip_service();

  sig::sip_stack& stack() noexcept { return *stack_; }
  // Closes the sockets, then calls `done`.
  void stop(std::function<void()> done);

 private:
  explicit sip_service(std::unique_ptr<sig::sip_stack> s);
  std::unique_ptr<sig::sip_stack> stack_;
};

// Registers sip.status and the tutti_sip_* metrics.
void register_sip_commands(service_context& ctx, sip_service& sip);

}  // namespace tutti::ctl
