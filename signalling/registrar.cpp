#include "signalling/registrar.hpp"

#include <time.h>

#include <algorithm>

#include "signalling/sip/serializer.hpp"
#include "signalling/sip/text.hpp"
#include "signalling/sip/uri.hpp"

namespace tutti::sig {

std::optional<std::string> aor_key(const uri& u) {
  if ((u.scheme != uri_scheme::sip && u.scheme != uri_scheme::sips) || u.user.empty() || u.host.empty())
    return std::nullopt;
  auto user = percent_decode(u.user);
  if (!user) return std::nullopt;
  std::string k = std::move(*user);
  k += '@';
  for (char c : u.host) k += text::to_lower(c);
  return k;
}

// ---- location_service ------------------------------------------------------------------

namespace {

// Highest q first; among equals, the most recently written (the device in use).
bool before(const binding& a, const binding& b) noexcept {
  if (a.q != b.q) return a.q > b.q;
  return a.updated_s > b.updated_s;
}

}  // namespace

void location_service::notify(std::string_view aor, location_change c) const {
  for (const location_listener& l : listeners_) l(aor, c);
}

void location_service::set(std::string_view aor, std::vector<binding> bindings) {
  std::stable_sort(bindings.begin(), bindings.end(), before);
  auto it = aors_.find(aor);
  const bool was_online = it != aors_.end() && !it->second.empty();
  if (it != aors_.end()) bindings_ -= it->second.size();
  if (bindings.empty()) {
    if (it != aors_.end()) aors_.erase(it);
    if (was_online) notify(aor, location_change::offline);
    return;
  }
  for (const binding& b : bindings) next_expiry_s_ = std::min(next_expiry_s_, b.expires_at_s);
  bindings_ += bindings.size();
  if (it == aors_.end())
    aors_.emplace(std::string(aor), std::move(bindings));
  else
    it->second = std::move(bindings);
  notify(aor, was_online ? location_change::updated : location_change::online);
}

std::vector<binding> location_service::lookup(std::string_view aor, uint64_t now_s) const {
  std::vector<binding> out;
  const auto it = aors_.find(aor);
  if (it == aors_.end()) return out;
  for (const binding& b : it->second)
    if (b.expires_at_s > now_s) out.push_back(b);  // kept sorted by set()
  return out;
}

const std::vector<binding>* location_service::find(std::string_view aor) const {
  const auto it = aors_.find(aor);
  return it == aors_.end() ? nullptr : &it->second;
}

size_t location_service::expire(uint64_t now_s) {
  if (now_s < next_expiry_s_) return 0;  // nothing can be due: skip the walk
  size_t removed = 0;
  uint64_t next = UINT64_MAX;
  // Collect the changes first: listeners may look the AOR up (or register) while notified.
  std::vector<std::pair<std::string, location_change>> changes;
  for (auto it = aors_.begin(); it != aors_.end();) {
    std::vector<binding>& v = it->second;
    const size_t before_size = v.size();
    std::erase_if(v, [&](const binding& b) { return b.expires_at_s <= now_s; });
    for (const binding& b : v) next = std::min(next, b.expires_at_s);
    const size_t gone = before_size - v.size();
    removed += gone;
    if (v.empty()) {
      changes.emplace_back(it->first, location_change::offline);
      it = aors_.erase(it);
      continue;
    }
    if (gone > 0) changes.emplace_back(it->first, location_change::updated);
    ++it;
  }
  bindings_ -= removed;
  next_expiry_s_ = next;
  for (const auto& [aor, c] : changes) notify(aor, c);
  return removed;
}

// ---- registrar -------------------------------------------------------------------------

std::string_view to_string(register_reason r) noexcept {
  switch (r) {
    case register_reason::none: return "none";
    case register_reason::not_register: return "not_register";
    case register_reason::domain_not_served: return "domain_not_served";
    case register_reason::bad_aor: return "bad_aor";
    case register_reason::bad_contact: return "bad_contact";
    case register_reason::bad_star: return "bad_star";
    case register_reason::bad_expires: return "bad_expires";
    case register_reason::interval_too_brief: return "interval_too_brief";
    case register_reason::out_of_order: return "out_of_order";
    case register_reason::too_many_bindings: return "too_many_bindings";
    case register_reason::count_: break;
  }
  return "unknown";
}

namespace {

// qvalue from thousandths: 1000 -> "1", 500 -> "0.5", 25 -> "0.025" (RFC 3261 §25.1).
void append_q(std::string& out, uint16_t q) {
  if (q >= 1000) {
    out += '1';
    return;
  }
  char d[4] = {'0', static_cast<char>('0' + q / 100), static_cast<char>('0' + q / 10 % 10),
               static_cast<char>('0' + q % 10)};
  size_t n = 4;
  while (n > 2 && d[n - 1] == '0') --n;
  out += "0.";
  out.append(d + 1, n - 1);
  if (n == 1) out += '0';
}

// RFC 3261 §20.17 Date: rfc1123-date, always GMT.
std::string http_date(uint64_t now_s) {
  const time_t t = static_cast<time_t>(now_s);
  tm g{};
  gmtime_r(&t, &g);
  char buf[40];
  const size_t n = strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &g);
  return std::string(buf, n);
}

struct wanted {
  std::string_view uri_text;
  uri parsed;
  uint32_t expires_s = 0;
  uint16_t q = 1000;
};

}  // namespace

