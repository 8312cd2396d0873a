#include "control/sqlite_store.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <algorithm>
#include <chrono>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "signalling/digest.hpp"

namespace tutti::ctl {

std::string_view to_string(store_errc e) noexcept {
  switch (e) {
    case store_errc::not_found: return "not_found";
    case store_errc::conflict: return "conflict";
    case store_errc::invalid: return "invalid";
    case store_errc::io: return "io";
  }
  return "io";
}

namespace {

using work_guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

store_error err(store_errc c, std::string m) { return {c, std::move(m)}; }

}  // namespace

using sqlite_detail::errmsg;
using sqlite_detail::exec;

// ---- connection and statements ----

class sqlite_store::connection {
 public:
  sqlite3* db = nullptr;
  ~connection() {
    for (auto& [sql, s] : cache_) sqlite3_finalize(s);
    if (db) sqlite3_close_v2(db);
  }
  // The prepared statement for `sql` (a string literal: cached by address); null on error.
  sqlite3_stmt* prepare(const char* sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second;
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) return nullptr;
    cache_.emplace(sql, s);
    return s;
  }

 private:
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

namespace {

using connection = sqlite_store::connection;

// One use of a cached statement; reset when it goes out of scope. Bound strings must
// outlive it (they are bound without copying).
class query {
 public:
  query(connection& c, const char* sql) : c_(c), s_(c.prepare(sql)) {}
  ~query() {
    if (s_) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }
  query(const query&) = delete;
  query& operator=(const query&) = delete;
  query& bind(int i, std::string_view v) {
    if (s_) sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  query& bind(int i, int64_t v) {
    if (s_) sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return s_ ? sqlite3_step(s_) : SQLITE_ERROR; }
  std::string text(int col) {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }
  int64_t integer(int col) { return sqlite3_column_int64(s_, col); }
  // The failure of the last step, classified.
  store_error failure(std::string_view what) const {
    int ext = sqlite3_extended_errcode(c_.db);
    std::string m(what);
    m += ": ";
    m += errmsg(c_.db);
    if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
      return err(store_errc::conflict, std::move(m));
    if (ext == SQLITE_CONSTRAINT_FOREIGNKEY) return err(store_errc::not_found, std::move(m));
    return err(store_errc::io, std::move(m));
  }

 private:
  connection& c_;
  sqlite3_stmt* s_;
};

// Runs a statement that returns no rows; the number of rows changed, or the failure.
store_result<int> run(connection& c, query& q, std::string_view what) {
  int rc = q.step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return fail(q.failure(what));
  return sqlite3_changes(c.db);
}

store_result<bool> exists(connection& c, const char* sql, std::string_view key) {
  query q(c, sql);
  q.bind(1, key);
  int rc = q.step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return fail(q.failure("lookup"));
}

store_result<bool> require_user(connection& c, std::string_view name) {
  auto e = exists(c, "SELECT 1 FROM users WHERE name = ?1", name);
  if (!e) return e;
  if (!*e) return fail(err(store_errc::not_found, "no user '" + std::string(name) + "'"));
  return true;
}

store_result<bool> require_room(connection& c, std::string_view room) {
  auto e = exists(c, "SELECT 1 FROM chats WHERE room = ?1", room);
  if (!e) return e;
  if (!*e) return fail(err(store_errc::not_found, "no chat '" + std::string(room) + "'"));
  return true;
}

store_result<user_record> get_user(connection& c, std::string_view name) {
  query q(c, "SELECT name, display_name, ha1_md5, ha1_sha256 FROM users WHERE name = ?1");
  q.bind(1, name);
  int rc = q.step();
  if (rc == SQLITE_ROW) return user_record{q.text(0), q.text(1), q.text(2), q.text(3)};
  if (rc == SQLITE_DONE) return fail(err(store_errc::not_found, "no user '" + std::string(name) + "'"));
  return fail(q.failure("user lookup"));
}

store_result<std::vector<user_record>> all_users(connection& c) {
  query q(c, "SELECT name, display_name, ha1_md5, ha1_sha256 FROM users ORDER BY name");
  std::vector<user_record> v;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) v.push_back({q.text(0), q.text(1), q.text(2), q.text(3)});
  if (rc != SQLITE_DONE) return fail(q.failure("user list"));
  return v;
}

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (unsigned char ch : s)
    if (ch < 0x21 || ch == 0x7f) return false;  // no spaces or controls: names go into SIP URIs
  return true;
}

}  // namespace

