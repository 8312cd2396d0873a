#include "control/presence_service.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <random>
#include <set>

#include "control/commands.hpp"
#include "control/config.hpp"
#include "control/log.hpp"
#include "control/metrics.hpp"
#include "control/presence_package.hpp"
#include "control/registrar_service.hpp"
#include "control/store_service.hpp"
#include "signalling/sip/serializer.hpp"
#include "signalling/sip_stack.hpp"

namespace tutti::ctl {

namespace asio = boost::asio;
namespace json = boost::json;
namespace pidf = sig::pidf;

namespace {

uint64_t now_s() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

// A user keeps at most this many publications (devices); the oldest gives way.
constexpr size_t max_publications = 16;

struct publication {
  std::string etag;
  pidf::document doc;
  uint64_t expires_at_s = 0;  // steady clock
  uint64_t updated = 0;       // order of the last change, for composition
};

struct presentity {
  std::vector<publication> pubs;
  pidf::document composed;
};

const std::vector<std::string> no_buddies;

json::array media_json(const pidf::media_caps& c) {
  json::array a;
  for (size_t i = 0; i < static_cast<size_t>(pidf::media::count_); ++i)
    if (c.has(static_cast<pidf::media>(i))) a.emplace_back(pidf::to_string(static_cast<pidf::media>(i)));
  return a;
}

json::array notes_json(const std::vector<pidf::note>& notes) {
  json::array a;
  for (const auto& n : notes) a.emplace_back(n.text);
  return a;
}

}  // namespace

struct presence_service::state {
  state(service_context& c, sig::sip_stack& st, registrar_service& u, store_service& db, publish_policy p)
      : ctx(c), log(c.log.module("presence")), stack(st), users(u), store(db), policy(p), sweep(c.io),
        rng(std::random_device{}()) {}

  service_context& ctx;
  log_module log;
  sig::sip_stack& stack;
  registrar_service& users;
  store_service& store;
  publish_policy policy;
  asio::steady_timer sweep;
  std::mt19937_64 rng;
  std::map<std::string, presentity, std::less<>> table;
  std::map<std::string, std::vector<std::string>, std::less<>> buddies;
  std::map<std::string, std::string, std::less<>> display;  // every user -> display name
  std::vector<std::function<void(const std::string&)>> listeners;
  std::vector<std::function<void(const std::string&, const std::vector<std::string>&)>> buddy_listeners;
  presence_counters counters;
  uint64_t updates = 0;
  bool stopped = false;
  bool reloading = false, reload_again = false;
  // set_buddies() stamps the owner with ++list_edits; a reload keeps such lists when the
  // stamp is newer than the reload's start (what it read may predate the commit).
  uint64_t list_edits = 0, reload_started_at = 0;
  std::map<std::string, uint64_t, std::less<>> edited;
  std::vector<std::function<void()>> reload_waiters;

  std::string entity(std::string_view user) const { return "sip:" + users.aor(user); }

  std::string new_etag() {
    static constexpr char hex[] = "0123456789abcdef";
    uint64_t v = rng();
    std::string s(16, '0');
    for (char& c : s) {
      c = hex[v & 15];
      v >>= 4;
    }
    return s;
  }

