#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>

#include "control/metrics.hpp"
#include "control/metrics_http.hpp"
#include "tests/control/test_util.hpp"

using namespace tutti::ctl;
namespace asio = boost::asio;

namespace {

// A stand-in for a worker's counters: written by one thread, read with relaxed loads.
struct worker_counters {
  std::atomic<uint64_t> rx_packets{0};
  std::atomic<uint64_t> tick_buckets[3]{};
};

void fill(metrics_registry& r, worker_counters (&w)[2]) {
  auto& req = r.add_counter("tutti_sip_requests_total", "SIP requests received, by method",
                            {{"method", "INVITE"}});
  auto& reg = r.add_counter("tutti_sip_requests_total", "SIP requests received, by method",
                            {{"method", "REGISTER"}});
  req.inc();
  reg.inc(41);
  r.add_gauge("tutti_conferences", "conferences running").set(3);
  r.add_gauge("tutti_odd", "help with a \\ backslash\nand a newline", {{"v", "a\"b\\c\nd"}}).set(-0.25);
  auto& h = r.add_histogram("tutti_commit_seconds", "store commit time", {0.25, 1, 4});
  h.observe(0.125);
  h.observe(0.25);  // on a bound: counts in that bucket (le is inclusive)
  h.observe(2);
  h.observe(8);
  r.add_collector("tutti_worker_rx_packets_total", "packets received by each worker",
                  metric_type::counter, {"worker"}, [&w](metric_writer& out) {
                    for (int i = 0; i < 2; ++i)
                      out.value({std::to_string(i)}, w[i].rx_packets.load(std::memory_order_relaxed));
                  });
  r.add_collector(
      "tutti_worker_tick_seconds", "mix tick time", metric_type::histogram, {"worker"},
      [&w](metric_writer& out) {
        for (int i = 0; i < 2; ++i) {
          uint64_t b[3];
          for (int k = 0; k < 3; ++k) b[k] = w[i].tick_buckets[k].load(std::memory_order_relaxed);
          out.histogram({std::to_string(i)}, b, 0.5 * i);
        }
      },
      {0.001, 0.002});
}

const char* expected_text =
    "# HELP tutti_sip_requests_total SIP requests received, by method\n"
    "# TYPE tutti_sip_requests_total counter\n"
    "tutti_sip_requests_total{method=\"INVITE\"} 1\n"
    "tutti_sip_requests_total{method=\"REGISTER\"} 41\n"
    "# HELP tutti_conferences conferences running\n"
    "# TYPE tutti_conferences gauge\n"
    "tutti_conferences 3\n"
    "# HELP tutti_odd help with a \\\\ backslash\\nand a newline\n"
    "# TYPE tutti_odd gauge\n"
    "tutti_odd{v=\"a\\\"b\\\\c\\nd\"} -0.25\n"
    "# HELP tutti_commit_seconds store commit time\n"
    "# TYPE tutti_commit_seconds histogram\n"
    "tutti_commit_seconds_bucket{le=\"0.25\"} 2\n"
    "tutti_commit_seconds_bucket{le=\"1\"} 2\n"
    "tutti_commit_seconds_bucket{le=\"4\"} 3\n"
    "tutti_commit_seconds_bucket{le=\"+Inf\"} 4\n"
    "tutti_commit_seconds_sum 10.375\n"
    "tutti_commit_seconds_count 4\n"
    "# HELP tutti_worker_rx_packets_total packets received by each worker\n"
    "# TYPE tutti_worker_rx_packets_total counter\n"
    "tutti_worker_rx_packets_total{worker=\"0\"} 10\n"
    "tutti_worker_rx_packets_total{worker=\"1\"} 18446744073709551615\n"
    "# HELP tutti_worker_tick_seconds mix tick time\n"
    "# TYPE tutti_worker_tick_seconds histogram\n"
    "tutti_worker_tick_seconds_bucket{worker=\"0\",le=\"0.001\"} 5\n"
    "tutti_worker_tick_seconds_bucket{worker=\"0\",le=\"0.002\"} 5\n"
    "tutti_worker_tick_seconds_bucket{worker=\"0\",le=\"+Inf\"} 6\n"
    "tutti_worker_tick_seconds_sum{worker=\"0\"} 0\n"
    "tutti_worker_tick_seconds_count{worker=\"0\"} 6\n"
    "tutti_worker_tick_seconds_bucket{worker=\"1\",le=\"0.001\"} 0\n"
    "tutti_worker_tick_seconds_bucket{worker=\"1\",le=\"0.002\"} 7\n"
    "tutti_worker_tick_seconds_bucket{worker=\"1\",le=\"+Inf\"} 7\n"
    "tutti_worker_tick_seconds_sum{worker=\"1\"} 0.5\n"
    "tutti_worker_tick_seconds_count{worker=\"1\"} 7\n";

void set_workers(worker_counters (&w)[2]) {
  w[0].rx_packets = 10;
  w[1].rx_packets = std::numeric_limits<uint64_t>::max();
  w[0].tick_buckets[0] = 5;
  w[0].tick_buckets[2] = 1;
  w[1].tick_buckets[1] = 7;
}

}  // namespace

TEST_CASE("text exposition is exact", "[control][metrics]") {
  worker_counters w[2];
  set_workers(w);
  metrics_registry r;
  fill(r, w);
  CHECK(r.expose() == expected_text);

  // Values are read at scrape time.
  w[0].rx_packets.fetch_add(1, std::memory_order_relaxed);
  CHECK(r.expose().find("tutti_worker_rx_packets_total{worker=\"0\"} 11\n") != std::string::npos);

  CHECK(r.remove("tutti_odd"));
  CHECK_FALSE(r.remove("tutti_odd"));
  CHECK(r.expose().find("tutti_odd") == std::string::npos);
}

