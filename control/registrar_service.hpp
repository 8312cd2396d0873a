// The registrar as a service, and the digest authenticator every SIP service shares.
//
// Model: one authenticator (stateless nonces, replay table) and one location service for
// the box, owned here, on the control thread. REGISTER is answered here; the focus,
// presence and chat services call authenticate() on their own requests and read
// locations() to reach a user's devices (dial-out, NOTIFY, MESSAGE fan-out). A service that
// must act when a user comes online (offline message delivery) adds a listener with
// locations().on_change().
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "control/services.hpp"
#include "signalling/peer.hpp"
#include "signalling/request_context.hpp"
#include "signalling/transaction.hpp"

namespace tutti::sig {
class sip_stack;
class credential_source;
class location_service;
class message_view;
}  // namespace tutti::sig

namespace tutti::ctl {

// A request_context and the strings it points into (the source address, the stamped Via,
// the To tag chosen for a dialog-creating request).
struct received_request {
  sig::request_context ctx;
  std::string source_ip;
  std::string top_via;
  std::string to_tag;
};

class registrar_service {
 public:
  // Registers the REGISTER handler on the stack; `users` answers credential lookups.
  static std::unique_ptr<registrar_service> start(service_context& ctx, sig::sip_stack& stack,
                                                  sig::credential_source& users);
  ~registrar_service();

  // Stops the binding sweep, then calls `done`.
  void stop(std::function<void()> done);

  // The context of a received request (wall clock, source, stamped Via, a fresh To tag when
  // the request has none).
  received_request context(const sig::message_view& req, const sig::peer& from);

  // Digest-checks a request; on success the authenticated user name. Otherwise the
  // challenge (401/407) or refusal has already been sent on tx and nullopt is returned.
  std::optional<std::string> authenticate(const sig::message_view& req, const sig::peer& from,
                                          const sig::server_transaction_ptr& tx);

  // The bindings of every registered AOR ("user@domain").
  sig::location_service& locations() noexcept;
  // The AOR key of a user of our domain: "user@domain".
  std::string aor(std::string_view user) const;
  const std::string& domain() const noexcept;
  // Whether `host` names our domain: the configured domain or the listen address, any case
  // (the aliases REGISTER accepts).
  bool serves(std::string_view host) const noexcept;

  struct state;

 private:
  friend void register_registrar_commands(service_context& ctx, registrar_service& r);
  explicit registrar_service(std::unique_ptr<state> s);
  std::unique_ptr<state> s_;
};

// sip.registrations: counters and every binding.
void register_registrar_commands(service_context& ctx, registrar_service& r);

}  // namespace tutti::ctl
