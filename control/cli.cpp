#include "control/cli.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <cmath>
#include <optional>
#include <charconv>
#include <cstdlib>
#include <map>
#include <set>

#include "control/config.hpp"

namespace tutti::ctl {

namespace json = boost::json;

namespace {

using t = cli_arg_type;

cli_arg arg(std::string_view key, std::string_view metavar, cli_arg_type type = t::string, bool optional = false,
            std::string_view choices = {}) {
  return {key, metavar, type, optional, choices};
}

cli_option opt(std::string_view flag, std::string_view key, std::string_view metavar, cli_arg_type type = t::string,
               bool required = false, std::string_view choices = {}, std::string_view api = {}) {
  return {flag, key, metavar, type, required, choices, api};
}

cli_command part_command(std::string_view verb, std::string_view api, std::string_view help) {
  return {verb, api, help, {arg("conf", "CONF"), arg("participant", "ID", t::integer)}, {}};
}

}  // namespace

const std::vector<cli_command>& cli_commands() {
  static const std::vector<cli_command> table = {
      {"status", "status", "show version, uptime, pid and the effective configuration", {}, {}},
      {"help", "help", "list every API command tuttid serves (use them with 'call')", {}, {}},
      {"log level", "log.level", "show log levels, or set MODULE's level ('*': every module)",
       {arg("module", "MODULE", t::string, true), arg("level", "LEVEL", t::string, true, "trace debug info warn error off")},
       {}},
      {"config reload", "config.reload",
       "re-read the configuration file; apply live keys, list keys that need a restart", {}, {}},
      {"call", "", "call any API command with JSON arguments",
       {arg("cmd", "CMD", t::string, false, "status help log.level config.reload"),
        arg("args", "JSON", t::json_object, true)},
       {}},
      {"stats", "stats", "a summary: workers, conferences, participants, users, messages", {}, {}},
      {"workers", "workers", "per-worker load and counters", {}, {}},
      // Media (control/media_commands.cpp).
      {"conf create", "conf.create", "create a conference",
       {arg("name", "NAME")},
       {opt("--rate", "rate", "HZ", t::integer, false, "8000 16000 48000"), opt("--speakers", "speakers", "K", t::integer)}},
      {"conf destroy", "conf.destroy", "destroy a conference and drop its participants", {arg("name", "NAME")}, {}},
      {"conf list", "conf.list", "list conferences", {}, {}},
      {"conf show", "conf.show", "show a conference and its participants", {arg("name", "NAME")}, {}},
      {"conf lock", "conf.lock", "refuse new participants (dial-ins get 403); those in stay", {arg("name", "NAME")}, {}},
      {"conf unlock", "conf.unlock", "admit new participants again", {arg("name", "NAME")}, {}},
      {"conf add-rtp", "conf.add_rtp", "add a plain-RTP participant; answers its local port",
       {arg("conf", "CONF")},
       {opt("--remote", "remote", "IP:PORT", t::string, true), opt("--codec", "codec", "CODEC", t::string, true, "pcmu pcma opus"),
        opt("--pt", "pt", "N", t::integer), opt("--level-ext", "level_ext", "ID", t::integer)}},
      {"conf dial", "conf.dial", "dial USERs into a conference (INVITE to their registered devices)",
       {arg("conference", "CONF"), arg("users", "USER", t::list)}, {}},
      {"conf dials", "conf.dials", "dial-out attempts and their outcomes", {}, {}},
      part_command("part mute", "part.mute", "stop mixing a participant"),
      part_command("part unmute", "part.unmute", "mix a participant again"),
      part_command("part deaf", "part.deaf", "send a participant nothing"),
      part_command("part undeaf", "part.undeaf", "send a participant its mix again"),
      part_command("part kick", "part.kick", "remove a participant from its conference"),
      {"part gain", "", "gain on what a participant says (--in) or hears (--out)",
       {arg("conf", "CONF"), arg("participant", "ID", t::integer)},
       {opt("--in", "db", "DB", t::number, false, {}, "part.gain_in"),
        opt("--out", "db", "DB", t::number, false, {}, "part.gain_out")}},
      // Store (control/store_service.cpp).
      {"user add", "user.add", "add a user (only digest HA1s of the password are stored)",
       {arg("name", "NAME")},
       {opt("--password", "password", "P", t::string, true), opt("--display", "display_name", "NAME")}},
      {"user del", "user.del", "delete a user, their buddy list and chat memberships", {arg("name", "NAME")}, {}},
      {"user list", "user.list", "list users", {}, {}},
      {"user passwd", "user.passwd", "set a user's password", {arg("name", "NAME")},
       {opt("--password", "password", "P", t::string, true)}},
      {"buddy add", "buddy.add", "put BUDDY on USER's buddy list", {arg("user", "USER"), arg("buddy", "BUDDY")}, {}},
      {"buddy del", "buddy.del", "take BUDDY off USER's buddy list", {arg("user", "USER"), arg("buddy", "BUDDY")}, {}},
      {"buddy list", "buddy.list", "show USER's buddy list", {arg("user", "USER")}, {}},
      // Presence (control/presence_service.cpp).
      {"presence show", "presence.show", "a user's composed presence: status, media, display name, activities, notes",
       {arg("user", "USER")}, {}},
      {"presence status", "presence.status", "presence counters: PUBLISH outcomes, PIDF rejections", {}, {}},
      {"chat create", "chat.create", "create a chat room with its members",
       {arg("room", "ROOM"), arg("members", "USER", t::list)}, {}},
      {"chat list", "chat.list", "list chat rooms", {}, {}},
      {"chat join", "chat.add_member", "add USER to a chat room", {arg("room", "ROOM"), arg("user", "USER")}, {}},
      {"chat leave", "chat.remove_member", "remove USER from a chat room", {arg("room", "ROOM"), arg("user", "USER")}, {}},
      {"chat status", "chat.status", "chat delivery: counters, members' cursors and queues",
       {arg("room", "ROOM", t::string, true)}, {}},
      {"chat show", "chat.show", "show a chat room and its members", {arg("room", "ROOM")}, {}},
      {"chat send", "chat.send", "store a message in a room; answers its sequence number",
       {arg("room", "ROOM"), arg("body", "TEXT", t::text)}, {opt("--from", "from", "USER", t::string, true)}},
      {"chat escalate", "chat.escalate", "dial every member of a chat room into the voice conference of the same name",
       {arg("room", "ROOM")}, {}},
      {"chat history", "chat.history", "a room's messages, oldest first",
       {arg("room", "ROOM")},
       {opt("--after", "after", "N", t::integer), opt("--limit", "limit", "N", t::integer)}},
  };
  return table;
}

namespace {

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> v;
  while (!s.empty()) {
    auto sp = s.find(' ');
    v.push_back(s.substr(0, sp));
    if (sp == std::string_view::npos) break;
    s.remove_prefix(sp + 1);
  }
  return v;
}

std::string arg_usage(const cli_arg& a) {
  std::string s(a.metavar);
  if (a.type == cli_arg_type::list || a.type == cli_arg_type::text) s += "...";
  return s;
}

std::string option_usage(const cli_option& o) { return std::string(o.flag) + " " + std::string(o.metavar); }

std::string usage_line(const cli_command& c) {
  std::string s = "tuttictl [OPTIONS] " + std::string(c.words);
  size_t optional = 0;
  for (auto& a : c.args) {
    s += ' ';
    if (a.optional) {
      s += '[';
      ++optional;
    }
    s += arg_usage(a);
  }
  s.append(optional, ']');
  std::string picks;  // options that pick the API command: one of them
  for (auto& o : c.options) {
    if (!o.api.empty()) {
      picks += picks.empty() ? "" : " | ";
      picks += option_usage(o);
    } else if (o.required) {
      s += " " + option_usage(o);
    } else {
      s += " [" + option_usage(o) + "]";
    }
  }
  if (!picks.empty()) s += " (" + picks + ")";
  return s;
}

// Every command option flag in the table: these take a value wherever they appear.
bool is_command_flag(std::string_view flag) {
  for (auto& c : cli_commands())
    for (auto& o : c.options)
      if (o.flag == flag) return true;
  return false;
}

// A word as an argument of `type` ("KEY" names it in errors).
result<json::value, std::string> convert(cli_arg_type type, std::string_view metavar, const std::string& v) {
  switch (type) {
    case cli_arg_type::integer: {
      int64_t n = 0;
      auto res = std::from_chars(v.data(), v.data() + v.size(), n);
      if (v.empty() || res.ec != std::errc() || res.ptr != v.data() + v.size())
        return fail(std::string(metavar) + " must be an integer, not '" + v + "'");
      return json::value(n);
    }
    case cli_arg_type::number: {
      double d = 0;
      auto res = std::from_chars(v.data(), v.data() + v.size(), d);
      if (v.empty() || res.ec != std::errc() || res.ptr != v.data() + v.size() || !std::isfinite(d))
        return fail(std::string(metavar) + " must be a number, not '" + v + "'");
      return json::value(d);
    }
    case cli_arg_type::json_object: {
      std::error_code ec;
      json::value j = json::parse(v, ec);
      if (ec || !j.is_object()) return fail(std::string(metavar) + " must be a JSON object, like '{\"key\":1}'");
      return j;
    }
    case cli_arg_type::string:
    case cli_arg_type::list:
    case cli_arg_type::text:
      break;
  }
  return json::value(json::string(v));
}

}  // namespace

