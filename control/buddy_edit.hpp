// Clients set their own server-held buddy list over SIP: a MESSAGE (RFC 3428) to the list
// URI sip:USER-buddies@DOMAIN whose body is a resource-lists document (RFC 4826 §3,
// signalling/resource_lists.hpp) replaces USER's whole list.
//
// Model: on the control thread, in front of the chat service's MESSAGE handler (which
// gets every MESSAGE this service does not claim). A claimed MESSAGE is authenticated by
// the registrar service, then checked: the list URI names an existing user (404), the
// sender is that user (403), Content-Type is application/resource-lists+xml (415 with
// Accept), the document is valid XML of that format (400), it holds at most max_entries
// entries (403: a policy on the list, not a size the next request could shrink to fit —
// oversized messages are already refused by the transport), every entry is a sip:/sips:
// URI with a user part at our domain or one of its aliases (400, naming the entry's
// position), not the owner (400), and names an existing user (404, Warning naming the
// first such entry in document order). Duplicates fold; an empty list clears. The new list
// is committed with store::buddy_set() (one transaction) and only then answered 200; it
// then takes effect in presence (presence_service::set_buddies: the owner's list
// subscription gets a NOTIFY, watchers are reauthorized).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "control/services.hpp"

namespace tutti::sig {
class sip_stack;
class message_view;
}  // namespace tutti::sig

namespace tutti::ctl {

class store;
class registrar_service;
class presence_service;

// Outcomes since start (also the tutti_buddy_list_edits_total{outcome} metric).
struct buddy_edit_counters {
  uint64_t received = 0;      // claimed MESSAGEs, after authentication
  uint64_t accepted = 0;      // committed and answered 200
  uint64_t forbidden = 0;     // 403: not the owner, or too many entries
  uint64_t not_found = 0;     // 404: no such list, or an entry that is no user
  uint64_t bad_type = 0;      // 415
  uint64_t bad_body = 0;      // 400: invalid document or entry
  uint64_t store_failed = 0;  // 500: the commit failed
};

class buddy_edit_service {
 public:
  // Takes over the MESSAGE handler, passing on what it does not claim to the handler that
  // was registered before (the chat service).
  static std::unique_ptr<buddy_edit_service> start(service_context& ctx, sig::sip_stack& stack,
                                                   registrar_service& users, store& db,
                                                   presence_service& presence, size_t max_entries = 1000);
  ~buddy_edit_service();

  // Whether a MESSAGE is a list edit: its Request-URI is a list URI of our domain whose
  // owner exists, or it carries a resource-lists body to a "-buddies" URI of our domain.
  bool claims(const sig::message_view& req) const;

  // Answers further edits 503, then `done`.
  void stop(std::function<void()> done);

  const buddy_edit_counters& counters() const noexcept;

  struct state;

 private:
  explicit buddy_edit_service(std::shared_ptr<state> s);
  std::shared_ptr<state> s_;
};

}  // namespace tutti::ctl
