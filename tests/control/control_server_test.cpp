// The control server over a real Unix socket, in process: the server's io_context runs on
// its own thread (the control thread), clients are blocking control_clients on the test
// thread. Nothing waits on time except the clients' hang guards.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <cstring>
#include <future>
#include <thread>
#include <vector>

#include "control/commands.hpp"
#include "control/control_client.hpp"
#include "control/control_server.hpp"
#include "tests/control/test_util.hpp"

using namespace tutti::ctl;
namespace json = boost::json;
namespace asio = boost::asio;

namespace {

struct server_fixture {
  test::temp_dir dir;
  std::string path = dir / "ctl.sock";
  asio::io_context io;
  command_registry reg;
  std::vector<command_reply> parked;  // touched only on the io thread
  logger log{logger_options{log_format::kv, log_level::off, false}, [](std::string_view) {}};
  std::optional<control_server> server;
  std::thread thread;

  explicit server_fixture(control_server_options o = {}) {
    reg.register_command(
        "echo", sync_command_handler([](const json::object& a) -> command_result { return json::value(a); }),
        "");
    reg.register_command(
        "park", command_handler([this](const json::object&, command_reply r) { parked.push_back(r); }), "");
    reg.register_command("release", sync_command_handler([this](const json::object&) -> command_result {
                           size_t n = parked.size();
                           for (auto& r : parked) r.ok(json::object{{"released", true}});
                           parked.clear();
                           return json::value(json::object{{"count", n}});
                         }),
                         "");
    o.socket_path = path;
    server.emplace(io, reg, log.module("control"), o);
    REQUIRE_FALSE(server->listen());
    thread = std::thread([this] { io.run(); });
  }

  // Stops the server on its thread and waits; afterwards stats are safe to read.
  void stop() {
    if (!thread.joinable()) return;
    asio::post(io, [this] { server->stop(); });
    thread.join();
  }

  ~server_fixture() { stop(); }

  control_client connect() {
    auto c = control_client::connect(path);
    REQUIRE(c.ok());
    return std::move(*c);
  }
};

}  // namespace

TEST_CASE("control round trip with several clients", "[control][control_server]") {
  server_fixture f;
  std::vector<control_client> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(f.connect());
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 8; ++i) {
      auto r = clients[i].call("echo", json::object{{"client", i}, {"round", round}});
      REQUIRE(r.ok());
      CHECK(r->at("ok").as_bool());
      CHECK(json::serialize(r->at("result")) ==
            "{\"client\":" + std::to_string(i) + ",\"round\":" + std::to_string(round) + "}");
    }
  clients.clear();
  f.stop();
  CHECK(f.server->stats().accepted == 8);
  CHECK(f.server->stats().requests == 24);
}

TEST_CASE("errors come back as responses and the connection stays usable",
          "[control][control_server]") {
  server_fixture f;
  auto c = f.connect();
  REQUIRE(c.send_raw("this is not json\n").ok());
  auto line = c.read_line();
  REQUIRE(line.ok());
  auto bad = json::parse(*line).as_object();
  CHECK(bad.at("ok").as_bool() == false);
  CHECK(bad.at("error").at("code").as_string() == "bad_json");

  auto r = c.call("no.such.command");
  REQUIRE(r.ok());
  CHECK(response_outcome(*r).error().code == "unknown_command");

  // Blank lines and CRLF endings are tolerated.
  REQUIRE(c.send_raw("\n  \r\n{\"id\":41,\"cmd\":\"echo\",\"args\":{\"k\":1}}\r\n").ok());
  line = c.read_line();
  REQUIRE(line.ok());
  CHECK(*line == R"({"id":41,"ok":true,"result":{"k":1}})");
}

TEST_CASE("responses may come out of order; ids pair them", "[control][control_server]") {
  server_fixture f;
  auto a = f.connect();
  auto b = f.connect();
  REQUIRE(a.send_raw("{\"id\":1,\"cmd\":\"park\"}\n{\"id\":2,\"cmd\":\"echo\"}\n").ok());
  auto first = a.read_line();
  REQUIRE(first.ok());
  CHECK(*first == R"({"id":2,"ok":true,"result":{}})");
  auto rel = b.call("release");
  REQUIRE(rel.ok());
  CHECK(json::serialize(rel->at("result")) == R"({"count":1})");
  auto second = a.read_line();
  REQUIRE(second.ok());
  CHECK(*second == R"({"id":1,"ok":true,"result":{"released":true}})");
}