std::string cli_usage() {
  std::string s =
      "usage: tuttictl [--socket PATH] [--json] [--timeout SECONDS] COMMAND [ARGS...]\n"
      "\n"
      "Operator CLI for tuttid: sends COMMAND to its control socket and prints the answer.\n"
      "\n"
      "options:\n"
      "  --socket PATH      control socket (default: $TUTTI_CONTROL_SOCKET, else " +
      default_control_socket() +
      ")\n"
      "  --json             print the raw JSON response instead of a table\n"
      "  --timeout SECONDS  how long to wait for the answer (default 30)\n"
      "  --help, -h         this help; COMMAND --help for one command's\n"
      "  --bash-completion  print the bash completion script\n"
      "\n"
      "commands:\n";
  size_t width = 0;
  for (auto& c : cli_commands()) width = std::max(width, c.words.size());
  for (auto& c : cli_commands()) {
    s += "  " + std::string(c.words);
    s.append(width + 2 - c.words.size(), ' ');
    s += std::string(c.help) + "\n";
  }
  s +=
      "\n"
      "exit status: 0 ok, 1 tuttid answered with an error (other than 4 and 5), 2 usage error,\n"
      "3 cannot reach tuttid (no socket, connection lost, timeout), 4 not found (no such\n"
      "user, conference, participant, ...), 5 conflict (exists already, or locked/full)\n";
  return s;
}

