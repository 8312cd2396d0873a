#include "control/event_service.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <map>

#include "control/commands.hpp"
#include "control/log.hpp"
#include "control/metrics.hpp"
#include "control/registrar_service.hpp"
#include "signalling/sip/serializer.hpp"
#include "signalling/sip_stack.hpp"

namespace tutti::ctl {

// Subscriptions one authenticated user may hold (a client watching a buddy list of a
// thousand is already unusual), and the whole box.
constexpr size_t max_per_subscriber = 1024;
constexpr size_t max_subscriptions = 200000;

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Whether one Accept element admits a content type ("*/*", "application/*" or exact).
bool accepts(const sig::media_type& a, std::string_view content_type) {
  const auto slash = content_type.find('/');
  const std::string_view type = content_type.substr(0, slash);
  const std::string_view subtype = slash == std::string_view::npos ? "" : content_type.substr(slash + 1);
  if (a.type == "*" && a.subtype == "*") return true;
  if (!sig::text::iequals(a.type, type)) return false;
  return a.subtype == "*" || sig::text::iequals(a.subtype, subtype);
}

}  // namespace

struct event_service::state {
  state(service_context& c, sig::sip_stack& st, registrar_service& r)
      : ctx(c), log(c.log.module("events")), stack(st), users(r), timer(c.io) {}

  struct package_entry {
    event_package* package = nullptr;
    event_package_counters counters;
  };

  service_context& ctx;
  log_module log;
  sig::sip_stack& stack;
  registrar_service& users;
  asio::steady_timer timer;
  // When the timer is armed for (nullopt: not armed). Re-arming costs a system call, and
  // after most NOTIFY responses the next deadline has not moved earlier: a timer that
  // fires early only pumps and re-arms.
  std::optional<sig::time_point> armed_at;
  sig::subscription_table table;
  std::map<std::string, package_entry, std::less<>> packages;
  // NOTIFY callbacks hold this weakly: a transaction that outlives the service finds it gone.
  std::shared_ptr<state*> self = std::make_shared<state*>(this);
  bool stopped = false;

  static sig::time_point now() { return sig::sip_clock::now(); }

  package_entry* find_package(std::string_view name) {
    auto it = packages.find(name);
    return it == packages.end() ? nullptr : &it->second;
  }

  void refuse(package_entry* p, const sig::server_transaction_ptr& tx, uint16_t status,
              std::string_view reason = {}) {
    if (p) ++p->counters.refused;
    tx->reply(status, reason);
  }

  std::string allow_events() const {
    std::string out;
    for (const auto& [name, p] : packages) {
      if (!out.empty()) out += ", ";
      out += name;
    }
    return out;
  }

  // The content type to send: the package's first one the Accept header admits; the
  // package default without Accept (RFC 6665 §7.4.7); "" when none is acceptable (406).
  static std::string choose_type(const sig::message_view& req, const std::vector<std::string>& offered) {
    if (offered.empty()) return {};
    if (!req.find(sig::header_id::accept)) return offered.front();
    for (const std::string& t : offered) {
      for (std::string_view v : req.values(sig::header_id::accept)) {
        auto m = sig::parse_media_type(v);
        if (m && accepts(*m, t)) return t;
      }
    }
    return {};
  }

  // Whether an option-tag header (Supported, compact "k") lists `tag`.
  static bool has_option(const sig::message_view& req, sig::header_id h, std::string_view tag) {
    for (std::string_view v : req.values(h))
      if (sig::token_list_contains(v, tag)) return true;
    return false;
  }

