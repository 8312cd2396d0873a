#include "control/commands.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <exception>
#include <stdexcept>

namespace tutti::ctl {

namespace json = boost::json;

struct command_reply::state {
  completion done;
  bool answered = false;

  void answer(command_result r) {
    if (answered) return;
    answered = true;
    auto d = std::move(done);
    d(std::move(r));
  }

  ~state() {
    if (answered) return;
    try {
      answer(fail(command_error{std::string(errc::internal), "the command finished without replying"}));
    } catch (...) {
      // Nothing sensible is left to do while destroying; the client sees its connection
      // close instead of a response.
    }
  }
};

command_reply::command_reply(completion done) : s_(std::make_shared<state>()) {
  s_->done = std::move(done);
}

void command_reply::ok(json::value result) { s_->answer(std::move(result)); }

void command_reply::error(std::string_view code, std::string message) {
  s_->answer(fail(command_error{std::string(code), std::move(message)}));
}

void command_reply::operator()(command_result r) { s_->answer(std::move(r)); }

bool command_reply::done() const noexcept { return s_->answered; }

namespace {

bool valid_command_name(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) return false;
    if (c == '.' && prev == '.') return false;
    prev = c;
  }
  return true;
}

std::string response_line(const json::value& id, command_result r) {
  json::object o;
  o["id"] = id;
  if (r.ok()) {
    o["ok"] = true;
    o["result"] = std::move(r.value());
  } else {
    o["ok"] = false;
    o["error"] = json::object{{"code", r.error().code}, {"message", r.error().message}};
  }
  return json::serialize(o);
}

}  // namespace

std::string make_error_line(const json::value& id, std::string_view code, std::string_view message) {
  return response_line(id, fail(command_error{std::string(code), std::string(message)}));
}

void command_registry::register_command(std::string name, command_handler h, std::string help) {
  if (!valid_command_name(name)) throw std::logic_error("malformed command name '" + name + "'");
  if (!h) throw std::logic_error("command '" + name + "' has no handler");
  auto [it, fresh] = commands_.try_emplace(std::move(name));
  if (!fresh) throw std::logic_error("command '" + it->first + "' registered twice");
  it->second.handler = std::move(h);
  it->second.help = std::move(help);
}

void command_registry::register_command(std::string name, sync_command_handler h, std::string help) {
  if (!h) throw std::logic_error("command '" + name + "' has no handler");
  register_command(
      std::move(name),
      command_handler([h = std::move(h)](const json::object& args, command_reply reply) {
        reply(h(args));
      }),
      std::move(help));
}

bool command_registry::unregister_command(std::string_view name) {
  auto it = commands_.find(name);
  if (it == commands_.end()) return false;
  commands_.erase(it);
  return true;
}

bool command_registry::contains(std::string_view name) const { return commands_.find(name) != commands_.end(); }

void command_registry::dispatch(std::string_view name, const json::object& args,
                                command_reply::completion done) {
  auto it = commands_.find(name);
  if (it == commands_.end()) {
    ++unknown_calls_;
    done(fail(command_error{std::string(errc::unknown_command),
                            "no command '" + std::string(name) + "' (try 'help')"}));
    return;
  }
  entry& e = it->second;
  ++e.calls;
  // Count errors when the answer comes, which may be after the command was unregistered:
  // find it again by name then rather than keeping a pointer.
  command_reply reply([this, key = it->first, done = std::move(done)](command_result r) {
    if (!r.ok())
      if (auto found = commands_.find(key); found != commands_.end()) ++found->second.errors;
    done(std::move(r));
  });
  // Copy the handler: it may unregister its own command while running.
  command_handler h = e.handler;
  try {
    h(args, reply);
  } catch (const std::exception& ex) {
    reply.error(errc::internal, std::string("command failed: ") + ex.what());
  } catch (...) {
    reply.error(errc::internal, "command failed");
  }
}

void command_registry::dispatch_line(std::string_view line, std::function<void(std::string)> send) {
  json::parse_options opts;
  opts.max_depth = 32;
  std::error_code ec;
  json::value req = json::parse(line, ec, {}, opts);
  if (ec) {
    send(make_error_line(nullptr, errc::bad_json, "not JSON: " + ec.message()));
    return;
  }
  const json::object* obj = req.if_object();
  if (!obj) {
    send(make_error_line(nullptr, errc::bad_request, "a request is a JSON object"));
    return;
  }
  json::value id = nullptr;
  if (auto* v = obj->if_contains("id")) {
    if (v->is_object() || v->is_array()) {
      send(make_error_line(nullptr, errc::bad_request, "\"id\" must be a number or string"));
      return;
    }
    id = *v;
  }
  const json::value* cmd = obj->if_contains("cmd");
  if (!cmd || !cmd->is_string()) {
    send(make_error_line(id, errc::bad_request, "\"cmd\" must be a string"));
    return;
  }
  static const json::object no_args;
  const json::object* args = &no_args;
  if (auto* a = obj->if_contains("args")) {
    if (!a->is_object() && !a->is_null()) {
      send(make_error_line(id, errc::bad_request, "\"args\" must be an object"));
      return;
    }
    if (a->is_object()) args = &a->get_object();
  }
  dispatch(std::string_view(cmd->get_string()), *args,
           [id = std::move(id), send = std::move(send)](command_result r) {
             send(response_line(id, std::move(r)));
           });
}

std::vector<command_info> command_registry::list() const {
  std::vector<command_info> v;
  v.reserve(commands_.size());
  for (auto& [name, e] : commands_) v.push_back(command_info{name, e.help, e.calls, e.errors});
  return v;
}

result<std::string, command_error> arg_string(const json::object& args, std::string_view key) {
  auto* v = args.if_contains(key);
  if (!v || !v->is_string())
    return fail(command_error{std::string(errc::invalid_args),
                              "argument \"" + std::string(key) + "\" must be a string"});
  return std::string(v->get_string());
}

result<int64_t, command_error> arg_int(const json::object& args, std::string_view key, int64_t lo,
                                       int64_t hi) {
  auto* v = args.if_contains(key);
  std::error_code ec;
  int64_t n = 0;
  if (v) n = v->to_number<int64_t>(ec);
  if (!v || ec || n < lo || n > hi)
    return fail(command_error{std::string(errc::invalid_args),
                              "argument \"" + std::string(key) + "\" must be an integer from " +
                                  std::to_string(lo) + " to " + std::to_string(hi)});
  return n;
}

}  // namespace tutti::ctl