// ---- open and close ----

struct sqlite_store::write_job {
  // Runs inside the batch's transaction, in its own savepoint; returns the completion to
  // post once the transaction commits, and whether it appended a message.
  std::function<std::pair<std::function<void()>, bool>(connection&)> apply;
  // The completion to post instead when the transaction fails.
  std::function<void(store_error)> fail_all;
  work_guard guard;
};

sqlite_store::sqlite_store(boost::asio::io_context& io, sqlite_store_options opts)
    : io_(io), opts_(std::move(opts)) {}

result<std::unique_ptr<sqlite_store>, std::string> sqlite_store::open(boost::asio::io_context& io,
                                                                      sqlite_store_options opts) {
  std::unique_ptr<sqlite_store> s(new sqlite_store(io, std::move(opts)));
  auto open_conn = [&](bool writer) -> result<std::unique_ptr<connection>, std::string> {
    auto c = std::make_unique<connection>();
    if (auto o = sqlite_open_database(c->db, s->opts_.path, s->opts_.sync, writer); !o) return fail(o.error());
    return c;
  };
  auto w = open_conn(true);
  if (!w) return fail(w.error());
  s->wconn_ = std::move(w.value());
  auto r = open_conn(false);
  if (!r) return fail(r.error());
  s->rconn_ = std::move(r.value());
  // The credential cache: read once here, then kept in step by the user writes.
  auto users = all_users(*s->rconn_);
  if (!users) return fail(s->opts_.path + ": " + users.error().message);
  for (auto& u : *users) s->creds_.emplace(u.name, user_credentials{u.ha1_md5, u.ha1_sha256});
  s->running_ = 2;
  s->writer_ = std::thread([p = s.get()] { p->writer_loop(); });
  s->reader_ = std::thread([p = s.get()] { p->reader_loop(); });
  return s;
}

sqlite_store::~sqlite_store() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    close_done_ = nullptr;
  }
  wcv_.notify_all();
  rcv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (reader_.joinable()) reader_.join();
}

void sqlite_store::close(std::function<void()> done) {
  if (closed_) {
    boost::asio::post(io_, std::move(done));
    return;
  }
  closed_ = true;
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    // Holds work on io_ until `done` has run, so io_.run() waits for the drain.
    close_done_ = [done = std::move(done), g = boost::asio::make_work_guard(io_)]() mutable {
      done();
      g.reset();
    };
  }
  wcv_.notify_all();
  rcv_.notify_all();
}

// The last thread to finish posts the close completion (it joins both on the control thread).
void sqlite_store::thread_finished() {
  if (--running_ != 0) return;
  std::function<void()> done;
  {
    std::lock_guard lk(mu_);
    done = std::move(close_done_);
  }
  if (!done) return;  // the destructor is stopping us
  boost::asio::post(io_, [this, done = std::move(done)] {
    if (writer_.joinable()) writer_.join();
    if (reader_.joinable()) reader_.join();
    wconn_.reset();
    rconn_.reset();
    done();
  });
}

// ---- the threads ----

