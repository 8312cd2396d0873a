// tutti-bench-store: durable chat-message throughput of the SQLite store with group commit.
// Keeps WINDOW appends in flight (as many SIP MESSAGE transactions waiting on the store),
// spread over ROOMS rooms, and counts completions, each of which means "committed and
// fsynced as `--sync` says". Prints one JSON object: per-run rates, median and spread.
//
//   tutti-bench-store [--sync full|normal] [--messages N] [--window W] [--rooms R]
//                     [--runs K] [--dir DIR]
#include <boost/asio/io_context.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "control/sqlite_store.hpp"

using namespace tutti::ctl;

int main(int argc, char** argv) {
  std::string sync = "full", dir = "/tmp";
  long messages = 20000, window = 256, rooms = 16, runs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--sync") sync = v;
    else if (a == "--messages") messages = std::atol(v.c_str());
    else if (a == "--window") window = std::atol(v.c_str());
    else if (a == "--rooms") rooms = std::atol(v.c_str());
    else if (a == "--runs") runs = std::atol(v.c_str());
    else if (a == "--dir") dir = v;
    else {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    }
  }
  if ((sync != "full" && sync != "normal") || messages < 1 || window < 1 || rooms < 1 || runs < 1) {
    std::cerr << "bad arguments\n";
    return 2;
  }
  std::vector<double> rates;
  uint64_t batches = 0, batch_jobs = 0;
  for (long run = 0; run < runs; ++run) {
    const std::string path = dir + "/tutti-bench-store-" + std::to_string(::getpid()) + ".db";
    for (auto sfx : {"", "-wal", "-shm"}) std::filesystem::remove(path + sfx);
    boost::asio::io_context io;
    sqlite_store_options o;
    o.path = path;
    o.realm = "bench";
    o.sync = sync == "full" ? sqlite_sync::full : sqlite_sync::normal;
    auto opened = sqlite_store::open(io, o);
    if (!opened) {
      std::cerr << opened.error() << "\n";
      return 1;
    }
    auto& s = *opened.value();
    // Setup, untimed: one user, the rooms.
    s.user_add("u", "pw", "", [](auto) {});
    for (long r = 0; r < rooms; ++r) s.chat_create("room" + std::to_string(r), {"u"}, [](auto) {});
    io.run();
    io.restart();
    s.on_batch([&](const store_batch_stats& b) {
      ++batches;
      batch_jobs += b.jobs;
    });
    long issued = 0, done = 0, failed = 0;
    const std::string body(120, 'x');  // a typical short IM
    std::function<void()> issue = [&] {
      const std::string room = "room" + std::to_string(issued % rooms);
      ++issued;
      s.append_message(room, "u", "text/plain", body, [&](store_result<message_record> r) {
        ++done;
        failed += !r.ok();
        if (issued < messages) issue();
      });
    };
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < window && issued < messages; ++i) issue();
    io.run();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (failed) {
      std::cerr << failed << " appends failed\n";
      return 1;
    }
    rates.push_back(double(done) / secs);
    bool closed = false;
    s.close([&] { closed = true; });
    io.restart();
    io.run();
    opened.value().reset();
    for (auto sfx : {"", "-wal", "-shm"}) std::filesystem::remove(path + sfx);
  }
  auto sorted = rates;
  std::sort(sorted.begin(), sorted.end());
  std::printf("{\"bench\":\"store_append\",\"sync\":\"%s\",\"messages\":%ld,\"window\":%ld,\"rooms\":%ld,"
              "\"runs\":%ld,\"messages_per_s\":[",
              sync.c_str(), messages, window, rooms, runs);
  for (size_t i = 0; i < rates.size(); ++i) std::printf("%s%.0f", i ? "," : "", rates[i]);
  std::printf("],\"median\":%.0f,\"min\":%.0f,\"max\":%.0f,\"mean_batch\":%.1f}\n", sorted[sorted.size() / 2],
              sorted.front(), sorted.back(), batches ? double(batch_jobs) / double(batches) : 0.0);
  return 0;
}
