// The SQLite store: migrations, every operation, sequence order and group commit, reopen,
// and durability of acknowledged messages across SIGKILL of the writing process.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "control/sqlite_store.hpp"
#include "signalling/digest.hpp"
#include "tests/control/test_util.hpp"

using namespace tutti::ctl;
namespace asio = boost::asio;

namespace {

constexpr const char* realm = "example.net";

sqlite_store_options options(const test::temp_dir& dir, sqlite_sync sync = sqlite_sync::full) {
  sqlite_store_options o;
  o.path = dir / "tutti.db";
  o.realm = realm;
  o.sync = sync;
  return o;
}

std::unique_ptr<sqlite_store> open_store(asio::io_context& io, const sqlite_store_options& o) {
  auto s = sqlite_store::open(io, o);
  INFO((s ? std::string() : s.error()));
  REQUIRE(s.ok());
  return std::move(s.value());
}

// Issues one store call and runs the io_context until its completion has run (pending
// jobs hold work on it, so run() returns once they are all answered).
template <typename T, typename Call>
store_result<T> wait(asio::io_context& io, Call call) {
  std::optional<store_result<T>> out;
  call([&](store_result<T> r) { out.emplace(std::move(r)); });
  io.restart();
  io.run();
  REQUIRE(out.has_value());
  return std::move(*out);
}

void close_store(asio::io_context& io, std::unique_ptr<sqlite_store>& s) {
  bool closed = false;
  s->close([&] { closed = true; });
  io.restart();
  io.run();
  REQUIRE(closed);
  s.reset();
}

// Rows of a one-column integer query on a raw connection.
std::vector<int64_t> column(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
  std::vector<int64_t> v;
  while (sqlite3_step(st) == SQLITE_ROW) v.push_back(sqlite3_column_int64(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

void add_user(asio::io_context& io, store& s, const std::string& name) {
  REQUIRE(wait<user_record>(io, [&](auto cb) { s.user_add(name, "pw-" + name, "", cb); }).ok());
}

}  // namespace

TEST_CASE("a v1 database is migrated to the current schema, keeping its rows", "[control][store]") {
  test::temp_dir dir;
  auto o = options(dir);
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(o.path.c_str(), &db) == SQLITE_OK);
    auto v1 = sqlite_migrate(db, 1);
    REQUIRE(v1.ok());
    CHECK(*v1 == 1);
    std::string md5 = tutti::sig::digest_ha1(tutti::sig::digest_algorithm::md5, "old", realm, "pw");
    std::string sha = tutti::sig::digest_ha1(tutti::sig::digest_algorithm::sha256, "old", realm, "pw");
    std::string sql = "INSERT INTO users VALUES ('old', 'Old Timer', '" + md5 + "', '" + sha + "')";
    REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    // v1 has no chats yet.
    CHECK(sqlite3_exec(db, "SELECT * FROM chats", nullptr, nullptr, nullptr) != SQLITE_OK);
    sqlite3_close(db);
  }
  CHECK(column(o.path, "SELECT version FROM schema_version") == std::vector<int64_t>{1});

  asio::io_context io;
  auto s = open_store(io, o);
  CHECK(column(o.path, "SELECT version FROM schema_version") == std::vector<int64_t>{sqlite_schema_version});
  auto creds = s->credentials("old");
  REQUIRE(creds);
  CHECK(creds->ha1_md5 == tutti::sig::digest_ha1(tutti::sig::digest_algorithm::md5, "old", realm, "pw"));
  auto u = wait<user_record>(io, [&](auto cb) { s->user_get("old", cb); });
  REQUIRE(u.ok());
  CHECK(u->display_name == "Old Timer");
  // The v2 tables work on the migrated file.
  REQUIRE(wait<chat_record>(io, [&](auto cb) { s->chat_create("r", {"old"}, cb); }).ok());
  auto m = wait<message_record>(io, [&](auto cb) { s->append_message("r", "old", "text/plain", "hi", cb); });
  REQUIRE(m.ok());
  CHECK(m->seq == 1);
  close_store(io, s);

  // Migrating again is a no-op; a database from a newer build is refused.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(o.path.c_str(), &db) == SQLITE_OK);
  CHECK(*sqlite_migrate(db, sqlite_schema_version) == sqlite_schema_version);
  CHECK(sqlite_migrate(db, sqlite_schema_version + 1).error() == "no schema version 4");
  REQUIRE(sqlite3_exec(db, "UPDATE schema_version SET version = 9", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto newer = sqlite_store::open(io, o);
  REQUIRE_FALSE(newer.ok());
  CHECK(newer.error() == o.path + ": database schema v9 is newer than this tuttid's (v3)");
}

TEST_CASE("users: add, get, list, passwd, del; only HA1s are stored", "[control][store]") {
  test::temp_dir dir;
  asio::io_context io;
  auto s = open_store(io, options(dir));
  using tutti::sig::digest_algorithm;
  using tutti::sig::digest_ha1;

  auto a = wait<user_record>(io, [&](auto cb) { s->user_add("alice", "s3cret", "Alice", cb); });
  REQUIRE(a.ok());
  CHECK(a->ha1_md5 == digest_ha1(digest_algorithm::md5, "alice", realm, "s3cret"));
  CHECK(a->ha1_sha256 == digest_ha1(digest_algorithm::sha256, "alice", realm, "s3cret"));
  CHECK(a->ha1_md5.size() == 32);
  CHECK(a->ha1_sha256.size() == 64);
  REQUIRE(s->credentials("alice"));
  CHECK(s->credentials("alice")->ha1_sha256 == a->ha1_sha256);
  CHECK_FALSE(s->credentials("bob"));

  auto dup = wait<user_record>(io, [&](auto cb) { s->user_add("alice", "x", "", cb); });
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().code == store_errc::conflict);
  CHECK(dup.error().message == "user 'alice' exists");
  auto no_pw = wait<user_record>(io, [&](auto cb) { s->user_add("carol", "", "", cb); });
  CHECK(no_pw.error().code == store_errc::invalid);
  auto spaced = wait<user_record>(io, [&](auto cb) { s->user_add("a b", "x", "", cb); });
  CHECK(spaced.error().code == store_errc::invalid);
  add_user(io, *s, "bob");

  auto list = wait<std::vector<user_record>>(io, [&](auto cb) { s->user_list(cb); });
  REQUIRE(list.ok());
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].name == "alice");
  CHECK((*list)[0].display_name == "Alice");
  CHECK((*list)[1].name == "bob");
  CHECK(s->user_count() == 2);

