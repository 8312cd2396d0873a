// What a control service runs on, for tests: one io_context, a config the test may edit
// before starting services, a logger that writes nothing, and empty command and metrics
// registries, bound together as the service_context every service's start() takes.
#pragma once

#include <boost/asio/io_context.hpp>
#include <string_view>

#include "control/commands.hpp"
#include "control/config.hpp"
#include "control/log.hpp"
#include "control/metrics.hpp"
#include "control/services.hpp"

namespace tutti::ctl::test {

struct service_env {
  boost::asio::io_context io;
  config cfg;
  logger log{logger_options{}, [](std::string_view) {}};
  command_registry commands;
  metrics_registry metrics;
  service_context ctx{io, cfg, log, commands, metrics};
};

}  // namespace tutti::ctl::test
