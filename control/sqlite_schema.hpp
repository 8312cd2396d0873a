// The SQLite store's schema (control/sqlite_store.hpp): the versioned tables and how a
// database file is opened and brought up to date.
//
// Model: a `schema_version` table holds one row, the version the file is at; an ordered
// list of migrations takes it from version i to i + 1, all that are due applied in one
// transaction at open, so a crash mid-migration leaves the old version intact. A database
// from a newer tuttid is refused rather than guessed at. Opening a connection sets its
// PRAGMAs: foreign keys on; the writer switches the file to WAL (readers never block the
// writer, a commit is one append and one fsync), picks the synchronous level and migrates;
// a reader is query_only.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "base/result.hpp"

namespace tutti::ctl {

// How hard a commit is made durable: full fsyncs the WAL at every commit (survives power
// loss); normal survives a crash of tuttid but may lose the last commits on power loss.
enum class sqlite_sync : uint8_t { normal, full };

// The schema version this build writes.
inline constexpr int sqlite_schema_version = 3;

// Brings `db` to schema version `target` (1..sqlite_schema_version) in one transaction;
// the version reached, or why not. Exposed for migration tests.
result<int, std::string> sqlite_migrate(sqlite3* db, int target);

// Opens `path` into `db` with the connection PRAGMAs; the writer (which may create the
// file) also switches to WAL, sets `sync_mode` and migrates to sqlite_schema_version.
// `db` is set even on failure: the caller owns the handle and closes it.
result<bool, std::string> sqlite_open_database(sqlite3*& db, const std::string& path, sqlite_sync sync_mode,
                                               bool writer);

// Small sqlite3 helpers shared by the schema and the store's queries.
namespace sqlite_detail {
// The connection's last error message.
std::string errmsg(sqlite3* db);
// Runs `sql` (no rows wanted); on failure stores the reason in `error` when given.
bool exec(sqlite3* db, const char* sql, std::string* error = nullptr);
}  // namespace sqlite_detail

}  // namespace tutti::ctl
