// The embedded store: control/store.hpp on one SQLite file (tutti.db in state_dir) in WAL
// mode.
//
// Model: two threads, each with its own connection. The writer takes write jobs from a
// queue in issue order and applies every job waiting (up to max_batch) in one
// transaction, each job inside its own savepoint so one refused job (a duplicate user)
// does not undo the others: group commit, one fsync for the lot, which is what lets
// thousands of chat messages a second be durable. A room's sequence numbers come from
// chats.last_seq, bumped inside the same transaction as the insert, so they follow issue
// order. The reader answers queries on a second connection (WAL lets it read while the
// writer commits). Completions are posted to the control thread's io_context once the
// transaction has committed; every pending job holds work on that io_context.
//
// Durability: synchronous=FULL (the default) fsyncs the WAL at every commit, so a
// committed message survives power loss; NORMAL with WAL survives a crash or kill -9 of
// tuttid (the WAL is in the page cache) but may lose the last commits on power loss.
//
// Schema: a `schema_version` table and an ordered list of migrations, each applied in one
// transaction at open; a database from a newer tuttid is refused (control/sqlite_schema.hpp).
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.hpp"
#include "control/sqlite_schema.hpp"
#include "control/store.hpp"

namespace boost::asio {
class io_context;
}

namespace tutti::ctl {

struct sqlite_store_options {
  std::string path;                     // the database file; created if absent
  std::string realm;                    // the digest realm HA1s are computed for (cfg.domain)
  sqlite_sync sync = sqlite_sync::full;
  uint32_t max_batch = 1024;            // write jobs per transaction at most
};

// One committed (or failed) write transaction, reported on the control thread.
struct store_batch_stats {
  uint32_t jobs = 0;           // write jobs in the transaction
  uint32_t messages = 0;       // of which message appends that succeeded
  double commit_seconds = 0;   // BEGIN to COMMIT done, fsync included
  bool ok = true;              // false: the transaction failed and every job got an error
};

class sqlite_store final : public store {
 public:
  // Opens (creating and migrating) the database, loads the credential cache, starts the
  // threads. Completions go to `io`, which must outlive the store.
  static result<std::unique_ptr<sqlite_store>, std::string> open(boost::asio::io_context& io,
                                                                  sqlite_store_options opts);
  // Stops the threads after their queues drain (blocking) if close() was not called.
  ~sqlite_store() override;
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  // Called on the control thread for every write transaction, before its completions.
  void on_batch(std::function<void(const store_batch_stats&)> f) { on_batch_ = std::move(f); }
  // Users in the credential cache.
  size_t user_count() const noexcept { return creds_.size(); }

  void user_add(std::string name, std::string password, std::string display_name,
                store_callback<user_record> cb) override;
  void user_del(std::string name, store_callback<bool> cb) override;
  void user_set_password(std::string name, std::string password, store_callback<user_record> cb) override;
  void user_get(std::string name, store_callback<user_record> cb) override;
  void user_list(store_callback<std::vector<user_record>> cb) override;
  std::optional<user_credentials> credentials(std::string_view user) const override;

  void buddy_add(std::string owner, std::string buddy, store_callback<bool> cb) override;
  void buddy_del(std::string owner, std::string buddy, store_callback<bool> cb) override;
  void buddy_list(std::string owner, store_callback<std::vector<std::string>> cb) override;
  void buddy_set(std::string owner, std::vector<std::string> buddies,
                 store_callback<std::vector<std::string>> cb) override;

  void chat_create(std::string room, std::vector<std::string> members, store_callback<chat_record> cb) override;
  void chat_list(store_callback<std::vector<chat_record>> cb) override;
  void chat_show(std::string room, store_callback<chat_record> cb) override;
  void chat_add_member(std::string room, std::string user, store_callback<bool> cb) override;
  void chat_remove_member(std::string room, std::string user, store_callback<bool> cb) override;

  void chat_load(std::string room, store_callback<chat_state> cb) override;
  void rooms_of(std::string user, store_callback<std::vector<std::string>> cb) override;
  void set_delivered(std::string room, std::string user, uint64_t seq, store_callback<bool> cb) override;
  uint64_t membership_version() const noexcept override { return membership_version_; }
  void on_membership_change(std::function<void(std::string_view room)> f) override {
    membership_listeners_.push_back(std::move(f));
  }

  void append_message(std::string room, std::string sender, std::string content_type, std::string body,
                      store_callback<message_record> cb) override;
  void history(std::string room, uint64_t after_seq, uint32_t limit,
               store_callback<std::vector<message_record>> cb) override;

  void close(std::function<void()> done) override;

  class connection;  // a sqlite3 handle and its cached statements (sqlite_store.cpp)

 private:
  struct write_job;
  using read_job = std::function<void(connection&)>;

  sqlite_store(boost::asio::io_context& io, sqlite_store_options opts);
  template <typename T, typename F>
  void write(bool message, store_callback<T> cb, F apply);
  template <typename T, typename F>
  void read(store_callback<T> cb, F query);
  void writer_loop();
  void reader_loop();
  void thread_finished();

  boost::asio::io_context& io_;
  sqlite_store_options opts_;
  std::unique_ptr<connection> wconn_, rconn_;
  std::map<std::string, user_credentials, std::less<>> creds_;  // control thread only
  std::function<void(const store_batch_stats&)> on_batch_;
  uint64_t membership_version_ = 0;  // control thread only
  std::vector<std::function<void(std::string_view)>> membership_listeners_;
  void membership_changed(std::string_view room);
  std::function<void()> close_done_;
  bool closed_ = false;  // control thread: close() was called

  std::mutex mu_;
  std::condition_variable wcv_, rcv_;
  std::deque<write_job> wq_;
  std::deque<read_job> rq_;
  bool stop_ = false;  // guarded by mu_
  std::atomic<int> running_{0};
  std::thread writer_, reader_;
};

}  // namespace tutti::ctl