  void on_subscribe(const sig::message_view& req, const sig::peer& from, const sig::server_transaction_ptr& tx) {
    if (stopped) return refuse(nullptr, tx, 503);
    const auto ev = req.event();
    package_entry* pe = ev ? find_package(ev->package) : nullptr;
    if (!pe) {
      // 489 Bad Event listing what we support in Allow-Events (RFC 6665 §4.2.1.1, §8.2.2).
      auto r = tx->response(489, "Bad Event");
      r.add(sig::header_id::allow_events, allow_events());
      tx->send(r.finish());
      return;
    }
    ++pe->counters.subscribes;
    const auto user = users.authenticate(req, from, tx);
    if (!user) return;
    std::optional<uint32_t> requested;
    if (auto e = req.expires()) {
      requested = *e;
    } else if (e.error() != sig::header_error::absent) {
      return refuse(pe, tx, 400, "Bad Expires");
    }
    event_package& pkg = *pe->package;
    const auto granted = sig::negotiate_expires(requested, pkg.expires());
    if (granted.what == sig::expires_outcome::kind::too_brief) {
      // §4.2.1.1: 423 with the shortest duration we accept.
      ++pe->counters.refused;
      auto r = tx->response(423, "Interval Too Brief");
      r.add(sig::header_id::min_expires, granted.seconds);
      tx->send(r.finish());
      return;
    }
    if (req.to().has_tag) return refresh(*pe, req, *user, granted.seconds, tx);

    const std::string resource(req.request_uri().user);
    const std::string type = choose_type(req, pkg.content_types());
    if (type.empty()) {
      ++pe->counters.refused;
      auto r = tx->response(406, "Not Acceptable");
      std::string types;
      for (const auto& t : pkg.content_types()) types += (types.empty() ? "" : ", ") + t;
      r.add(sig::header_id::accept, types);
      tx->send(r.finish());
      return;
    }
    const authorization a = resource.empty() ? authorization::not_found : pkg.authorize(*user, resource);
    if (a == authorization::deny) return refuse(pe, tx, 403);
    if (a == authorization::not_found) return refuse(pe, tx, 404);
    if (const std::string_view ext = pkg.required_extension(resource);
        !ext.empty() && !has_option(req, sig::header_id::supported, ext)) {
      ++pe->counters.refused;
      auto r = tx->response(421, "Extension Required");
      r.add(sig::header_id::require, ext);
      tx->send(r.finish());
      return;
    }

    // Bounded state for what the network asks: a subscriber holds at most
    // max_per_subscriber subscriptions (403) and the box at most max_subscriptions (503).
    if (table.of_subscriber(*user) >= max_per_subscriber) return refuse(pe, tx, 403, "Too Many Subscriptions");
    if (table.size() >= max_subscriptions) {
      ++pe->counters.refused;
      auto r = tx->response(503, "Service Unavailable");
      r.add(sig::header_id::retry_after, 60);
      tx->send(r.finish());
      return;
    }
    const std::string contact = "sip:" + (resource.empty() ? std::string("events") : resource) + "@" +
                                stack.host() + ":" + std::to_string(stack.port());
    auto d = sig::dialog_as_uas(req, from, tx->to_tag(), contact);
    if (!d) return refuse(pe, tx, 400, "Missing From tag or Contact");
    sig::subscription_params p;
    p.package = std::string(pkg.name());
    p.event_id = std::string(ev->id);
    p.resource = resource;
    p.subscriber = *user;
    p.content_type = type;
    p.dialog = std::move(*d);
    p.state = a == authorization::allow ? sig::sub_state::active : sig::sub_state::pending;
    p.expires_s = granted.seconds;
    p.min_notify_interval = pkg.min_notify_interval();
    sig::subscription* sub = table.add(std::move(p), now());
    if (!sub) return refuse(pe, tx, 482, "Loop Detected");
    ++pe->counters.accepted;
    // 200 for every accepted SUBSCRIBE, pending ones too (RFC 6665 §4.2.1.1; 202 is deprecated).
    auto r = tx->response(200, "OK");
    r.add(sig::header_id::expires, granted.seconds);
    r.add(sig::header_id::contact, "<" + contact + ">");
    tx->send(r.finish());
    if (granted.seconds == 0) {
      // A fetch (§4.4.3): current state in one NOTIFY that also ends it.
      ++pe->counters.unsubscribed;
      end(*sub, sig::end_reason::timeout, true);
      return rearm();
    }
    log.debug("subscribed", {{"package", sub->package()}, {"resource", resource}, {"user", *user},
                             {"expires", granted.seconds}});
    pkg.on_subscription(*sub, true);
    pump();
  }

