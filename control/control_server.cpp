#include "control/control_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <set>

#include "control/commands.hpp"

namespace tutti::ctl {

namespace asio = boost::asio;
using unix_socket = asio::local::stream_protocol;

namespace {

// Is anybody accepting on `path`? A stale socket file left by a crash refuses connections.
bool someone_listens(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  bool yes = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return yes;
}

}  // namespace

class session;

struct detail::control_server_state : std::enable_shared_from_this<detail::control_server_state> {
  control_server_state(asio::io_context& io, command_registry& c, log_module l, control_server_options o)
      : io(io), commands(c), log(l), opts(std::move(o)), acceptor(io) {}

  void accept();

  asio::io_context& io;
  command_registry& commands;
  log_module log;
  control_server_options opts;
  unix_socket::acceptor acceptor;
  std::set<std::shared_ptr<session>> sessions;
  control_server_stats stats;
  bool bound = false;
  uint64_t next_client = 1;
};

class session : public std::enable_shared_from_this<session> {
 public:
  session(std::shared_ptr<detail::control_server_state> server, unix_socket::socket sock, uint64_t id)
      : server_(std::move(server)), sock_(std::move(sock)), id_(id) {}

  void start() { read(); }

  // Answers with one error line, then closes (used when over max_clients).
  void refuse(std::string line) {
    close_after_flush_ = true;
    send(std::move(line));
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    sock_.shutdown(unix_socket::socket::shutdown_both, ignored);
    sock_.close(ignored);
    server_->log.debug("control client closed", {{"client", id_}});
    // Erasing may drop the last reference to this object: do it last.
    server_->sessions.erase(shared_from_this());
  }

 private:
  void read() {
    if (closed_ || reading_ || read_eof_ || close_after_flush_) return;
    if (pending_ >= server_->opts.max_pending) return;  // resumed when a response is sent
    reading_ = true;
    // One byte of room beyond the limit for the newline itself.
    asio::async_read_until(
        sock_, asio::dynamic_buffer(in_, server_->opts.max_line_bytes + 1), '\n',
        [self = shared_from_this()](boost::system::error_code ec, size_t n) { self->on_read(ec, n); });
  }

  void on_read(boost::system::error_code ec, size_t n) {
    reading_ = false;
    if (closed_) return;
    if (ec == asio::error::not_found) {
      // The buffer filled without a newline.
      ++server_->stats.lines_too_long;
      server_->log.warn("control request line too long; closing",
                        {{"client", id_}, {"limit_bytes", server_->opts.max_line_bytes}});
      in_.clear();
      close_after_flush_ = true;
      send(make_error_line(nullptr, errc::line_too_long,
                           "request line longer than " +
                               std::to_string(server_->opts.max_line_bytes) + " bytes"));
      return;
    }
    if (ec == asio::error::eof) {
      read_eof_ = true;
      // A last request without its newline still counts.
      if (!in_.empty()) {
        std::string last = std::move(in_);
        in_.clear();
        handle_line(last);
      }
      maybe_finish();
      return;
    }
    if (ec) {
      close();
      return;
    }
    std::string line = in_.substr(0, n - 1);
    in_.erase(0, n);
    handle_line(line);
    read();
  }

  void handle_line(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) return;  // blank lines: ignored
    ++pending_;
    ++server_->stats.requests;
    server_->commands.dispatch_line(line, [self = shared_from_this()](std::string response) {
      self->on_response(std::move(response));
    });
  }

  void on_response(std::string response) {
    --pending_;
    if (closed_) return;
    send(std::move(response));
    read();
  }

  void send(std::string line) {
    line += '\n';
    out_bytes_ += line.size();
    out_.push_back(std::move(line));
    if (out_bytes_ > server_->opts.max_output_bytes) {
      ++server_->stats.slow_readers;
      server_->log.warn("control client does not read its responses; closing", {{"client", id_}});
      close();
      return;
    }
    write();
  }

