// The SQLite store's schema: its migrations, the version table, and the opening of a
// connection (PRAGMAs, WAL, migration to the current version). Kept apart from the queries
// (control/sqlite_store.cpp) so a schema change is one place to read and review.
#include "control/sqlite_schema.hpp"

#include <algorithm>
#include <iterator>

namespace tutti::ctl {

namespace {

// Migrations, oldest first: migrations[i] takes the schema from version i to i + 1.
// Never edit one that has shipped; append a new one.
constexpr const char* migrations[] = {
    // v1: users and buddy lists.
    "CREATE TABLE users ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  display_name TEXT NOT NULL DEFAULT '',"
    "  ha1_md5 TEXT NOT NULL,"
    "  ha1_sha256 TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE buddies ("
    "  owner TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
    "  buddy TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
    "  PRIMARY KEY (owner, buddy)) WITHOUT ROWID;"
    "CREATE INDEX buddies_buddy ON buddies(buddy);",
    // v2: chats, their members and messages.
    "CREATE TABLE chats ("
    "  room TEXT PRIMARY KEY NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  last_seq INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "CREATE TABLE chat_members ("
    "  room TEXT NOT NULL REFERENCES chats(room) ON DELETE CASCADE,"
    "  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
    "  PRIMARY KEY (room, user)) WITHOUT ROWID;"
    "CREATE INDEX chat_members_user ON chat_members(user);"
    "CREATE TABLE messages ("
    "  room TEXT NOT NULL REFERENCES chats(room) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  sender TEXT NOT NULL,"
    "  content_type TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (room, seq));",
    // v3: each member's delivery cursor (the chat service's offline delivery). Members of
    // an existing room start at its newest message: the history is not pushed again.
    "ALTER TABLE chat_members ADD COLUMN delivered_seq INTEGER NOT NULL DEFAULT 0;"
    "UPDATE chat_members SET delivered_seq ="
    "  (SELECT last_seq FROM chats WHERE chats.room = chat_members.room);",
};
static_assert(std::size(migrations) == sqlite_schema_version);

}  // namespace

namespace sqlite_detail {

std::string errmsg(sqlite3* db) { return sqlite3_errmsg(db); }

bool exec(sqlite3* db, const char* sql, std::string* error) {
  char* msg = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &msg);
  if (rc != SQLITE_OK && error) *error = msg ? msg : sqlite3_errstr(rc);
  sqlite3_free(msg);
  return rc == SQLITE_OK;
}

}  // namespace sqlite_detail

using sqlite_detail::errmsg;
using sqlite_detail::exec;

// ---- migrations ----

result<int, std::string> sqlite_migrate(sqlite3* db, int target) {
  if (target < 1 || target > sqlite_schema_version)
    return fail("no schema version " + std::to_string(target));
  std::string e;
  if (!exec(db, "BEGIN IMMEDIATE", &e)) return fail("cannot begin migration: " + e);
  auto abort = [&](std::string m) -> result<int, std::string> {
    exec(db, "ROLLBACK");
    return fail(std::move(m));
  };
  if (!exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", &e))
    return abort("schema_version: " + e);
  int version = 0;
  bool has_row = false;
  {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &s, nullptr) != SQLITE_OK)
      return abort("schema_version: " + errmsg(db));
    if (sqlite3_step(s) == SQLITE_ROW) {
      version = sqlite3_column_int(s, 0);
      has_row = true;
    }
    sqlite3_finalize(s);
  }
  if (version > sqlite_schema_version)
    return abort("database schema v" + std::to_string(version) + " is newer than this tuttid's (v" +
                 std::to_string(sqlite_schema_version) + ")");
  for (int v = version; v < target; ++v)
    if (!exec(db, migrations[v], &e)) return abort("migration to v" + std::to_string(v + 1) + ": " + e);
  if (target > version) {
    std::string sql = has_row ? "UPDATE schema_version SET version = " + std::to_string(target)
                              : "INSERT INTO schema_version (version) VALUES (" + std::to_string(target) + ")";
    if (!exec(db, sql.c_str(), &e)) return abort("schema_version: " + e);
  }
  if (!exec(db, "COMMIT", &e)) return abort("cannot commit migration: " + e);
  return std::max(version, target);
}

// ---- opening a connection ----

result<bool, std::string> sqlite_open_database(sqlite3*& db, const std::string& path, sqlite_sync sync_mode, bool writer) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK)
    return fail("cannot open " + path + ": " + (db ? errmsg(db) : std::string("out of memory")));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  std::string e;
  if (!exec(db, "PRAGMA foreign_keys = ON", &e)) return fail(path + ": " + e);
  if (writer) {
    // WAL: readers never block the writer and a commit appends to one file (one fsync).
    sqlite3_stmt* st = nullptr;
    std::string mode;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      mode = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (mode != "wal") return fail(path + ": cannot switch to WAL mode: " + errmsg(db));
    const char* sync = sync_mode == sqlite_sync::full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";
    if (!exec(db, sync, &e)) return fail(path + ": " + e);
    auto m = sqlite_migrate(db, sqlite_schema_version);
    if (!m) return fail(path + ": " + m.error());
  } else if (!exec(db, "PRAGMA query_only = ON", &e)) {
    return fail(path + ": " + e);
  }
  return true;
}

}  // namespace tutti::ctl
