// Digest authentication of SIP requests (RFC 3261 §22, RFC 7616, RFC 8760) for a registrar
// and the services behind it (REGISTER, INVITE, SUBSCRIBE, PUBLISH, MESSAGE).
//
// Model: the stack hands authenticator::check() a parsed request; it answers ok (with the
// authenticated user) or the whole response to send (401/407 challenge, 403, 400). Nonces are
// stateless: base64(issue time, sequence, HMAC-SHA256(secret, time|sequence)), so any nonce we
// issued can be checked without storage, on any box sharing the secret. The only state is a
// bounded LRU table nonce -> highest nonce-count seen, for replay protection (RFC 7616 §3.4:
// nc must increase); a nonce evicted from it is answered stale so the client simply retries.
//
// Passwords are never stored: a credential_source (control/ implements it from the store)
// gives HA1 = H(user:realm:password) for MD5 and SHA-256. Challenges offer SHA-256 first,
// then MD5 (RFC 8760 §2.4), both with the same nonce, qop=auth.
//
// Cost: a challenge is one HMAC; an authorized request is one HMAC plus the response hashes.
// Runs on the control thread (allocates only the response string and the parsed credentials).
#pragma once

#include <nettle/hmac.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "signalling/digest.hpp"
#include "signalling/request_context.hpp"
#include "signalling/sip/message.hpp"

namespace tutti::sig {

// What the store keeps per user and realm: HA1 per algorithm, lowercase hex; "" when that
// algorithm is not provisioned for the user.
struct user_credentials {
  std::string ha1_md5;     // MD5(user ":" realm ":" password), 32 hex digits
  std::string ha1_sha256;  // SHA-256(user ":" realm ":" password), 64 hex digits
};

// Where the authenticator finds users; control/ implements it over the store.
class credential_source {
 public:
  virtual ~credential_source() = default;
  // The user's HA1s in this realm, or nullopt when the user does not exist there.
  virtual std::optional<user_credentials> lookup(std::string_view user, std::string_view realm) = 0;
};

// An in-memory credential_source for tests and for tuttid until the store provides one.
class memory_credentials final : public credential_source {
 public:
  // Adds or replaces a user, computing both HA1s from the password (which is not kept).
  void add_password(std::string_view user, std::string_view realm, std::string_view password);
  // Adds or replaces a user from already computed HA1s.
  void add_ha1(std::string_view user, std::string_view realm, user_credentials c);
  // Removes a user; false when absent.
  bool remove(std::string_view user, std::string_view realm);
  std::optional<user_credentials> lookup(std::string_view user, std::string_view realm) override;
  size_t size() const noexcept { return users_.size(); }