TEST_CASE("an oversized line gets an error and the connection closes",
          "[control][control_server]") {
  control_server_options o;
  o.max_line_bytes = 1024;
  server_fixture f(o);
  auto c = f.connect();
  // Exactly at the limit is fine.
  std::string ok_line = R"({"id":1,"cmd":"echo","args":{"pad":")";
  ok_line += std::string(1024 - ok_line.size() - 3, 'x') + "\"}}";
  REQUIRE(ok_line.size() == 1024);
  REQUIRE(c.send_raw(ok_line + "\n").ok());
  auto r = c.read_line();
  REQUIRE(r.ok());
  CHECK(json::parse(*r).at("ok").as_bool());

  REQUIRE(c.send_raw(std::string(3000, 'y')).ok());
  auto err = c.read_line();
  REQUIRE(err.ok());
  CHECK(json::parse(*err).at("error").at("code").as_string() == "line_too_long");
  auto after = c.read_line();
  REQUIRE_FALSE(after.ok());
  CHECK(after.error().reason == client_error::closed);

  // Others are unaffected.
  auto other = f.connect();
  CHECK(other.call("echo").ok());
  f.stop();
  CHECK(f.server->stats().lines_too_long == 1);
}

TEST_CASE("a half-closed client still gets its answers", "[control][control_server]") {
  server_fixture f;
  auto c = f.connect();
  REQUIRE(c.send_raw("{\"id\":1,\"cmd\":\"echo\"}\n{\"id\":2,\"cmd\":\"echo\"}").ok());  // last without \n
  c.shutdown_send();
  auto one = c.read_line();
  auto two = c.read_line();
  REQUIRE(one.ok());
  REQUIRE(two.ok());
  CHECK(*one == R"({"id":1,"ok":true,"result":{}})");
  CHECK(*two == R"({"id":2,"ok":true,"result":{}})");
  auto end = c.read_line();
  REQUIRE_FALSE(end.ok());
  CHECK(end.error().reason == client_error::closed);
}

TEST_CASE("clients beyond the limit are refused with busy", "[control][control_server]") {
  control_server_options o;
  o.max_clients = 2;
  server_fixture f(o);
  auto a = f.connect();
  auto b = f.connect();
  REQUIRE(a.call("echo").ok());  // both accepted by now
  REQUIRE(b.call("echo").ok());
  auto c = f.connect();
  auto line = c.read_line();
  REQUIRE(line.ok());
  CHECK(json::parse(*line).at("error").at("code").as_string() == "busy");
  CHECK_FALSE(c.read_line().ok());
  CHECK(a.call("echo").ok());
  f.stop();
  CHECK(f.server->stats().rejected == 1);
}

TEST_CASE("stop closes clients and removes the socket file", "[control][control_server]") {
  server_fixture f;
  auto c = f.connect();
  REQUIRE(c.call("echo").ok());
  f.stop();
  struct stat st{};
  CHECK(::stat(f.path.c_str(), &st) != 0);
  auto r = c.call("echo", {}, 5000);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().reason == client_error::closed);
  CHECK(control_client::connect(f.path).error().reason == client_error::connect);
}

TEST_CASE("listen replaces stale sockets but not live ones or other files",
          "[control][control_server]") {
  test::temp_dir dir;
  asio::io_context io;
  command_registry reg;
  logger log{logger_options{log_format::kv, log_level::off, false}, [](std::string_view) {}};
  control_server_options o;

  SECTION("stale socket file") {
    o.socket_path = dir / "stale.sock";
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, o.socket_path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    ::close(fd);  // leaves the file, nobody listening
    control_server s(io, reg, log.module("c"), o);
    CHECK_FALSE(s.listen());
  }
  SECTION("a live server") {
    o.socket_path = dir / "live.sock";
    control_server first(io, reg, log.module("c"), o);
    REQUIRE_FALSE(first.listen());
    control_server second(io, reg, log.module("c"), o);
    CHECK(second.listen() == std::errc::address_in_use);
  }
  SECTION("a regular file") {
    o.socket_path = dir / "file";
    test::write_text(o.socket_path, "keep me");
    control_server s(io, reg, log.module("c"), o);
    CHECK(s.listen() == std::errc::file_exists);
    CHECK(test::read_text(o.socket_path) == "keep me");
  }
  SECTION("a missing folder is created") {
    o.socket_path = dir / "run/tutti/t.sock";
    control_server s(io, reg, log.module("c"), o);
    CHECK_FALSE(s.listen());
    struct stat st{};
    REQUIRE(::stat(o.socket_path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0660);
  }
}
