#include "control/services.hpp"

#include "control/config.hpp"
#include "control/log.hpp"

namespace tutti::ctl {

result<std::unique_ptr<services>, std::string> start_services(service_context& ctx) {
  auto s = std::make_unique<services>();
  log_module log = ctx.log.module("services");
  // The media runtime (dataplane/api.h) and the SIP stack (signalling/) are created here,
  // in that order, as those layers land: each gets ctx, registers its commands and metrics,
  // and pushes its stop step onto s->stop_steps.
  log.info("services started", {{"count", s->stop_steps.size()}});
  return s;
}

namespace {

void run_stop_step(services& s, size_t remaining, std::function<void()> done) {
  if (remaining == 0) {
    done();
    return;
  }
  auto& step = s.stop_steps[remaining - 1];
  step([&s, remaining, done = std::move(done)]() mutable {
    run_stop_step(s, remaining - 1, std::move(done));
  });
}

}  // namespace

void stop_services(services& s, std::function<void()> done) {
  run_stop_step(s, s.stop_steps.size(), std::move(done));
}

}  // namespace tutti::ctl
