#include "control/registrar_service.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <random>

#include "control/commands.hpp"
#include "control/config.hpp"
#include "control/log.hpp"
#include "control/metrics.hpp"
#include "signalling/auth.hpp"
#include "signalling/registrar.hpp"
#include "signalling/sip/serializer.hpp"
#include "signalling/sip/text.hpp"
#include "signalling/sip_stack.hpp"

namespace tutti::ctl {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

uint64_t wall_seconds() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

sig::auth_config auth_settings(const config& cfg) {
  sig::auth_config a;
  a.realm = cfg.domain;
  a.md5_first = cfg.sip_auth_order == "md5-first";
  a.md5_only = cfg.sip_auth_order == "md5-only";
  return a;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

struct registrar_service::state {
  state(service_context& c, sig::sip_stack& st, sig::credential_source& users)
      : log(c.log.module("registrar")),
        stack(st),
        domain(lower(c.cfg.domain)),
        auth(auth_settings(c.cfg), users),
        registrar(sig::registrar_config{{c.cfg.domain, st.host()}, 3600, 60, 3600, 10}, locations),
        sweep(c.io),
        rng(std::random_device{}()) {}

  log_module log;
  sig::sip_stack& stack;
  std::string domain;
  sig::location_service locations;
  sig::authenticator auth;
  sig::registrar registrar;
  asio::steady_timer sweep;
  std::mt19937_64 rng;
  uint64_t registers = 0, accepted = 0, refused = 0;
  bool stopped = false;

  received_request context(const sig::message_view& req, const sig::peer& from) {
    received_request r;
    r.source_ip = from.address.to_string();
    r.top_via = sig::stamp_via(req.top_via(), r.source_ip, from.port);
    if (!req.to().has_tag) r.to_tag = std::to_string(rng());
    r.ctx.now_s = wall_seconds();
    r.ctx.transport = from.transport == sig::transport_kind::udp ? "udp" : "tcp";
    r.ctx.source_ip = r.source_ip;
    r.ctx.source_port = from.port;
    r.ctx.top_via = r.top_via;
    r.ctx.to_tag = r.to_tag;
    return r;
  }

  void expire_bindings() {
    if (stopped) return;
    locations.expire(wall_seconds());
    sweep.expires_after(std::chrono::seconds(1));
    sweep.async_wait([this](boost::system::error_code ec) {
      if (!ec) expire_bindings();
    });
  }

  void on_register(const sig::message_view& req, const sig::peer& from, const sig::server_transaction_ptr& tx) {
    ++registers;
    const received_request rr = context(req, from);
    const auto outcome = auth.check(req, rr.ctx);
    if (outcome.status != sig::auth_status::ok) {
      tx->send(outcome.response);
      return;
    }
    auto result = registrar.handle(req, rr.ctx);
    (result.status < 300 ? accepted : refused)++;
    tx->send(std::move(result.response));
  }
};

std::unique_ptr<registrar_service> registrar_service::start(service_context& ctx, sig::sip_stack& stack,
                                                            sig::credential_source& users) {
  auto s = std::make_unique<state>(ctx, stack, users);
  state* p = s.get();
  stack.on_request(sig::sip_method::register_, [p](const sig::message_view& r, const sig::peer& f,
                                                    sig::server_transaction_ptr tx) { p->on_register(r, f, tx); });
  p->expire_bindings();
  return std::unique_ptr<registrar_service>(new registrar_service(std::move(s)));
}

registrar_service::registrar_service(std::unique_ptr<state> s) : s_(std::move(s)) {}
registrar_service::~registrar_service() = default;

void registrar_service::stop(std::function<void()> done) {
  s_->stopped = true;
  s_->sweep.cancel();
  done();
}

received_request registrar_service::context(const sig::message_view& req, const sig::peer& from) {
  return s_->context(req, from);
}

std::optional<std::string> registrar_service::authenticate(const sig::message_view& req, const sig::peer& from,
                                                           const sig::server_transaction_ptr& tx) {
  const received_request rr = s_->context(req, from);
  auto outcome = s_->auth.check(req, rr.ctx);
  if (outcome.status == sig::auth_status::ok) return std::move(outcome.user);
  tx->send(std::move(outcome.response));
  return std::nullopt;
}

sig::location_service& registrar_service::locations() noexcept { return s_->locations; }

std::string registrar_service::aor(std::string_view user) const {
  std::string k(user);
  k += '@';
  k += s_->domain;
  return k;
}

const std::string& registrar_service::domain() const noexcept { return s_->domain; }

bool registrar_service::serves(std::string_view host) const noexcept {
  return sig::text::iequals(host, s_->domain) || sig::text::iequals(host, s_->stack.host());
}

void register_registrar_commands(service_context& ctx, registrar_service& r) {
  registrar_service::state& s = *r.s_;
  ctx.commands.register_command(
      "sip.registrations",
      [&s](const json::object&) -> command_result {
        json::array aors;
        const uint64_t now = wall_seconds();
        s.locations.for_each([&](std::string_view aor, const std::vector<sig::binding>& bindings) {
          json::array contacts;
          for (const auto& b : bindings) {
            if (b.expires_at_s <= now) continue;
            contacts.push_back(json::object{{"contact", b.contact},
                                            {"transport", b.transport},
                                            {"source", b.source_ip + ":" + std::to_string(b.source_port)},
                                            {"expires_in", b.expires_at_s - now}});
          }
          aors.push_back(json::object{{"aor", aor}, {"contacts", std::move(contacts)}});
        });
        return json::value(json::object{{"registers", s.registers},
                                        {"accepted", s.accepted},
                                        {"refused", s.refused},
                                        {"registered_aors", s.locations.aor_count()},
                                        {"bindings", s.locations.binding_count()},
                                        {"aors", std::move(aors)}});
      },
      "registrations: REGISTER counters and every AOR's live contacts");

  metrics_registry& m = ctx.metrics;
  m.add_collector("tutti_registrations", "registered addresses of record (users with a live contact)",
                  metric_type::gauge, {}, [&s](metric_writer& w) { w.value({}, s.locations.aor_count()); });
  m.add_collector("tutti_registration_bindings", "registered contacts, all users", metric_type::gauge, {},
                  [&s](metric_writer& w) { w.value({}, s.locations.binding_count()); });
  m.add_collector("tutti_register_requests_total", "REGISTER requests by outcome", metric_type::counter,
                  {"outcome"}, [&s](metric_writer& w) {
                    w.value({"accepted"}, s.accepted);
                    w.value({"refused"}, s.refused);
                  });
}

}  // namespace tutti::ctl