void sqlite_store::writer_loop() {
  connection& c = *wconn_;
  std::vector<write_job> batch;
  std::vector<std::function<void()>> completions;
  for (;;) {
    batch.clear();
    {
      std::unique_lock lk(mu_);
      wcv_.wait(lk, [&] { return !wq_.empty() || stop_; });
      if (wq_.empty()) break;
      while (!wq_.empty() && batch.size() < opts_.max_batch) {
        batch.push_back(std::move(wq_.front()));
        wq_.pop_front();
      }
    }
    const auto t0 = std::chrono::steady_clock::now();
    completions.clear();
    store_batch_stats st;
    st.jobs = static_cast<uint32_t>(batch.size());
    std::string e;
    bool ok = exec(c.db, "BEGIN IMMEDIATE", &e);
    for (size_t i = 0; ok && i < batch.size(); ++i) {
      // A savepoint per job: a refused job rolls back alone.
      if (!exec(c.db, "SAVEPOINT job", &e)) {
        ok = false;
        break;
      }
      auto [completion, appended] = batch[i].apply(c);
      completions.push_back(std::move(completion));
      st.messages += appended;
      if (!exec(c.db, "RELEASE job", &e)) ok = false;
    }
    if (ok) ok = exec(c.db, "COMMIT", &e);
    if (!ok) {
      exec(c.db, "ROLLBACK");
      completions.clear();
      st.messages = 0;
      for (auto& j : batch) completions.push_back([f = j.fail_all, e] { f(err(store_errc::io, "commit failed: " + e)); });
    }
    st.ok = ok;
    st.commit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::vector<work_guard> guards;
    guards.reserve(batch.size());
    for (auto& j : batch) guards.push_back(std::move(j.guard));
    boost::asio::post(io_, [this, st, cs = std::move(completions), gs = std::move(guards)]() mutable {
      if (on_batch_) on_batch_(st);
      for (auto& f : cs) f();
      for (auto& g : gs) g.reset();
    });
  }
  thread_finished();
}

void sqlite_store::reader_loop() {
  for (;;) {
    read_job job;
    {
      std::unique_lock lk(mu_);
      rcv_.wait(lk, [&] { return !rq_.empty() || stop_; });
      if (rq_.empty()) break;
      job = std::move(rq_.front());
      rq_.pop_front();
    }
    job(*rconn_);
  }
  thread_finished();
}

// `apply(connection&) -> store_result<T>` runs on the writer inside the transaction.
template <typename T, typename F>
void sqlite_store::write(bool message, store_callback<T> cb, F apply) {
  if (closed_) {
    boost::asio::post(io_, [cb = std::move(cb)] { cb(fail(err(store_errc::io, "store is closed"))); });
    return;
  }
  write_job j{
      [cb, apply = std::move(apply), message](connection& c) mutable -> std::pair<std::function<void()>, bool> {
        store_result<T> r = apply(c);
        // A refused job undoes its own changes only (the savepoint is released after).
        if (!r.ok()) exec(c.db, "ROLLBACK TO job");
        bool appended = message && r.ok();
        return {[cb, r = std::move(r)] { cb(r); }, appended};
      },
      [cb](store_error e) { cb(fail(std::move(e))); },
      boost::asio::make_work_guard(io_)};
  {
    std::lock_guard lk(mu_);
    wq_.push_back(std::move(j));
  }
  wcv_.notify_one();
}

// `query(connection&) -> store_result<T>` runs on the reader.
template <typename T, typename F>
void sqlite_store::read(store_callback<T> cb, F query) {
  if (closed_) {
    boost::asio::post(io_, [cb = std::move(cb)] { cb(fail(err(store_errc::io, "store is closed"))); });
    return;
  }
  read_job j = [this, cb, query = std::move(query), g = boost::asio::make_work_guard(io_)](connection& c) mutable {
    store_result<T> r = query(c);
    boost::asio::post(io_, [cb, r = std::move(r), g]() mutable {
      cb(std::move(r));
      g.reset();
    });
  };
  {
    std::lock_guard lk(mu_);
    rq_.push_back(std::move(j));
  }
  rcv_.notify_one();
}

// ---- users ----