  // A SUBSCRIBE inside an existing subscription's dialog: refresh or unsubscribe (§4.2.1.2).
  void refresh(package_entry& pe, const sig::message_view& req, const std::string& user, uint32_t seconds,
               const sig::server_transaction_ptr& tx) {
    const auto ev = req.event();
    sig::subscription* sub = table.find(req.call_id(), req.to().tag, req.from().tag, ev->package, ev->id);
    if (!sub) return refuse(&pe, tx, 481, "Subscription Does Not Exist");
    if (sub->subscriber() != user) return refuse(&pe, tx, 403);
    if (!sig::check_remote_cseq(sub->dialog(), req.cseq().number)) return refuse(&pe, tx, 500, "CSeq Out of Order");
    // SUBSCRIBE is a target refresh request (RFC 6665 §4.1.2.1).
    for (std::string_view v : req.values(sig::header_id::contact)) {
      if (auto c = sig::parse_contact(v); c && !c->star) sub->dialog().remote_target = std::string(c->address.uri.text);
      break;
    }
    ++pe.counters.accepted;
    auto r = tx->response(200, "OK");
    r.add(sig::header_id::expires, seconds);
    r.add(sig::header_id::contact, "<" + sub->dialog().local_contact + ">");
    tx->send(r.finish());
    if (seconds == 0) {
      ++pe.counters.unsubscribed;
      end(*sub, sig::end_reason::timeout, true);
      return rearm();
    }
    sub->refresh(now(), seconds);
    pump();
  }

  // Sends the NOTIFY a subscription owes (or its final one when `final_reason` is set).
  // False when it could not be sent (the subscription is then gone).
  bool send_notify(sig::subscription& sub, std::optional<sig::end_reason> final_reason, bool final_with_state) {
    package_entry* pe = find_package(sub.package());
    const bool full = sub.full_owed();
    const uint32_t number = sub.begin_notify(now());
    (void)number;
    const sig::sub_state st = final_reason ? sig::sub_state::terminated : sub.state();
    event_body body;
    const bool with_state = final_reason ? final_with_state && sub.state() == sig::sub_state::active
                                         : sub.state() == sig::sub_state::active;
    if (with_state && pe) body = pe->package->state(sub, full || final_reason.has_value());
    auto b = sig::build_request(sub.dialog(), "NOTIFY", true);
    b.add(sig::header_id::event, sig::event_value(sub.package(), sub.event_id()));
    b.add(sig::header_id::subscription_state,
          sig::subscription_state_value(st, sub.expires_in_s(now()), final_reason.value_or(sig::end_reason::none)));
    std::string msg = body.body.empty() ? b.finish() : b.finish(body.body, body.content_type);
    const sig::sub_id id = sub.id();
    const bool is_final = final_reason.has_value();
    auto sent = stack.send_request(std::move(msg), sub.dialog().next_hop,
                                   [weak = std::weak_ptr<state*>(self), id, is_final](const sig::client_event& e) {
                                     auto s = weak.lock();
                                     if (!s || e.what == sig::client_event::kind::provisional) return;
                                     (*s)->on_notify_response(id, e.status, is_final);
                                   });
    if (pe) ++pe->counters.notifies_sent;
    if (!sent) {
      if (pe) ++pe->counters.notifies_failed;
      if (!is_final) drop(id);
      return false;
    }
    return true;
  }

  void on_notify_response(sig::sub_id id, uint16_t status, bool is_final) {
    sig::subscription* sub = table.find(id);
    if (status >= 300) {
      // The package is found by name when the subscription is gone (final NOTIFYs).
      if (sub) {
        if (auto* pe = find_package(sub->package())) ++pe->counters.notifies_failed;
      } else if (is_final) {
        ++final_failures;
      }
    }
    if (!sub || is_final) return;
    sub->end_notify();
    // 481, a timeout (408), a transport error (503) or any other refusal ends the
    // subscription (RFC 6665 §4.2.2); without a NOTIFY: the subscriber is not listening.
    if (status >= 300) {
      log.info("subscription dropped", {{"package", sub->package()}, {"resource", sub->resource()},
                                        {"status", status}});
      drop(id);
    }
    rearm();
  }

  // Removes a subscription without a final NOTIFY.
  void drop(sig::sub_id id) {
    sig::subscription* sub = table.find(id);
    if (!sub) return;
    if (auto* pe = find_package(sub->package())) {
      ++pe->counters.terminated;
      sub->set_state(sig::sub_state::terminated);
      pe->package->on_subscription(*sub, false);
    }
    table.erase(id);
  }

  // Ends a subscription with a final NOTIFY (terminated;reason=...), carrying the state
  // when `with_state` (unsubscribe and fetch, §4.4.3).
  void end(sig::subscription& sub, sig::end_reason reason, bool with_state) {
    const sig::sub_id id = sub.id();
    send_notify(sub, reason, with_state);
    sub.set_state(sig::sub_state::terminated);
    if (auto* pe = find_package(sub.package())) pe->package->on_subscription(sub, false);
    table.erase(id);
  }