  pidf::document compose(std::string_view user, const presentity* p) const {
    pidf::document d;
    if (p != nullptr) {
      std::vector<const publication*> order;
      for (const auto& pub : p->pubs) order.push_back(&pub);
      std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->updated < b->updated; });
      std::vector<const pidf::document*> docs;
      for (auto* pub : order) docs.push_back(&pub->doc);
      d = pidf::compose(entity(user), docs);
    } else {
      d.entity = entity(user);
    }
    // User information: the store's display name when the devices published none.
    auto dn = display.find(user);
    if (dn != display.end() && !dn->second.empty()) {
      if (!d.person) {
        d.person.emplace();
        d.person->id = "p";
      }
      if (d.person->display_name.empty()) d.person->display_name = dn->second;
    }
    return d;
  }

  void changed(const std::string& user) {
    auto it = table.find(user);
    if (it != table.end()) {
      if (it->second.pubs.empty()) table.erase(it);
      else it->second.composed = compose(user, &it->second);
    }
    for (auto& l : listeners) l(user);
  }

  void reject(const sig::server_transaction_ptr& tx, uint16_t status, std::string_view reason,
              std::string_view warning = {}) {
    auto r = tx->response(status, reason);
    if (status == 489) r.add(sig::header_id::allow_events, "presence");
    if (status == 415) r.add(sig::header_id::accept, pidf::content_type);
    if (status == 423) r.add(sig::header_id::min_expires, policy.min_s);
    if (!warning.empty()) r.add(sig::header_id::warning, "399 tutti \"" + std::string(warning) + "\"");
    tx->send(r.finish());
  }

  // RFC 3903 §6: the ESC's processing of a PUBLISH.
  void on_publish(const sig::message_view& req, const sig::peer& from, const sig::server_transaction_ptr& tx) {
    ++counters.publishes;
    const auto user = users.authenticate(req, from, tx);
    if (!user) return;
    // The Request-URI names the presentity; a user publishes only their own state.
    std::string_view target = req.request_uri().user;
    if (target.empty()) target = req.to().uri.user;
    if (target != *user) {
      ++counters.forbidden;
      return reject(tx, 403, "Forbidden", "a user publishes only their own presence");
    }
    // §6 step 2: the event package.
    const auto ev = req.event();
    if (!ev || ev->package != "presence") {
      ++counters.bad_event;
      return reject(tx, 489, "Bad Event");
    }
    // §6 step 5: Expires.
    const auto ex = req.expires();
    if (!ex && ex.error() != sig::header_error::absent) {
      ++counters.bad_body;
      return reject(tx, 400, "Bad Request", "malformed Expires");
    }
    uint32_t secs = ex ? *ex : policy.default_s;
    if (secs > 0 && secs < policy.min_s) {
      ++counters.too_brief;
      return reject(tx, 423, "Interval Too Brief");
    }
    secs = std::min(secs, policy.max_s);
    // §6 step 4: the body, when there is one, must be PIDF and valid.
    const std::string_view body = req.body();
    std::optional<pidf::document> doc;
    if (!body.empty()) {
      const auto& ct = req.content_type();
      if (!ct || !ct->is("application", "pidf+xml")) {
        ++counters.bad_type;
        return reject(tx, 415, "Unsupported Media Type");
      }
      auto parsed = pidf::parse(body);
      if (!parsed) {
        ++counters.bad_body;
        ++counters.rejected_pidf[static_cast<size_t>(parsed.error())];
        return reject(tx, 400, "Bad Request", std::string("invalid PIDF: ") + std::string(pidf::to_string(parsed.error())));
      }
      doc = std::move(*parsed);
    }
    const std::string name(*user);
    const uint64_t now = now_s();
    const sig::header_field* if_match = req.find(sig::header_id::sip_if_match);
    std::string etag;
    bool state_changed = false;
    if (if_match != nullptr) {
      // §6 step 3: SIP-If-Match names an existing publication of this user.
      auto pit = table.find(name);
      publication* pub = nullptr;
      if (pit != table.end())
        for (auto& p : pit->second.pubs)
          if (p.etag == if_match->value) pub = &p;
      if (pub == nullptr) {
        ++counters.unknown_etag;
        return reject(tx, 412, "Conditional Request Failed");
      }
      if (secs == 0) {
        ++counters.removes;
        auto& pubs = pit->second.pubs;
        pubs.erase(pubs.begin() + (pub - pubs.data()));
        state_changed = true;
      } else {
        pub->etag = etag = new_etag();
        pub->expires_at_s = now + secs;
        if (doc) {
          ++counters.modifies;
          pub->doc = std::move(*doc);
          pub->updated = ++updates;
          state_changed = true;
        } else {
          ++counters.refreshes;
        }
      }
    } else {
      if (!doc) {
        ++counters.bad_body;
        return reject(tx, 400, "Bad Request", "an initial PUBLISH needs a body");
      }
      if (secs > 0) {
        ++counters.initial;
        auto& pubs = table[name].pubs;
        if (pubs.size() == max_publications) {
          auto oldest = std::min_element(pubs.begin(), pubs.end(),
                                         [](const auto& a, const auto& b) { return a.updated < b.updated; });
          pubs.erase(oldest);
        }
        etag = new_etag();
        pubs.push_back(publication{etag, std::move(*doc), now + secs, ++updates});
        state_changed = true;
      }
    }
    auto r = tx->response(200, "OK");
    if (!etag.empty()) r.add(sig::header_id::sip_etag, etag);
    r.add(sig::header_id::expires, secs);
    tx->send(r.finish());
    if (state_changed) changed(name);
  }

  void expire() {
    if (stopped) return;
    const uint64_t now = now_s();
    std::vector<std::string> touched;
    for (auto& [user, p] : table) {
      const size_t before = p.pubs.size();
      std::erase_if(p.pubs, [now](const publication& pub) { return pub.expires_at_s <= now; });
      if (p.pubs.size() != before) {
        counters.expired += before - p.pubs.size();
        touched.push_back(user);
      }
    }
    for (const auto& u : touched) changed(u);
    sweep.expires_after(std::chrono::seconds(1));
    sweep.async_wait([this](boost::system::error_code ec) {
      if (!ec) expire();
    });
  }

  // Reads every user and every buddy list, then swaps them in and reports changed lists.
  void reload(std::function<void()> done) {
    if (done) reload_waiters.push_back(std::move(done));
    if (reloading) {
      reload_again = true;
      return;
    }
    reloading = true;
    reload_started_at = list_edits;
    store.db().user_list([this](store_result<std::vector<user_record>> r) {
      if (stopped) return;
      auto names = std::make_shared<std::map<std::string, std::string, std::less<>>>();
      if (r)
        for (const auto& u : *r) (*names)[u.name] = u.display_name;
      auto lists = std::make_shared<std::map<std::string, std::vector<std::string>, std::less<>>>();
      auto left = std::make_shared<size_t>(names->size());
      if (*left == 0) return reloaded(std::move(*names), std::move(*lists));
      for (const auto& [name, dn] : *names) {
        store.db().buddy_list(name, [this, name = name, names, lists, left](store_result<std::vector<std::string>> b) {
          if (stopped) return;
          if (b && !b->empty()) {
            auto v = std::move(*b);
            std::sort(v.begin(), v.end());
            (*lists)[name] = std::move(v);
          }
          if (--*left == 0) reloaded(std::move(*names), std::move(*lists));
        });
      }
    });
  }

  void reloaded(std::map<std::string, std::string, std::less<>> names,
                std::map<std::string, std::vector<std::string>, std::less<>> lists) {
    // Lists set after this reload began are newer than what it read.
    for (const auto& [o, stamp] : edited) {
      if (stamp <= reload_started_at) continue;
      auto cur = buddies.find(o);
      if (cur == buddies.end()) lists.erase(o);
      else lists[o] = cur->second;
    }
    edited.clear();
    std::set<std::string> owners;
    for (const auto& [o, l] : buddies) owners.insert(o);
    for (const auto& [o, l] : lists) owners.insert(o);
    auto old = std::move(buddies);
    buddies = std::move(lists);
    const bool names_changed = names != display;
    display = std::move(names);
    for (const auto& o : owners) {
      auto a = old.find(o);
      auto b = buddies.find(o);
      const auto& before = a == old.end() ? no_buddies : a->second;
      const auto& after = b == buddies.end() ? no_buddies : b->second;
      if (before != after)
        for (auto& l : buddy_listeners) l(o, before);
    }
    if (names_changed) {
      for (auto& [user, p] : table) p.composed = compose(user, &p);
    }
    reloading = false;
    if (reload_again) {
      reload_again = false;
      return reload({});
    }
    auto waiters = std::move(reload_waiters);
    reload_waiters.clear();
    for (auto& w : waiters) w();
  }

  void set_buddies(const std::string& owner, std::vector<std::string> list) {
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    auto it = buddies.find(owner);
    std::vector<std::string> before = it == buddies.end() ? std::vector<std::string>{} : it->second;
    if (list.empty()) {
      if (it != buddies.end()) buddies.erase(it);
    } else {
      buddies[owner] = std::move(list);
    }
    if (reloading) edited[owner] = ++list_edits;
    const auto& after = buddies.count(owner) ? buddies.find(owner)->second : no_buddies;
    if (before != after)
      for (auto& l : buddy_listeners) l(owner, before);
  }

  bool on_list(std::string_view owner, std::string_view user) const {
    auto it = buddies.find(owner);
    return it != buddies.end() && std::binary_search(it->second.begin(), it->second.end(), user);
  }
};

