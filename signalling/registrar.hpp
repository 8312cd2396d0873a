// The registrar (RFC 3261 §10.3) and the location service it writes.
//
// Model: location_service maps an address-of-record ("user@domain", see aor_key) to its
// bindings — contact URI, the transport source the REGISTER came from (for NAT: replies and
// requests go back to where the client sent from, RFC 5626 in spirit without flow tokens),
// absolute expiry, q, and the Call-ID/CSeq that last wrote it. registrar::handle() turns an
// authenticated REGISTER into a new binding set, committed all-or-nothing (§10.3 step 8),
// and returns the response text: 200 listing every current binding with its remaining time,
// or 400/403/404/423/500. Listeners hear when an AOR comes online or goes offline (offline
// IM delivery, presence). Everything runs on the control thread; no locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signalling/request_context.hpp"
#include "signalling/sip/message.hpp"

namespace tutti::sig {

struct binding {
  std::string contact;       // the Contact URI as registered (without < >)
  std::string transport;     // transport the REGISTER arrived on ("udp", "tcp", ...)
  std::string source_ip;     // its source address
  uint16_t source_port = 0;  // its source port
  uint64_t expires_at_s = 0; // wall-clock second the binding ends
  uint16_t q = 1000;         // preference in thousandths (RFC 3261 §20.10); 1000 when absent
  std::string call_id;       // Call-ID of the REGISTER that last wrote it (§10.3 step 7)
  uint32_t cseq = 0;         // its CSeq number
  uint64_t updated_s = 0;    // when it was last written (orders equal q: newest first)
};

// The location service key of an AOR: "user@host", user %-decoded, host lowercased; sip and
// sips share a key. nullopt for a URI without user or host, or not sip/sips.
std::optional<std::string> aor_key(const uri& u);

enum class location_change : uint8_t {
  online,   // the AOR had no bindings and now has some
  offline,  // the AOR lost its last binding (removed or expired)
  updated,  // bindings changed, some remain
};
using location_listener = std::function<void(std::string_view aor, location_change)>;

class location_service {
 public:
  // Replaces an AOR's bindings (empty removes the AOR); fires the listeners.
  void set(std::string_view aor, std::vector<binding> bindings);
  // Bindings of aor still valid at now_s, highest q first, then most recently written.
  std::vector<binding> lookup(std::string_view aor, uint64_t now_s) const;
  // The stored bindings of aor, expired ones included until the next expire(); nullptr if none.
  const std::vector<binding>* find(std::string_view aor) const;
  // Removes bindings whose time is up (periodic sweep); returns how many went.
  size_t expire(uint64_t now_s);
  // Calls f(aor, bindings) for every AOR in key order (expired bindings included until the
  // next expire()).
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [aor, bindings] : aors_) f(std::string_view(aor), bindings);
  }
  // Adds a listener called after each change (in the order added).
  void on_change(location_listener listener) { listeners_.push_back(std::move(listener)); }

  size_t aor_count() const noexcept { return aors_.size(); }
  size_t binding_count() const noexcept { return bindings_; }

 private:
  void notify(std::string_view aor, location_change c) const;
  std::map<std::string, std::vector<binding>, std::less<>> aors_;
  std::vector<location_listener> listeners_;
  size_t bindings_ = 0;
  uint64_t next_expiry_s_ = UINT64_MAX;  // earliest expires_at_s of any binding (lower bound)
};

struct registrar_config {
  std::vector<std::string> domains;  // domains we keep bindings for (Request-URI and To host);
                                     // bindings are kept under the first, the others are aliases
  uint32_t default_expires_s = 3600; // when neither the Contact nor Expires says
  uint32_t min_expires_s = 60;       // shorter is answered 423 with Min-Expires (§10.3 step 7)
  uint32_t max_expires_s = 3600;     // longer is shortened to this
  size_t max_bindings_per_aor = 10;  // more is answered 403
};

// Why a REGISTER was refused (counter index).
enum class register_reason : uint8_t {
  none,
  not_register,         // handle() called with another method
  domain_not_served,    // Request-URI host is not ours (403)
  bad_aor,              // To is not an AOR of the Request-URI's domain (404)
  bad_contact,          // a Contact does not parse (400)
  bad_star,             // "*" with other Contacts or with Expires other than 0 (400)
  bad_expires,          // Expires header malformed (400)
  interval_too_brief,   // 423
  out_of_order,         // same Call-ID, CSeq not higher than the binding's (500)
  too_many_bindings,    // over max_bindings_per_aor (403)
  count_
};
std::string_view to_string(register_reason r) noexcept;

struct register_result {
  uint16_t status = 0;
  register_reason reason = register_reason::none;
  std::string response;  // the response to send
};

class registrar {
 public:
  registrar(registrar_config config, location_service& locations);

  // Processes an authenticated REGISTER (RFC 3261 §10.3 steps 1, 5-8; steps 3-4 are the
  // authenticator's, step 2 the stack's Require check).
  register_result handle(const message_view& req, const request_context& ctx);

  const registrar_config& config() const noexcept { return config_; }

 private:
  bool ours(std::string_view host) const noexcept;
  register_result fail(const message_view& req, const request_context& ctx, uint16_t status,
                       std::string_view phrase, register_reason r);

  registrar_config config_;
  location_service& locations_;
};

}  // namespace tutti::sig
