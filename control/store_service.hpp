// The store as a tuttid service: opens state_dir/tutti.db (control/sqlite_store.hpp),
// serves the user.* / buddy.* / chat.* control commands and the store metrics, and drains
// the write queue on stop. Other services (SIP registrar, presence, chat) take the store
// interface from it; the registrar reads credentials() synchronously.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "control/services.hpp"
#include "control/sqlite_store.hpp"

namespace tutti::ctl {

class counter;
class command_reply;
class histogram;

class store_service {
 public:
  // Opens the database, registers the commands and metrics; an operator-readable error.
  static result<std::unique_ptr<store_service>, std::string> start(service_context& ctx);
  ~store_service();

  store& db() noexcept { return *store_; }
  // Users with credentials.
  size_t users() const noexcept { return store_->user_count(); }
  // Messages committed since start.
  uint64_t messages() const noexcept;

  // `listener` runs after each user or buddy-list write made through the commands commits
  // (presence rereads buddy lists and display names then).
  void on_change(std::function<void()> listener);

  // Finishes every queued write, closes the database, then calls `done`.
  void stop(std::function<void()> done);

 private:
  store_service(std::unique_ptr<sqlite_store> s, counter& commits, histogram& seconds, counter& messages);
  void register_commands(service_context& ctx);
  // `reply`, and the change listeners after a successful write.
  command_reply announcing(command_reply reply);
  std::vector<std::function<void()>> listeners_;
  std::unique_ptr<sqlite_store> store_;
  counter& commits_;
  histogram& commit_seconds_;
  counter& messages_;
};

}  // namespace tutti::ctl
