// Helpers for end-to-end tests that run the real tuttid and tuttictl: fork/exec with output
// to files, a bounded wait (a hang guard, never a timing expectation), a tuttid on a
// temporary state folder and control socket, and a free UDP port range for its media.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "control/control_client.hpp"
#include "tests/control/test_util.hpp"

namespace tutti::ctl::test {

inline constexpr int e2e_guard_s = 20;  // how long a process may take before it counts as hung

inline void sleep_ms(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  ::nanosleep(&ts, nullptr);
}

inline pid_t spawn(const std::vector<std::string>& args, const std::string& out, const std::string& err) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(o, 1);
    ::dup2(e, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// The exit status, -SIGNAL if killed by one; -1000 (after SIGKILL) if it ran past guard_s.
inline int wait_exit(pid_t pid, int guard_s = e2e_guard_s) {
  for (int i = 0; i < guard_s * 100; ++i) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    sleep_ms(10);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1000;
}

struct run_result {
  int status;
  std::string out;
  std::string err;
};

inline run_result run(const temp_dir& dir, const std::vector<std::string>& args) {
  const pid_t pid = spawn(args, dir / "run.out", dir / "run.err");
  const int st = wait_exit(pid);
  return {st, read_text(dir / "run.out"), read_text(dir / "run.err")};
}

// `count` consecutive UDP ports on 127.0.0.1 that nobody holds now, below the ephemeral range
// (where generators' own sockets land): the first and the last.
inline std::pair<uint16_t, uint16_t> free_udp_ports(uint16_t count) {
  unsigned eph_lo = 32768, eph_hi = 60999;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> eph_lo >> eph_hi;
  std::mt19937 rng(static_cast<unsigned>(::getpid()) * 7919u + static_cast<unsigned>(::time(nullptr)));
  std::uniform_int_distribution<unsigned> pick(10000, std::max(12000u, eph_lo) - count);
  for (int attempt = 0; attempt < 100; ++attempt) {
    const auto lo = static_cast<uint16_t>(pick(rng) & ~1u);
    std::vector<int> fds;
    bool ok = true;
    for (unsigned p = lo; p < lo + count && ok; ++p) {
      const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(p));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      if (fd >= 0) fds.push_back(fd);
    }
    for (int fd : fds) ::close(fd);
    if (ok) return {lo, static_cast<uint16_t>(lo + count - 1)};
  }
  FAIL("no free UDP port range found");
  return {0, 0};
}

// The same as "LO-HI", as tuttid's --media-ports takes it.
inline std::string free_udp_range(uint16_t count) {
  const auto [lo, hi] = free_udp_ports(count);
  return std::to_string(lo) + "-" + std::to_string(hi);
}

// A tuttid on the temp dir (state, control socket), SIP and (unless `extra` says
// otherwise) metrics on ephemeral loopback ports; killed if a test fails before stopping it.
struct tuttid_proc {
  const temp_dir& dir;
  std::string socket;
  pid_t pid = -1;

  tuttid_proc(const temp_dir& d, const std::string& tuttid, const std::vector<std::string>& extra,
              const std::string& sock = "ctl.sock")
      : dir(d), socket(d / sock) {
    std::vector<std::string> args = {tuttid, "--state-dir", dir / "state", "--control-socket", socket,
                                     "--sip", "127.0.0.1:0"};
    if (std::find(extra.begin(), extra.end(), "--metrics") == extra.end())
      args.insert(args.end(), {"--metrics", "127.0.0.1:0"});
    args.insert(args.end(), extra.begin(), extra.end());
    pid = spawn(args, dir / "tuttid.out", dir / "tuttid.err");
  }
  tuttid_proc(const tuttid_proc&) = delete;
  tuttid_proc& operator=(const tuttid_proc&) = delete;

  // Waits until the control socket answers; false if tuttid exited or hung instead.
  bool ready() {
    for (int i = 0; i < e2e_guard_s * 100; ++i) {
      if (control_client::connect(socket).ok()) return true;
      if (::waitpid(pid, nullptr, WNOHANG) == pid) {
        pid = -1;
        return false;
      }
      sleep_ms(10);
    }
    return false;
  }

  int stop(int sig = SIGTERM) {
    ::kill(pid, sig);
    const int st = wait_exit(pid);
    pid = -1;
    return st;
  }

  ~tuttid_proc() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

}  // namespace tutti::ctl::test