registrar::registrar(registrar_config config, location_service& locations)
    : config_(std::move(config)), locations_(locations) {
  if (config_.min_expires_s > config_.max_expires_s) config_.max_expires_s = config_.min_expires_s;
}

bool registrar::ours(std::string_view host) const noexcept {
  for (const std::string& d : config_.domains)
    if (text::iequals(d, host)) return true;
  return false;
}

register_result registrar::fail(const message_view& req, const request_context& ctx, uint16_t status,
                                std::string_view phrase, register_reason r) {
  register_result out;
  out.status = status;
  out.reason = r;
  message_builder b = make_response(req, status, phrase, response_options{ctx.to_tag, ctx.top_via});
  if (status == 423) b.add(header_id::min_expires, config_.min_expires_s);  // §10.3 step 7
  out.response = b.finish();
  return out;
}

register_result registrar::handle(const message_view& req, const request_context& ctx) {
  if (!req.is_request() || req.method() != sip_method::register_)
    return fail(req, ctx, 400, "Not A REGISTER", register_reason::not_register);
  // Step 1: the Request-URI names the domain whose bindings are written; we proxy nowhere.
  const uri& ruri = req.request_uri();
  if ((ruri.scheme != uri_scheme::sip && ruri.scheme != uri_scheme::sips) || !ours(ruri.host))
    return fail(req, ctx, 403, "Domain Not Served", register_reason::domain_not_served);
  // Step 5: To holds the address-of-record, which must belong to that domain.
  const uri& to = req.to().uri;
  auto aor = aor_key(to);
  if (!aor || !text::iequals(to.host, ruri.host))
    return fail(req, ctx, 404, "Not Found", register_reason::bad_aor);
  // Our domain's aliases (the listen address) name the same users: one key per user, under
  // the first (canonical) domain, so dial-out, chat and presence find every device.
  if (!config_.domains.empty()) {
    aor->resize(aor->find('@') + 1);
    for (char c : config_.domains.front()) *aor += text::to_lower(c);
  }

  uint32_t header_expires = config_.default_expires_s;
  bool has_expires_header = false;
  if (const auto e = req.expires()) {
    header_expires = *e;
    has_expires_header = true;
  } else if (e.error() != header_error::absent) {
    return fail(req, ctx, 400, "Bad Expires", register_reason::bad_expires);
  }

  // Step 6: read every Contact before changing anything.
  std::vector<wanted> contacts;
  bool star = false;
  for (std::string_view v : req.values(header_id::contact)) {
    const auto c = parse_contact(v);
    if (!c) return fail(req, ctx, 400, "Bad Contact", register_reason::bad_contact);
    if (c->star) {
      star = true;
      continue;
    }
    const uri& u = c->address.uri;
    if (u.text.empty()) return fail(req, ctx, 400, "Bad Contact", register_reason::bad_contact);
    wanted w{u.text, u, c->expires.value_or(header_expires), c->q.value_or(1000)};
    // Step 7: too short is refused (the client retries with Min-Expires), too long shortened.
    if (w.expires_s != 0 && w.expires_s < config_.min_expires_s)
      return fail(req, ctx, 423, {}, register_reason::interval_too_brief);
    w.expires_s = std::min(w.expires_s, config_.max_expires_s);
    contacts.push_back(w);
  }
  // Step 6: "*" only alone and only with Expires: 0.
  if (star && (!contacts.empty() || !has_expires_header || header_expires != 0))
    return fail(req, ctx, 400, "Invalid Star Contact", register_reason::bad_star);

  const std::vector<binding>* stored = locations_.find(*aor);
  std::vector<binding> next;
  if (stored)
    for (const binding& b : *stored)
      if (b.expires_at_s > ctx.now_s) next.push_back(b);  // drop what the sweep has not yet
  std::vector<bool> touched(next.size(), false);

  // Step 7: a binding written by this Call-ID only moves forward in CSeq; a stale or
  // reordered REGISTER aborts the whole request (RFC 3261 leaves the code open: 500).
  auto out_of_order = [&](const binding& b) {
    return b.call_id == req.call_id() && req.cseq().number <= b.cseq;
  };
  if (star) {
    for (const binding& b : next)
      if (out_of_order(b)) return fail(req, ctx, 500, "Out Of Order", register_reason::out_of_order);
    next.clear();
  } else {
    std::vector<bool> remove(next.size(), false);
    for (const wanted& w : contacts) {
      size_t i = 0;
      for (; i < next.size(); ++i) {
        if (next[i].contact == w.uri_text) break;
        const auto u = parse_uri(next[i].contact);
        if (u && uri_equal(*u, w.parsed)) break;  // §10.3 step 7: compared per §19.1.4
      }
      if (i < next.size()) {
        if (!touched[i] && out_of_order(next[i]))
          return fail(req, ctx, 500, "Out Of Order", register_reason::out_of_order);
        touched[i] = true;
        remove[i] = w.expires_s == 0;
      } else {
        if (w.expires_s == 0) continue;  // removing what is not there is no error
        next.emplace_back();
        touched.push_back(true);
        remove.push_back(false);
        next.back().contact = std::string(w.uri_text);
      }
      binding& b = next[i];
      b.transport = std::string(ctx.transport);
      b.source_ip = std::string(ctx.source_ip);
      b.source_port = ctx.source_port;
      b.expires_at_s = ctx.now_s + w.expires_s;
      b.q = w.q;
      b.call_id = std::string(req.call_id());
      b.cseq = req.cseq().number;
      b.updated_s = ctx.now_s;
    }
    size_t k = 0;
    for (size_t i = 0; i < next.size(); ++i) {
      if (remove[i]) continue;
      if (k != i) next[k] = std::move(next[i]);  // self-move would empty the strings
      ++k;
    }
    next.resize(k);
    if (next.size() > config_.max_bindings_per_aor)
      return fail(req, ctx, 403, "Too Many Contacts", register_reason::too_many_bindings);
  }

  // Step 8: commit only now that every update succeeded, then list what is bound.
  if (!contacts.empty() || star) locations_.set(*aor, next);
  message_builder b = make_response(req, 200, {}, response_options{ctx.to_tag, ctx.top_via});
  const std::vector<binding> current = locations_.lookup(*aor, ctx.now_s);
  std::string v;
  for (const binding& x : current) {
    v.clear();
    v += '<';
    v += x.contact;
    v += ">;expires=";
    v.append(std::to_string(x.expires_at_s - ctx.now_s));
    if (x.q != 1000) {
      v.append(";q=");
      append_q(v, x.q);
    }
    b.add(header_id::contact, v);
  }
  b.add(header_id::date, http_date(ctx.now_s));
  register_result out;
  out.status = 200;
  out.response = b.finish();
  return out;
}

}  // namespace tutti::sig