  // Sends what is due now: final NOTIFYs for expired subscriptions, owed NOTIFYs.
  void pump() {
    const auto t = now();
    auto work = table.due(t);
    for (sig::sub_id id : work.expired) {
      sig::subscription* sub = table.find(id);
      if (!sub) continue;
      if (auto* pe = find_package(sub->package())) ++pe->counters.expired;
      end(*sub, sig::end_reason::timeout, false);
    }
    for (sig::sub_id id : work.notify) {
      if (sig::subscription* sub = table.find(id)) send_notify(*sub, std::nullopt, false);
    }
    rearm();
  }

  void rearm() {
    if (stopped) return;
    const auto next = table.next_deadline();
    if (!next) return;  // an armed timer fires once for nothing
    if (armed_at && *armed_at <= *next) return;
    armed_at = *next;
    timer.expires_at(*next);
    timer.async_wait([weak = std::weak_ptr<state*>(self)](boost::system::error_code ec) {
      auto s = weak.lock();
      if (ec || !s) return;
      (*s)->armed_at.reset();
      (*s)->pump();
    });
  }

  void notify(std::string_view package, std::string_view resource) {
    bool any = false;
    for (sig::sub_id id : table.of_resource(package, resource)) {
      sig::subscription* sub = table.find(id);
      if (sub && sub->state() == sig::sub_state::active) {
        sub->changed();
        any = true;
      }
    }
    if (any) pump();
  }

  uint64_t final_failures = 0;  // final NOTIFYs refused (the subscription was already gone)
};

std::unique_ptr<event_service> event_service::start(service_context& ctx, sig::sip_stack& stack,
                                                    registrar_service& users) {
  auto s = std::make_unique<state>(ctx, stack, users);
  state* p = s.get();
  stack.on_request(sig::sip_method::subscribe, [p](const sig::message_view& r, const sig::peer& f,
                                                    sig::server_transaction_ptr tx) { p->on_subscribe(r, f, tx); });
  return std::unique_ptr<event_service>(new event_service(std::move(s)));
}

event_service::event_service(std::unique_ptr<state> s) : s_(std::move(s)) {}
event_service::~event_service() = default;

bool event_service::add_package(event_package& p) {
  return s_->packages.emplace(std::string(p.name()), state::package_entry{&p, {}}).second;
}

void event_service::remove_package(std::string_view name) {
  for (;;) {
    std::optional<sig::sub_id> victim;
    s_->table.for_each([&](const sig::subscription& sub) {
      if (!victim && sub.package() == name) victim = sub.id();
    });
    if (!victim) break;
    s_->end(*s_->table.find(*victim), sig::end_reason::noresource, false);
  }
  auto it = s_->packages.find(name);
  if (it != s_->packages.end()) s_->packages.erase(it);
  s_->rearm();
}

std::string event_service::allow_events() const { return s_->allow_events(); }

void event_service::notify(std::string_view package, std::string_view resource) { s_->notify(package, resource); }

void event_service::reauthorize(std::string_view package, std::string_view resource) {
  state::package_entry* pe = s_->find_package(package);
  if (!pe) return;
  for (sig::sub_id id : s_->table.of_resource(package, resource)) {
    sig::subscription* sub = s_->table.find(id);
    if (!sub) continue;
    switch (pe->package->authorize(sub->subscriber(), sub->resource())) {
      case authorization::allow:
        if (sub->state() == sig::sub_state::pending) {
          sub->set_state(sig::sub_state::active);
          sub->notify_now();
        }
        break;
      case authorization::pending:
        break;
      case authorization::deny:
        ++pe->counters.terminated;
        s_->end(*sub, sig::end_reason::rejected, false);
        break;
      case authorization::not_found:
        ++pe->counters.terminated;
        s_->end(*sub, sig::end_reason::noresource, false);
        break;
    }
  }
  s_->pump();
}

void event_service::terminate(std::string_view package, std::string_view resource, sig::end_reason reason) {
  state::package_entry* pe = s_->find_package(package);
  for (sig::sub_id id : s_->table.of_resource(package, resource)) {
    sig::subscription* sub = s_->table.find(id);
    if (!sub) continue;
    if (pe) ++pe->counters.terminated;
    s_->end(*sub, reason, false);
  }
  s_->rearm();
}