  void write() {
    if (writing_ || closed_) return;
    if (out_.empty()) {
      maybe_finish();
      return;
    }
    writing_ = true;
    asio::async_write(sock_, asio::buffer(out_.front()),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        self->writing_ = false;
                        if (self->closed_) return;
                        if (ec) {
                          self->close();
                          return;
                        }
                        self->out_bytes_ -= self->out_.front().size();
                        self->out_.pop_front();
                        self->write();
                      });
  }

  // Closes once nothing more can come in and everything owed has gone out.
  void maybe_finish() {
    if (closed_ || writing_ || !out_.empty()) return;
    if (close_after_flush_ || (read_eof_ && pending_ == 0)) close();
  }

  std::shared_ptr<detail::control_server_state> server_;
  unix_socket::socket sock_;
  uint64_t id_;
  std::string in_;
  std::deque<std::string> out_;
  size_t out_bytes_ = 0;
  size_t pending_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool read_eof_ = false;
  bool close_after_flush_ = false;
  bool closed_ = false;
};

void detail::control_server_state::accept() {
  acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec,
                                                    unix_socket::socket sock) {
    if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
    if (!ec) {
      auto s = std::make_shared<session>(self, std::move(sock), self->next_client++);
      self->sessions.insert(s);
      if (self->sessions.size() > self->opts.max_clients) {
        ++self->stats.rejected;
        self->log.warn("control client refused: too many clients",
                       {{"limit", self->opts.max_clients}});
        s->refuse(make_error_line(nullptr, errc::busy, "too many control clients"));
      } else {
        ++self->stats.accepted;
        self->log.debug("control client connected", {{"clients", self->sessions.size()}});
        s->start();
      }
    } else {
      // Out of descriptors and the like: keep accepting, the condition may pass.
      self->log.warn("control accept failed", {{"error", ec.message()}});
    }
    self->accept();
  });
}

control_server::control_server(asio::io_context& io, command_registry& commands, log_module log,
                               control_server_options opts)
    : impl_(std::make_shared<detail::control_server_state>(io, commands, log, std::move(opts))) {}

control_server::~control_server() { stop(); }

std::error_code control_server::listen() {
  auto& m = *impl_;
  const std::string& path = m.opts.socket_path;
  if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path))
    return std::make_error_code(std::errc::filename_too_long);
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return ec;
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return std::make_error_code(std::errc::file_exists);
    if (someone_listens(path)) return std::make_error_code(std::errc::address_in_use);
    ::unlink(path.c_str());
  }
  boost::system::error_code bec;
  m.acceptor.open(unix_socket(), bec);
  if (!bec) m.acceptor.bind(unix_socket::endpoint(path), bec);
  if (!bec) m.acceptor.listen(asio::socket_base::max_listen_connections, bec);
  if (bec) {
    boost::system::error_code ignored;
    m.acceptor.close(ignored);
    return std::error_code(bec.value(), std::system_category());
  }
  m.bound = true;
  ::chmod(path.c_str(), static_cast<mode_t>(m.opts.socket_mode));
  m.log.info("control socket listening", {{"path", path}});
  m.accept();
  return {};
}

void control_server::stop() {
  auto& m = *impl_;
  boost::system::error_code ignored;
  m.acceptor.close(ignored);
  // close() erases from the set: iterate over a copy.
  auto sessions = m.sessions;
  for (auto& s : sessions) s->close();
  if (m.bound) {
    ::unlink(m.opts.socket_path.c_str());
    m.bound = false;
    m.log.info("control socket closed", {{"path", m.opts.socket_path}});
  }
}

size_t control_server::clients() const noexcept { return impl_->sessions.size(); }
const control_server_stats& control_server::stats() const noexcept { return impl_->stats; }
const std::string& control_server::path() const noexcept { return impl_->opts.socket_path; }

}  // namespace tutti::ctl
