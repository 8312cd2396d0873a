#include "perf/rtpgen_setup.hpp"

#include <dirent.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tutti::perf {

namespace json = boost::json;

namespace {

ctl::control_client connect_or_throw(const std::string& path) {
  auto c = ctl::control_client::connect(path);
  if (!c) throw std::runtime_error(c.error().message);
  return std::move(*c);
}

// utime + stime of a /proc/.../stat line, in clock ticks. The command name (field 2) may
// hold spaces, so fields are counted from its closing parenthesis.
std::optional<uint64_t> stat_ticks(const std::string& path, std::string* comm = nullptr) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  const auto open = line.find('(');
  const auto close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return std::nullopt;
  if (comm) *comm = line.substr(open + 1, close - open - 1);
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  // After the name: state(3) ... utime is field 14, stime 15.
  for (int f = 3; f <= 15 && rest >> field; ++f) {
    if (f == 14) utime = std::stoull(field);
    if (f == 15) stime = std::stoull(field);
  }
  return utime + stime;
}

}  // namespace

std::optional<process_cpu> read_process_cpu(int64_t pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  const auto total = stat_ticks(base + "/stat");
  if (!total) return std::nullopt;
  const double hz = double(::sysconf(_SC_CLK_TCK));
  process_cpu out;
  out.process_s = double(*total) / hz;
  if (DIR* d = ::opendir((base + "/task").c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string comm;
      const auto t = stat_ticks(base + "/task/" + e->d_name + "/stat", &comm);
      if (t && comm.rfind("tutti-w", 0) == 0) {
        out.workers_s += double(*t) / hz;
        ++out.workers;
      }
    }
    ::closedir(d);
  }
  return out;
}

control_setup::control_setup(const std::string& socket_path) : client_(connect_or_throw(socket_path)) {}

json::value control_setup::call(const std::string& cmd, const json::object& args) {
  auto resp = client_.call(cmd, args);
  if (!resp) throw std::runtime_error(cmd + ": " + resp.error().message);
  auto outcome = ctl::response_outcome(*resp);
  if (!outcome) throw std::runtime_error(cmd + " failed: " + outcome.error().code + ": " + outcome.error().message);
  return std::move(*outcome);
}

std::vector<uint16_t> control_setup::create(const rtpgen_config& c,
                                            const std::function<uint16_t(uint32_t)>& local_port) {
  const std::string prefix = "rtpgen-" + std::to_string(::getpid()) + "-";
  for (uint32_t k = 0; k < c.conferences(); ++k) {
    json::object args{{"name", prefix + std::to_string(k)}, {"speakers", c.effective_speakers()}};
    if (c.rate_hz) args["rate"] = c.rate_hz;
    call("conf.create", args);
    conferences_.push_back(prefix + std::to_string(k));
  }
  const std::string ip = ip_string(c.local_ip);
  std::vector<uint16_t> ports;
  ports.reserve(c.participants);
  for (uint32_t i = 0; i < c.participants; ++i) {
    json::object args{{"conf", conferences_[c.conference_of(i)]},
                      {"codec", dp::to_string(c.codec)},
                      {"remote", ip + ":" + std::to_string(local_port(i))},
                      {"label", "rtpgen-" + std::to_string(i)}};
    if (c.levels) args["level_ext"] = c.level_ext_id;
    const json::value r = call("conf.add_rtp", args);
    const json::value* port = r.is_object() ? r.as_object().if_contains("local_port") : nullptr;
    if (!port || !port->is_number())
      throw std::runtime_error("conf.add_rtp answered no local_port: " + json::serialize(r));
    ports.push_back(static_cast<uint16_t>(port->to_number<int64_t>()));
  }
  return ports;
}

const json::object& control_setup::status() {
  if (!status_) {
    status_.emplace();
    try {
      json::value r = call("status", {});
      if (r.is_object()) *status_ = std::move(r.as_object());
    } catch (const std::exception&) {
    }
  }
  return *status_;
}

int64_t control_setup::tuttid_pid() {
  const json::value* p = status().if_contains("pid");
  return p && p->is_number() ? p->to_number<int64_t>() : 0;
}

uint32_t control_setup::media_ip() {
  const json::value* cfg = status().if_contains("config");
  const json::value* media = cfg && cfg->is_object() ? cfg->as_object().if_contains("media") : nullptr;
  if (media && media->is_string())
    if (auto e = parse_endpoint(std::string(media->as_string()) + ":1")) return e->ip;
  return 0x7f000001;
}

json::array control_setup::workers() {
  try {
    json::value r = call("workers", {});
    if (r.is_array()) return std::move(r.as_array());
  } catch (const std::exception&) {
  }
  return {};
}

bool control_setup::teardown(std::string& err) {
  bool ok = true;
  for (const auto& name : conferences_) {
    try {
      call("conf.destroy", {{"name", name}});
    } catch (const std::exception& e) {
      ok = false;
      err = e.what();
    }
  }
  conferences_.clear();
  return ok;
}

}  // namespace tutti::perf