std::unique_ptr<presence_service> presence_service::start(service_context& ctx, sig::sip_stack& stack,
                                                          registrar_service& users, store_service& store,
                                                          event_service& events,
                                                          std::chrono::milliseconds min_notify_interval,
                                                          publish_policy policy) {
  auto s = std::make_unique<state>(ctx, stack, users, store, policy);
  state* p = s.get();
  stack.on_request(sig::sip_method::publish, [p](const sig::message_view& r, const sig::peer& f,
                                                  sig::server_transaction_ptr tx) { p->on_publish(r, f, tx); });
  store.on_change([p]() {
    if (!p->stopped) p->reload({});
  });
  std::unique_ptr<presence_service> svc(new presence_service(std::move(s)));
  svc->package_ = std::make_unique<presence_package>(*svc, events, min_notify_interval);
  p->reload({});
  p->expire();
  return svc;
}

presence_service::presence_service(std::unique_ptr<state> s) : s_(std::move(s)) {}
presence_service::~presence_service() = default;

void presence_service::stop(std::function<void()> done) {
  s_->stopped = true;
  s_->sweep.cancel();
  s_->table.clear();
  done();
}

pidf::document presence_service::composed(std::string_view user) const {
  auto it = s_->table.find(user);
  if (it != s_->table.end()) return it->second.composed;
  return s_->compose(user, nullptr);
}

