// tuttid as a function: parse the configuration, start logging, the control socket, the
// metrics port and the services, run the control thread until SIGTERM/SIGINT, shut down in
// order. SIGHUP reloads the configuration (as `config.reload` does).
//
// Exit status: 0 clean shutdown (or --help, --version, --check-config that passed);
// 1 fatal error while running (or a shutdown that had to be forced); 2 bad command line or
// configuration; 3 a resource could not be acquired at start (state directory, control
// socket, metrics port, a service).
#pragma once

namespace tutti::ctl {

enum exit_status : int {
  exit_ok = 0,
  exit_runtime_error = 1,
  exit_usage = 2,
  exit_unavailable = 3,
};

// Runs tuttid; returns its exit status.
int run_tuttid(int argc, const char* const* argv);

}  // namespace tutti::ctl
