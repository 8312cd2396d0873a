#include "control/daemon.hpp"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>

#include "control/builtin_commands.hpp"
#include "control/commands.hpp"
#include "control/config.hpp"
#include "control/control_server.hpp"
#include "control/log.hpp"
#include "control/metrics.hpp"
#include "control/metrics_http.hpp"
#include "control/services.hpp"

#ifndef TUTTI_VERSION
#define TUTTI_VERSION "unknown"
#endif

namespace tutti::ctl {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// A graceful stop that takes longer than this is forced (exit status 1).
constexpr std::chrono::seconds shutdown_deadline{10};

class tuttid_process {
 public:
  tuttid_process(command_line cl, config cfg)
      : cl_(std::move(cl)),
        cfg_(std::move(cfg)),
        logger_(logger_options{cfg_.log.format, cfg_.log.level, true}),
        log_(logger_.module("tuttid")),
        io_(1),
        signals_(io_),
        shutdown_timer_(io_),
        control_(io_, commands_, logger_.module("control"),
                 control_server_options{.socket_path = cfg_.control_socket}),
        metrics_http_(io_, metrics_, logger_.module("metrics")),
        builtins_{cl_, cfg_, logger_, std::chrono::steady_clock::now(), {}, {}} {
    apply_log_config(logger_, cfg_);
  }

  int run() {
    log_.info("tuttid starting", {{"version", TUTTI_VERSION},
                                  {"pid", static_cast<int64_t>(::getpid())},
                                  {"config", cl_.config_file.value_or("(none)")}});
    if (int rc = start(); rc != exit_ok) return rc;
    log_.info("tuttid ready", {{"control_socket", cfg_.control_socket}});
    try {
      io_.run();
    } catch (const std::exception& e) {
      log_.error("control thread failed", {{"error", e.what()}});
      return exit_runtime_error;
    }
    log_.info("tuttid stopped", {{"exit_status", status_}});
    return status_;
  }

 private:
  int start() {
    std::error_code ec;
    std::filesystem::create_directories(cfg_.state_dir, ec);
    if (ec) {
      log_.error("cannot create state_dir", {{"path", cfg_.state_dir}, {"error", ec.message()}});
      return exit_unavailable;
    }
    builtins_.runtime_status = [this] { return runtime_status(); };
    builtins_.reloaded = [this] {
      if (services_)
        for (auto& hook : services_->reload_hooks) hook();
    };
    register_builtin_commands(commands_, builtins_);
    register_framework_metrics();

    if (auto e = control_.listen()) {
      log_.error("cannot listen on control_socket", {{"path", cfg_.control_socket}, {"error", e.message()}});
      return exit_unavailable;
    }
    if (cfg_.metrics) {
      if (auto e = metrics_http_.listen(cfg_.metrics->host, cfg_.metrics->port)) {
        log_.error("cannot listen on metrics", {{"address", cfg_.metrics->to_string()}, {"error", e.message()}});
        return exit_unavailable;
      }
    }
    // Services keep a reference to their context: it lives as long as they do.
    service_ctx_.emplace(service_context{io_, cfg_, logger_, commands_, metrics_});
    auto s = start_services(*service_ctx_);
    if (!s) {
      log_.error("services failed to start", {{"error", s.error()}});
      return exit_unavailable;
    }
    services_ = std::move(s.value());

    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.add(SIGHUP);
    wait_signal();
    return exit_ok;
  }

