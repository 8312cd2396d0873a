// The operator's path end to end: the real tuttictl against a running tuttid (one worker,
// media ports found free at run time), every command an operator uses to run the box —
// users, buddies, chats, conferences, participants, workers, stats, log levels, config
// reload, metrics — in human and --json output, with their exit statuses.
#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <string>
#include <vector>

#include "tests/control/e2e_util.hpp"

using namespace tutti::ctl;
using namespace tutti::ctl::test;
namespace json = boost::json;

namespace {

struct cli {
  tuttid_proc& d;

  run_result operator()(std::vector<std::string> args) const {
    args.insert(args.begin(), {TUTTICTL_PATH, "--socket", d.socket});
    return run(d.dir, args);
  }
  // The "result" of a --json call that must succeed.
  json::value ok(std::vector<std::string> args) const {
    args.insert(args.begin(), "--json");
    const run_result r = (*this)(args);
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    std::error_code ec;
    json::value v = json::parse(r.out, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(v.at("ok").as_bool());
    return v.at("result");
  }
};

std::string str(const json::value& v) { return std::string(v.as_string()); }

}  // namespace

TEST_CASE("tuttictl drives every runtime object of a running tuttid", "[control][e2e][cli]") {
  temp_dir dir;
  const std::string cfg = dir / "tuttid.toml";
  write_text(cfg, "[log]\nlevel = \"info\"\n");
  tuttid_proc d(dir, TUTTID_PATH,
                {"--config", cfg, "--domain", "example.net", "--workers", "1", "--media-ports", free_udp_range(16)});
  REQUIRE(d.ready());
  const cli ctl{d};

  SECTION("every command has --help, and a wrong one is a usage error") {
    for (std::vector<std::string> c :
         {std::vector<std::string>{"status"}, {"user", "add"}, {"user", "del"}, {"user", "list"}, {"user", "passwd"},
          {"buddy", "add"}, {"buddy", "del"}, {"buddy", "list"}, {"chat", "create"}, {"chat", "list"},
          {"chat", "show"}, {"chat", "history"}, {"conf", "create"}, {"conf", "destroy"}, {"conf", "list"},
          {"conf", "show"}, {"conf", "lock"}, {"conf", "unlock"}, {"conf", "add-rtp"}, {"part", "mute"},
          {"part", "unmute"}, {"part", "deaf"}, {"part", "gain"}, {"part", "kick"}, {"workers"}, {"stats"},
          {"log", "level"}, {"config", "reload"}}) {
      std::string words;
      for (auto& w : c) words += (words.empty() ? "" : " ") + w;
      c.push_back("--help");
      const run_result r = ctl(c);
      INFO(words);
      CHECK(r.status == 0);
      CHECK(r.out.rfind("usage: tuttictl [OPTIONS] " + words, 0) == 0);
    }
    CHECK(ctl({"conf", "lock"}).status == 2);              // NAME missing
    CHECK(ctl({"part", "kick", "room", "x"}).status == 2);  // ID must be an integer
    CHECK(ctl({"conf"}).err.find("incomplete command; one of:\n  tuttictl [OPTIONS] conf create NAME") !=
          std::string::npos);
  }

  SECTION("users, buddies and chats") {
    const run_result add = ctl({"user", "add", "alice", "--password", "pw1", "--display", "Alice A"});
    CHECK(add.status == 0);
    CHECK(add.out == "name          alice\ndisplay_name  Alice A\n");
    ctl.ok({"user", "add", "bob", "--password", "pw2"});
    CHECK(ctl({"user", "list"}).out == "NAME   DISPLAY_NAME\nalice  Alice A\nbob    \n");
    const run_result dup = ctl({"user", "add", "bob", "--password", "x"});
    CHECK(dup.status == 5);
    CHECK(dup.err == "tuttictl: conflict: user 'bob' exists\n");
    CHECK(str(ctl.ok({"user", "passwd", "alice", "--password", "new"}).at("name")) == "alice");
    const run_result nobody = ctl({"user", "passwd", "carol", "--password", "x"});
    CHECK(nobody.status == 4);
    CHECK(nobody.err == "tuttictl: not_found: no user 'carol'\n");

    ctl.ok({"buddy", "add", "alice", "bob"});
    CHECK(ctl({"buddy", "list", "alice"}).out == "user     alice\nbuddies  bob\n");
    ctl.ok({"buddy", "del", "alice", "bob"});
    CHECK(ctl.ok({"buddy", "list", "alice"}).at("buddies").as_array().empty());

    const auto room = ctl.ok({"chat", "create", "lobby", "alice", "bob"});
    CHECK(room.at("members").as_array().size() == 2);
    CHECK(ctl({"chat", "list"}).out.find("\nlobby ") != std::string::npos);
    CHECK(ctl.ok({"chat", "send", "lobby", "--from", "alice", "hello", "all"}).at("seq").as_int64() == 1);
    const auto show = ctl.ok({"chat", "show", "lobby"});
    CHECK(show.at("last_seq").as_int64() == 1);
    const auto history = ctl.ok({"chat", "history", "lobby"});
    REQUIRE(history.at("messages").as_array().size() == 1);
    CHECK(str(history.at("messages").as_array()[0].at("body")) == "hello all");
    CHECK(ctl({"chat", "history", "nowhere"}).status == 4);

    CHECK(str(ctl.ok({"user", "del", "bob"}).at("deleted")) == "bob");
    CHECK(ctl({"user", "del", "bob"}).status == 4);
    const auto stats = ctl.ok({"stats"});
    CHECK(stats.at("users").as_int64() == 1);
    CHECK(stats.at("messages_stored").as_int64() == 1);
  }

  SECTION("conferences and participants: lock, mute, deafen, gain, kick") {
    const run_result created = ctl({"conf", "create", "room", "--rate", "8000", "--speakers", "2"});
    CHECK(created.status == 0);
    CHECK(created.out.find("name          room\n") != std::string::npos);
    CHECK(created.out.find("locked        false\n") != std::string::npos);
    CHECK(ctl({"conf", "create", "room"}).status == 5);
    CHECK(ctl({"conf", "create", "bad", "--rate", "11025"}).status == 1);  // invalid_args

    const auto p = ctl.ok({"conf", "add-rtp", "room", "--remote", "127.0.0.1:9", "--codec", "pcmu"});
    const std::string id = std::to_string(p.at("participant").as_int64());
    CHECK(p.at("local_port").as_int64() > 0);
    CHECK(str(p.at("codec")) == "pcmu");

    const run_result list = ctl({"conf", "list"});
    CHECK(list.status == 0);
    CHECK(list.out.rfind("NAME  ID  WORKER  RATE_HZ  SPEAKERS  LOCKED  PARTICIPANTS  SPEAKING\n", 0) == 0);
    CHECK(list.out.find("\nroom  ") != std::string::npos);

    // A locked conference refuses a new participant (conflict) and keeps the ones it has.
    CHECK(ctl.ok({"conf", "lock", "room"}).at("locked").as_bool());
    const run_result refused = ctl({"conf", "add-rtp", "room", "--remote", "127.0.0.1:9", "--codec", "pcmu"});
    CHECK(refused.status == 5);
    CHECK(refused.err == "tuttictl: conflict: conference 'room' is locked\n");
    const auto locked = ctl.ok({"conf", "show", "room"});
    CHECK(locked.at("locked").as_bool());
    CHECK(locked.at("members").as_array().size() == 1);
    CHECK_FALSE(ctl.ok({"conf", "unlock", "room"}).at("locked").as_bool());
    const auto second = ctl.ok({"conf", "add-rtp", "room", "--remote", "127.0.0.1:11", "--codec", "pcma"});
    CHECK(ctl({"conf", "lock", "nowhere"}).status == 4);

    CHECK(ctl.ok({"part", "mute", "room", id}).at("muted").as_bool());
    CHECK_FALSE(ctl.ok({"part", "unmute", "room", id}).at("muted").as_bool());
    CHECK(ctl.ok({"part", "deaf", "room", id}).at("deaf").as_bool());
    CHECK(ctl.ok({"part", "gain", "room", id, "--in", "-6"}).at("in_gain_db").as_double() == -6.0);
    CHECK(ctl.ok({"part", "gain", "room", id, "--out", "3.5"}).at("out_gain_db").as_double() == 3.5);
    CHECK(ctl({"part", "gain", "room", id}).status == 2);  // --in or --out
    const run_result human = ctl({"part", "mute", "room", id});
    CHECK(human.out.find("muted        true\n") != std::string::npos);

    const auto show = ctl.ok({"conf", "show", "room"});
    REQUIRE(show.at("members").as_array().size() == 2);
    const auto& m = show.at("members").as_array()[0];
    CHECK(m.at("muted").as_bool());
    CHECK(m.at("deaf").as_bool());
    CHECK(m.at("in_gain_db").as_double() == -6.0);

    CHECK(ctl.ok({"part", "kick", "room", id}).at("removed").as_int64() == std::stoll(id));
    const run_result gone = ctl({"part", "kick", "room", id});
    CHECK(gone.status == 4);
    CHECK(gone.err == "tuttictl: not_found: no participant " + id + "\n");
    CHECK(ctl({"part", "mute", "nowhere", "1"}).status == 4);
    CHECK(ctl.ok({"conf", "show", "room"}).at("members").as_array().size() == 1);

    // Workers publish their snapshot every 100 ms: wait for the one after the kick.
    auto workers = ctl.ok({"workers"});
    for (int i = 0; i < 100 && workers.as_array().at(0).at("participants").as_int64() != 1; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      workers = ctl.ok({"workers"});
    }
    REQUIRE(workers.as_array().size() == 1);
    const auto& w = workers.as_array()[0];
    CHECK(w.at("conferences").as_int64() == 1);
    CHECK(w.at("participants").as_int64() == 1);
    for (const char* key : {"jitter_depth", "decode_us", "encode_us", "tick_p99_us", "rx_dropped"})
      CHECK(w.as_object().contains(key));
    CHECK(ctl({"workers"}).out.rfind("WORKER  CONFERENCES  PARTICIPANTS  LOAD", 0) == 0);

    // The metrics an operator watches, from the endpoint status names.
    const std::string endpoint = str(ctl.ok({"status"}).at("metrics").at("endpoint"));
    const std::string text = http_get(static_cast<uint16_t>(std::stoi(endpoint.substr(10))), "/metrics");
    for (const char* line :
         {"\ntutti_conferences 1\n", "\ntutti_participants 1\n", "\ntutti_speakers 0\n",
          "\ntutti_registrations 0\n", "\ntutti_register_requests_total{outcome=\"accepted\"} 0\n",
          "\ntutti_calls{direction=\"in\"} 0\n", "\ntutti_call_events_total{event=\"joined\"} 0\n",
          "\ntutti_presence_publications 0\n", "\ntutti_chat_messages_accepted_total 0\n",
          "\n# TYPE tutti_events_subscriptions gauge\n",
          "\n# TYPE tutti_worker_tick_duration_seconds histogram\n",
          "\ntutti_worker_tick_duration_seconds_bucket{worker=\"0\",le=\"+Inf\"} ",
          "\ntutti_worker_codec_sampled_seconds_total{worker=\"0\",op=\"decode\"} ",
          "\ntutti_worker_codec_sampled_calls_total{worker=\"0\",op=\"encode\"} ",
          "\ntutti_worker_jitter_depth_packets{worker=\"0\"} ",
          "\ntutti_worker_packets_total{worker=\"0\",direction=\"rx\"} ",
          "\ntutti_worker_rx_dropped_total{worker=\"0\",reason=\"unknown_port\"} ",
          "\ntutti_worker_tx_dropped_total{worker=\"0\",reason=\"no_buffer\"} "}) {
      INFO(line);
      CHECK(text.find(line) != std::string::npos);
    }

    CHECK(str(ctl.ok({"conf", "destroy", "room"}).at("destroyed")) == "room");
    CHECK(ctl({"conf", "destroy", "room"}).status == 4);
    CHECK(ctl({"conf", "list"}).out == "(none)\n");
    (void)second;
  }

  SECTION("status, log level and config reload") {
    const run_result st = ctl({"status"});
    CHECK(st.status == 0);
    CHECK(st.out.find("\npid ") != std::string::npos);
    CHECK(ctl({"log", "level", "media", "debug"}).status == 0);
    CHECK(str(ctl.ok({"log", "level", "media"}).at("level")) == "debug");
    CHECK(ctl({"log", "level", "nosuch", "debug"}).status == 4);
    const run_result loud = ctl({"log", "level", "media", "loud"});
    CHECK(loud.status == 1);  // invalid_args: not one of the levels
    CHECK(loud.err.rfind("tuttictl: invalid_args: ", 0) == 0);

    write_text(cfg, "[log]\nlevel = \"warn\"\n");
    const auto reload = ctl.ok({"config", "reload"});
    REQUIRE(reload.at("applied").as_array().size() == 1);
    CHECK(str(reload.at("applied").as_array()[0].at("key")) == "log.level");
    write_text(cfg, "[log]\nlevel = \"shouting\"\n");
    CHECK(ctl({"config", "reload"}).status == 1);  // invalid_config
  }

  CHECK(ctl({"call", "no.such"}).status == 1);
  CHECK(d.stop(SIGTERM) == 0);
  CHECK(run(dir, {TUTTICTL_PATH, "--socket", d.socket, "status"}).status == 3);
}