size_t event_service::count(std::string_view package, sig::sub_state st) const { return s_->table.count(package, st); }

event_package_counters event_service::counters(std::string_view package) const {
  const state::package_entry* pe = s_->find_package(package);
  return pe ? pe->counters : event_package_counters{};
}

void event_service::stop(std::function<void()> done) {
  if (!s_->stopped) {
    // "deactivated": the subscriber may subscribe again at once (RFC 6665 §4.1.3), which
    // is right for a restart; the NOTIFYs go out once, the stack stops after us.
    std::vector<sig::sub_id> ids;
    s_->table.for_each([&](const sig::subscription& sub) { ids.push_back(sub.id()); });
    for (sig::sub_id id : ids) {
      sig::subscription* sub = s_->table.find(id);
      if (!sub) continue;
      if (auto* pe = s_->find_package(sub->package())) ++pe->counters.terminated;
      s_->end(*sub, sig::end_reason::deactivated, false);
    }
    s_->stopped = true;
    s_->timer.cancel();
  }
  done();
}

void register_event_commands(service_context& ctx, event_service& e) {
  event_service::state& s = *e.s_;
  ctx.commands.register_command(
      "events.status",
      [&s](const json::object&) -> command_result {
        json::array packages;
        for (const auto& [name, p] : s.packages) {
          const auto& c = p.counters;
          packages.push_back(json::object{{"package", name},
                                          {"active", s.table.count(name, sig::sub_state::active)},
                                          {"pending", s.table.count(name, sig::sub_state::pending)},
                                          {"subscribes", c.subscribes},
                                          {"accepted", c.accepted},
                                          {"refused", c.refused},
                                          {"notifies_sent", c.notifies_sent},
                                          {"notifies_failed", c.notifies_failed},
                                          {"expired", c.expired},
                                          {"unsubscribed", c.unsubscribed},
                                          {"terminated", c.terminated}});
        }
        json::array subs;
        const auto now = sig::sip_clock::now();
        s.table.for_each([&](const sig::subscription& sub) {
          subs.push_back(json::object{{"id", sub.id()},
                                      {"package", sub.package()},
                                      {"resource", sub.resource()},
                                      {"subscriber", sub.subscriber()},
                                      {"state", sig::to_string(sub.state())},
                                      {"expires_in", sub.expires_in_s(now)},
                                      {"notifies", sub.notifies()},
                                      {"call_id", sub.dialog().call_id}});
        });
        return json::value(json::object{{"packages", std::move(packages)},
                                        {"subscriptions", std::move(subs)},
                                        {"final_notify_failures", s.final_failures}});
      },
      "event subscriptions (RFC 6665): per-package counters and every live subscription");
  ctx.metrics.add_collector(
      "tutti_events_subscriptions", "Live event subscriptions by package and state.", metric_type::gauge,
      {"package", "state"}, [&s](metric_writer& w) {
        for (const auto& [name, p] : s.packages) {
          w.value({name, "active"}, s.table.count(name, sig::sub_state::active));
          w.value({name, "pending"}, s.table.count(name, sig::sub_state::pending));
        }
      });
  ctx.metrics.add_collector(
      "tutti_events_notifies_total", "NOTIFY requests sent, and of those failed, by package.", metric_type::counter,
      {"package", "result"}, [&s](metric_writer& w) {
        for (const auto& [name, p] : s.packages) {
          w.value({name, "sent"}, p.counters.notifies_sent);
          w.value({name, "failed"}, p.counters.notifies_failed);
        }
      });
  ctx.metrics.add_collector(
      "tutti_events_subscribes_total", "SUBSCRIBE requests by package and outcome.", metric_type::counter,
      {"package", "result"}, [&s](metric_writer& w) {
        for (const auto& [name, p] : s.packages) {
          w.value({name, "accepted"}, p.counters.accepted);
          w.value({name, "refused"}, p.counters.refused);
        }
      });
  ctx.metrics.add_collector(
      "tutti_events_ended_total", "Subscriptions ended, by package and cause.", metric_type::counter,
      {"package", "cause"}, [&s](metric_writer& w) {
        for (const auto& [name, p] : s.packages) {
          w.value({name, "expired"}, p.counters.expired);
          w.value({name, "unsubscribed"}, p.counters.unsubscribed);
          w.value({name, "terminated"}, p.counters.terminated);
        }
      });
}

}  // namespace tutti::ctl