cli_exit cli_exit_for(std::string_view error_code) {
  if (error_code == "not_found") return cli_not_found;
  if (error_code == "conflict") return cli_conflict;
  return cli_command_failed;
}

std::string cli_command_usage(const cli_command& c) {
  std::string s = "usage: " + usage_line(c) + "\n\n" + std::string(c.help) + "\n";
  if (!c.api.empty()) s += "API command: " + std::string(c.api) + "\n";
  for (auto& a : c.args)
    if (!a.choices.empty()) s += std::string(a.metavar) + ": " + std::string(a.choices) + "\n";
  for (auto& o : c.options) {
    if (!o.api.empty()) s += std::string(o.flag) + ": API command " + std::string(o.api) + "\n";
    if (!o.choices.empty()) s += std::string(o.flag) + " " + std::string(o.metavar) + ": " + std::string(o.choices) + "\n";
  }
  return s;
}

result<cli_request, std::string> parse_cli(int argc, const char* const* argv) {
  cli_request r;
  if (const char* env = std::getenv("TUTTI_CONTROL_SOCKET"); env && *env)
    r.socket = env;
  else
    r.socket = default_control_socket();

  std::vector<std::string> pos;
  std::vector<std::pair<std::string, std::optional<std::string>>> named;  // command options, in order
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (options_done || a.size() < 2 || a[0] != '-' || (a[1] >= '0' && a[1] <= '9')) {
      pos.emplace_back(a);
      continue;
    }
    auto value = [&](std::string_view name) -> std::optional<std::string> {
      if (a.size() > name.size() && a[name.size()] == '=') return std::string(a.substr(name.size() + 1));
      if (i + 1 < argc) return std::string(argv[++i]);
      return std::nullopt;
    };
    if (a == "--") {
      options_done = true;
    } else if (a == "--json") {
      r.json = true;
    } else if (a == "--help" || a == "-h") {
      r.help = true;
    } else if (a == "--socket" || a.starts_with("--socket=")) {
      auto v = value("--socket");
      if (!v || v->empty()) return fail(std::string("--socket needs a PATH"));
      r.socket = *v;
    } else if (a == "--timeout" || a.starts_with("--timeout=")) {
      auto v = value("--timeout");
      int sec = 0;
      if (!v || std::from_chars(v->data(), v->data() + v->size(), sec).ptr != v->data() + v->size() ||
          sec < 1 || sec > 86400)
        return fail(std::string("--timeout needs a number of seconds (1-86400)"));
      r.timeout_ms = sec * 1000;
    } else if (auto flag = a.substr(0, a.find('=')); is_command_flag(flag)) {
      named.emplace_back(std::string(flag), value(flag));
    } else {
      return fail("unknown option '" + std::string(a) + "'");
    }
  }

  if (pos.empty()) {
    if (r.help) return r;
    return fail(std::string("no command given"));
  }
  // The longest command whose words start the positionals.
  const cli_command* best = nullptr;
  size_t best_words = 0;
  for (auto& c : cli_commands()) {
    auto w = split_words(c.words);
    if (w.size() > pos.size() || w.size() <= best_words) continue;
    if (std::equal(w.begin(), w.end(), pos.begin())) {
      best = &c;
      best_words = w.size();
    }
  }
  if (!best) {
    std::string options;
    for (auto& c : cli_commands())
      if (split_words(c.words).front() == pos.front()) options += "\n  " + usage_line(c);
    if (!options.empty()) return fail("incomplete command; one of:" + options);
    return fail("unknown command '" + pos.front() + "'");
  }
  r.command = best;
  if (r.help) return r;
  std::vector<std::string> given(pos.begin() + static_cast<ptrdiff_t>(best_words), pos.end());
  size_t required = 0;
  const bool rest = !best->args.empty() && (best->args.back().type == cli_arg_type::list ||
                                            best->args.back().type == cli_arg_type::text);
  for (auto& a : best->args) required += !a.optional;
  if (given.size() < required || (!rest && given.size() > best->args.size()))
    return fail("usage: " + usage_line(*best));

  json::object args;
  for (size_t i = 0; i < given.size() && i < best->args.size(); ++i) {
    const cli_arg& spec = best->args[i];
    if (spec.type == cli_arg_type::list) {
      json::array list;
      for (size_t k = i; k < given.size(); ++k) list.emplace_back(given[k]);
      args[spec.key] = std::move(list);
    } else if (spec.type == cli_arg_type::text) {
      std::string text;
      for (size_t k = i; k < given.size(); ++k) text += (k > i ? " " : "") + given[k];
      args[spec.key] = text;
    } else {
      auto v = convert(spec.type, spec.metavar, given[i]);
      if (!v) return fail(v.error());
      args[spec.key] = std::move(v.value());
    }
  }
  std::string_view picked;  // the API command an option picked
  for (auto& n : named) {
    const std::string& flag = n.first;  // (clang 14 cannot capture structured bindings)
    const std::optional<std::string>& v = n.second;
    auto o = std::find_if(best->options.begin(), best->options.end(), [&](auto& x) { return x.flag == flag; });
    if (o == best->options.end())
      return fail("unknown option '" + flag + "' for '" + std::string(best->words) + "'");
    if (!v) return fail(flag + " needs " + std::string(o->metavar));
    if (args.contains(o->key) || (!o->api.empty() && !picked.empty()))
      return fail("usage: " + usage_line(*best));
    auto value = convert(o->type, o->flag, *v);
    if (!value) return fail(value.error());
    args[o->key] = std::move(value.value());
    if (!o->api.empty()) picked = o->api;
  }
  bool picks = false;
  for (auto& o : best->options) {
    picks |= !o.api.empty();
    if (o.required && !args.contains(o.key)) return fail("usage: " + usage_line(*best));
  }
  if (picks) {
    if (picked.empty()) return fail("usage: " + usage_line(*best));
    r.api = std::string(picked);
    r.args = std::move(args);
  } else if (best->api.empty()) {
    // `call CMD [JSON]`: the command and its arguments come from the line itself.
    r.api = std::string(args.at("cmd").get_string());
    if (auto* a = args.if_contains("args")) r.args = a->get_object();
  } else {
    r.api = std::string(best->api);
    r.args = std::move(args);
  }
  return r;
}

