#include "signalling/transaction.hpp"

#include <random>

#include "signalling/sip/text.hpp"

namespace tutti::sig {

std::string_view to_string(transport_kind k) noexcept { return k == transport_kind::udp ? "UDP" : "TCP"; }

std::string peer::to_string() const {
  std::string s = transport == transport_kind::udp ? "udp:" : "tcp:";
  if (address.is_v6()) s.append("[").append(address.to_string()).append("]");
  else s.append(address.to_string());
  s.append(":").append(std::to_string(port));
  return s;
}

peer response_target(const via& top, const peer& source) noexcept {
  peer p = source;
  // RFC 3581 §4: with rport, the response goes back to the source port (NAT binding). TCP
  // answers on the connection the request came on; should it be gone, the transport opens
  // one to the received address and the sent-by port (RFC 3261 §18.2.2).
  if (!source.reliable() && top.has_rport) return p;
  p.port = top.port != 0 ? top.port : 5060;
  return p;
}

namespace {

constexpr uint16_t status_of(std::string_view msg) noexcept {
  // "SIP/2.0 NNN ..."
  if (msg.size() < 12 || msg.substr(0, 8) != "SIP/2.0 ") return 0;
  uint16_t s = 0;
  for (size_t i = 8; i < 11; ++i) {
    if (msg[i] < '0' || msg[i] > '9') return 0;
    s = static_cast<uint16_t>(s * 10 + (msg[i] - '0'));
  }
  return s;
}

// RFC 3261 §17.2.3: branch + sent-by + method (ACK matches INVITE); requests without the
// magic cookie fall back to the RFC 2543 identity (Call-ID, CSeq, From tag, top Via).
std::string server_key(const message_view& m, std::string_view method) {
  const via& v = m.top_via();
  std::string k;
  if (v.rfc3261_branch()) {
    k.reserve(v.branch.size() + v.host.size() + method.size() + 8);
    k.append(v.branch).append(1, '|').append(v.host).append(1, ':').append(std::to_string(v.port));
  } else {
    k.append("2543|").append(m.call_id()).append(1, '|').append(std::to_string(m.cseq().number));
    k.append(1, '|').append(m.from().tag).append(1, '|').append(v.text);
  }
  k.append(1, '|').append(method);
  return k;
}

std::string client_key(std::string_view branch, std::string_view cseq_method) {
  std::string k;
  k.reserve(branch.size() + cseq_method.size() + 1);
  k.append(branch).append(1, '|').append(cseq_method);
  return k;
}

bool set(time_point t) noexcept { return t != time_point{}; }

}  // namespace

// ---- server transactions (RFC 3261 §17.2) ----

message_builder server_transaction::response(uint16_t status, std::string_view reason) const {
  message_builder b = message_builder::response(status, reason);
  for (const std::string& v : vias_) b.add(header_id::via, v);
  b.add(header_id::from, from_);
  // §8.2.6.2: a To tag on every response but 100 Trying, unless the request had one.
  if (to_has_tag_ || status == 100 || to_tag_.empty()) b.add(header_id::to, to_);
  else b.add(header_id::to, to_ + ";tag=" + to_tag_);
  b.add(header_id::call_id, call_id_);
  b.add(header_id::cseq, cseq_);
  if (status == 100 && !timestamp_.empty()) b.add(header_id::timestamp, timestamp_);  // §8.2.6.1
  return b;
}

bool server_transaction::reply(uint16_t status, std::string_view reason) {
  return send(response(status, reason).finish());
}

bool server_transaction::send(std::string message) {
  if (layer_ == nullptr || state_ == server_state::terminated) return false;
  const uint16_t status = status_of(message);
  if (status < 100 || status > 699) return false;
  const bool invite = method_ == sip_method::invite;
  // After the final response only an INVITE's 2xx may be sent again (RFC 6026 §7.1).
  if (final_sent() && !(state_ == server_state::accepted && status / 100 == 2)) return false;
  transaction_layer& l = *layer_;
  const time_point now = l.now_();
  last_response_ = std::move(message);
  last_status_ = status;
  l.transmit(target_, last_response_);
  if (status < 200) {
    state_ = server_state::proceeding;
    return true;
  }
  if (invite && status < 300) {
    // RFC 6026 §8.5: Accepted absorbs INVITE retransmissions until Timer L.
    if (state_ != server_state::accepted) {
      state_ = server_state::accepted;
      retransmit_at_ = {};
      end_at_ = now + 64 * l.t_.t1;
      l.schedule(*this);
    }
    return true;
  }
  state_ = server_state::completed;
  retransmit_at_ = {};
  if (invite) {
    // §17.2.1: Timer G retransmits over UDP, Timer H gives up waiting for the ACK.
    if (!target_.reliable()) {
      interval_ = l.t_.t1;
      retransmit_at_ = now + interval_;
    }
    end_at_ = now + 64 * l.t_.t1;
  } else {
    // §17.2.2: Timer J (64*T1 over UDP, zero over TCP).
    if (target_.reliable()) {
      l.terminate(*this);
      return true;
    }
    end_at_ = now + 64 * l.t_.t1;
  }
  l.schedule(*this);
  return true;
}

void server_transaction::on_timer(time_point now) {
  transaction_layer& l = *layer_;
  if (set(retransmit_at_) && now >= retransmit_at_ && state_ == server_state::completed) {
    l.transmit(target_, last_response_);
    ++l.counters_.response_retransmits;
    interval_ = std::min(2 * interval_, l.t_.t2);
    retransmit_at_ = now + interval_;
  }
  if (set(end_at_) && now >= end_at_) {
    if (state_ == server_state::completed && method_ == sip_method::invite) ++l.counters_.server_timeouts;
    l.terminate(*this);
    return;
  }
  l.schedule(*this);
}

// ---- client transactions (RFC 3261 §17.1) ----

void client_transaction::finish(client_event e) {
  if (cb_) cb_(e);
}

void client_transaction::on_timer(time_point now) {
  transaction_layer& l = *layer_;
  const bool waiting = state_ == client_state::calling || state_ == client_state::trying ||
                       state_ == client_state::proceeding;
  if (set(retransmit_at_) && now >= retransmit_at_ && waiting) {
    l.transmit(target_, request_);
    ++l.counters_.request_retransmits;
    // Timer A doubles without bound; Timer E is capped at T2, and is T2 in Proceeding.
    if (method_ == sip_method::invite) interval_ = 2 * interval_;
    else interval_ = state_ == client_state::proceeding ? l.t_.t2 : std::min(2 * interval_, l.t_.t2);
    retransmit_at_ = now + interval_;
  }
  if (set(end_at_) && now >= end_at_) {
    // Timer B / F: no final response. Timers D, K, M: the transaction just ends.
    l.terminate(*this);
    if (waiting) {
      ++l.counters_.client_timeouts;
      finish({client_event::kind::timeout, 408, nullptr, false});
    }
    return;
  }
  l.schedule(*this);
}

// ---- the layer ----

transaction_layer::transaction_layer(message_sender& out, std::function<time_point()> now, timer_settings t)
    : out_(out), now_(std::move(now)), t_(t) {
  std::random_device rd;
  rng_state_ = (uint64_t{rd()} << 32) ^ rd() ^ static_cast<uint64_t>(sip_clock::now().time_since_epoch().count());
}

transaction_layer::~transaction_layer() {
  for (auto& [k, tx] : servers_) tx->layer_ = nullptr;
  for (auto& [k, tx] : clients_) tx->layer_ = nullptr;
}

std::string transaction_layer::random_token() {
  // splitmix64: unique per call; tags and branches need uniqueness, not secrecy here.
  uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  static constexpr char hex[] = "0123456789abcdef";
  std::string s(16, '0');
  for (size_t i = 0; i < 16; ++i) s[i] = hex[(z >> (i * 4)) & 15];
  return s;
}

bool transaction_layer::transmit(const peer& to, std::string_view bytes) {
  if (out_.send(to, bytes)) return true;
  ++counters_.send_failures;
  return false;
}

void transaction_layer::schedule(server_transaction& tx) {
  ++tx.timer_gen_;
  time_point at = tx.end_at_;
  if (set(tx.retransmit_at_) && (!set(at) || tx.retransmit_at_ < at)) at = tx.retransmit_at_;
  if (!set(at)) return;
  const bool earliest = timers_.empty() || at < timers_.top().at;
  timers_.push({at, tx.timer_gen_, tx.shared_from_this(), nullptr});
  if (earliest && deadline_hook_) deadline_hook_();
}

void transaction_layer::schedule(client_transaction& tx) {
  ++tx.timer_gen_;
  time_point at = tx.end_at_;
  if (set(tx.retransmit_at_) && (!set(at) || tx.retransmit_at_ < at)) at = tx.retransmit_at_;
  if (!set(at)) return;
  auto it = clients_.find(tx.key_);
  if (it == clients_.end()) return;
  const bool earliest = timers_.empty() || at < timers_.top().at;
  timers_.push({at, tx.timer_gen_, nullptr, it->second});
  if (earliest && deadline_hook_) deadline_hook_();
}

void transaction_layer::terminate(server_transaction& tx) {
  tx.state_ = server_state::terminated;
  ++tx.timer_gen_;
  servers_.erase(tx.key_);
}

void transaction_layer::terminate(client_transaction& tx) {
  tx.state_ = client_state::terminated;
  ++tx.timer_gen_;
  clients_.erase(tx.key_);
}

std::optional<time_point> transaction_layer::next_deadline() const {
  if (timers_.empty()) return std::nullopt;
  return timers_.top().at;
}

void transaction_layer::run_timers(time_point now) {
  while (!timers_.empty() && timers_.top().at <= now) {
    timer_entry e = timers_.top();
    timers_.pop();
    if (e.server) {
      if (e.gen == e.server->timer_gen_ && e.server->state_ != server_state::terminated && e.server->layer_)
        e.server->on_timer(now);
    } else if (e.client) {
      if (e.gen == e.client->timer_gen_ && e.client->state_ != client_state::terminated && e.client->layer_)
        e.client->on_timer(now);
    }
  }
}

transaction_layer::request_match transaction_layer::receive_request(const message_view& req, const peer& from) {
  using kind = request_match::kind;
  if (req.method() == sip_method::ack) {
    // §17.2.1: an ACK for a non-2xx final response belongs to the INVITE transaction; an
    // ACK for a 2xx has its own branch and goes to the transaction user.
    auto it = servers_.find(server_key(req, "INVITE"));
    if (it == servers_.end()) return {kind::ack_unmatched, nullptr};
    server_transaction& tx = *it->second;
    if (tx.state_ == server_state::completed) {
      ++counters_.acks_matched;
      tx.state_ = server_state::confirmed;
      tx.retransmit_at_ = {};
      // Timer I: T4 over UDP to absorb ACK retransmissions, zero over TCP.
      if (tx.target_.reliable()) {
        terminate(tx);
      } else {
        tx.end_at_ = now_() + t_.t4;
        schedule(tx);
      }
      return {kind::ack_matched, nullptr};
    }
    if (tx.state_ == server_state::confirmed) {
      ++counters_.acks_matched;
      return {kind::ack_matched, nullptr};
    }
    return {kind::ack_unmatched, nullptr};
  }

  std::string key = server_key(req, req.method_text());
  auto it = servers_.find(key);
  if (it != servers_.end()) {
    server_transaction& tx = *it->second;
    ++counters_.requests_absorbed;
    // §17.2.1/§17.2.2: Proceeding and Completed resend the last response; Trying and
    // Confirmed absorb silently. Accepted resends the 2xx as the UAS core would (§13.3.1.4).
    if (!tx.last_response_.empty() && tx.state_ != server_state::trying &&
        tx.state_ != server_state::confirmed) {
      ++counters_.responses_resent;
      transmit(tx.target_, tx.last_response_);
    }
    return {kind::retransmission, nullptr};
  }

  server_transaction_ptr tx(new server_transaction());
  tx->layer_ = this;
  tx->key_ = std::move(key);
  tx->method_ = req.method();
  tx->method_text_ = std::string(req.method_text());
  tx->source_ = from;
  tx->target_ = response_target(req.top_via(), from);
  size_t n = 0;
  for (std::string_view v : req.values(header_id::via)) {
    if (n++ == 0) tx->vias_.push_back(stamp_via(req.top_via(), from.address.to_string(), from.port));
    else tx->vias_.push_back(text::unfold(v));
  }
  tx->from_ = text::unfold(req.find(header_id::from)->value);
  tx->to_ = text::unfold(req.find(header_id::to)->value);
  tx->to_has_tag_ = req.to().has_tag;
  tx->call_id_ = std::string(req.call_id());
  tx->cseq_ = text::unfold(req.find(header_id::cseq)->value);
  if (const header_field* ts = req.find(header_id::timestamp)) tx->timestamp_ = text::unfold(ts->value);
  tx->to_tag_ = random_token();
  servers_.emplace(tx->key_, tx);
  ++counters_.server_created;
  if (tx->method_ == sip_method::invite) {
    // §17.2.1: Proceeding at once, and a 100 Trying now rather than after 200 ms: the
    // stack cannot know whether the transaction user will answer sooner.
    tx->state_ = server_state::proceeding;
    tx->reply(100);
  } else {
    // A non-INVITE request the transaction user never answers would stay forever: drop it
    // after 64*T1, when the client's Timer F has long given up (no 408: RFC 4320 §4.1).
    tx->state_ = server_state::trying;
    tx->end_at_ = now_() + 64 * t_.t1;
    schedule(*tx);
  }
  return {kind::created, std::move(tx)};
}

server_transaction_ptr transaction_layer::find_invite(const message_view& cancel) const {
  auto it = servers_.find(server_key(cancel, "INVITE"));
  return it == servers_.end() ? nullptr : it->second;
}

bool transaction_layer::receive_response(const message_view& resp, const peer& /*from*/) {
  const via& v = resp.top_via();
  auto it = v.rfc3261_branch() ? clients_.find(client_key(v.branch, resp.cseq().method_text)) : clients_.end();
  if (it == clients_.end()) {
    ++counters_.stray_responses;
    return false;
  }
  client_transaction_ptr tx = it->second;
  const uint16_t status = resp.status();
  const time_point now = now_();
  const bool invite = tx->method_ == sip_method::invite;
  const bool waiting = tx->state_ == client_state::calling || tx->state_ == client_state::trying ||
                       tx->state_ == client_state::proceeding;
  if (status < 200) {
    if (!waiting) return true;
    tx->state_ = client_state::proceeding;
    if (invite) {
      // §17.1.1.2: Proceeding stops Timers A and B; the TU may CANCEL.
      tx->retransmit_at_ = {};
      tx->end_at_ = {};
    }
    schedule(*tx);
    tx->finish({client_event::kind::provisional, status, &resp, false});
    return true;
  }
  if (invite && status < 300) {
    if (tx->state_ == client_state::accepted) {
      tx->finish({client_event::kind::final_response, status, &resp, true});
      return true;
    }
    if (!waiting) return true;
    // RFC 6026 §8.4: Accepted for Timer M, further 2xx go to the TU (which ACKs each).
    tx->state_ = client_state::accepted;
    tx->retransmit_at_ = {};
    tx->end_at_ = now + 64 * t_.t1;
    schedule(*tx);
    tx->finish({client_event::kind::final_response, status, &resp, false});
    return true;
  }
  if (invite) {
    if (tx->state_ == client_state::completed) {
      transmit(tx->target_, tx->request_);  // the ACK again (§17.1.1.2)
      return true;
    }
    if (!waiting) return true;
    // §17.1.1.3: the ACK for a non-2xx response carries the response's To (its tag).
    std::string ack = tx->ack_head_;
    ack.append("To: ").append(text::unfold(resp.find(header_id::to)->value)).append("\r\n");
    ack.append("Content-Length: 0\r\n\r\n");
    tx->request_ = std::move(ack);
    transmit(tx->target_, tx->request_);
    tx->state_ = client_state::completed;
    tx->retransmit_at_ = {};
    if (tx->target_.reliable()) {
      terminate(*tx);
    } else {
      tx->end_at_ = now + t_.timer_d;
      schedule(*tx);
    }
    tx->finish({client_event::kind::final_response, status, &resp, false});
    return true;
  }
  if (!waiting) return true;  // a retransmitted final response, absorbed in Completed
  tx->state_ = client_state::completed;
  tx->retransmit_at_ = {};
  // Timer K: T4 over UDP, zero over TCP.
  if (tx->target_.reliable()) {
    terminate(*tx);
  } else {
    tx->end_at_ = now + t_.t4;
    schedule(*tx);
  }
  tx->finish({client_event::kind::final_response, status, &resp, false});
  return true;
}

result<client_transaction_ptr, request_error> transaction_layer::send_request(std::string request, const peer& to,
                                                                              client_callback cb) {
  const size_t line_end = request.find("\r\n");
  if (line_end == std::string::npos) return fail(request_error::malformed);
  const std::string branch = "z9hG4bK" + random_token();
  std::string via_value = "SIP/2.0/";
  via_value.append(to_string(to.transport)).append(" ").append(out_.sent_by(to.transport));
  via_value.append(";branch=").append(branch).append(";rport");
  request.insert(line_end + 2, "Via: " + via_value + "\r\n");
  auto parsed = parse_message(request);
  if (!parsed || !parsed->is_request() || parsed->method() == sip_method::ack ||
      parsed->method() == sip_method::unknown)
    return fail(request_error::malformed);
  return launch(std::move(request), *parsed, branch, via_value, to, std::move(cb));
}

result<client_transaction_ptr, request_error> transaction_layer::launch(std::string&& request, const message_view& m,
                                                                        const std::string& branch,
                                                                        const std::string& via_value, const peer& to,
                                                                        client_callback cb) {
  client_transaction_ptr tx = std::make_shared<client_transaction>();
  tx->layer_ = this;
  tx->branch_ = branch;
  tx->key_ = client_key(branch, m.cseq().method_text);
  tx->method_ = m.method();
  tx->target_ = to;
  tx->cseq_ = m.cseq().number;
  tx->cb_ = std::move(cb);
  if (tx->method_ == sip_method::invite) {
    // §17.1.1.3: ACK with the INVITE's Request-URI, top Via, Route, From, Call-ID, CSeq number.
    std::string& a = tx->ack_head_;
    a.append("ACK ").append(m.request_uri().text).append(" SIP/2.0\r\n");
    a.append("Via: ").append(via_value).append("\r\n");
    for (std::string_view r : m.values(header_id::route)) a.append("Route: ").append(text::unfold(r)).append("\r\n");
    a.append("From: ").append(text::unfold(m.find(header_id::from)->value)).append("\r\n");
    a.append("Call-ID: ").append(m.call_id()).append("\r\n");
    a.append("CSeq: ").append(std::to_string(tx->cseq_)).append(" ACK\r\n");
    a.append("Max-Forwards: 70\r\n");
  }
  tx->request_ = std::move(request);
  if (!transmit(to, tx->request_)) return fail(request_error::no_transport);
  tx->state_ = tx->method_ == sip_method::invite ? client_state::calling : client_state::trying;
  const time_point now = now_();
  if (!to.reliable()) {
    tx->interval_ = t_.t1;
    tx->retransmit_at_ = now + t_.t1;  // Timer A / E
  }
  tx->end_at_ = now + 64 * t_.t1;  // Timer B / F
  clients_.emplace(tx->key_, tx);
  ++counters_.client_created;
  schedule(*tx);
  return tx;
}

result<client_transaction_ptr, request_error> transaction_layer::send_cancel(const client_transaction_ptr& invite,
                                                                             client_callback cb) {
  if (!invite || invite->method_ != sip_method::invite ||
      (invite->state_ != client_state::calling && invite->state_ != client_state::proceeding))
    return fail(request_error::malformed);
  auto parsed = parse_message(invite->request_);
  if (!parsed) return fail(request_error::malformed);
  const message_view& inv = *parsed;
  // §9.1: Request-URI, Call-ID, To, From, CSeq number and the top Via (its branch) of the
  // INVITE, and its Route set.
  std::string cancel;
  cancel.append("CANCEL ").append(inv.request_uri().text).append(" SIP/2.0\r\n");
  const std::string via_value(inv.top_via().text);
  cancel.append("Via: ").append(via_value).append("\r\n");
  for (std::string_view r : inv.values(header_id::route)) cancel.append("Route: ").append(text::unfold(r)).append("\r\n");
  cancel.append("From: ").append(text::unfold(inv.find(header_id::from)->value)).append("\r\n");
  cancel.append("To: ").append(text::unfold(inv.find(header_id::to)->value)).append("\r\n");
  cancel.append("Call-ID: ").append(inv.call_id()).append("\r\n");
  cancel.append("CSeq: ").append(std::to_string(invite->cseq_)).append(" CANCEL\r\n");
  cancel.append("Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
  auto m = parse_message(cancel);
  if (!m) return fail(request_error::malformed);
  return launch(std::move(cancel), *m, invite->branch_, via_value, invite->target_, std::move(cb));
}

}  // namespace tutti::sig
