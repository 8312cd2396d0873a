#include "control/store_service.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <filesystem>

#include "control/commands.hpp"
#include "control/config.hpp"
#include "control/log.hpp"
#include "control/metrics.hpp"

namespace tutti::ctl {

namespace json = boost::json;

namespace {

std::string_view code_of(store_errc e) {
  switch (e) {
    case store_errc::not_found: return errc::not_found;
    case store_errc::conflict: return errc::conflict;
    case store_errc::invalid: return errc::invalid_args;
    case store_errc::io: return "store_failed";
  }
  return errc::internal;
}

// Answers `reply` from a store result: `to_json(value)` on success, the mapped error else.
template <typename T, typename F>
store_callback<T> answer(command_reply reply, F to_json) {
  return [reply, to_json](store_result<T> r) mutable {
    if (r) reply.ok(to_json(*r));
    else reply.error(code_of(r.error().code), r.error().message);
  };
}

// Joins pieces (g++ 12 warns falsely (-Wrestrict) on chained std::string operator+).
std::string cat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (auto p : parts) s.append(p);
  return s;
}

command_error bad(std::string m) { return {std::string(errc::invalid_args), std::move(m)}; }

result<std::string, command_error> opt_string(const json::object& a, std::string_view key) {
  const json::value* v = a.if_contains(key);
  if (!v) return std::string();
  if (!v->is_string()) return fail(bad(cat({"\"", key, "\" must be a string"})));
  return std::string(v->as_string());
}

// An integer member (tuttictl may send numbers as strings), `fallback` when absent.
result<int64_t, command_error> opt_int(const json::object& a, std::string_view key, int64_t fallback,
                                       int64_t lo, int64_t hi) {
  const json::value* v = a.if_contains(key);
  if (!v) return fallback;
  int64_t n = 0;
  bool ok = false;
  if (v->is_int64()) n = v->as_int64(), ok = true;
  else if (v->is_uint64() && v->as_uint64() <= uint64_t(INT64_MAX)) n = int64_t(v->as_uint64()), ok = true;
  else if (v->is_string()) {
    const auto& s = v->as_string();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    ok = ec == std::errc() && p == s.data() + s.size();
  }
  if (!ok || n < lo || n > hi)
    return fail(bad(cat({"\"", key, "\" must be an integer from ", std::to_string(lo), " to ", std::to_string(hi)})));
  return n;
}

json::object user_json(const user_record& u) { return {{"name", u.name}, {"display_name", u.display_name}}; }

json::object chat_json(const chat_record& c, bool members) {
  json::object o{{"room", c.room}, {"created_at_ms", c.created_at_ms}, {"last_seq", c.last_seq}};
  if (members) {
    json::array a;
    for (auto& m : c.members) a.emplace_back(m);
    o["members"] = std::move(a);
  }
  return o;
}

json::object message_json(const message_record& m) {
  return {{"seq", m.seq},
          {"from", m.sender},
          {"content_type", m.content_type},
          {"body", m.body},
          {"created_at_ms", m.created_at_ms}};
}

}  // namespace

store_service::store_service(std::unique_ptr<sqlite_store> s, counter& commits, histogram& seconds,
                             counter& messages)
    : store_(std::move(s)), commits_(commits), commit_seconds_(seconds), messages_(messages) {}

store_service::~store_service() = default;

uint64_t store_service::messages() const noexcept { return messages_.value(); }

result<std::unique_ptr<store_service>, std::string> store_service::start(service_context& ctx) {
  std::error_code ec;
  std::filesystem::create_directories(ctx.cfg.state_dir, ec);
  sqlite_store_options opts;
  opts.path = (std::filesystem::path(ctx.cfg.state_dir) / "tutti.db").string();
  opts.realm = ctx.cfg.domain;
  // FULL: a chat message answered 200 OK survives power loss, not only a crash; group
  // commit pays for it (see the store benchmark figures).
  opts.sync = sqlite_sync::full;
  auto s = sqlite_store::open(ctx.io, opts);
  if (!s) return fail("store: " + s.error());

  metrics_registry& m = ctx.metrics;
  counter& commits = m.add_counter("tutti_store_commits_total", "store write transactions committed");
  histogram& seconds = m.add_histogram("tutti_store_commit_seconds",
                                       "time of one store write transaction, fsync included",
                                       {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1});
  counter& messages = m.add_counter("tutti_messages_total", "chat messages durably stored");
  counter& failures = m.add_counter("tutti_store_commit_failures_total", "store write transactions that failed");
  std::unique_ptr<store_service> svc(new store_service(std::move(s.value()), commits, seconds, messages));
  svc->store_->on_batch([&commits, &seconds, &messages, &failures](const store_batch_stats& b) {
    if (!b.ok) {
      failures.inc();
      return;
    }
    commits.inc();
    seconds.observe(b.commit_seconds);
    messages.inc(b.messages);
  });
  svc->register_commands(ctx);
  ctx.log.module("store").info("store open", {{"path", opts.path}, {"users", svc->users()},
                                              {"schema", sqlite_schema_version}});
  return svc;
}