void sqlite_store::user_add(std::string name, std::string password, std::string display_name,
                            store_callback<user_record> cb) {
  if (!valid_name(name) || password.empty()) {
    boost::asio::post(io_, [cb = std::move(cb)] {
      cb(fail(err(store_errc::invalid, "a user needs a name (no spaces) and a password")));
    });
    return;
  }
  user_record u{name, std::move(display_name), sig::digest_ha1(sig::digest_algorithm::md5, name, opts_.realm, password),
                sig::digest_ha1(sig::digest_algorithm::sha256, name, opts_.realm, password)};
  auto done = [this, cb = std::move(cb)](store_result<user_record> r) {
    if (r) creds_.insert_or_assign(r->name, user_credentials{r->ha1_md5, r->ha1_sha256});
    cb(std::move(r));
  };
  write<user_record>(false, std::move(done), [u = std::move(u)](connection& c) -> store_result<user_record> {
    query q(c, "INSERT INTO users (name, display_name, ha1_md5, ha1_sha256) VALUES (?1, ?2, ?3, ?4)");
    q.bind(1, u.name).bind(2, u.display_name).bind(3, u.ha1_md5).bind(4, u.ha1_sha256);
    auto r = run(c, q, "user add");
    if (!r) {
      if (r.error().code == store_errc::conflict) return fail(err(store_errc::conflict, "user '" + u.name + "' exists"));
      return fail(r.error());
    }
    return u;
  });
}

void sqlite_store::user_del(std::string name, store_callback<bool> cb) {
  auto done = [this, name, cb = std::move(cb)](store_result<bool> r) {
    if (r) {
      creds_.erase(name);
      ++membership_version_;  // the user's memberships went with them
    }
    const bool ok = r.ok();
    cb(std::move(r));
    if (ok) membership_changed({});
  };
  write<bool>(false, std::move(done), [name](connection& c) -> store_result<bool> {
    query q(c, "DELETE FROM users WHERE name = ?1");
    q.bind(1, name);
    auto r = run(c, q, "user del");
    if (!r) return fail(r.error());
    if (*r == 0) return fail(err(store_errc::not_found, "no user '" + name + "'"));
    return true;
  });
}

void sqlite_store::user_set_password(std::string name, std::string password, store_callback<user_record> cb) {
  if (password.empty()) {
    boost::asio::post(io_, [cb = std::move(cb)] { cb(fail(err(store_errc::invalid, "the password is empty"))); });
    return;
  }
  std::string md5 = sig::digest_ha1(sig::digest_algorithm::md5, name, opts_.realm, password);
  std::string sha = sig::digest_ha1(sig::digest_algorithm::sha256, name, opts_.realm, password);
  auto done = [this, cb = std::move(cb)](store_result<user_record> r) {
    if (r) creds_.insert_or_assign(r->name, user_credentials{r->ha1_md5, r->ha1_sha256});
    cb(std::move(r));
  };
  write<user_record>(false, std::move(done), [name, md5, sha](connection& c) -> store_result<user_record> {
    query q(c, "UPDATE users SET ha1_md5 = ?2, ha1_sha256 = ?3 WHERE name = ?1");
    q.bind(1, name).bind(2, md5).bind(3, sha);
    auto r = run(c, q, "user passwd");
    if (!r) return fail(r.error());
    if (*r == 0) return fail(err(store_errc::not_found, "no user '" + name + "'"));
    return get_user(c, name);
  });
}

void sqlite_store::user_get(std::string name, store_callback<user_record> cb) {
  read<user_record>(std::move(cb), [name](connection& c) { return get_user(c, name); });
}

void sqlite_store::user_list(store_callback<std::vector<user_record>> cb) {
  read<std::vector<user_record>>(std::move(cb), [](connection& c) { return all_users(c); });
}

std::optional<user_credentials> sqlite_store::credentials(std::string_view user) const {
  auto it = creds_.find(user);
  if (it == creds_.end()) return std::nullopt;
  return it->second;
}

// ---- buddies ----

void sqlite_store::buddy_add(std::string owner, std::string buddy, store_callback<bool> cb) {
  write<bool>(false, std::move(cb), [owner, buddy](connection& c) -> store_result<bool> {
    for (auto* n : {&owner, &buddy})
      if (auto u = require_user(c, *n); !u) return u;
    if (owner == buddy) return fail(err(store_errc::invalid, "a user cannot be their own buddy"));
    query q(c, "INSERT INTO buddies (owner, buddy) VALUES (?1, ?2)");
    q.bind(1, owner).bind(2, buddy);
    auto r = run(c, q, "buddy add");
    if (!r) {
      if (r.error().code == store_errc::conflict)
        return fail(err(store_errc::conflict, "'" + buddy + "' is already on " + owner + "'s list"));
      return fail(r.error());
    }
    return true;
  });
}