// ---- rendering ----

namespace {

std::string scalar_text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return "-";
  if (v.is_double()) {
    // Shortest text that reads back the same: 0.5, 3, 1e+30 (Boost.JSON writes 5E-1).
    char buf[32];
    auto res = std::to_chars(buf, buf + sizeof buf, v.get_double());
    return std::string(buf, res.ptr);
  }
  return json::serialize(v);
}

bool is_scalar(const json::value& v) { return !v.is_object() && !v.is_array(); }

bool is_table(const json::value& v) {
  if (!v.is_array() || v.get_array().empty()) return false;
  for (auto& e : v.get_array())
    if (!e.is_object()) return false;
  return true;
}

void flatten(const json::object& o, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& rows,
             std::vector<std::pair<std::string, const json::array*>>& tables) {
  for (auto& [k, v] : o) {
    std::string key = prefix.empty() ? std::string(k) : prefix + "." + std::string(k);
    if (v.is_object()) {
      flatten(v.get_object(), key, rows, tables);
    } else if (is_table(v)) {
      tables.emplace_back(key, &v.get_array());
    } else if (v.is_array()) {
      std::string s;
      for (auto& e : v.get_array()) {
        if (!s.empty()) s += ", ";
        s += scalar_text(e);
      }
      rows.emplace_back(key, s.empty() ? "-" : s);
    } else {
      rows.emplace_back(key, scalar_text(v));
    }
  }
}