size_t presence_service::publications(std::string_view user) const {
  auto it = s_->table.find(user);
  return it == s_->table.end() ? 0 : it->second.pubs.size();
}

bool presence_service::is_user(std::string_view user) const { return s_->display.count(user) != 0; }

bool presence_service::may_watch(std::string_view watcher, std::string_view user) const {
  if (!is_user(user)) return false;
  return watcher == user || s_->on_list(watcher, user) || s_->on_list(user, watcher);
}

const std::vector<std::string>& presence_service::buddies(std::string_view owner) const {
  auto it = s_->buddies.find(owner);
  return it == s_->buddies.end() ? no_buddies : it->second;
}

std::vector<std::string> presence_service::listed_by(std::string_view user) const {
  std::vector<std::string> out;
  for (const auto& [owner, list] : s_->buddies)
    if (std::binary_search(list.begin(), list.end(), user)) out.push_back(owner);
  return out;
}

std::string presence_service::display_name(std::string_view user) const {
  auto it = s_->display.find(user);
  return it == s_->display.end() ? std::string() : it->second;
}

const std::string& presence_service::domain() const noexcept { return s_->users.domain(); }

void presence_service::on_change(std::function<void(const std::string&)> f) { s_->listeners.push_back(std::move(f)); }

void presence_service::on_buddies_change(
    std::function<void(const std::string&, const std::vector<std::string>&)> f) {
  s_->buddy_listeners.push_back(std::move(f));
}

void presence_service::reload(std::function<void()> done) { s_->reload(std::move(done)); }

void presence_service::set_buddies(const std::string& owner, std::vector<std::string> list) {
  s_->set_buddies(owner, std::move(list));
}

const presence_counters& presence_service::counters() const noexcept { return s_->counters; }