  auto p = wait<user_record>(io, [&](auto cb) { s->user_set_password("alice", "n3w", cb); });
  REQUIRE(p.ok());
  CHECK(p->ha1_md5 == digest_ha1(digest_algorithm::md5, "alice", realm, "n3w"));
  CHECK(p->display_name == "Alice");
  CHECK(s->credentials("alice")->ha1_md5 == p->ha1_md5);
  CHECK(wait<user_record>(io, [&](auto cb) { s->user_set_password("zed", "x", cb); }).error().code ==
        store_errc::not_found);
  auto g = wait<user_record>(io, [&](auto cb) { s->user_get("alice", cb); });
  CHECK(g->ha1_sha256 == digest_ha1(digest_algorithm::sha256, "alice", realm, "n3w"));

  // No column holds the password.
  auto rows = column(options(dir).path,
                     "SELECT count(*) FROM users WHERE name || display_name || ha1_md5 || ha1_sha256 LIKE '%n3w%'");
  CHECK(rows == std::vector<int64_t>{0});

  REQUIRE(wait<bool>(io, [&](auto cb) { s->user_del("alice", cb); }).ok());
  CHECK_FALSE(s->credentials("alice"));
  auto gone = wait<bool>(io, [&](auto cb) { s->user_del("alice", cb); });
  CHECK(gone.error().code == store_errc::not_found);
  CHECK(gone.error().message == "no user 'alice'");
  CHECK(wait<user_record>(io, [&](auto cb) { s->user_get("alice", cb); }).error().code == store_errc::not_found);
  CHECK(s->user_count() == 1);
}

