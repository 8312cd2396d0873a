// The hook where tuttid's services plug into the control-plane framework.
//
// Model: the framework (config, log, control API, metrics, signals; control/daemon.cpp)
// builds a service_context and calls start_services() once, on the control thread, before
// running the io_context. start_services() creates the services in dependency order —
// media runtime (dataplane workers and their rings), store, SIP stack, presence, chat —
// keeps them in the `services` struct, registers their commands and metrics, and records
// how to stop them. On SIGTERM/SIGINT the framework calls stop_services(), which runs the
// stop steps in reverse order, each finishing asynchronously, then the framework closes the
// control socket and metrics port and returns from main.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace boost::asio {
class io_context;
}

namespace tutti::sig {
class credential_source;
}

namespace tutti::ctl {

struct config;
class logger;
class command_registry;
class metrics_registry;
class media_service;
class sip_service;
class store_service;
class registrar_service;
class voice_sip;
class chat_service;
class event_service;
class conference_events;
class presence_service;
class buddy_edit_service;

// What a service gets from the framework. The framework keeps this object (and everything it
// refers to) alive as long as the services, so a service may keep a reference to it.
struct service_context {
  boost::asio::io_context& io;  // the control thread's; run by the framework
  const config& cfg;  // the running configuration; keys marked live change on config.reload,
                      // so read those at use time rather than copying them at start
  logger& log;
  command_registry& commands;
  metrics_registry& metrics;
};

// Everything tuttid runs besides the framework.
struct services {
  services();
  ~services();
  // Members in creation order.
  std::unique_ptr<media_service> media;   // dataplane/ workers behind dataplane/api.hpp
  std::unique_ptr<sip_service> sip;       // signalling/ SIP stack (UDP + TCP on cfg.sip)
  std::unique_ptr<store_service> store;   // users, buddy lists, chats (control/store.hpp)
  std::unique_ptr<sig::credential_source> credentials;  // digest HA1s, from the store
  std::unique_ptr<registrar_service> registrar;  // REGISTER, digest auth, location service
  std::unique_ptr<voice_sip> voice;       // the conference focus (dial-in)
  std::unique_ptr<event_service> events;  // SUBSCRIBE/NOTIFY (RFC 6665); packages plug in
  std::unique_ptr<conference_events> conf_events;  // Event: conference (RFC 4575) rosters
  std::unique_ptr<presence_service> presence;  // PUBLISH, composed PIDF, buddy lists
  std::unique_ptr<chat_service> chat;     // text chat: MESSAGE to rooms, fan-out, offline delivery
  std::unique_ptr<buddy_edit_service> buddy_edits;  // MESSAGE to a list URI sets the list (RFC 4826)

  // Graceful stop steps, run last-added first; each calls its `done` when finished.
  std::vector<std::function<void(std::function<void()> done)>> stop_steps;
  // Called after config.reload has applied the live keys to the running configuration.
  std::vector<std::function<void()>> reload_hooks;
};

// Creates and starts every service; an error message for the operator on failure (the
// framework logs it and exits with status 3).
result<std::unique_ptr<services>, std::string> start_services(service_context& ctx);

// Runs the stop steps in reverse order, then `done`. Call on the control thread.
void stop_services(services& s, std::function<void()> done);

}  // namespace tutti::ctl