  void wait_signal() {
    signals_.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        log_.info("SIGHUP: reloading configuration");
        commands_.dispatch("config.reload", {}, [](command_result) {});
      } else if (!stopping_) {
        log_.info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
        shutdown();
      } else {
        log_.warn("second signal during shutdown: stopping now");
        force_stop();
        return;
      }
      // Keep listening while a graceful stop runs (a second signal forces it), not after.
      if (!closed_) wait_signal();
    });
  }

  void shutdown() {
    stopping_ = true;
    shutdown_timer_.expires_after(shutdown_deadline);
    shutdown_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      log_.error("graceful shutdown took too long; stopping now");
      force_stop();
    });
    stop_services(*services_, [this] {
      shutdown_timer_.cancel();
      close_framework();
    });
  }

  void force_stop() {
    status_ = exit_runtime_error;
    close_framework();
    io_.stop();
  }

  void close_framework() {
    closed_ = true;
    control_.stop();
    metrics_http_.stop();
    signals_.cancel();
    shutdown_timer_.cancel();
  }

  json::object runtime_status() {
    json::object r;
    r["config_file"] = cl_.config_file ? json::value(*cl_.config_file) : json::value(nullptr);
    r["control"] = json::object{{"socket", cfg_.control_socket}, {"clients", control_.clients()}};
    if (cfg_.metrics)
      r["metrics"] = json::object{
          {"endpoint", host_port{cfg_.metrics->host, metrics_http_.port()}.to_string()}};
    else
      r["metrics"] = json::object{{"endpoint", "off"}};
    return r;
  }

  void register_framework_metrics() {
    metrics_.add_gauge("tutti_build_info", "tuttid build; the value is always 1",
                       {{"version", TUTTI_VERSION}})
        .set(1);
    metrics_.add_gauge("tutti_start_time_seconds", "when tuttid started, seconds since the Unix epoch")
        .set(static_cast<double>(std::time(nullptr)));
    metrics_.add_collector("tutti_control_requests_total", "control API requests by command",
                           metric_type::counter, {"command"}, [this](metric_writer& w) {
                             for (auto& c : commands_.list()) w.value({c.name}, c.calls);
                           });
    metrics_.add_collector("tutti_control_unknown_commands_total",
                           "control API requests naming no registered command",
                           metric_type::counter, {}, [this](metric_writer& w) {
                             w.value({}, commands_.unknown_calls());
                           });
    metrics_.add_collector("tutti_control_errors_total",
                           "control API requests answered with an error, by command",
                           metric_type::counter, {"command"}, [this](metric_writer& w) {
                             for (auto& c : commands_.list()) w.value({c.name}, c.errors);
                           });
    metrics_.add_collector("tutti_control_clients", "connected control clients", metric_type::gauge,
                           {}, [this](metric_writer& w) { w.value({}, control_.clients()); });
    metrics_.add_collector("tutti_control_lines_too_long_total",
                           "control connections closed for an over-long request line",
                           metric_type::counter, {}, [this](metric_writer& w) {
                             w.value({}, control_.stats().lines_too_long);
                           });
    metrics_.add_collector("tutti_log_lines_total", "log lines written", metric_type::counter, {},
                           [this](metric_writer& w) { w.value({}, logger_.lines_written()); });
  }

  // Declaration order is teardown order reversed: the registries and the logger outlive
  // the io_context, whose destruction may drop handlers still holding command replies.
  command_line cl_;
  config cfg_;
  logger logger_;
  log_module log_;
  command_registry commands_;
  metrics_registry metrics_;
  asio::io_context io_;
  asio::signal_set signals_;
  asio::steady_timer shutdown_timer_;
  control_server control_;
  metrics_http metrics_http_;
  builtin_context builtins_;
  std::optional<service_context> service_ctx_;  // outlives services_
  std::unique_ptr<services> services_;  // last: destroyed first
  bool stopping_ = false;
  bool closed_ = false;  // control socket, metrics port and signals closed: run() returns
  int status_ = exit_ok;
};

}  // namespace

int run_tuttid(int argc, const char* const* argv) {
  const char* program = argc > 0 ? argv[0] : "tuttid";
  auto cl = parse_command_line(argc, argv);
  if (!cl) {
    std::cerr << cl.error().to_string() << "try '" << program << " --help'\n";
    return exit_usage;
  }
  if (cl->help) {
    std::cout << command_line_help(program);
    return exit_ok;
  }
  if (cl->version) {
    std::cout << "tuttid " TUTTI_VERSION "\n";
    return exit_ok;
  }
  auto cfg = load_config(*cl);
  if (!cfg) {
    std::cerr << cfg.error().to_string();
    return exit_usage;
  }
  if (cl->check) {
    std::cout << "configuration OK\n";
    return exit_ok;
  }
  // Peers that vanish are errors on the socket, not a signal that kills the process.
  ::signal(SIGPIPE, SIG_IGN);
  try {
    tuttid_process d(std::move(*cl), std::move(*cfg));
    return d.run();
  } catch (const std::exception& e) {
    std::cerr << "tuttid: fatal: " << e.what() << "\n";
    return exit_runtime_error;
  }
}

}  // namespace tutti::ctl