std::string render_table(const json::array& a) {
  std::vector<std::string> cols;
  for (auto& e : a)
    for (auto& [k, v] : e.get_object())
      if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.emplace_back(k);
  std::vector<std::vector<std::string>> cells(1);  // the header row, then one per element
  std::vector<size_t> width;
  for (auto& c : cols) {
    std::string h = c;
    for (auto& ch : h) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    width.push_back(h.size());
    cells.front().push_back(std::move(h));
  }
  for (auto& e : a) {
    auto& o = e.get_object();
    cells.emplace_back();
    for (size_t i = 0; i < cols.size(); ++i) {
      auto* v = o.if_contains(cols[i]);
      std::string t = !v ? "-" : is_scalar(*v) ? scalar_text(*v) : json::serialize(*v);
      width[i] = std::max(width[i], t.size());
      cells.back().push_back(std::move(t));
    }
  }
  std::string out;
  for (auto& row : cells) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] + 2 - row[i].size(), ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::string render_human(const json::value& result) {
  if (is_table(result)) return render_table(result.get_array());
  if (result.is_array() && result.get_array().empty()) return "(none)\n";  // an empty list
  if (!result.is_object()) return scalar_text(result) + "\n";
  std::vector<std::pair<std::string, std::string>> rows;
  std::vector<std::pair<std::string, const json::array*>> tables;
  flatten(result.get_object(), "", rows, tables);
  std::string out;
  size_t width = 0;
  for (auto& [k, v] : rows) width = std::max(width, k.size());
  for (auto& [k, v] : rows) {
    out += k;
    out.append(width + 2 - k.size(), ' ');
    out += v + "\n";
  }
  for (auto& [k, t] : tables) {
    if (!out.empty()) out += "\n";
    out += k + ":\n" + render_table(*t);
  }
  if (out.empty()) out = "ok\n";
  return out;
}