 private:
  static std::string key(std::string_view user, std::string_view realm);
  std::unordered_map<std::string, user_credentials> users_;
};

enum class auth_status : uint8_t {
  ok,           // authenticated: auth_outcome::user holds the user name
  challenge,    // 401/407 with a fresh nonce (no, unusable or wrong credentials)
  stale,        // 401/407 with stale=true: right password, nonce expired or forgotten
  forbidden,    // 403: authenticated, but as someone else than the request's identity
  bad_request,  // 400: an Authorization header for our realm that does not parse
};

// Why a request was not accepted (a counter index; the response never says which).
enum class auth_reason : uint8_t {
  none,
  no_credentials,         // no Authorization for our realm
  malformed,              // Authorization does not parse
  unsupported_algorithm,  // not one we offered (SHA-256, MD5)
  unsupported_qop,        // qop missing (RFC 2069 style: no replay protection) or unknown
  bad_uri,                // uri parameter differs from the Request-URI
  bad_opaque,             // opaque differs from ours
  bad_nonce,              // not a nonce we issued (bad encoding or HMAC)
  nonce_expired,          // older than nonce_lifetime_s
  nonce_forgotten,        // evicted from the replay table
  replay,                 // nonce-count not above the highest seen for the nonce
  unknown_user,
  wrong_response,         // wrong password (or a tampered request)
  identity_mismatch,      // authenticated user differs from the From (To for REGISTER) user
  count_
};
std::string_view to_string(auth_reason r) noexcept;

struct auth_outcome {
  auth_status status = auth_status::challenge;
  auth_reason reason = auth_reason::none;
  std::string user;      // the authenticated user when ok
  std::string response;  // the response to send when not ok
};

struct auth_config {
  std::string realm;                   // our domain; also the realm of every challenge
  std::string secret;                  // HMAC key for nonces; empty: 32 random bytes
  uint32_t nonce_lifetime_s = 300;     // after this a nonce is answered stale
  size_t replay_table_size = 65536;    // nonces whose nonce-count is remembered
  bool proxy = false;                  // 407 + Proxy-Authenticate / Proxy-Authorization
  // 403 when the authenticated user is not the user part of From (To for REGISTER)
  // in our realm (RFC 3261 §10.3 step 4). Off for deployments with delegated identities.
  bool check_identity = true;
  bool md5_first = false;              // challenge MD5 before SHA-256 (clients that read only
                                       // the first challenge: RFC 2617-era phones, SIPp 3.6)
  bool md5_only = false;               // challenge MD5 alone (clients that give up on any
                                       // challenge they cannot answer: libre/baresip 1.0)
};

// Bounded map nonce sequence -> highest nonce-count, least recently used evicted first.
// Fixed arrays sized at construction; nothing is allocated after.
class nonce_count_table {
 public:
  explicit nonce_count_table(size_t capacity);
  // Records nc for the nonce with this sequence number. Answers whether nc is above the
  // highest seen (and then stores it); forgotten when the nonce is not in the table and
  // older than one evicted (its history is lost, so it cannot be trusted).
  enum class verdict : uint8_t { fresh, replay, forgotten };
  verdict update(uint64_t seq, uint32_t nc) noexcept;
  size_t size() const noexcept { return size_; }
  size_t capacity() const noexcept { return entries_.size(); }

 private:
  static constexpr uint32_t npos = 0xffffffffu;
  struct entry {
    uint64_t seq = 0;
    uint32_t nc = 0;
    uint32_t prev = npos;  // LRU list: towards most recent
    uint32_t next = npos;  // towards least recent
  };
  uint32_t find(uint64_t seq) const noexcept;
  void unlink(uint32_t e) noexcept;
  void push_front(uint32_t e) noexcept;
  void index_insert(uint32_t e) noexcept;
  void index_erase(uint64_t seq) noexcept;
  size_t slot_of(uint64_t seq) const noexcept;

  std::vector<entry> entries_;
  std::vector<uint32_t> index_;  // open addressing, linear probing; npos = empty
  size_t size_ = 0;
  uint32_t head_ = npos;  // most recently used
  uint32_t tail_ = npos;  // least recently used
  uint64_t evicted_floor_ = 0;  // highest sequence evicted so far
  bool evicted_any_ = false;
};

class authenticator {
 public:
  authenticator(auth_config config, credential_source& users);

  // Checks the request's Authorization (Proxy-Authorization when proxy) against our realm.
  auth_outcome check(const message_view& req, const request_context& ctx);

  // The 401/407 response offering SHA-256 then MD5 with a fresh nonce.
  std::string challenge(const message_view& req, const request_context& ctx, bool stale = false);

  // A fresh nonce issued at now_s.
  std::string make_nonce(uint64_t now_s);

  // A decoded, authenticated nonce; nullopt for anything we did not issue.
  struct nonce_info {
    uint64_t issued_s = 0;
    uint64_t seq = 0;
  };
  std::optional<nonce_info> read_nonce(std::string_view nonce) const noexcept;

  const auth_config& config() const noexcept { return config_; }
  std::string_view opaque() const noexcept { return opaque_; }
  // Requests refused, per reason (counters for metrics).
  uint64_t refused(auth_reason r) const noexcept { return refused_[static_cast<size_t>(r)]; }

 private:
  static constexpr size_t nonce_raw_bytes = 36;  // time 8 | seq 8 | mac 20
  void mac(const uint8_t* data, uint8_t* out20) const noexcept;
  auth_outcome refuse(const message_view& req, const request_context& ctx, auth_status s, auth_reason r);

  auth_config config_;
  credential_source& users_;
  hmac_sha256_ctx hmac_{};  // keyed once; copied per use
  std::string opaque_;
  uint64_t next_seq_ = 0;
  nonce_count_table nc_table_;
  std::array<uint64_t, static_cast<size_t>(auth_reason::count_)> refused_{};
};

}  // namespace tutti::sig
