// The durable store behind users, buddy lists and chats: one interface, so the embedded
// SQLite store (control/sqlite_store.hpp) and a PostgreSQL store for a cluster can serve
// the same services.
//
// Model: every operation is asynchronous. The caller (the control thread) hands over its
// arguments; the work runs off that thread and the callback comes back on the control
// thread's io_context. Writes are applied in the order they were issued, and a write's
// callback fires only once its transaction is durable (for messages: "answered 200 OK"
// may be sent from the callback). A read issued after a write's callback sees that write.
// Passwords never reach the store: it keeps HA1 = H(user:realm:password) for MD5 and
// SHA-256 (RFC 7616 §3.4.2), computed at user_add/user_set_password for realm = domain.
// credentials() answers synchronously from an in-memory copy of the users' HA1s, loaded at
// open and updated when user writes commit, for the SIP registrar.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tutti::ctl {

enum class store_errc : uint8_t {
  not_found,  // the user, room or buddy entry named does not exist
  conflict,   // it already exists
  invalid,    // an argument the store refuses (empty name, bad limit)
  io,         // the database failed (disk full, corrupt, closed)
};
std::string_view to_string(store_errc e) noexcept;

struct store_error {
  store_errc code = store_errc::io;
  std::string message;
};

template <typename T>
using store_result = result<T, store_error>;
template <typename T>
using store_callback = std::function<void(store_result<T>)>;

struct user_record {
  std::string name;
  std::string display_name;
  std::string ha1_md5;     // 32 lowercase hex digits
  std::string ha1_sha256;  // 64 lowercase hex digits
};

// What the registrar needs to check a digest response.
struct user_credentials {
  std::string ha1_md5;
  std::string ha1_sha256;
};

struct chat_record {
  std::string room;
  int64_t created_at_ms = 0;         // Unix time
  uint64_t last_seq = 0;             // sequence number of the room's newest message; 0: none
  std::vector<std::string> members;  // sorted; filled by chat_show, empty in chat_list
};

// A member of a chat and how far the chat service has delivered the room's stream to them.
struct chat_member_state {
  std::string user;
  uint64_t delivered_seq = 0;  // every message with seq <= this was delivered (or refused)
};

// What the chat service needs to serve a room.
struct chat_state {
  std::string room;
  uint64_t last_seq = 0;
  std::vector<chat_member_state> members;  // sorted by user
};

struct message_record {
  std::string room;
  uint64_t seq = 0;  // 1, 2, 3, ... per room, in commit order
  std::string sender;
  std::string content_type;
  std::string body;
  int64_t created_at_ms = 0;
};

class store {
 public:
  virtual ~store() = default;

  // Users. add/set_password compute both HA1s from `password` and the store's realm.
  virtual void user_add(std::string name, std::string password, std::string display_name,
                        store_callback<user_record> cb) = 0;
  virtual void user_del(std::string name, store_callback<bool> cb) = 0;
  virtual void user_set_password(std::string name, std::string password,
                                 store_callback<user_record> cb) = 0;
  virtual void user_get(std::string name, store_callback<user_record> cb) = 0;
  virtual void user_list(store_callback<std::vector<user_record>> cb) = 0;
  // Synchronous, from memory: the HA1s of `user` as of the last committed user write.
  virtual std::optional<user_credentials> credentials(std::string_view user) const = 0;

  // Buddy lists: `owner` watches `buddy`; both must be users.
  virtual void buddy_add(std::string owner, std::string buddy, store_callback<bool> cb) = 0;
  virtual void buddy_del(std::string owner, std::string buddy, store_callback<bool> cb) = 0;
  virtual void buddy_list(std::string owner, store_callback<std::vector<std::string>> cb) = 0;
  // Replaces `owner`'s whole list with `buddies` (duplicates folded) in one transaction:
  // all or nothing. not_found names a buddy (or the owner) that is not a user;
  // invalid when the owner is on it. The callback gets the new list, sorted.
  virtual void buddy_set(std::string owner, std::vector<std::string> buddies,
                         store_callback<std::vector<std::string>> cb) = 0;

  // Chats. Members must be users.
  virtual void chat_create(std::string room, std::vector<std::string> members,
                           store_callback<chat_record> cb) = 0;
  virtual void chat_list(store_callback<std::vector<chat_record>> cb) = 0;
  virtual void chat_show(std::string room, store_callback<chat_record> cb) = 0;
  virtual void chat_add_member(std::string room, std::string user, store_callback<bool> cb) = 0;
  virtual void chat_remove_member(std::string room, std::string user, store_callback<bool> cb) = 0;

  // The room with every member's delivery cursor.
  virtual void chat_load(std::string room, store_callback<chat_state> cb) = 0;
  // The rooms `user` is a member of, sorted.
  virtual void rooms_of(std::string user, store_callback<std::vector<std::string>> cb) = 0;
  // Raises `user`'s delivery cursor in `room` to `seq` (never lowers it); false when the
  // user is not a member (any more).
  virtual void set_delivered(std::string room, std::string user, uint64_t seq, store_callback<bool> cb) = 0;
  // Bumped on the control thread whenever a write that changes chat membership commits
  // (chat create/add/remove, user del): a cached membership older than this is stale.
  virtual uint64_t membership_version() const noexcept = 0;
  // Adds a listener called on the control thread right after membership_version() moved:
  // with the room whose members changed, or "" when any room may have (user del). Lets
  // the chat service keep its roster current whoever changed it (CLI, REFER, MESSAGE).
  virtual void on_membership_change(std::function<void(std::string_view room)> f) = 0;

  // Appends a message to an existing room; the callback gets it with its sequence number
  // once it is durable. Appends queued together commit together (group commit).
  virtual void append_message(std::string room, std::string sender, std::string content_type,
                              std::string body, store_callback<message_record> cb) = 0;
  // Messages of `room` with seq > after_seq, oldest first, at most `limit`.
  virtual void history(std::string room, uint64_t after_seq, uint32_t limit,
                       store_callback<std::vector<message_record>> cb) = 0;

  // Finishes every queued write, then closes; `done` runs on the control thread. Calls
  // made after close() fail with store_errc::io.
  virtual void close(std::function<void()> done) = 0;
};

}  // namespace tutti::ctl
