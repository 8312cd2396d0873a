// The chat service's state, shared by its three parts: chat_service.cpp (start and stop,
// the public API, commands, and MESSAGE intake: authentication, refusals, dedup, the commit
// and its 200), chat_delivery.cpp (the ordered fan-out of each room to each member, and the
// offline backlog sent when a member registers) and chat_rooms.cpp (membership: the room
// cache and its reload, REFER adds and removes, room creation by a MESSAGE with a list, and
// the roster the conference package reads). Internal to control/: only those three files
// include it. The model is in control/chat_service.hpp.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "control/chat_service.hpp"
#include "control/conference_events.hpp"
#include "control/log.hpp"
#include "control/metrics.hpp"
#include "control/store.hpp"
#include "signalling/peer.hpp"
#include "signalling/registrar.hpp"
#include "signalling/sip/message.hpp"
#include "signalling/transaction.hpp"

namespace tutti::ctl {

class registrar_service;

// A named namespace rather than tutti::ctl itself: these generic names (stream, flight)
// would otherwise be one definition for the whole library.
namespace chat_detail {

// A committed message as the fan-out needs it; shared by the room's tail and every stream.
struct chat_message {
  uint64_t seq = 0;
  std::string sender;
  std::string content_type;
  std::string body;
  std::string origin;  // "ip:port" of the device it came from; "" from the CLI or the store
};
using message_ptr = std::shared_ptr<const chat_message>;

// One fan-out MESSAGE per device of a member, for one seq.
struct flight {
  uint32_t pending = 0;  // devices not answered yet
  bool ok = false;       // a device answered 2xx
  bool failed = false;   // a device timed out or could not be reached
};

// The ordered delivery of one room's stream to one member.
struct stream {
  std::string user;
  uint64_t delivered = 0;  // cursor: every seq <= this is done
  uint64_t next = 1;       // next seq to send
  uint64_t epoch = 0;      // completions of an older epoch (before a reset) are ignored
  std::map<uint64_t, flight> in_flight;
  std::map<uint64_t, message_ptr> fetched;  // read back from the store, not yet sent
  bool fetching = false;
  bool paused = false;      // a delivery failed: wait for the retry or a registration
  bool resume_now = false;  // a registration came while paused: retry once drained
  uint64_t persisted = 0;   // cursor value last written to the store
  bool persisting = false;
  std::unique_ptr<boost::asio::steady_timer> retry;
};

// A MESSAGE seen in the room's dedup window: its seq once committed; transactions that
// carried it again while its commit was running wait for it.
struct recent_message {
  uint64_t seq = 0;
  std::vector<sig::server_transaction_ptr> waiting;
};

struct room_state {
  std::string name;
  // (Call-ID, CSeq, sender) of the newest MESSAGEs, oldest first in recent_order.
  std::map<std::string, std::shared_ptr<recent_message>, std::less<>> recent;
  std::deque<std::string> recent_order;
  bool loaded = false;
  bool loading = false;
  uint64_t version = 0;   // store membership version the members were loaded at
  uint64_t last_seq = 0;  // newest committed seq known here
  std::map<std::string, stream, std::less<>> members;
  std::deque<message_ptr> tail;  // newest messages, contiguous seqs
  std::vector<std::function<void(room_state*)>> waiting;  // run once loaded (nullptr: no room)
};
using room_ptr = std::shared_ptr<room_state>;

}  // namespace chat_detail

using chat_detail::chat_message;
using chat_detail::message_ptr;
using chat_detail::flight;
using chat_detail::stream;
using chat_detail::recent_message;
using chat_detail::room_state;
using chat_detail::room_ptr;

struct chat_service::state : std::enable_shared_from_this<chat_service::state> {
  state(service_context& c, sig::sip_stack& st, store& d, registrar_service& r, chat_settings cs)
      : ctx(c), log(c.log.module("chat")), stack(st), db(d), users(r), settings(cs), rng(std::random_device{}()) {}

