#include "control/metrics_http.hpp"

// g++ 12 with -fsanitize=address,undefined reports a -Wmaybe-uninitialized false positive
// inside Beast's HTTP parser (a boost::optional in basic_parser.hpp) once it is inlined
// here; the diagnostic lands in this file, so it is silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <optional>
#include <set>

#include "control/metrics.hpp"

namespace tutti::ctl {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr size_t header_limit_bytes = 8192;
}

class http_session;

struct detail::metrics_http_state : std::enable_shared_from_this<detail::metrics_http_state> {
  metrics_http_state(asio::io_context& io, const metrics_registry& r, log_module l,
                     metrics_http_options o)
      : io(io), registry(r), log(l), opts(o), acceptor(io) {}

  void accept();

  asio::io_context& io;
  const metrics_registry& registry;
  log_module log;
  metrics_http_options opts;
  tcp::acceptor acceptor;
  std::set<std::shared_ptr<http_session>> sessions;
  metrics_http_stats stats;
  uint16_t port = 0;
};

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(std::shared_ptr<detail::metrics_http_state> server, tcp::socket sock)
      : server_(std::move(server)), stream_(std::move(sock)), buf_(header_limit_bytes) {}

  void start() { read(); }

  void close() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
    server_->sessions.erase(shared_from_this());
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(header_limit_bytes);
    stream_.expires_after(std::chrono::seconds(server_->opts.idle_timeout_s));
    http::async_read(stream_, buf_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (closed_) return;
    if (ec) {
      // A client closing between requests, or idling out, is normal; anything else is
      // a request we will not serve.
      if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
          ec != asio::error::operation_aborted && ec != asio::error::connection_reset)
        ++server_->stats.bad_requests;
      close();
      return;
    }
    respond(parser_->get());
  }

  void respond(const http::request<http::empty_body>& req) {
    res_ = {};
    res_.version(req.version());
    res_.keep_alive(req.keep_alive());
    res_.set(http::field::server, "tuttid");
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    bool head = req.method() == http::verb::head;
    if (req.method() != http::verb::get && !head) {
      ++server_->stats.not_found;
      res_.result(http::status::method_not_allowed);
      res_.set(http::field::allow, "GET, HEAD");
      res_.set(http::field::content_type, "text/plain");
      res_.body() = "method not allowed\n";
    } else if (path != "/metrics") {
      ++server_->stats.not_found;
      res_.result(http::status::not_found);
      res_.set(http::field::content_type, "text/plain");
      res_.body() = "not found; metrics are at /metrics\n";
    } else {
      try {
        res_.body() = server_->registry.expose();
        res_.result(http::status::ok);
        res_.set(http::field::content_type, metrics_registry::content_type);
        ++server_->stats.scrapes;
      } catch (const std::exception& e) {
        ++server_->stats.failed;
        server_->log.error("metrics collection failed", {{"error", e.what()}});
        res_.result(http::status::internal_server_error);
        res_.set(http::field::content_type, "text/plain");
        res_.body() = "metrics collection failed\n";
      }
    }
    res_.prepare_payload();
    if (head) res_.body().clear();  // Content-Length stays that of the GET body
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (self->closed_) return;
      if (ec || !self->res_.keep_alive()) {
        self->close();
        return;
      }
      self->read();
    });
  }

  std::shared_ptr<detail::metrics_http_state> server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  http::response<http::string_body> res_;
  bool closed_ = false;
};

void detail::metrics_http_state::accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket sock) {
    if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
    if (!ec) {
      if (self->sessions.size() >= self->opts.max_connections) {
        ++self->stats.rejected;
        beast::error_code ignored;
        sock.close(ignored);
      } else {
        auto s = std::make_shared<http_session>(self, std::move(sock));
        self->sessions.insert(s);
        s->start();
      }
    } else {
      self->log.warn("metrics accept failed", {{"error", ec.message()}});
    }
    self->accept();
  });
}

metrics_http::metrics_http(asio::io_context& io, const metrics_registry& registry, log_module log,
                           metrics_http_options opts)
    : impl_(std::make_shared<detail::metrics_http_state>(io, registry, log, opts)) {}

metrics_http::~metrics_http() { stop(); }

std::error_code metrics_http::listen(const std::string& host, uint16_t port) {
  auto& m = *impl_;
  beast::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return std::make_error_code(std::errc::invalid_argument);
  tcp::endpoint ep(addr, port);
  m.acceptor.open(ep.protocol(), ec);
  if (!ec) m.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) m.acceptor.bind(ep, ec);
  if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) m.port = m.acceptor.local_endpoint(ec).port();
  if (ec) {
    beast::error_code ignored;
    m.acceptor.close(ignored);
    return std::error_code(ec.value(), std::system_category());
  }
  m.log.info("metrics listening", {{"address", host}, {"port", m.port}});
  m.accept();
  return {};
}

void metrics_http::stop() {
  auto& m = *impl_;
  beast::error_code ignored;
  m.acceptor.close(ignored);
  auto sessions = m.sessions;
  for (auto& s : sessions) s->close();
}

uint16_t metrics_http::port() const noexcept { return impl_->port; }
const metrics_http_stats& metrics_http::stats() const noexcept { return impl_->stats; }

}  // namespace tutti::ctl