TEST_CASE("buddy lists", "[control][store]") {
  test::temp_dir dir;
  asio::io_context io;
  auto s = open_store(io, options(dir));
  for (auto n : {"alice", "bob", "carol"}) add_user(io, *s, n);

  REQUIRE(wait<bool>(io, [&](auto cb) { s->buddy_add("alice", "carol", cb); }).ok());
  REQUIRE(wait<bool>(io, [&](auto cb) { s->buddy_add("alice", "bob", cb); }).ok());
  REQUIRE(wait<bool>(io, [&](auto cb) { s->buddy_add("bob", "alice", cb); }).ok());
  CHECK(wait<bool>(io, [&](auto cb) { s->buddy_add("alice", "bob", cb); }).error().code == store_errc::conflict);
  CHECK(wait<bool>(io, [&](auto cb) { s->buddy_add("alice", "zed", cb); }).error().message == "no user 'zed'");
  CHECK(wait<bool>(io, [&](auto cb) { s->buddy_add("alice", "alice", cb); }).error().code == store_errc::invalid);

  auto l = wait<std::vector<std::string>>(io, [&](auto cb) { s->buddy_list("alice", cb); });
  REQUIRE(l.ok());
  CHECK(*l == std::vector<std::string>{"bob", "carol"});
  CHECK(wait<std::vector<std::string>>(io, [&](auto cb) { s->buddy_list("zed", cb); }).error().code ==
        store_errc::not_found);

  REQUIRE(wait<bool>(io, [&](auto cb) { s->buddy_del("alice", "carol", cb); }).ok());
  CHECK(wait<bool>(io, [&](auto cb) { s->buddy_del("alice", "carol", cb); }).error().code == store_errc::not_found);
  // Deleting a user takes them off every list.
  REQUIRE(wait<bool>(io, [&](auto cb) { s->user_del("bob", cb); }).ok());
  CHECK(wait<std::vector<std::string>>(io, [&](auto cb) { s->buddy_list("alice", cb); })->empty());
}

TEST_CASE("buddy_set replaces a whole list, all or nothing", "[control][store]") {
  test::temp_dir dir;
  asio::io_context io;
  auto s = open_store(io, options(dir));
  for (auto n : {"alice", "bob", "carol", "dan"}) add_user(io, *s, n);
  using list = std::vector<std::string>;
  auto set = [&](std::string owner, list l) {
    return wait<list>(io, [&](auto cb) { s->buddy_set(owner, l, cb); });
  };
  auto get = [&](std::string owner) { return *wait<list>(io, [&](auto cb) { s->buddy_list(owner, cb); }); };
  REQUIRE(wait<bool>(io, [&](auto cb) { s->buddy_add("alice", "dan", cb); }).ok());

  // Duplicates fold, the answer is the sorted new list, dan (not named) is gone.
  auto r = set("alice", {"carol", "bob", "carol"});
  REQUIRE(r.ok());
  CHECK(*r == list{"bob", "carol"});
  CHECK(get("alice") == list{"bob", "carol"});

  // A refused set changes nothing.
  CHECK(set("alice", {"dan", "zed"}).error().message == "no user 'zed'");
  CHECK(set("alice", {"bob", "alice"}).error().code == store_errc::invalid);
  CHECK(set("zed", {"bob"}).error().code == store_errc::not_found);
  CHECK(get("alice") == list{"bob", "carol"});

  // Another owner's list is untouched; an empty list clears.
  REQUIRE(set("bob", {"alice"}).ok());
  REQUIRE(set("alice", {}).ok());
  CHECK(get("alice").empty());
  CHECK(get("bob") == list{"alice"});
}

