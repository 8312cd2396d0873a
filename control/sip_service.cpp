#include "control/sip_service.hpp"

#include <boost/json.hpp>

#include "control/commands.hpp"
#include "control/config.hpp"
#include "control/log.hpp"
#include "control/metrics.hpp"
#include "signalling/sip_stack.hpp"

namespace tutti::ctl {

namespace json = boost::json;

namespace {

// "Malformed Via" -> "malformed_via": a metric label and JSON key.
std::string label(std::string_view phrase) {
  std::string s;
  for (char c : phrase) s += c == ' ' || c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string method_label(size_t i) {
  const auto n = sig::method_name(static_cast<sig::sip_method>(i));
  return n.empty() ? "unknown" : std::string(n);
}

std::string class_label(size_t c) { return std::to_string(c) + "xx"; }

json::object status_json(const sig::sip_stack& s, const config& cfg) {
  const auto& c = s.counters();
  const auto& w = s.wire().counters();
  const auto& t = s.transactions().counters();
  json::object requests, sent, received, malformed, dropped;
  for (size_t i = 0; i < c.requests.size(); ++i)
    if (c.requests[i]) requests[method_label(i)] = c.requests[i];
  for (size_t k = 1; k < 7; ++k) {
    sent[class_label(k)] = c.responses_sent[k];
    received[class_label(k)] = c.responses_received[k];
  }
  for (size_t r = 0; r < w.malformed.size(); ++r)
    if (w.malformed[r]) malformed[label(sig::reason_phrase(static_cast<sig::parse_reason>(r)))] = w.malformed[r];
  for (size_t r = 0; r < w.dropped.size(); ++r) dropped[sig::to_string(static_cast<sig::drop_reason>(r))] = w.dropped[r];
  const std::string addr = s.host().find(':') != std::string::npos ? "[" + s.host() + "]" : s.host();
  const std::string bound = addr + ":" + std::to_string(s.port());
  return json::object{
      {"udp", bound},
      {"tcp", bound},
      {"port", s.port()},
      {"domain", cfg.domain},
      {"allow", s.allow()},
      {"requests", std::move(requests)},
      {"responses_sent", std::move(sent)},
      {"responses_received", std::move(received)},
      {"malformed", std::move(malformed)},
      {"malformed_answered", w.malformed_answered},
      {"dropped", std::move(dropped)},
      {"udp_received", w.udp_received},
      {"tcp_received", w.tcp_received},
      {"tcp_connections", s.wire().connection_count()},
      {"keepalives", w.keepalives},
      {"server_transactions", s.transactions().server_count()},
      {"client_transactions", s.transactions().client_count()},
      {"retransmissions_absorbed", t.requests_absorbed},
      {"responses_resent", t.responses_resent},
      {"response_retransmits", t.response_retransmits},
      {"request_retransmits", t.request_retransmits},
      {"server_timeouts", t.server_timeouts},
      {"client_timeouts", t.client_timeouts},
      {"stray_responses", t.stray_responses},
      {"unmatched_acks", c.unmatched_acks},
  };
}

}  // namespace

sip_service::sip_service(std::unique_ptr<sig::sip_stack> s) : stack_(std::move(s)) {}
sip_service::~sip_service() = default;

result<std::unique_ptr<sip_service>, std::string> sip_service::start(service_context& ctx) {
  sig::stack_settings settings;
  settings.host = ctx.cfg.sip.host;
  settings.port = ctx.cfg.sip.port;
  settings.supported.push_back("timer");  // RFC 4028 session timers (the focus)
  settings.supported.push_back("eventlist");  // RFC 4662 list subscriptions (presence)
  auto stack = std::make_unique<sig::sip_stack>(ctx.io, std::move(settings));
  auto port = stack->start();
  if (!port) return fail(port.error());
  ctx.log.module("sip").info("SIP listening", {{"address", ctx.cfg.sip.host},
                                               {"port", port.value()},
                                               {"transports", "udp,tcp"},
                                               {"domain", ctx.cfg.domain}});
  return std::unique_ptr<sip_service>(new sip_service(std::move(stack)));
}

void sip_service::stop(std::function<void()> done) {
  stack_->stop();
  done();
}

void register_sip_commands(service_context& ctx, sip_service& sip) {
  const sig::sip_stack& s = sip.stack();
  const config& cfg = ctx.cfg;
  ctx.commands.register_command(
      "sip.status",
      [&s, &cfg](const json::object&) -> command_result { return json::value(status_json(s, cfg)); },
      "SIP stack: bound addresses, request/response counters, malformed drops, transactions");

  metrics_registry& m = ctx.metrics;
  m.add_collector("tutti_sip_requests_total", "new SIP requests received, by method", metric_type::counter,
                  {"method"}, [&s](metric_writer& w) {
                    const auto& c = s.counters();
                    for (size_t i = 0; i < c.requests.size(); ++i) w.value({method_label(i)}, c.requests[i]);
                  });
  m.add_collector("tutti_sip_responses_total", "SIP responses sent, by class (retransmissions included)",
                  metric_type::counter, {"class"}, [&s](metric_writer& w) {
                    const auto& c = s.counters();
                    for (size_t k = 1; k < 7; ++k) w.value({class_label(k)}, c.responses_sent[k]);
                  });
  m.add_collector("tutti_sip_malformed_total", "SIP messages that failed to parse, by reason",
                  metric_type::counter, {"reason"}, [&s](metric_writer& w) {
                    const auto& c = s.wire().counters();
                    for (size_t r = 0; r < c.malformed.size(); ++r)
                      w.value({label(sig::reason_phrase(static_cast<sig::parse_reason>(r)))}, c.malformed[r]);
                  });
  m.add_collector("tutti_sip_retransmissions_total", "SIP retransmissions, by kind", metric_type::counter,
                  {"kind"}, [&s](metric_writer& w) {
                    const auto& t = s.transactions().counters();
                    w.value({"request_absorbed"}, t.requests_absorbed);
                    w.value({"response_timer_g"}, t.response_retransmits);
                    w.value({"request_timer_a_e"}, t.request_retransmits);
                  });
  m.add_collector("tutti_sip_transactions", "live SIP transactions", metric_type::gauge, {"side"},
                  [&s](metric_writer& w) {
                    w.value({"server"}, s.transactions().server_count());
                    w.value({"client"}, s.transactions().client_count());
                  });
}

}  // namespace tutti::ctl