TEST_CASE("special values and empty families", "[control][metrics]") {
  metrics_registry r;
  r.add_gauge("g", "g", {{"k", "inf"}}).set(std::numeric_limits<double>::infinity());
  r.add_gauge("g", "g", {{"k", "ninf"}}).set(-std::numeric_limits<double>::infinity());
  r.add_gauge("g", "g", {{"k", "nan"}}).set(std::nan(""));
  r.add_gauge("g", "g", {{"k", "big"}}).set(1e21);
  r.add_collector("empty", "no samples now", metric_type::gauge, {}, [](metric_writer&) {});
  CHECK(r.expose() ==
        "# HELP g g\n# TYPE g gauge\n"
        "g{k=\"inf\"} +Inf\ng{k=\"ninf\"} -Inf\ng{k=\"nan\"} NaN\ng{k=\"big\"} 1e+21\n"
        "# HELP empty no samples now\n# TYPE empty gauge\n");
}

TEST_CASE("misuse at setup throws", "[control][metrics]") {
  metrics_registry r;
  r.add_counter("c_total", "c", {{"a", "1"}});
  CHECK_THROWS_AS(r.add_counter("c_total", "c", {{"a", "1"}}), std::logic_error);        // same labels
  CHECK_THROWS_AS(r.add_counter("c_total", "other help", {{"a", "2"}}), std::logic_error);
  CHECK_THROWS_AS(r.add_gauge("c_total", "c", {{"a", "2"}}), std::logic_error);           // type
  CHECK_THROWS_AS(r.add_counter("c_total", "c", {{"b", "2"}}), std::logic_error);         // label name
  CHECK_THROWS_AS(r.add_counter("9bad", "x"), std::logic_error);
  CHECK_THROWS_AS(r.add_counter("bad-name", "x"), std::logic_error);
  CHECK_THROWS_AS(r.add_counter("x", "x", {{"__reserved", "1"}}), std::logic_error);
  CHECK_THROWS_AS(r.add_histogram("h", "h", {0.1, 0.1}), std::logic_error);
  CHECK_THROWS_AS(r.add_histogram("h2", "h", {0.1}, {{"le", "x"}}), std::logic_error);
  CHECK_THROWS_AS(r.add_collector("c_total", "c", metric_type::counter, {"a"}, [](metric_writer&) {}),
                  std::logic_error);
  CHECK_NOTHROW(r.add_counter("c_total", "c", {{"a", "2"}}));

  metrics_registry wrong;
  wrong.add_collector("w", "w", metric_type::counter, {"a", "b"},
                      [](metric_writer& out) { out.value({"only-one"}, 1); });
  CHECK_THROWS_AS(wrong.expose(), std::logic_error);
}

TEST_CASE("the HTTP endpoint serves /metrics on an ephemeral loopback port", "[control][metrics]") {
  worker_counters w[2];
  set_workers(w);
  metrics_registry r;
  fill(r, w);
  asio::io_context io;
  logger log{logger_options{log_format::kv, log_level::off, false}, [](std::string_view) {}};
  metrics_http server(io, r, log.module("metrics"));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  uint16_t port = server.port();
  REQUIRE(port != 0);
  std::thread t([&] { io.run(); });

  std::string ok = test::http_get(port, "/metrics");
  CHECK(ok.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(ok.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != std::string::npos);
  CHECK(ok.find("\r\nContent-Length: " + std::to_string(std::string(expected_text).size()) + "\r\n") !=
        std::string::npos);
  CHECK(test::http_body(ok) == expected_text);

  std::string query = test::http_get(port, "/metrics?name[]=x");
  CHECK(test::http_body(query) == expected_text);

  std::string head = test::http_get(port, "/metrics", "HEAD");
  CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(test::http_body(head).empty());

  CHECK(test::http_get(port, "/").rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
  CHECK(test::http_get(port, "/metrics/x").rfind("HTTP/1.1 404 Not Found\r\n", 0) == 0);
  std::string post = test::http_get(port, "/metrics", "POST");
  CHECK(post.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);

  // Two requests on one kept-alive connection, the second closing it.
  std::string two = test::tcp_exchange(
      port,
      "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(two.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(two.find("HTTP/1.1 404 Not Found\r\n") != std::string::npos);

  // Garbage is dropped without an answer.
  CHECK(test::tcp_exchange(port, "\x01\x02 nonsense\r\n\r\n").empty());
  // A header block over the limit too.
  CHECK(test::tcp_exchange(port, "GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n")
            .empty());

  asio::post(io, [&] { server.stop(); });
  t.join();
  CHECK(server.stats().scrapes == 4);
  CHECK(server.stats().not_found == 4);
  CHECK(server.stats().bad_requests == 2);
}

TEST_CASE("a collector that throws gives HTTP 500", "[control][metrics]") {
  metrics_registry r;
  r.add_collector("boom", "b", metric_type::gauge, {},
                  [](metric_writer&) { throw std::runtime_error("worker gone"); });
  asio::io_context io;
  logger log{logger_options{log_format::kv, log_level::off, false}, [](std::string_view) {}};
  metrics_http server(io, r, log.module("metrics"));
  REQUIRE_FALSE(server.listen("127.0.0.1", 0));
  std::thread t([&] { io.run(); });
  CHECK(test::http_get(server.port(), "/metrics").rfind("HTTP/1.1 500 Internal Server Error\r\n", 0) == 0);
  asio::post(io, [&] { server.stop(); });
  t.join();
  CHECK(server.stats().failed == 1);
}
