#include "control/control_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>

namespace tutti::ctl {

namespace json = boost::json;

namespace {

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

client_failure io_failure(std::string_view what) {
  return client_failure{client_error::io, std::string(what) + ": " + std::strerror(errno)};
}

}  // namespace

result<control_client, client_failure> control_client::connect(const std::string& path) {
  sockaddr_un a{};
  if (path.empty() || path.size() >= sizeof a.sun_path)
    return fail(client_failure{client_error::connect, "bad socket path '" + path + "'"});
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(io_failure("socket"));
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::string m = "cannot connect to " + path + ": " + std::strerror(errno);
    ::close(fd);
    return fail(client_failure{client_error::connect, std::move(m)});
  }
  return control_client(fd);
}

control_client::control_client(control_client&& o) noexcept
    : fd_(o.fd_), next_id_(o.next_id_), in_(std::move(o.in_)) {
  o.fd_ = -1;
}

control_client& control_client::operator=(control_client&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    next_id_ = o.next_id_;
    in_ = std::move(o.in_);
    o.fd_ = -1;
  }
  return *this;
}

control_client::~control_client() {
  if (fd_ >= 0) ::close(fd_);
}

result<bool, client_failure> control_client::send_raw(std::string_view bytes) {
  while (!bytes.empty()) {
    // MSG_NOSIGNAL: a server that went away is an error to report, not a SIGPIPE.
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET)
        return fail(client_failure{client_error::closed, "the server closed the connection"});
      return fail(io_failure("send"));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

result<std::string, client_failure> control_client::read_line(int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    if (auto nl = in_.find('\n'); nl != std::string::npos) {
      std::string line = in_.substr(0, nl);
      in_.erase(0, nl + 1);
      return line;
    }
    int64_t left = deadline - now_ms();
    if (left <= 0) return fail(client_failure{client_error::timeout, "no answer in time"});
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail(io_failure("poll"));
    }
    if (r == 0) continue;
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      if (errno == ECONNRESET)
        return fail(client_failure{client_error::closed, "the server closed the connection"});
      return fail(io_failure("recv"));
    }
    if (n == 0) return fail(client_failure{client_error::closed, "the server closed the connection"});
    in_.append(buf, static_cast<size_t>(n));
  }
}

void control_client::shutdown_send() { ::shutdown(fd_, SHUT_WR); }

result<json::object, client_failure> control_client::call(std::string_view cmd,
                                                          const json::object& args,
                                                          int timeout_ms) {
  int64_t id = next_id_++;
  json::object req{{"id", id}, {"cmd", cmd}, {"args", args}};
  auto sent = send_raw(json::serialize(req) + "\n");
  if (!sent) return fail(sent.error());
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    auto line = read_line(static_cast<int>(std::max<int64_t>(0, deadline - now_ms())));
    if (!line) return fail(line.error());
    std::error_code ec;
    json::value v = json::parse(*line, ec);
    if (ec || !v.is_object())
      return fail(client_failure{client_error::bad_response, "not a response: " + *line});
    json::object& o = v.get_object();
    const json::value* rid = o.if_contains("id");
    // A response to an earlier request that timed out: skip it.
    if (rid && rid->is_int64() && rid->get_int64() != id) continue;
    if (!o.if_contains("ok") || !o.at("ok").is_bool())
      return fail(client_failure{client_error::bad_response, "not a response: " + *line});
    return std::move(o);
  }
}

command_result response_outcome(const json::object& response) {
  const json::value* ok = response.if_contains("ok");
  if (ok && ok->is_bool() && ok->get_bool()) {
    const json::value* r = response.if_contains("result");
    return r ? *r : json::value(json::object());
  }
  command_error e{"bad_response", ""};
  if (auto* err = response.if_contains("error"); err && err->is_object()) {
    auto& eo = err->get_object();
    if (auto* c = eo.if_contains("code"); c && c->is_string()) e.code = std::string(c->get_string());
    if (auto* m = eo.if_contains("message"); m && m->is_string())
      e.message = std::string(m->get_string());
  }
  return fail(std::move(e));
}

}  // namespace tutti::ctl
