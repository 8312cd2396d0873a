#include "signalling/auth.hpp"

#include <nettle/base64.h>

#include <chrono>
#include <random>
#include <stdexcept>

#include "signalling/sip/serializer.hpp"
#include "signalling/sip/text.hpp"
#include "signalling/sip/uri.hpp"

namespace tutti::sig {

// ---- memory_credentials ----------------------------------------------------------------

std::string memory_credentials::key(std::string_view user, std::string_view realm) {
  std::string k;
  k.reserve(user.size() + realm.size() + 1);
  k.append(user).append(1, '\0').append(realm);
  return k;
}

void memory_credentials::add_password(std::string_view user, std::string_view realm, std::string_view password) {
  add_ha1(user, realm,
          user_credentials{digest_ha1(digest_algorithm::md5, user, realm, password),
                           digest_ha1(digest_algorithm::sha256, user, realm, password)});
}

void memory_credentials::add_ha1(std::string_view user, std::string_view realm, user_credentials c) {
  users_[key(user, realm)] = std::move(c);
}

bool memory_credentials::remove(std::string_view user, std::string_view realm) {
  return users_.erase(key(user, realm)) > 0;
}

std::optional<user_credentials> memory_credentials::lookup(std::string_view user, std::string_view realm) {
  const auto it = users_.find(key(user, realm));
  if (it == users_.end()) return std::nullopt;
  return it->second;
}

// ---- nonce_count_table -----------------------------------------------------------------

nonce_count_table::nonce_count_table(size_t capacity) {
  if (capacity == 0) capacity = 1;
  if (capacity >= npos / 2) capacity = npos / 2 - 1;
  entries_.resize(capacity);
  size_t slots = 4;
  while (slots < 2 * capacity) slots *= 2;  // load factor at most 1/2: short probe runs
  index_.assign(slots, npos);
}

size_t nonce_count_table::slot_of(uint64_t seq) const noexcept {
  return static_cast<size_t>((seq * 0x9E3779B97F4A7C15ull) >> 17) & (index_.size() - 1);
}

uint32_t nonce_count_table::find(uint64_t seq) const noexcept {
  const size_t mask = index_.size() - 1;
  for (size_t i = slot_of(seq);; i = (i + 1) & mask) {
    const uint32_t e = index_[i];
    if (e == npos) return npos;
    if (entries_[e].seq == seq) return e;
  }
}

void nonce_count_table::index_insert(uint32_t e) noexcept {
  const size_t mask = index_.size() - 1;
  size_t i = slot_of(entries_[e].seq);
  while (index_[i] != npos) i = (i + 1) & mask;
  index_[i] = e;
}

void nonce_count_table::index_erase(uint64_t seq) noexcept {
  const size_t mask = index_.size() - 1;
  size_t i = slot_of(seq);
  while (index_[i] != npos && entries_[index_[i]].seq != seq) i = (i + 1) & mask;
  if (index_[i] == npos) return;
  index_[i] = npos;
  // Backward-shift deletion: pull later members of the probe run into the hole so lookups
  // never stop early at it (no tombstones, so the table never degrades).
  for (size_t j = (i + 1) & mask; index_[j] != npos; j = (j + 1) & mask) {
    const size_t home = slot_of(entries_[index_[j]].seq);
    const bool home_in_hole_to_j = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
    if (home_in_hole_to_j) continue;
    index_[i] = index_[j];
    index_[j] = npos;
    i = j;
  }
}

void nonce_count_table::unlink(uint32_t e) noexcept {
  entry& x = entries_[e];
  if (x.prev != npos) entries_[x.prev].next = x.next; else head_ = x.next;
  if (x.next != npos) entries_[x.next].prev = x.prev; else tail_ = x.prev;
  x.prev = x.next = npos;
}

void nonce_count_table::push_front(uint32_t e) noexcept {
  entry& x = entries_[e];
  x.prev = npos;
  x.next = head_;
  if (head_ != npos) entries_[head_].prev = e;
  head_ = e;
  if (tail_ == npos) tail_ = e;
}

nonce_count_table::verdict nonce_count_table::update(uint64_t seq, uint32_t nc) noexcept {
  uint32_t e = find(seq);
  if (e != npos) {
    unlink(e);
    push_front(e);
    if (nc <= entries_[e].nc) return verdict::replay;
    entries_[e].nc = nc;
    return verdict::fresh;
  }
  // Not remembered: either its first use, or its history was evicted. Sequence numbers
  // grow, so anything issued before the newest evicted nonce may have been seen already.
  if (evicted_any_ && seq <= evicted_floor_) return verdict::forgotten;
  if (size_ == entries_.size()) {
    e = tail_;
    const uint64_t old = entries_[e].seq;
    index_erase(old);
    unlink(e);
    if (!evicted_any_ || old > evicted_floor_) evicted_floor_ = old;
    evicted_any_ = true;
  } else {
    e = static_cast<uint32_t>(size_++);
  }
  entries_[e].seq = seq;
  entries_[e].nc = nc;
  index_insert(e);
  push_front(e);
  return verdict::fresh;
}

// ---- authenticator ---------------------------------------------------------------------

std::string_view to_string(auth_reason r) noexcept {
  switch (r) {
    case auth_reason::none: return "none";
    case auth_reason::no_credentials: return "no_credentials";
    case auth_reason::malformed: return "malformed";
    case auth_reason::unsupported_algorithm: return "unsupported_algorithm";
    case auth_reason::unsupported_qop: return "unsupported_qop";
    case auth_reason::bad_uri: return "bad_uri";
    case auth_reason::bad_opaque: return "bad_opaque";
    case auth_reason::bad_nonce: return "bad_nonce";
    case auth_reason::nonce_expired: return "nonce_expired";
    case auth_reason::nonce_forgotten: return "nonce_forgotten";
    case auth_reason::replay: return "replay";
    case auth_reason::unknown_user: return "unknown_user";
    case auth_reason::wrong_response: return "wrong_response";
    case auth_reason::identity_mismatch: return "identity_mismatch";
    case auth_reason::count_: break;
  }
  return "unknown";
}

namespace {

void put_be64(uint8_t* p, uint64_t v) noexcept {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

uint64_t get_be64(const uint8_t* p) noexcept {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

// A realm goes into a quoted-string unescaped: refuse what would need escaping.
bool plain_quotable(std::string_view s) noexcept {
  for (char c : s)
    if (c == '"' || c == '\\' || c == '\r' || c == '\n' || static_cast<unsigned char>(c) < 0x20) return false;
  return true;
}

}  // namespace

authenticator::authenticator(auth_config config, credential_source& users)
    : config_(std::move(config)), users_(users), nc_table_(config_.replay_table_size) {
  if (config_.realm.empty() || !plain_quotable(config_.realm))
    throw std::invalid_argument("auth: realm must be non-empty and need no escaping");
  if (config_.secret.empty()) {
    std::random_device rd;
    for (int i = 0; i < 8; ++i) {
      const uint32_t w = rd();
      config_.secret.append(reinterpret_cast<const char*>(&w), sizeof w);
    }
  }
  hmac_sha256_set_key(&hmac_, config_.secret.size(), reinterpret_cast<const uint8_t*>(config_.secret.data()));
  // opaque: derived from the secret, so every box sharing the secret sends the same one.
  hmac_sha256_ctx c = hmac_;
  static constexpr std::string_view label = "tutti opaque";
  hmac_sha256_update(&c, label.size(), reinterpret_cast<const uint8_t*>(label.data()));
  uint8_t d[SHA256_DIGEST_SIZE];
  hmac_sha256_digest(&c, sizeof d, d);
  opaque_.resize(BASE64_ENCODE_RAW_LENGTH(12));
  base64_encode_raw(opaque_.data(), 12, d);
  // Sequence numbers start at the wall clock in microseconds, so nonces issued after a
  // restart sort after those issued before it (nonce_count_table relies on growth).
  next_seq_ = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

void authenticator::mac(const uint8_t* data, uint8_t* out20) const noexcept {
  hmac_sha256_ctx c = hmac_;
  hmac_sha256_update(&c, 16, data);
  hmac_sha256_digest(&c, 20, out20);
}

std::string authenticator::make_nonce(uint64_t now_s) {
  uint8_t raw[nonce_raw_bytes];
  put_be64(raw, now_s);
  put_be64(raw + 8, next_seq_++);
  mac(raw, raw + 16);
  std::string out(BASE64_ENCODE_RAW_LENGTH(nonce_raw_bytes), '\0');
  base64_encode_raw(out.data(), nonce_raw_bytes, raw);
  return out;
}

std::optional<authenticator::nonce_info> authenticator::read_nonce(std::string_view nonce) const noexcept {
  if (nonce.size() != BASE64_ENCODE_RAW_LENGTH(nonce_raw_bytes)) return std::nullopt;
  uint8_t raw[BASE64_DECODE_LENGTH(BASE64_ENCODE_RAW_LENGTH(nonce_raw_bytes))];
  base64_decode_ctx d;
  base64_decode_init(&d);
  size_t n = sizeof raw;
  if (!base64_decode_update(&d, &n, raw, nonce.size(), nonce.data()) || !base64_decode_final(&d) ||
      n != nonce_raw_bytes)
    return std::nullopt;
  uint8_t expect[20];
  mac(raw, expect);
  unsigned diff = 0;
  for (size_t i = 0; i < 20; ++i) diff |= static_cast<unsigned>(expect[i] ^ raw[16 + i]);
  if (diff != 0) return std::nullopt;
  return nonce_info{get_be64(raw), get_be64(raw + 8)};
}

std::string authenticator::challenge(const message_view& req, const request_context& ctx, bool stale) {
  const std::string nonce = make_nonce(ctx.now_s);
  const header_id h = config_.proxy ? header_id::proxy_authenticate : header_id::www_authenticate;
  message_builder b = make_response(req, config_.proxy ? 407 : 401, {}, response_options{ctx.to_tag, ctx.top_via});
  std::string v;
  v.reserve(96 + config_.realm.size() + nonce.size() + opaque_.size());
  // RFC 8760 §2.4: the preferred algorithm first; one nonce serves both challenges.
  const std::string_view first = config_.md5_first ? "MD5" : "SHA-256";
  const std::string_view second = config_.md5_first ? "SHA-256" : "MD5";
  for (const std::string_view alg : {first, second}) {
    if (config_.md5_only && alg != "MD5") continue;
    v.assign("Digest realm=\"").append(config_.realm).append("\", nonce=\"").append(nonce);
    v.append("\", opaque=\"").append(opaque_).append("\", algorithm=").append(alg).append(", qop=\"auth\"");
    if (stale) v.append(", stale=true");
    b.add(h, v);
  }
  return b.finish();
}

auth_outcome authenticator::refuse(const message_view& req, const request_context& ctx, auth_status s,
                                   auth_reason r) {
  ++refused_[static_cast<size_t>(r)];
  auth_outcome o;
  o.status = s;
  o.reason = r;
  const response_options opt{ctx.to_tag, ctx.top_via};
  switch (s) {
    case auth_status::challenge: o.response = challenge(req, ctx, false); break;
    case auth_status::stale: o.response = challenge(req, ctx, true); break;
    case auth_status::forbidden: o.response = make_response(req, 403, {}, opt).finish(); break;
    case auth_status::bad_request:
      o.response = make_response(req, 400, r == auth_reason::bad_uri ? "Digest URI Mismatch" : "Bad Authorization", opt)
                       .finish();
      break;
    case auth_status::ok: break;
  }
  return o;
}

auth_outcome authenticator::check(const message_view& req, const request_context& ctx) {
  const header_id h = config_.proxy ? header_id::proxy_authorization : header_id::authorization;
  // RFC 3261 §22.4: a request may carry credentials for several realms; use ours.
  std::optional<digest_credentials> creds;
  bool malformed = false;
  for (const header_field& f : req.headers()) {
    if (f.id != h) continue;
    auto c = parse_credentials(f.value);
    if (!c) {
      // Another scheme is someone else's business; a broken Digest header is not.
      if (c.error() != digest_error::not_digest) malformed = true;
      continue;
    }
    if (c->realm != config_.realm) continue;
    creds = std::move(c.value());
    break;
  }
  if (!creds)
    return malformed ? refuse(req, ctx, auth_status::bad_request, auth_reason::malformed)
                     : refuse(req, ctx, auth_status::challenge, auth_reason::no_credentials);
  const digest_credentials& c = *creds;

  if (c.algorithm != digest_algorithm::md5 && c.algorithm != digest_algorithm::sha256)
    return refuse(req, ctx, auth_status::challenge, auth_reason::unsupported_algorithm);
  // Without qop there is no nonce-count, so no replay protection (RFC 7616 §3.4 makes qop
  // mandatory); auth-int is stronger than what we offered and costs one body hash.
  if (c.qop != "auth" && c.qop != "auth-int")
    return refuse(req, ctx, auth_status::challenge, auth_reason::unsupported_qop);
  if (c.opaque != opaque_) return refuse(req, ctx, auth_status::challenge, auth_reason::bad_opaque);
  // RFC 7616 §3.4.6 (RFC 2617 §3.2.2.5): the digest-uri must name the Request-URI.
  if (c.uri != req.request_uri().text) {
    const auto u = parse_uri(c.uri);
    if (!u || !uri_equal(*u, req.request_uri()))
      return refuse(req, ctx, auth_status::bad_request, auth_reason::bad_uri);
  }
  const auto nonce = read_nonce(c.nonce);
  if (!nonce) return refuse(req, ctx, auth_status::challenge, auth_reason::bad_nonce);

  // An unknown user gets the same challenge as a wrong password: existence is not leaked.
  const auto user = users_.lookup(c.username, config_.realm);
  if (!user) return refuse(req, ctx, auth_status::challenge, auth_reason::unknown_user);
  const std::string& ha1 = c.algorithm == digest_algorithm::sha256 ? user->ha1_sha256 : user->ha1_md5;
  if (ha1.empty()) return refuse(req, ctx, auth_status::challenge, auth_reason::unsupported_algorithm);
  if (!digest_verify(c, req.method_text(), ha1, req.body()))
    return refuse(req, ctx, auth_status::challenge, auth_reason::wrong_response);

  // Only a right password earns stale=true (RFC 7616 §3.3): the client retries silently.
  if (ctx.now_s > nonce->issued_s + config_.nonce_lifetime_s)
    return refuse(req, ctx, auth_status::stale, auth_reason::nonce_expired);
  // Replay state changes only for verified requests, so nobody without the password can
  // push a client's nonce-count forward.
  switch (nc_table_.update(nonce->seq, c.nc_value)) {
    case nonce_count_table::verdict::fresh: break;
    case nonce_count_table::verdict::replay:
      return refuse(req, ctx, auth_status::challenge, auth_reason::replay);
    case nonce_count_table::verdict::forgotten:
      return refuse(req, ctx, auth_status::stale, auth_reason::nonce_forgotten);
  }

  if (config_.check_identity) {
    // RFC 3261 §10.3 step 4: a user registers only its own AOR; other requests must come
    // from it. Delegation (one user for another) needs check_identity off.
    const uri& id = req.method() == sip_method::register_ ? req.to().uri : req.from().uri;
    bool same = id.user == c.username;
    if (!same && id.user.find('%') != std::string_view::npos) {
      const auto decoded = percent_decode(id.user);
      same = decoded && *decoded == c.username;
    }
    if (!same) return refuse(req, ctx, auth_status::forbidden, auth_reason::identity_mismatch);
  }
  auth_outcome o;
  o.status = auth_status::ok;
  o.user = c.username;
  return o;
}

}  // namespace tutti::sig
