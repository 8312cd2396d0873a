#include "signalling/sip_stack.hpp"

#include "signalling/sip/text.hpp"

namespace tutti::sig {

namespace {

size_t index(sip_method m) noexcept { return static_cast<size_t>(m); }

// The methods of RFC 3261 and its extensions that the parser knows: 405 when not handled;
// anything else is 501 (RFC 3261 §8.2.1).
bool known_method(sip_method m) noexcept { return m != sip_method::unknown; }

}  // namespace

bool sip_stack::counting_sender::send(const peer& to, std::string_view bytes) {
  if (bytes.size() > 8 && bytes.substr(0, 8) == "SIP/2.0 ") {
    const char c = bytes[8];
    if (c >= '1' && c <= '6') ++s_.counters_.responses_sent[static_cast<size_t>(c - '0')];
  }
  return s_.transport_.send(to, bytes);
}

sip_stack::sip_stack(boost::asio::io_context& io, stack_settings settings)
    : settings_(std::move(settings)),
      transport_(io, [this](const message_view& m, const peer& from) { on_message(m, from); }, settings_.limits),
      sender_(*this),
      transactions_(sender_, [] { return sip_clock::now(); }, settings_.timers),
      timer_(io) {
  transactions_.on_earlier_deadline([this] { rearm(); });
  for (const std::string& s : settings_.supported) {
    if (!supported_.empty()) supported_ += ", ";
    supported_ += s;
  }
  rebuild_allow();
}

sip_stack::~sip_stack() { stop(); }

result<uint16_t, std::string> sip_stack::start() { return transport_.open(settings_.host, settings_.port); }

void sip_stack::stop() {
  transport_.close();
  timer_.cancel();
  armed_ = false;
}

bool sip_stack::on_request(sip_method m, request_handler h) {
  if (m == sip_method::unknown || m == sip_method::ack || m == sip_method::cancel) return false;
  handlers_[index(m)] = std::move(h);
  rebuild_allow();
  return true;
}

sip_stack::request_handler sip_stack::handler(sip_method m) const {
  if (m == sip_method::unknown || m == sip_method::ack || m == sip_method::cancel) return {};
  return handlers_[index(m)];
}

void sip_stack::rebuild_allow() {
  allow_.clear();
  const auto add = [this](sip_method m) {
    if (!allow_.empty()) allow_ += ", ";
    allow_ += method_name(m);
  };
  if (handlers_[index(sip_method::invite)]) {
    add(sip_method::invite);
    add(sip_method::ack);
    add(sip_method::cancel);
  }
  add(sip_method::options);
  for (size_t i = 1; i < method_count; ++i) {
    const auto m = static_cast<sip_method>(i);
    if (handlers_[i] && m != sip_method::invite && m != sip_method::options) add(m);
  }
}

result<client_transaction_ptr, request_error> sip_stack::send_request(std::string request, const peer& to,
                                                                      client_callback cb) {
  return transactions_.send_request(std::move(request), to, std::move(cb));
}

result<client_transaction_ptr, request_error> sip_stack::send_cancel(const client_transaction_ptr& invite,
                                                                     client_callback cb) {
  return transactions_.send_cancel(invite, std::move(cb));
}

bool sip_stack::send_stateless(const peer& to, std::string_view bytes) { return sender_.send(to, bytes); }

void sip_stack::rearm() {
  const auto next = transactions_.next_deadline();
  if (!next || (armed_ && *next >= armed_at_)) return;
  armed_ = true;
  armed_at_ = *next;
  timer_.expires_at(*next);  // cancels a later wait, whose handler sees operation_aborted
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    armed_ = false;
    transactions_.run_timers(sip_clock::now());
    rearm();
  });
}

void sip_stack::on_message(const message_view& m, const peer& from) {
  if (m.is_response()) {
    ++counters_.responses_received[m.status() / 100];
    transactions_.receive_response(m, from);
    return;
  }
  using kind = transaction_layer::request_match::kind;
  auto match = transactions_.receive_request(m, from);
  switch (match.what) {
    case kind::retransmission:
    case kind::ack_matched:
      return;
    case kind::ack_unmatched:
      ++counters_.requests[index(sip_method::ack)];
      if (ack_handler_) ack_handler_(m, from);
      else ++counters_.unmatched_acks;
      return;
    case kind::created:
      ++counters_.requests[index(m.method())];
      dispatch(m, from, match.tx);
      return;
  }
}

void sip_stack::dispatch(const message_view& req, const peer& from, const server_transaction_ptr& tx) {
  const sip_method method = req.method();
  // RFC 3261 §16.3 item 3 / §11: OPTIONS with Max-Forwards 0 is answered here; anything
  // else has run out of hops.
  if (req.max_forwards() && *req.max_forwards() == 0 && method != sip_method::options) {
    ++counters_.too_many_hops;
    tx->reply(483);
    return;
  }
  if (method == sip_method::cancel) {
    answer_cancel(req, tx);
    return;
  }
  // §8.2.2.1: a Request-URI scheme the stack does not serve.
  const uri_scheme scheme = req.request_uri().scheme;
  if (scheme != uri_scheme::sip && scheme != uri_scheme::sips && scheme != uri_scheme::tel) {
    tx->reply(416);
    return;
  }
  // §8.2.2.3: every option tag in Require must be supported, else 420 listing the others.
  std::string unsupported;
  for (std::string_view tag : req.values(header_id::require)) {
    bool ok = false;
    for (const std::string& s : settings_.supported) ok = ok || text::iequals(s, tag);
    if (!ok) {
      if (!unsupported.empty()) unsupported += ", ";
      unsupported += tag;
    }
  }
  if (!unsupported.empty()) {
    ++counters_.bad_extension;
    message_builder r = tx->response(420);
    r.add(header_id::unsupported, unsupported);
    tx->send(r.finish());
    return;
  }
  if (const request_handler& h = handlers_[index(method)]) {
    h(req, from, tx);
    return;
  }
  if (method == sip_method::options) {
    answer_options(tx);
    return;
  }
  if (method == sip_method::bye) {
    // §15.1.2: no INVITE handler, so no dialog this BYE could belong to.
    tx->reply(481);
    return;
  }
  ++counters_.not_allowed;
  message_builder r = tx->response(known_method(method) ? 405 : 501);
  r.add(header_id::allow, allow_);
  tx->send(r.finish());
}

void sip_stack::answer_options(const server_transaction_ptr& tx) {
  // RFC 3261 §11.2: what this UA would accept in an INVITE-less exchange.
  message_builder r = tx->response(200);
  r.add(header_id::allow, allow_);
  r.add(header_id::accept, settings_.accept);
  r.add(header_id::accept_encoding, "identity");
  r.add(header_id::accept_language, "en");
  if (!supported_.empty()) r.add(header_id::supported, supported_);
  tx->send(r.finish());
}

void sip_stack::answer_cancel(const message_view& req, const server_transaction_ptr& tx) {
  // §9.2: CANCEL matches the INVITE with the same branch; 481 when none is pending.
  server_transaction_ptr invite = transactions_.find_invite(req);
  if (!invite) {
    tx->reply(481);
    return;
  }
  tx->set_to_tag(invite->to_tag());
  tx->reply(200);
  if (invite->final_sent()) return;
  if (invite->on_cancel) invite->on_cancel();
  else invite->reply(487);
}

}  // namespace tutti::sig
