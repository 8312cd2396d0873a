#include "control/cli.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <map>
#include <set>

#include "control/config.hpp"

namespace tutti::ctl {

namespace json = boost::json;

const std::vector<cli_command>& cli_commands() {
  static const std::vector<cli_command> table = {
      {"status", "status", "show version, uptime, pid and the effective configuration", {}},
      {"help", "help", "list every API command tuttid serves (use them with 'call')", {}},
      {"log level", "log.level", "show log levels, or set MODULE's level ('*': every module)",
       {{"module", "MODULE", cli_arg_type::string, true, ""},
        {"level", "LEVEL", cli_arg_type::string, true, "trace debug info warn error off"}}},
      {"config reload", "config.reload",
       "re-read the configuration file; apply live keys, list keys that need a restart", {}},
      {"call", "", "call any API command with JSON arguments",
       {{"cmd", "CMD", cli_arg_type::string, false, "status help log.level config.reload"},
        {"args", "JSON", cli_arg_type::json_object, true, ""}}},
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

std::string usage_line(const cli_command& c) {
  std::string s = "tuttictl [OPTIONS] " + std::string(c.words);
  size_t optional = 0;
  for (auto& a : c.args) {
    s += ' ';
    if (a.optional) {
      s += '[';
      ++optional;
    }
    s += a.metavar;
  }
  s.append(optional, ']');
  return s;
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
      "exit status: 0 ok, 1 tuttid answered with an error, 2 usage error,\n"
      "3 cannot reach tuttid (no socket, connection lost, timeout)\n";
  return s;
}

std::string cli_command_usage(const cli_command& c) {
  std::string s = "usage: " + usage_line(c) + "\n\n" + std::string(c.help) + "\n";
  if (!c.api.empty()) s += "API command: " + std::string(c.api) + "\n";
  for (auto& a : c.args)
    if (!a.choices.empty()) s += std::string(a.metavar) + ": " + std::string(a.choices) + "\n";
  return s;
}

result<cli_request, std::string> parse_cli(int argc, const char* const* argv) {
  cli_request r;
  if (const char* env = std::getenv("TUTTI_CONTROL_SOCKET"); env && *env)
    r.socket = env;
  else
    r.socket = default_control_socket();

  std::vector<std::string> pos;
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
  for (auto& a : best->args) required += !a.optional;
  if (given.size() < required || given.size() > best->args.size())
    return fail("usage: " + usage_line(*best));

  json::object args;
  for (size_t i = 0; i < given.size(); ++i) {
    const cli_arg& spec = best->args[i];
    const std::string& v = given[i];
    switch (spec.type) {
      case cli_arg_type::string:
        args[spec.key] = v;
        break;
      case cli_arg_type::integer: {
        int64_t n = 0;
        auto res = std::from_chars(v.data(), v.data() + v.size(), n);
        if (v.empty() || res.ec != std::errc() || res.ptr != v.data() + v.size())
          return fail(std::string(spec.metavar) + " must be an integer, not '" + v + "'");
        args[spec.key] = n;
        break;
      }
      case cli_arg_type::json_object: {
        std::error_code ec;
        json::value j = json::parse(v, ec);
        if (ec || !j.is_object())
          return fail(std::string(spec.metavar) + " must be a JSON object, like '{\"key\":1}'");
        args[spec.key] = std::move(j);
        break;
      }
    }
  }
  if (best->api.empty()) {
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
  std::string s =
      "# bash completion for tuttictl. Generated by `tuttictl --bash-completion` from the\n"
      "# command table in control/cli.cpp; a test keeps this file equal to that output.\n"
      "_tuttictl() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
      "  case $prev in\n"
      "    --socket) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
      "    --timeout) return ;;\n"
      "  esac\n"
      "  if [[ $cur == -* ]]; then\n"
      "    COMPREPLY=($(compgen -W \"--socket --json --timeout --help\" -- \"$cur\"))\n"
      "    return\n"
      "  fi\n"
      "  local -a pos=()\n"
      "  local i\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    case ${COMP_WORDS[i]} in\n"
      "      --socket | --timeout) ((i++)) ;;\n"
      "      -*) ;;\n"
      "      *) pos+=(\"${COMP_WORDS[i]}\") ;;\n"
      "    esac\n"
      "  done\n"
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