TEST_CASE("chats, members, messages and history", "[control][store]") {
  test::temp_dir dir;
  asio::io_context io;
  auto s = open_store(io, options(dir));
  for (auto n : {"alice", "bob", "carol"}) add_user(io, *s, n);

  auto c = wait<chat_record>(io, [&](auto cb) { s->chat_create("lobby", {"bob", "alice", "bob"}, cb); });
  REQUIRE(c.ok());
  CHECK(c->room == "lobby");
  CHECK(c->members == std::vector<std::string>{"alice", "bob"});
  CHECK(c->last_seq == 0);
  CHECK(c->created_at_ms > 0);
  CHECK(wait<chat_record>(io, [&](auto cb) { s->chat_create("lobby", {}, cb); }).error().code == store_errc::conflict);
  auto bad = wait<chat_record>(io, [&](auto cb) { s->chat_create("x", {"alice", "zed"}, cb); });
  CHECK(bad.error().message == "no user 'zed'");
  REQUIRE(wait<chat_record>(io, [&](auto cb) { s->chat_create("empty", {}, cb); }).ok());

  auto list = wait<std::vector<chat_record>>(io, [&](auto cb) { s->chat_list(cb); });
  REQUIRE(list->size() == 2);  // "x" was refused as a whole
  CHECK((*list)[0].room == "empty");
  CHECK((*list)[1].room == "lobby");

  REQUIRE(wait<bool>(io, [&](auto cb) { s->chat_add_member("lobby", "carol", cb); }).ok());
  CHECK(wait<bool>(io, [&](auto cb) { s->chat_add_member("lobby", "carol", cb); }).error().code == store_errc::conflict);
  CHECK(wait<bool>(io, [&](auto cb) { s->chat_add_member("nope", "carol", cb); }).error().message == "no chat 'nope'");
  REQUIRE(wait<bool>(io, [&](auto cb) { s->chat_remove_member("lobby", "alice", cb); }).ok());
  CHECK(wait<bool>(io, [&](auto cb) { s->chat_remove_member("lobby", "alice", cb); }).error().code ==
        store_errc::not_found);
  CHECK(wait<chat_record>(io, [&](auto cb) { s->chat_show("lobby", cb); })->members ==
        std::vector<std::string>{"bob", "carol"});
  CHECK(wait<chat_record>(io, [&](auto cb) { s->chat_show("nope", cb); }).error().code == store_errc::not_found);

  for (int i = 1; i <= 5; ++i) {
    auto m = wait<message_record>(io, [&](auto cb) {
      s->append_message("lobby", i % 2 ? "bob" : "carol", "text/plain", "m" + std::to_string(i), cb);
    });
    REQUIRE(m.ok());
    CHECK(m->seq == uint64_t(i));
  }
  CHECK(wait<message_record>(io, [&](auto cb) { s->append_message("nope", "bob", "text/plain", "x", cb); })
            .error().code == store_errc::not_found);
  auto h = wait<std::vector<message_record>>(io, [&](auto cb) { s->history("lobby", 1, 3, cb); });
  REQUIRE(h.ok());
  REQUIRE(h->size() == 3);
  CHECK((*h)[0].seq == 2);
  CHECK((*h)[0].sender == "carol");
  CHECK((*h)[0].body == "m2");
  CHECK((*h)[0].content_type == "text/plain");
  CHECK((*h)[2].seq == 4);
  CHECK(wait<std::vector<message_record>>(io, [&](auto cb) { s->history("lobby", 5, 10, cb); })->empty());
  CHECK(wait<std::vector<message_record>>(io, [&](auto cb) { s->history("nope", 0, 10, cb); }).error().code ==
        store_errc::not_found);
  CHECK(wait<chat_record>(io, [&](auto cb) { s->chat_show("lobby", cb); })->last_seq == 5);

  // Messages outlive their sender's account.
  REQUIRE(wait<bool>(io, [&](auto cb) { s->user_del("bob", cb); }).ok());
  CHECK(wait<std::vector<message_record>>(io, [&](auto cb) { s->history("lobby", 0, 10, cb); })->size() == 5);

  close_store(io, s);
}

