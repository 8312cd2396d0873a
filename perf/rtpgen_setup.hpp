// tutti-rtpgen --setup: creates its conferences and participants in tuttid through the control
// socket (JSON lines, control/control_client.hpp), learns each participant's local_port, reads
// the worker figures around the run, and destroys what it created at the end.
//
// Model: conference c is "rtpgen-PID-c" with the configured rate and K; participant i is
// added with conf.add_rtp {conf, codec, remote "IP:PORT" of its socket, level_ext?} and sends
// to the local_port tuttid answers. Requests go one at a time; any failure stops the setup
// and whatever was created is destroyed by teardown().
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "control/control_client.hpp"
#include "perf/rtpgen_config.hpp"

namespace tutti::perf {

// CPU time of a process and of its data-plane worker threads (/proc/PID/task/TID/stat,
// threads named tutti-w*), in seconds.
struct process_cpu {
  double process_s = 0;
  double workers_s = 0;
  uint32_t workers = 0;
};

// Reads it; nullopt when /proc has no such process.
std::optional<process_cpu> read_process_cpu(int64_t pid);

class control_setup {
 public:
  // Connects to the control socket; throws std::runtime_error with the reason on failure.
  explicit control_setup(const std::string& socket_path);

  // Creates the conferences and adds participant i with remote local_ip:local_port(i);
  // returns the port each participant must send to. Throws std::runtime_error.
  std::vector<uint16_t> create(const rtpgen_config& c, const std::function<uint16_t(uint32_t)>& local_port);

  // tuttid's pid and media address (from `status`); 0 and 127.0.0.1 if it did not say.
  int64_t tuttid_pid();
  uint32_t media_ip();
  // The `workers` answer: per-worker load and counters; empty on failure.
  boost::json::array workers();

  // Destroys every conference created; false with `err` set if any destroy failed.
  bool teardown(std::string& err);

  uint32_t conferences_created() const noexcept { return static_cast<uint32_t>(conferences_.size()); }

 private:
  boost::json::value call(const std::string& cmd, const boost::json::object& args);
  const boost::json::object& status();

  ctl::control_client client_;
  std::vector<std::string> conferences_;
  std::optional<boost::json::object> status_;
};

}  // namespace tutti::perf