  service_context& ctx;
  log_module log;
  sig::sip_stack& stack;
  store& db;
  registrar_service& users;
  chat_settings settings;
  std::mt19937_64 rng;
  std::map<std::string, room_ptr, std::less<>> rooms;
  // Every room's members, without the store (the roster answers synchronously), and each
  // user's rooms; kept by the store's membership listener.
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> directory;
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> rooms_by_user;
  conference_events* events = nullptr;
  std::vector<std::function<void(std::string_view)>> roster_listeners;  // a room's roster changed
  struct roster final : roster_source {
    state* s = nullptr;
    bool has(std::string_view conference) const override { return s->directory.count(conference) != 0; }
    void add_members(std::string_view conference, std::string_view domain,
                     std::vector<roster_user>& users) const override {
      s->add_members(conference, domain, users);
    }
    bool may_watch(std::string_view conference, std::string_view user) const override {
      auto it = s->directory.find(conference);
      return it != s->directory.end() && it->second.count(user) != 0;
    }
  } roster_src;
  chat_counters n;
  struct {
    counter *received, *accepted, *refused, *sent, *delivered, *rejected, *failed;
  } m{};
  uint64_t epochs = 0;
  bool stopped = false;

  std::weak_ptr<state> weak() { return weak_from_this(); }

  // A MESSAGE on its way to a room, once read.
  struct incoming {
    sig::server_transaction_ptr tx;
    std::string user;  // the authenticated sender
    std::string type;
    std::string body;
    std::string origin;
    std::string key;  // Call-ID, CSeq and sender: the dedup key
  };

  // chat_service.cpp: MESSAGE intake, commands
  void refuse(const sig::server_transaction_ptr& tx, uint16_t status, std::string_view warning = {});
  void on_message(const sig::message_view& req, const sig::peer& from, const sig::server_transaction_ptr& tx);
  bool our_host(std::string_view host) const;
  void post(room_state& r, incoming in);
  void accepted(const sig::server_transaction_ptr& tx, uint64_t seq);
  void remember(room_state& r, const std::string& key, std::shared_ptr<recent_message> e);
  void append(room_state& r, std::string sender, std::string type, std::string body, std::string origin,
              std::function<void(store_result<message_record>)> done);
  void register_commands();

  // chat_delivery.cpp: the fan-out, registrations
  void committed(room_state& r, const message_record& rec, std::string origin);
  std::vector<sig::binding> bindings_of(std::string_view user);
  message_ptr find(room_state& r, stream& s, uint64_t seq);
  void pump(room_state& r, stream& s);
  void fetch(room_state& r, stream& s);
  std::pair<room_state*, stream*> locate(std::string_view room, std::string_view user, uint64_t epoch);
  std::string request_for(const room_state& r, const stream& s, const chat_message& msg, const sig::binding& b);
  bool send(room_state& r, stream& s, const chat_message& msg, const std::vector<sig::binding>& bindings);
  void answered(const std::string& room, const std::string& user, uint64_t epoch, uint64_t seq,
                const sig::client_event& e);
  bool advance(room_state& r, stream& s);
  void settle(room_state& r, stream& s);
  void drained(room_state& r, stream& s);
  void persist(room_state& r, stream& s);
  void on_location(std::string_view aor, sig::location_change c);
  void wake(room_state& r, stream& s);

  // chat_rooms.cpp: the room cache, directory and roster, REFER, creation by MESSAGE
  void with_room(const std::string& name, std::function<void(room_state*)> f);
  void load(const room_ptr& r);
  void apply(room_state& r, const chat_state& st, uint64_t version);
  void set_members(const std::string& room, std::set<std::string, std::less<>> members);
  void drop_room(const std::string& room);
  void refresh_directory(std::string room);
  void roster_changed(std::string_view room);
  void add_members(std::string_view room, std::string_view domain, std::vector<roster_user>& out);
  void refer(chat_refer q, std::function<void(uint16_t, std::string)> done, bool retried = false);
  void create(std::string room, incoming in, std::vector<std::string> listed);
};

}  // namespace tutti::ctl