void sqlite_store::buddy_del(std::string owner, std::string buddy, store_callback<bool> cb) {
  write<bool>(false, std::move(cb), [owner, buddy](connection& c) -> store_result<bool> {
    query q(c, "DELETE FROM buddies WHERE owner = ?1 AND buddy = ?2");
    q.bind(1, owner).bind(2, buddy);
    auto r = run(c, q, "buddy del");
    if (!r) return fail(r.error());
    if (*r == 0) return fail(err(store_errc::not_found, "'" + buddy + "' is not on " + owner + "'s list"));
    return true;
  });
}

void sqlite_store::buddy_list(std::string owner, store_callback<std::vector<std::string>> cb) {
  read<std::vector<std::string>>(std::move(cb), [owner](connection& c) -> store_result<std::vector<std::string>> {
    if (auto u = require_user(c, owner); !u) return fail(u.error());
    query q(c, "SELECT buddy FROM buddies WHERE owner = ?1 ORDER BY buddy");
    q.bind(1, owner);
    std::vector<std::string> v;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) v.push_back(q.text(0));
    if (rc != SQLITE_DONE) return fail(q.failure("buddy list"));
    return v;
  });
}

void sqlite_store::buddy_set(std::string owner, std::vector<std::string> buddies,
                             store_callback<std::vector<std::string>> cb) {
  std::sort(buddies.begin(), buddies.end());
  buddies.erase(std::unique(buddies.begin(), buddies.end()), buddies.end());
  write<std::vector<std::string>>(
      false, std::move(cb), [owner, buddies](connection& c) -> store_result<std::vector<std::string>> {
        if (auto u = require_user(c, owner); !u) return fail(u.error());
        if (std::binary_search(buddies.begin(), buddies.end(), owner))
          return fail(err(store_errc::invalid, "a user cannot be their own buddy"));
        for (const auto& b : buddies)
          if (auto u = require_user(c, b); !u) return fail(u.error());
        {
          query q(c, "DELETE FROM buddies WHERE owner = ?1");
          q.bind(1, owner);
          if (auto r = run(c, q, "buddy set"); !r) return fail(r.error());
        }
        for (const auto& b : buddies) {
          query q(c, "INSERT INTO buddies (owner, buddy) VALUES (?1, ?2)");
          q.bind(1, owner).bind(2, b);
          if (auto r = run(c, q, "buddy set"); !r) return fail(r.error());
        }
        return buddies;
      });
}

// ---- chats ----

namespace {

store_result<chat_record> get_chat(connection& c, std::string_view room) {
  chat_record r;
  {
    query q(c, "SELECT room, created_at, last_seq FROM chats WHERE room = ?1");
    q.bind(1, room);
    int rc = q.step();
    if (rc == SQLITE_DONE) return fail(err(store_errc::not_found, "no chat '" + std::string(room) + "'"));
    if (rc != SQLITE_ROW) return fail(q.failure("chat show"));
    r = {q.text(0), q.integer(1), static_cast<uint64_t>(q.integer(2)), {}};
  }
  query q(c, "SELECT user FROM chat_members WHERE room = ?1 ORDER BY user");
  q.bind(1, room);
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) r.members.push_back(q.text(0));
  if (rc != SQLITE_DONE) return fail(q.failure("chat members"));
  return r;
}

}  // namespace

void sqlite_store::membership_changed(std::string_view room) {
  for (auto& f : membership_listeners_) f(room);
}