TEST_CASE("delivery cursors: load, raise, join at the newest message, membership version", "[control][store]") {
  test::temp_dir dir;
  asio::io_context io;
  auto s = open_store(io, options(dir));
  for (auto n : {"alice", "bob", "carol"}) add_user(io, *s, n);
  const uint64_t v0 = s->membership_version();
  REQUIRE(wait<chat_record>(io, [&](auto cb) { s->chat_create("lobby", {"alice", "bob"}, cb); }).ok());
  CHECK(s->membership_version() == v0 + 1);
  for (int i = 0; i < 3; ++i)
    REQUIRE(wait<message_record>(io, [&](auto cb) { s->append_message("lobby", "alice", "text/plain", "x", cb); }).ok());

  auto st = wait<chat_state>(io, [&](auto cb) { s->chat_load("lobby", cb); });
  REQUIRE(st.ok());
  CHECK(st->last_seq == 3);
  REQUIRE(st->members.size() == 2);
  CHECK(st->members[0].user == "alice");
  CHECK(st->members[0].delivered_seq == 0);
  CHECK(wait<chat_state>(io, [&](auto cb) { s->chat_load("nope", cb); }).error().code == store_errc::not_found);

  // Raised, never lowered; a non-member is reported, not an error.
  CHECK(*wait<bool>(io, [&](auto cb) { s->set_delivered("lobby", "bob", 2, cb); }));
  CHECK(*wait<bool>(io, [&](auto cb) { s->set_delivered("lobby", "bob", 1, cb); }));
  CHECK_FALSE(*wait<bool>(io, [&](auto cb) { s->set_delivered("lobby", "carol", 1, cb); }));
  // carol joins at seq 3: nothing before her arrival is pushed to her.
  REQUIRE(wait<bool>(io, [&](auto cb) { s->chat_add_member("lobby", "carol", cb); }).ok());
  CHECK(s->membership_version() == v0 + 2);
  st = wait<chat_state>(io, [&](auto cb) { s->chat_load("lobby", cb); });
  REQUIRE(st->members.size() == 3);
  CHECK(st->members[1].delivered_seq == 2);
  CHECK(st->members[2].user == "carol");
  CHECK(st->members[2].delivered_seq == 3);

  REQUIRE(wait<chat_record>(io, [&](auto cb) { s->chat_create("attic", {"carol"}, cb); }).ok());
  CHECK(*wait<std::vector<std::string>>(io, [&](auto cb) { s->rooms_of("carol", cb); }) ==
        std::vector<std::string>{"attic", "lobby"});
  CHECK(wait<std::vector<std::string>>(io, [&](auto cb) { s->rooms_of("zed", cb); })->empty());
  REQUIRE(wait<bool>(io, [&](auto cb) { s->chat_remove_member("lobby", "carol", cb); }).ok());
  REQUIRE(wait<bool>(io, [&](auto cb) { s->user_del("bob", cb); }).ok());
  CHECK(s->membership_version() == v0 + 5);
  CHECK(wait<chat_state>(io, [&](auto cb) { s->chat_load("lobby", cb); })->members.size() == 1);
  close_store(io, s);
}