// ---- bash completion ----

std::string bash_completion() {
  // Next words after each command prefix: "" -> {status, help, log, ...}, "log" -> {level}.
  std::map<std::string, std::vector<std::string>> next;
  for (auto& c : cli_commands()) {
    auto w = split_words(c.words);
    std::string prefix;
    for (auto& word : w) {
      auto& v = next[prefix];
      if (std::find(v.begin(), v.end(), word) == v.end()) v.emplace_back(word);
      if (!prefix.empty()) prefix += ' ';
      prefix += word;
    }
  }
  // Command option flags, in table order, with the values completion offers for them.
  std::vector<std::pair<std::string_view, std::string_view>> flags;
  for (auto& c : cli_commands())
    for (auto& o : c.options) {
      auto f = std::find_if(flags.begin(), flags.end(), [&](auto& x) { return x.first == o.flag; });
      if (f == flags.end()) flags.emplace_back(o.flag, o.choices);
      else if (f->second.empty()) f->second = o.choices;
    }
  std::string valued = "--socket | --timeout";  // options whose next word is their value
  std::string plain;                           // of those, the ones with nothing to offer
  for (auto& [flag, choices] : flags) {
    valued += " | " + std::string(flag);
    if (choices.empty()) plain += (plain.empty() ? "" : " | ") + std::string(flag);
  }
  std::string s =
      "# bash completion for tuttictl. Generated by `tuttictl --bash-completion` from the\n"
      "# command table in control/cli.cpp; a test keeps this file equal to that output.\n"
      "_tuttictl() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
      "  case $prev in\n"
      "    --socket) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
      "    --timeout) return ;;\n";
  for (auto& [flag, choices] : flags)
    if (!choices.empty())
      s += "    " + std::string(flag) + ") COMPREPLY=($(compgen -W \"" + std::string(choices) +
           "\" -- \"$cur\")); return ;;\n";
  if (!plain.empty()) s += "    " + plain + ") return ;;\n";
  s +=
      "  esac\n"
      "  local -a pos=()\n"
      "  local i\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    case ${COMP_WORDS[i]} in\n"
      "      " + valued + ") ((i++)) ;;\n"
      "      -*) ;;\n"
      "      *) pos+=(\"${COMP_WORDS[i]}\") ;;\n"
      "    esac\n"
      "  done\n"
      "  if [[ $cur == -* ]]; then\n"
      "    local opts=\"--socket --json --timeout --help\"\n"
      "    case \"${pos[*]} \" in\n";
  for (auto& c : cli_commands()) {
    if (c.options.empty()) continue;
    std::string list;
    for (auto& o : c.options) list.append(" ").append(o.flag);
    // Appended piecewise: g++ 12 warns falsely (-Wrestrict) on chained operator+ here.
    s.append("      \"").append(c.words).append(" \"*) opts+=\"").append(list).append("\" ;;\n");
  }
  s +=
      "    esac\n"
      "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
      "    return\n"
      "  fi\n"
      "  local words=\n"
      "  case \"${pos[*]}\" in\n";
  for (auto& [prefix, words] : next) {
    std::string list;
    for (auto& w : words) {
      if (!list.empty()) list += ' ';
      list += w;
    }
    s += "    \"" + prefix + "\") words=\"" + list + "\" ;;\n";
  }
  s += "  esac\n";
  // Argument positions with known values: after the command's words, the n-th argument.
  for (auto& c : cli_commands()) {
    size_t nw = split_words(c.words).size();
    for (size_t i = 0; i < c.args.size(); ++i) {
      if (c.args[i].choices.empty()) continue;
      s += "  if ((${#pos[@]} == " + std::to_string(nw + i) + ")) && [[ \"${pos[*]:0:" +
           std::to_string(nw) + "}\" == \"" + std::string(c.words) + "\" ]]; then words=\"" +
           std::string(c.args[i].choices) + "\"; fi\n";
    }
  }
  s +=
      "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
      "}\n"
      "complete -F _tuttictl tuttictl\n";
  return s;
}

}  // namespace tutti::ctl