void store_service::stop(std::function<void()> done) { store_->close(std::move(done)); }

void store_service::on_change(std::function<void()> listener) { listeners_.push_back(std::move(listener)); }

command_reply store_service::announcing(command_reply reply) {
  return command_reply([this, reply](command_result r) mutable {
    const bool ok = r.ok();
    if (ok) reply.ok(std::move(r.value()));
    else reply.error(r.error().code, r.error().message);
    if (ok)
      for (auto& l : listeners_) l();
  });
}

void store_service::register_commands(service_context& ctx) {
  command_registry& reg = ctx.commands;
  store& db = *store_;

  reg.register_command(
      "user.add",
      [&db, this](const json::object& a, command_reply reply) {
        auto name = arg_string(a, "name");
        auto password = arg_string(a, "password");
        auto display = opt_string(a, "display_name");
        for (auto* e : {&name, &password, &display})
          if (!*e) return reply.error(e->error().code, e->error().message);
        db.user_add(*name, *password, *display, answer<user_record>(announcing(reply), user_json));
      },
      "add a user: {name, password, display_name?} (the store keeps only HA1s)");
  reg.register_command(
      "user.del",
      [&db, this](const json::object& a, command_reply reply) {
        auto name = arg_string(a, "name");
        if (!name) return reply.error(name.error().code, name.error().message);
        db.user_del(*name, answer<bool>(announcing(reply), [n = *name](bool) { return json::object{{"deleted", n}}; }));
      },
      "delete a user, their buddy list and chat memberships: {name}");
  reg.register_command(
      "user.list",
      [&db](const json::object&, command_reply reply) {
        db.user_list(answer<std::vector<user_record>>(reply, [](const std::vector<user_record>& v) {
          json::array a;
          for (auto& u : v) a.push_back(user_json(u));
          return a;
        }));
      },
      "list users");
  reg.register_command(
      "user.passwd",
      [&db](const json::object& a, command_reply reply) {
        auto name = arg_string(a, "name");
        auto password = arg_string(a, "password");
        for (auto* e : {&name, &password})
          if (!*e) return reply.error(e->error().code, e->error().message);
        db.user_set_password(*name, *password, answer<user_record>(reply, user_json));
      },
      "set a user's password: {name, password}");

  reg.register_command(
      "buddy.add",
      [&db, this](const json::object& a, command_reply reply) {
        auto user = arg_string(a, "user");
        auto buddy = arg_string(a, "buddy");
        for (auto* e : {&user, &buddy})
          if (!*e) return reply.error(e->error().code, e->error().message);
        db.buddy_add(*user, *buddy, answer<bool>(announcing(reply), [u = *user, b = *buddy](bool) {
                       return json::object{{"user", u}, {"buddy", b}};
                     }));
      },
      "put BUDDY on USER's buddy list: {user, buddy}");
  reg.register_command(
      "buddy.del",
      [&db, this](const json::object& a, command_reply reply) {
        auto user = arg_string(a, "user");
        auto buddy = arg_string(a, "buddy");
        for (auto* e : {&user, &buddy})
          if (!*e) return reply.error(e->error().code, e->error().message);
        db.buddy_del(*user, *buddy, answer<bool>(announcing(reply), [u = *user, b = *buddy](bool) {
                       return json::object{{"user", u}, {"removed", b}};
                     }));
      },
      "take BUDDY off USER's buddy list: {user, buddy}");
  reg.register_command(
      "buddy.list",
      [&db](const json::object& a, command_reply reply) {
        auto user = arg_string(a, "user");
        if (!user) return reply.error(user.error().code, user.error().message);
        db.buddy_list(*user, answer<std::vector<std::string>>(reply, [u = *user](const std::vector<std::string>& v) {
                        json::array b;
                        for (auto& s : v) b.emplace_back(s);
                        return json::object{{"user", u}, {"buddies", std::move(b)}};
                      }));
      },
      "a user's buddy list: {user}");

  reg.register_command(
      "chat.create",
      [&db](const json::object& a, command_reply reply) {
        auto room = arg_string(a, "room");
        if (!room) return reply.error(room.error().code, room.error().message);
        std::vector<std::string> members;
        if (const json::value* m = a.if_contains("members")) {
          if (!m->is_array()) return reply.error(errc::invalid_args, "\"members\" must be an array of user names");
          for (auto& e : m->as_array()) {
            if (!e.is_string()) return reply.error(errc::invalid_args, "\"members\" must be an array of user names");
            members.emplace_back(e.as_string());
          }
        }
        db.chat_create(*room, std::move(members),
                       answer<chat_record>(reply, [](const chat_record& c) { return chat_json(c, true); }));
      },
      "create a chat room: {room, members?: [user...]}");
  reg.register_command(
      "chat.list",
      [&db](const json::object&, command_reply reply) {
        db.chat_list(answer<std::vector<chat_record>>(reply, [](const std::vector<chat_record>& v) {
          json::array a;
          for (auto& c : v) a.push_back(chat_json(c, false));
          return a;
        }));
      },
      "list chat rooms");
  reg.register_command(
      "chat.show",
      [&db](const json::object& a, command_reply reply) {
        auto room = arg_string(a, "room");
        if (!room) return reply.error(room.error().code, room.error().message);
        db.chat_show(*room, answer<chat_record>(reply, [](const chat_record& c) { return chat_json(c, true); }));
      },
      "show a chat room and its members: {room}");
  auto membership = [&db, &reg](std::string name, bool add, std::string help) {
    reg.register_command(
        std::move(name),
        [&db, add](const json::object& a, command_reply reply) {
          auto room = arg_string(a, "room");
          auto user = arg_string(a, "user");
          for (auto* e : {&room, &user})
            if (!*e) return reply.error(e->error().code, e->error().message);
          auto cb = answer<bool>(reply, [r = *room, u = *user](bool) { return json::object{{"room", r}, {"user", u}}; });
          if (add) db.chat_add_member(*room, *user, std::move(cb));
          else db.chat_remove_member(*room, *user, std::move(cb));
        },
        std::move(help));
  };
  membership("chat.add_member", true, "add a user to a chat room: {room, user}");
  membership("chat.remove_member", false, "remove a user from a chat room: {room, user}");
  reg.register_command(
      "chat.send",
      [&db](const json::object& a, command_reply reply) {
        auto room = arg_string(a, "room");
        auto from = arg_string(a, "from");
        auto body = arg_string(a, "body");
        auto type = opt_string(a, "content_type");
        for (auto* e : {&room, &from, &body, &type})
          if (!*e) return reply.error(e->error().code, e->error().message);
        db.append_message(*room, *from, type->empty() ? "text/plain" : *type, *body,
                          answer<message_record>(reply, [](const message_record& m) {
                            return json::object{{"room", m.room}, {"seq", m.seq}};
                          }));
      },
      "store a message in a chat room (answered once durable): {room, from, body, content_type?}");
  reg.register_command(
      "chat.history",
      [&db](const json::object& a, command_reply reply) {
        auto room = arg_string(a, "room");
        auto after = opt_int(a, "after", 0, 0, INT64_MAX);
        auto limit = opt_int(a, "limit", 100, 1, 1000);
        if (!room) return reply.error(room.error().code, room.error().message);
        if (!after) return reply.error(after.error().code, after.error().message);
        if (!limit) return reply.error(limit.error().code, limit.error().message);
        db.history(*room, static_cast<uint64_t>(*after), static_cast<uint32_t>(*limit),
                   answer<std::vector<message_record>>(reply, [r = *room](const std::vector<message_record>& v) {
                     json::array a;
                     for (auto& m : v) a.push_back(message_json(m));
                     return json::object{{"room", r}, {"messages", std::move(a)}};
                   }));
      },
      "messages of a chat room after seq AFTER, oldest first: {room, after?: 0, limit?: 100 (max 1000)}");
}

}  // namespace tutti::ctl