TEST_CASE("a v2 database gets cursors at each room's newest message", "[control][store]") {
  test::temp_dir dir;
  auto o = options(dir);
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(o.path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite_migrate(db, 2).ok());
    const char* rows =
        "INSERT INTO users VALUES ('a', '', 'x', 'y');"
        "INSERT INTO chats VALUES ('r', 1, 7);"
        "INSERT INTO chat_members VALUES ('r', 'a');";
    REQUIRE(sqlite3_exec(db, rows, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  asio::io_context io;
  auto s = open_store(io, o);
  auto st = wait<chat_state>(io, [&](auto cb) { s->chat_load("r", cb); });
  REQUIRE(st.ok());
  REQUIRE(st->members.size() == 1);
  CHECK(st->members[0].delivered_seq == 7);
  close_store(io, s);
}

TEST_CASE("queued appends commit together, in issue order per room", "[control][store]") {
  test::temp_dir dir;
  asio::io_context io;
  auto o = options(dir);
  o.max_batch = 64;
  auto s = open_store(io, o);
  add_user(io, *s, "u");
  for (auto r : {"r0", "r1", "r2"}) REQUIRE(wait<chat_record>(io, [&](auto cb) { s->chat_create(r, {"u"}, cb); }).ok());

  std::vector<store_batch_stats> batches;
  s->on_batch([&](const store_batch_stats& b) { batches.push_back(b); });

  // Hold the database's write lock so the writer stalls on its first transaction while
  // every append below queues up behind it.
  sqlite3* blocker = nullptr;
  REQUIRE(sqlite3_open(o.path.c_str(), &blocker) == SQLITE_OK);
  REQUIRE(sqlite3_exec(blocker, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);

  constexpr int per_room = 100;
  std::vector<std::pair<int, uint64_t>> done;  // (issue index, seq) in completion order
  int refused = 0;
  for (int i = 0; i < 3 * per_room; ++i) {
    std::string room = std::string("r").append(std::to_string(i % 3));
    std::string body = std::string("m").append(std::to_string(i));
    s->append_message(room, "u", "text/plain", body, [&, i, body](store_result<message_record> r) {
      REQUIRE(r.ok());
      CHECK(r->body == body);
      done.emplace_back(i, r->seq);
    });
    if (i == 150)  // a refused job in the middle undoes only itself
      s->append_message("nope", "u", "text/plain", "x", [&](store_result<message_record> r) {
        CHECK(r.error().code == store_errc::not_found);
        ++refused;
      });
  }
  REQUIRE(sqlite3_exec(blocker, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(blocker);
  io.restart();
  io.run();

  REQUIRE(done.size() == 3 * per_room);
  CHECK(refused == 1);
  for (size_t k = 0; k < done.size(); ++k) {
    CHECK(done[k].first == int(k));                    // completions in issue order
    CHECK(done[k].second == uint64_t(k / 3 + 1));      // each room numbered 1, 2, 3, ...
  }
  uint32_t jobs = 0, messages = 0;
  for (auto& b : batches) {
    CHECK(b.ok);
    CHECK(b.jobs <= 64);
    jobs += b.jobs;
    messages += b.messages;
  }
  CHECK(jobs == 3 * per_room + 1);
  CHECK(messages == 3 * per_room);
  // All but the writer's first transaction were full batches.
  CHECK(batches.size() <= 1 + (3 * per_room + 1 + 63) / 64);
  CHECK(batches.size() < 10);
  CHECK(column(o.path, "SELECT seq FROM messages WHERE room = 'r1' ORDER BY seq").size() == per_room);
}

TEST_CASE("everything is found again after close and reopen; closed stores refuse calls", "[control][store]") {
  test::temp_dir dir;
  asio::io_context io;
  auto o = options(dir, sqlite_sync::normal);
  auto s = open_store(io, o);
  add_user(io, *s, "alice");
  add_user(io, *s, "bob");
  REQUIRE(wait<bool>(io, [&](auto cb) { s->buddy_add("alice", "bob", cb); }).ok());
  REQUIRE(wait<chat_record>(io, [&](auto cb) { s->chat_create("r", {"alice", "bob"}, cb); }).ok());
  // Queued, not awaited: close() drains them.
  for (int i = 0; i < 10; ++i) s->append_message("r", "alice", "text/plain", std::to_string(i), [](auto r) { REQUIRE(r.ok()); });
  close_store(io, s);

  s = open_store(io, o);
  CHECK(s->credentials("bob"));
  CHECK(s->user_count() == 2);
  CHECK(*wait<std::vector<std::string>>(io, [&](auto cb) { s->buddy_list("alice", cb); }) ==
        std::vector<std::string>{"bob"});
  auto c = wait<chat_record>(io, [&](auto cb) { s->chat_show("r", cb); });
  CHECK(c->members.size() == 2);
  CHECK(c->last_seq == 10);
  auto h = wait<std::vector<message_record>>(io, [&](auto cb) { s->history("r", 0, 100, cb); });
  REQUIRE(h->size() == 10);
  CHECK(h->back().body == "9");
  auto m = wait<message_record>(io, [&](auto cb) { s->append_message("r", "bob", "text/plain", "next", cb); });
  CHECK(m->seq == 11);

  bool closed = false;
  s->close([&] { closed = true; });
  auto late = wait<bool>(io, [&](auto cb) { s->buddy_add("bob", "alice", cb); });
  CHECK(closed);
  CHECK(late.error().code == store_errc::io);
  CHECK(late.error().message == "store is closed");
}

TEST_CASE("every message acknowledged before SIGKILL is in the database, in order", "[control][store][crash]") {
  test::temp_dir dir;
  auto o = options(dir);
  {
    asio::io_context io;
    auto s = open_store(io, o);
    add_user(io, *s, "u");
    REQUIRE(wait<chat_record>(io, [&](auto cb) { s->chat_create("r", {"u"}, cb); }).ok());
    close_store(io, s);  // no store threads remain when we fork
  }
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The writer: keeps 32 appends in flight and reports each seq once acknowledged.
    ::close(fds[0]);
    asio::io_context io;
    auto s = sqlite_store::open(io, o);
    if (!s) ::_exit(10);
    sqlite_store& st = **s;
    std::function<void()> issue;
    issue = [&] {
      st.append_message("r", "u", "text/plain", std::string(200, 'x'), [&](store_result<message_record> r) {
        if (!r) ::_exit(11);
        uint64_t seq = r->seq;
        if (::write(fds[1], &seq, sizeof seq) != sizeof seq) ::_exit(12);
        issue();
      });
    };
    for (int i = 0; i < 32; ++i) issue();
    io.run();
    ::_exit(13);
  }
  ::close(fds[1]);
  std::vector<uint64_t> reported;
  auto read_one = [&] {
    uint64_t seq = 0;
    size_t got = 0;
    while (got < sizeof seq) {
      ssize_t n = ::read(fds[0], reinterpret_cast<char*>(&seq) + got, sizeof seq - got);
      if (n <= 0) return false;
      got += size_t(n);
    }
    reported.push_back(seq);
    return true;
  };
  while (reported.size() < 300 && read_one()) {
  }
  REQUIRE(reported.size() == 300);  // else the child died early (see its exit status)
  ::kill(pid, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  while (read_one()) {  // what it acknowledged before dying, still in the pipe
  }
  ::close(fds[0]);

  for (size_t i = 0; i < reported.size(); ++i) CHECK(reported[i] == i + 1);
  auto stored = column(o.path, "SELECT seq FROM messages WHERE room = 'r' ORDER BY seq");
  INFO("reported " << reported.size() << ", stored " << stored.size());
  REQUIRE(stored.size() >= reported.size());
  for (size_t i = 0; i < stored.size(); ++i) CHECK(stored[i] == int64_t(i + 1));

  // And the store opens on it and carries on from there.
  asio::io_context io;
  auto s = open_store(io, o);
  auto m = wait<message_record>(io, [&](auto cb) { s->append_message("r", "u", "text/plain", "after", cb); });
  REQUIRE(m.ok());
  CHECK(m->seq == stored.size() + 1);
}