void sqlite_store::chat_create(std::string room, std::vector<std::string> members, store_callback<chat_record> cb) {
  if (!valid_name(room)) {
    boost::asio::post(io_, [cb = std::move(cb)] { cb(fail(err(store_errc::invalid, "a chat needs a room name (no spaces)"))); });
    return;
  }
  auto done = [this, room, cb = std::move(cb)](store_result<chat_record> r) {
    if (r) ++membership_version_;
    const bool ok = r.ok();
    cb(std::move(r));
    if (ok) membership_changed(room);
  };
  write<chat_record>(false, std::move(done), [room, members](connection& c) -> store_result<chat_record> {
    for (auto& m : members)
      if (auto u = require_user(c, m); !u) return fail(u.error());
    {
      query q(c, "INSERT INTO chats (room, created_at) VALUES (?1, ?2)");
      q.bind(1, room).bind(2, now_ms());
      auto r = run(c, q, "chat create");
      if (!r) {
        if (r.error().code == store_errc::conflict) return fail(err(store_errc::conflict, "chat '" + room + "' exists"));
        return fail(r.error());
      }
    }
    for (auto& m : members) {
      query q(c, "INSERT OR IGNORE INTO chat_members (room, user) VALUES (?1, ?2)");
      q.bind(1, room).bind(2, m);
      if (auto r = run(c, q, "chat member"); !r) return fail(r.error());
    }
    return get_chat(c, room);
  });
}

void sqlite_store::chat_list(store_callback<std::vector<chat_record>> cb) {
  read<std::vector<chat_record>>(std::move(cb), [](connection& c) -> store_result<std::vector<chat_record>> {
    query q(c, "SELECT room, created_at, last_seq FROM chats ORDER BY room");
    std::vector<chat_record> v;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) v.push_back({q.text(0), q.integer(1), static_cast<uint64_t>(q.integer(2)), {}});
    if (rc != SQLITE_DONE) return fail(q.failure("chat list"));
    return v;
  });
}

void sqlite_store::chat_show(std::string room, store_callback<chat_record> cb) {
  read<chat_record>(std::move(cb), [room](connection& c) { return get_chat(c, room); });
}

void sqlite_store::chat_add_member(std::string room, std::string user, store_callback<bool> cb) {
  auto done = [this, room, cb = std::move(cb)](store_result<bool> r) {
    if (r) ++membership_version_;
    const bool ok = r.ok();
    cb(std::move(r));
    if (ok) membership_changed(room);
  };
  write<bool>(false, std::move(done), [room, user](connection& c) -> store_result<bool> {
    if (auto r = require_room(c, room); !r) return r;
    if (auto u = require_user(c, user); !u) return u;
    // A member joins at the room's newest message: what came before is history to read,
    // not a backlog to push.
    query q(c,
            "INSERT INTO chat_members (room, user, delivered_seq) "
            "VALUES (?1, ?2, (SELECT last_seq FROM chats WHERE room = ?1))");
    q.bind(1, room).bind(2, user);
    auto r = run(c, q, "chat add member");
    if (!r) {
      if (r.error().code == store_errc::conflict)
        return fail(err(store_errc::conflict, "'" + user + "' is already in '" + room + "'"));
      return fail(r.error());
    }
    return true;
  });
}

void sqlite_store::chat_remove_member(std::string room, std::string user, store_callback<bool> cb) {
  auto done = [this, room, cb = std::move(cb)](store_result<bool> r) {
    if (r) ++membership_version_;
    const bool ok = r.ok();
    cb(std::move(r));
    if (ok) membership_changed(room);
  };
  write<bool>(false, std::move(done), [room, user](connection& c) -> store_result<bool> {
    query q(c, "DELETE FROM chat_members WHERE room = ?1 AND user = ?2");
    q.bind(1, room).bind(2, user);
    auto r = run(c, q, "chat remove member");
    if (!r) return fail(r.error());
    if (*r == 0) return fail(err(store_errc::not_found, "'" + user + "' is not in '" + room + "'"));
    return true;
  });
}

