#include "control/buddy_edit.hpp"

#include <set>
#include <string>
#include <vector>

#include "control/log.hpp"
#include "control/metrics.hpp"
#include "control/presence_package.hpp"
#include "control/presence_service.hpp"
#include "control/registrar_service.hpp"
#include "control/store.hpp"
#include "signalling/resource_lists.hpp"
#include "signalling/sip/serializer.hpp"
#include "signalling/sip/uri.hpp"
#include "signalling/sip_stack.hpp"

namespace tutti::ctl {

namespace rl = sig::resource_lists;

namespace {

// Warning text is a quoted-string (RFC 3261 §20.43): no raw quotes, backslashes or controls.
std::string warning(std::string_view text) {
  std::string out = "399 tutti \"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) continue;
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

struct buddy_edit_service::state {
  state(service_context& c, sig::sip_stack& st, registrar_service& u, store& d, presence_service& p, size_t max)
      : log(c.log.module("buddies")), stack(st), users(u), db(d), presence(p), max_entries(max) {}

  log_module log;
  sig::sip_stack& stack;
  registrar_service& users;
  store& db;
  presence_service& presence;
  size_t max_entries;
  sig::sip_stack::request_handler next;  // the chat service's
  buddy_edit_counters n;
  bool stopped = false;

  // The owner named by a "-buddies" user part ("" when the part is no list URI's).
  static std::string_view owner_part(std::string_view list_user) {
    const std::string suffix = presence_package::list_resource("");
    if (list_user.size() <= suffix.size() || list_user.substr(list_user.size() - suffix.size()) != suffix) return {};
    return list_user.substr(0, list_user.size() - suffix.size());
  }

  bool claims(const sig::message_view& req) const {
    const sig::uri& ru = req.request_uri();
    if ((ru.scheme != sig::uri_scheme::sip && ru.scheme != sig::uri_scheme::sips) || !users.serves(ru.host)) return false;
    const std::string_view owner = owner_part(ru.user);
    // A user literally named "X-buddies" keeps its own URI (as for SUBSCRIBE).
    if (owner.empty() || presence.is_user(ru.user)) return false;
    if (presence.is_user(owner)) return true;
    const auto& ct = req.content_type();
    return ct && ct->is("application", "resource-lists+xml");
  }

  void refuse(const sig::server_transaction_ptr& tx, uint16_t status, std::string_view why = {}) {
    switch (status) {
      case 403: ++n.forbidden; break;
      case 404: ++n.not_found; break;
      case 415: ++n.bad_type; break;
      case 400: ++n.bad_body; break;
      default: ++n.store_failed; break;
    }
    auto r = tx->response(status);
    if (status == 415) r.add(sig::header_id::accept, rl::content_type);
    if (!why.empty()) r.add(sig::header_id::warning, warning(why));
    tx->send(r.finish());
  }

  void on_message(const sig::message_view& req, const sig::peer& from, const sig::server_transaction_ptr& tx) {
    if (stopped) return (void)tx->reply(503);
    const auto user = users.authenticate(req, from, tx);
    if (!user) return;
    ++n.received;
    const std::string list_user(req.request_uri().user);
    const std::string owner(owner_part(list_user));
    if (owner.empty() || !presence.is_user(owner)) return refuse(tx, 404, "no such buddy list");
    if (owner != *user) return refuse(tx, 403, "only its owner sets a buddy list");
    const auto& ct = req.content_type();
    if (!ct || !ct->is("application", "resource-lists+xml")) return refuse(tx, 415);
    sig::xml::error detail = sig::xml::error::malformed;
    auto doc = rl::parse(req.body(), max_entries, &detail);
    if (!doc) {
      if (doc.error() == rl::reason::too_many_entries)
        return refuse(tx, 403, "a buddy list holds at most " + std::to_string(max_entries) + " entries");
      std::string why = "invalid resource-lists: " + std::string(rl::to_string(doc.error()));
      if (doc.error() == rl::reason::xml) why += " (" + std::string(sig::xml::to_string(detail)) + ")";
      return refuse(tx, 400, why);
    }
    // Each entry names a user of ours (RFC 3261 §19.1.4: the user part compares decoded).
    std::vector<std::string> buddies;
    std::set<std::string, std::less<>> seen;
    buddies.reserve(doc->entries.size());
    for (size_t i = 0; i < doc->entries.size(); ++i) {
      const std::string pos = "entry " + std::to_string(i + 1);
      auto u = sig::parse_uri(doc->entries[i].uri);
      if (!u || (u->scheme != sig::uri_scheme::sip && u->scheme != sig::uri_scheme::sips) || !u->has_user ||
          u->user.empty())
        return refuse(tx, 400, pos + " is not a sip: or sips: URI of a user");
      if (!users.serves(u->host)) return refuse(tx, 400, pos + " is not of this domain");
      auto name = sig::percent_decode(u->user);
      if (!name || name->empty()) return refuse(tx, 400, pos + " has a malformed user part");
      if (*name == owner) return refuse(tx, 400, pos + " is the list's owner");
      if (seen.insert(*name).second) buddies.push_back(std::move(*name));
    }
    for (size_t i = 0; i < buddies.size(); ++i)
      if (!presence.is_user(buddies[i])) return refuse(tx, 404, "no user '" + buddies[i] + "'");
    db.buddy_set(owner, buddies, [w = std::weak_ptr<state>(self), tx, owner](store_result<std::vector<std::string>> r) {
      auto s = w.lock();
      if (!s) return;
      if (!r) {
        // Users can go between the check above and the commit.
        const uint16_t status = r.error().code == store_errc::not_found ? 404
                                : r.error().code == store_errc::invalid ? 400
                                                                        : 500;
        if (status == 500) s->log.warn("buddy list commit failed", {{"owner", owner}, {"error", r.error().message}});
        return s->refuse(tx, status, r.error().message);
      }
      ++s->n.accepted;
      tx->reply(200);
      // Durable and answered: now presence follows (NOTIFY to the owner's list
      // subscriptions, watchers reauthorized), after the 200 on the wire.
      s->log.info("buddy list set", {{"owner", owner}, {"entries", r->size()}});
      s->presence.set_buddies(owner, std::move(*r));
    });
  }

  std::weak_ptr<state> self;
};

std::unique_ptr<buddy_edit_service> buddy_edit_service::start(service_context& ctx, sig::sip_stack& stack,
                                                              registrar_service& users, store& db,
                                                              presence_service& presence, size_t max_entries) {
  auto s = std::make_shared<state>(ctx, stack, users, db, presence, max_entries);
  s->self = s;
  s->next = stack.handler(sig::sip_method::message);
  std::weak_ptr<state> w = s;
  stack.on_request(sig::sip_method::message, [w](const sig::message_view& r, const sig::peer& f,
                                                 sig::server_transaction_ptr tx) {
    auto self = w.lock();
    if (!self) return (void)tx->reply(503);
    if (self->claims(r)) return self->on_message(r, f, tx);
    if (self->next) return self->next(r, f, std::move(tx));
    tx->reply(404);  // no chat service: nothing else takes MESSAGE
  });
  metrics_registry& m = ctx.metrics;
  m.add_collector("tutti_buddy_list_edits_total", "MESSAGEs setting a buddy list (RFC 4826 bodies) by outcome",
                  metric_type::counter, {"outcome"}, [w](metric_writer& mw) {
                    auto self = w.lock();
                    if (!self) return;
                    const auto& c = self->n;
                    mw.value({"accepted"}, c.accepted);
                    mw.value({"forbidden"}, c.forbidden);
                    mw.value({"not_found"}, c.not_found);
                    mw.value({"bad_type"}, c.bad_type);
                    mw.value({"bad_body"}, c.bad_body);
                    mw.value({"store_failed"}, c.store_failed);
                  });
  return std::unique_ptr<buddy_edit_service>(new buddy_edit_service(std::move(s)));
}

buddy_edit_service::buddy_edit_service(std::shared_ptr<state> s) : s_(std::move(s)) {}
buddy_edit_service::~buddy_edit_service() = default;

bool buddy_edit_service::claims(const sig::message_view& req) const { return s_->claims(req); }

void buddy_edit_service::stop(std::function<void()> done) {
  s_->stopped = true;
  done();
}

const buddy_edit_counters& buddy_edit_service::counters() const noexcept { return s_->n; }

}  // namespace tutti::ctl
