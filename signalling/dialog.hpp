// SIP dialogs (RFC 3261 §12) and the requests this box originates, in or out of one.
//
// Model: a dialog is plain data owned by whoever holds the session (the focus's call, a
// subscription, a dial-out leg): Call-ID, both tags, both URIs, the peer's target (its
// Contact), the route set, both CSeq counters, and where requests go next. It is created
// from the dialog-creating request we answered (UAS, §12.1.1) or from the request we sent
// and the response that established it (UAC, §12.1.2); build_request() then writes the
// start line and the dialog's headers of a request inside it (§12.2.1.1), and
// check_remote_cseq() applies the ordering rule to requests received in it (§12.2.2).
//
// Next hop: requests go back to the transport address the dialog was learnt from (the
// source of the request we answered, or where we sent ours), not to a DNS lookup of the
// remote target: clients behind NAT and SIP peers on loopback are both reached that way,
// as the registrar does for bindings (RFC 5626 in spirit). A route set with a strict
// router (no ;lr) is kept as loose routing would use it; strict routing (RFC 2543) is not
// supported.
//
// Requests are written without a Via: the transaction layer adds one with a fresh branch
// (transaction_layer::send_request). An ACK for a 2xx is also built here and sent with
// sip_stack::send_stateless() after adding a Via (ack_for_2xx).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "signalling/peer.hpp"
#include "signalling/sip/message.hpp"
#include "signalling/sip/serializer.hpp"

namespace tutti::sig {

struct dialog {
  std::string call_id;
  std::string local_tag;
  std::string remote_tag;
  std::string local_uri;      // our address-of-record as in From of requests we send (no < >)
  std::string remote_uri;     // the peer's, as in To of requests we send (no < >)
  std::string remote_target;  // the peer's Contact URI: the Request-URI of our requests
  std::vector<std::string> route_set;  // Route values for our requests, in order
  std::string local_contact;  // our Contact URI (no < >)
  uint32_t local_cseq = 0;    // CSeq of the last request we sent in the dialog
  std::optional<uint32_t> remote_cseq;  // of the last request received in it
  peer next_hop;              // where our requests in the dialog are sent
};

// The dialog a 2xx (or 1xx with a To tag) to `req` creates on our side as UAS. `to_tag` is
// the tag our response carries; `from` where the request came from; `local_contact` the
// Contact of our response. nullopt when the request has no From tag or a Contact that does
// not parse (no dialog can be formed, §12.1.1).
std::optional<dialog> dialog_as_uas(const message_view& req, const peer& from, std::string_view to_tag,
                                    std::string_view local_contact);

// The dialog `response` (2xx, or 1xx with a To tag) to our request `req` creates as UAC;
// `to` is where the request was sent. nullopt when the response has no To tag or a Contact
// that does not parse.
std::optional<dialog> dialog_as_uac(const message_view& req, const message_view& response, const peer& to,
                                    std::string_view local_contact);

// A request inside the dialog: start line, Route, From (with our tag), To (with theirs),
// Call-ID, CSeq (the next local number; ACK and CANCEL reuse the INVITE's and must pass
// `cseq`), Max-Forwards, Contact when `with_contact` (target refresh requests: INVITE,
// SUBSCRIBE, NOTIFY, UPDATE, REFER). Add further headers and finish() the builder.
message_builder build_request(dialog& d, std::string_view method, bool with_contact = false,
                              std::optional<uint32_t> cseq = std::nullopt);

// The ACK for a 2xx to the INVITE with CSeq `invite_cseq` in the dialog, with a Via (new
// branch, §13.2.2.4) for `sent_by`, ready for send_stateless.
std::string ack_for_2xx(const dialog& d, uint32_t invite_cseq, std::string_view via_transport,
                        std::string_view sent_by, std::string_view branch);

// §12.2.2: a request in the dialog whose CSeq is not above the last one is out of order
// (answer 500); otherwise the counter moves on. Always true for the first request.
bool check_remote_cseq(dialog& d, uint32_t cseq) noexcept;

// Whether a request belongs to the dialog: Call-ID, and our tag in To, theirs in From.
bool in_dialog(const dialog& d, const message_view& req) noexcept;

// A request outside any dialog (a dial-out INVITE, a page-mode MESSAGE, an out-of-dialog
// NOTIFY): start line, From (with `from_tag`), To (no tag), Call-ID, CSeq, Max-Forwards.
// URIs without < >; display names quoted when given.
struct request_head {
  std::string_view method;
  std::string_view request_uri;
  std::string_view from_uri;
  std::string_view from_display;  // optional
  std::string_view from_tag;
  std::string_view to_uri;
  std::string_view to_display;    // optional
  std::string_view call_id;
  uint32_t cseq = 1;
};
message_builder build_request(const request_head& h);

// As dialog_as_uac() above, for a request this box built from `sent` (dial-out keeps the
// head, not the bytes, of the INVITE it forked to several contacts).
std::optional<dialog> dialog_as_uac(const request_head& sent, const message_view& response, const peer& to,
                                    std::string_view local_contact);

// A display name as a quoted-string (RFC 3261 §25.1: '"' and '\' escaped).
std::string quote_display(std::string_view name);

}  // namespace tutti::sig