void sqlite_store::chat_load(std::string room, store_callback<chat_state> cb) {
  read<chat_state>(std::move(cb), [room](connection& c) -> store_result<chat_state> {
    chat_state st;
    {
      query q(c, "SELECT last_seq FROM chats WHERE room = ?1");
      q.bind(1, room);
      int rc = q.step();
      if (rc == SQLITE_DONE) return fail(err(store_errc::not_found, "no chat '" + room + "'"));
      if (rc != SQLITE_ROW) return fail(q.failure("chat load"));
      st.room = room;
      st.last_seq = static_cast<uint64_t>(q.integer(0));
    }
    query q(c, "SELECT user, delivered_seq FROM chat_members WHERE room = ?1 ORDER BY user");
    q.bind(1, room);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) st.members.push_back({q.text(0), static_cast<uint64_t>(q.integer(1))});
    if (rc != SQLITE_DONE) return fail(q.failure("chat members"));
    return st;
  });
}

void sqlite_store::rooms_of(std::string user, store_callback<std::vector<std::string>> cb) {
  read<std::vector<std::string>>(std::move(cb), [user](connection& c) -> store_result<std::vector<std::string>> {
    query q(c, "SELECT room FROM chat_members WHERE user = ?1 ORDER BY room");
    q.bind(1, user);
    std::vector<std::string> v;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) v.push_back(q.text(0));
    if (rc != SQLITE_DONE) return fail(q.failure("rooms of"));
    return v;
  });
}

void sqlite_store::set_delivered(std::string room, std::string user, uint64_t seq, store_callback<bool> cb) {
  write<bool>(false, std::move(cb), [room, user, seq](connection& c) -> store_result<bool> {
    query q(c,
            "UPDATE chat_members SET delivered_seq = MAX(delivered_seq, ?3) "
            "WHERE room = ?1 AND user = ?2");
    q.bind(1, room).bind(2, user).bind(3, static_cast<int64_t>(seq));
    auto r = run(c, q, "set delivered");
    if (!r) return fail(r.error());
    return *r > 0;
  });
}

// ---- messages ----

void sqlite_store::append_message(std::string room, std::string sender, std::string content_type,
                                  std::string body, store_callback<message_record> cb) {
  message_record m{std::move(room), 0, std::move(sender), std::move(content_type), std::move(body), 0};
  write<message_record>(true, std::move(cb), [m = std::move(m)](connection& c) mutable -> store_result<message_record> {
    {
      // The room's next number, taken inside this transaction: issue order is seq order.
      query q(c, "UPDATE chats SET last_seq = last_seq + 1 WHERE room = ?1 RETURNING last_seq");
      q.bind(1, m.room);
      int rc = q.step();
      if (rc == SQLITE_DONE) return fail(err(store_errc::not_found, "no chat '" + m.room + "'"));
      if (rc != SQLITE_ROW) return fail(q.failure("message seq"));
      m.seq = static_cast<uint64_t>(q.integer(0));
      q.step();  // finish the statement so the UPDATE completes
    }
    m.created_at_ms = now_ms();
    query q(c,
            "INSERT INTO messages (room, seq, sender, content_type, body, created_at) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    q.bind(1, m.room).bind(2, static_cast<int64_t>(m.seq)).bind(3, m.sender).bind(4, m.content_type);
    q.bind(5, m.body).bind(6, m.created_at_ms);
    if (auto r = run(c, q, "message append"); !r) return fail(r.error());
    return m;
  });
}

void sqlite_store::history(std::string room, uint64_t after_seq, uint32_t limit,
                           store_callback<std::vector<message_record>> cb) {
  read<std::vector<message_record>>(
      std::move(cb), [room, after_seq, limit](connection& c) -> store_result<std::vector<message_record>> {
        if (auto r = require_room(c, room); !r) return fail(r.error());
        query q(c,
                "SELECT seq, sender, content_type, body, created_at FROM messages "
                "WHERE room = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3");
        q.bind(1, room).bind(2, static_cast<int64_t>(after_seq)).bind(3, static_cast<int64_t>(limit));
        std::vector<message_record> v;
        int rc;
        while ((rc = q.step()) == SQLITE_ROW)
          v.push_back({room, static_cast<uint64_t>(q.integer(0)), q.text(1), q.text(2), q.text(3), q.integer(4)});
        if (rc != SQLITE_DONE) return fail(q.failure("history"));
        return v;
      });
}

}  // namespace tutti::ctl