void register_presence_commands(service_context& ctx, presence_service& p) {
  presence_service::state& s = *p.s_;
  ctx.commands.register_command(
      "presence.show",
      [&p, &s](const json::object& a) -> command_result {
        auto user = arg_string(a, "user");
        if (!user) return fail(user.error());
        if (!p.is_user(*user)) return fail(command_error{std::string(errc::not_found), "no user '" + *user + "'"});
        const pidf::document d = p.composed(*user);
        json::array tuples;
        for (const auto& t : d.tuples)
          tuples.push_back(json::object{{"id", t.id},
                                        {"basic", pidf::to_string(t.basic)},
                                        {"contact", t.contact},
                                        {"media", media_json(t.caps)},
                                        {"notes", notes_json(t.notes)}});
        json::array activities;
        std::string display;
        json::array person_notes;
        if (d.person) {
          for (const auto& act : d.person->activities)
            activities.emplace_back(act.name == "other" && !act.other_text.empty() ? act.other_text : act.name);
          display = d.person->display_name;
          person_notes = notes_json(d.person->notes);
        }
        for (const auto& n : d.notes) person_notes.emplace_back(n.text);
        json::array pubs;
        const uint64_t now = now_s();
        if (auto it = s.table.find(*user); it != s.table.end())
          for (const auto& pub : it->second.pubs)
            pubs.push_back(json::object{{"etag", pub.etag},
                                        {"expires_in_s", pub.expires_at_s > now ? pub.expires_at_s - now : 0},
                                        {"tuples", pub.doc.tuples.size()}});
        json::array buddies;
        for (const auto& b : p.buddies(*user)) buddies.emplace_back(b);
        return json::value(json::object{{"user", *user},
                                        {"entity", d.entity},
                                        {"basic", pidf::to_string(d.overall())},
                                        {"media", media_json(d.caps())},
                                        {"display_name", display},
                                        {"activities", std::move(activities)},
                                        {"notes", std::move(person_notes)},
                                        {"tuples", std::move(tuples)},
                                        {"publications", std::move(pubs)},
                                        {"buddies", std::move(buddies)}});
      },
      "a user's composed presence: basic status, media (RFC 5196), display name, activities, notes, "
      "tuples, publications, buddies: {user}");
  ctx.commands.register_command(
      "presence.status",
      [&s](const json::object&) -> command_result {
        const auto& c = s.counters;
        json::object rejected;
        for (size_t i = 0; i < c.rejected_pidf.size(); ++i)
          if (c.rejected_pidf[i] != 0) rejected[pidf::to_string(static_cast<pidf::reason>(i))] = c.rejected_pidf[i];
        size_t pubs = 0;
        for (const auto& [u, pr] : s.table) pubs += pr.pubs.size();
        return json::value(json::object{{"presentities", s.table.size()},
                                        {"publications", pubs},
                                        {"publishes", c.publishes},
                                        {"initial", c.initial},
                                        {"refreshes", c.refreshes},
                                        {"modifies", c.modifies},
                                        {"removes", c.removes},
                                        {"bad_event", c.bad_event},
                                        {"bad_type", c.bad_type},
                                        {"bad_body", c.bad_body},
                                        {"unknown_etag", c.unknown_etag},
                                        {"too_brief", c.too_brief},
                                        {"forbidden", c.forbidden},
                                        {"expired", c.expired},
                                        {"rejected_pidf", std::move(rejected)}});
      },
      "presence counters: PUBLISH outcomes, live publications, PIDF rejections by reason");

  metrics_registry& m = ctx.metrics;
  m.add_collector("tutti_presence_publications", "live PUBLISHed presence documents (all devices)",
                  metric_type::gauge, {}, [&s](metric_writer& w) {
                    size_t pubs = 0;
                    for (const auto& [u, pr] : s.table) pubs += pr.pubs.size();
                    w.value({}, pubs);
                  });
  m.add_collector("tutti_presence_publish_total", "PUBLISH requests by outcome", metric_type::counter, {"outcome"},
                  [&s](metric_writer& w) {
                    const auto& c = s.counters;
                    w.value({"initial"}, c.initial);
                    w.value({"refresh"}, c.refreshes);
                    w.value({"modify"}, c.modifies);
                    w.value({"remove"}, c.removes);
                    w.value({"refused"}, c.bad_event + c.bad_type + c.bad_body + c.unknown_etag + c.too_brief +
                                             c.forbidden);
                  });
}

}  // namespace tutti::ctl
