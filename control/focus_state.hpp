// The conference focus's state, shared by its two halves: voice_sip.cpp (dial-in, the call
// table, hang-ups, RTP timeouts, RFC 4028 session timers, commands) and voice_dialout.cpp
// (dial-out INVITEs, REFER with its implicit subscription, chat escalation). Internal to
// control/: only those two files include it.
//
// Model: every live call, dialled in or out, is one `call` keyed by Call-ID holding its
// dialog (signalling/dialog.hpp) and its media participant; either side may end it (BYE).
// A dial-out is a `dial_attempt` per (conference, user): one INVITE leg per registered
// contact sharing one Call-ID and From tag (as a forking proxy would send it); the first
// 2xx wins and becomes a call, the other legs are CANCELled (or ACKed and BYEd when their
// 2xx raced). Attempts are kept, finished ones too (bounded), so operators and REFER
// subscriptions can read their outcome.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "control/log.hpp"
#include "control/media_service.hpp"
#include "control/services.hpp"
#include "control/voice_sip.hpp"
#include "signalling/dialog.hpp"
#include "signalling/offer_answer.hpp"
#include "signalling/session_timer.hpp"
#include "signalling/transaction.hpp"

namespace tutti::sig {
class sip_stack;
class message_view;
}  // namespace tutti::sig

namespace tutti::ctl {

class media_service;
class registrar_service;
class store;

// One call, dialled in (we are UAS) or out (UAC), after its INVITE succeeded.
struct call {
  std::string call_id;
  std::string conference;
  std::string user;
  uint32_t participant = 0;
  sig::dialog dlg;
  sig::negotiated_audio audio;
  uint16_t local_port = 0;
  uint64_t sdp_session_id = 0;
  uint64_t sdp_version = 1;
  std::string local_sdp;  // our last description (answer or offer): session refreshes resend it
  bool confirmed = false;  // ACK seen (dial-in) or sent (dial-out)
  bool outgoing = false;
  // RFC 4028: 0 when no session timer runs.
  uint32_t session_interval_s = 0;
  sig::refresher refresher = sig::refresher::uac;
  bool we_refresh = false;  // we are the refresher (the UAC asked refresher=uas)
  std::shared_ptr<boost::asio::steady_timer> session_timer;
};

// One user dialled into one conference.
struct dial_attempt {
  uint64_t id = 0;
  std::string conference;
  std::string user;
  std::string call_id;
  std::string from_tag;
  uint16_t local_port = 0;  // reserved for the offer until the call joins or fails
  uint64_t sdp_session_id = 0;
  std::string offer;        // our SDP offer
  struct leg {
    std::string contact;
    sig::peer to;
    std::string invite;  // as built, without Via: the dialog is read back from it
    sig::client_transaction_ptr tx;
    bool provisional = false;  // a 1xx came: a CANCEL may go (RFC 3261 §9.1)
    bool cancel_wanted = false;
    bool cancel_sent = false;
    bool finished = false;  // a final response or a timeout
  };
  std::vector<leg> legs;
  bool answered = false;  // a 2xx won
  bool done = false;      // outcome final
  uint16_t status = 0;    // the final status (200 when joined), 0 while running
  std::string outcome = "dialling";  // dialling, ringing, joined, failed, offline, cancelled
  std::string reason;                // the reason phrase or a short text for failures
  std::shared_ptr<boost::asio::steady_timer> ring_timer;
  // Progress listeners (a REFER's NOTIFYs): called with each provisional status and, last,
  // with the final one (done set).
  std::vector<std::function<void(const dial_attempt&)>> listeners;
};

// A REFER's implicit subscription (RFC 3515 §2.4.4): the dialog the NOTIFYs go in.
// NOTIFYs go one at a time (RFC 6665 §4.2.2 as RFC 3265 had it: none while one is
// outstanding), so a subscriber sees them in order.
struct refer_subscription {
  sig::dialog dlg;       // ours, for a REFER outside any dialog
  std::string in_call;   // the Call-ID of the call whose dialog the REFER came in, or ""
  std::string event_id;  // the REFER's CSeq number (§2.4.6) when the REFER was in a dialog
  bool subscribed = true;  // false: Refer-Sub: false (RFC 4488)
  bool terminated = false;
  bool in_flight = false;
  std::deque<std::pair<std::string, bool>> queue;  // sipfrag bodies to send, and "final"
};

struct voice_sip::state {
  state(service_context& c, sig::sip_stack& st, media_service& m, registrar_service& r, store& d);

  service_context& ctx;
  log_module log;
  sig::sip_stack& stack;
  media_service& media;
  registrar_service& users;
  store& db;
  std::mt19937_64 rng;
  std::map<std::string, call> calls;  // by Call-ID
  std::set<std::string> ad_hoc;       // conferences the focus created for a call (not an operator)
  // Ad hoc conferences being closed, with the calls waiting to open them again.
  std::map<std::string, std::vector<std::function<void(bool, std::string)>>> closing;
  std::map<uint64_t, std::shared_ptr<dial_attempt>> dials;  // by id; finished ones bounded
  std::deque<uint64_t> finished_dials;
  uint64_t next_dial_id = 1;
  sig::session_timer_policy session_policy;
  voice_sip::chat_refer_handler chat_refer;  // REFERs changing a chat's membership
  uint64_t invites = 0, joined = 0, rejected = 0, hangups = 0;
  uint64_t byes_sent = 0, rtp_timeouts = 0, session_expiries = 0, session_refreshes = 0, kicked = 0;
  uint64_t dials_started = 0, dials_joined = 0, dials_failed = 0, refers = 0, escalations = 0;
  bool stopped = false;

  // voice_sip.cpp
  std::string contact_uri() const;      // sip:focus@host:port (no < >)
  std::string contact() const;          // <sip:focus@host:port>;isfocus
  std::string conference_uri(const std::string& conference) const;  // sip:CONF@domain
  std::string token();                  // random tag / Call-ID / branch material
  void reject(const sig::server_transaction_ptr& tx, uint16_t status, std::string_view reason,
              std::string_view warning = {});
  void on_invite(const sig::message_view& req, const sig::peer& from, sig::server_transaction_ptr tx);
  void reinvite(const sig::message_view& req, const sig::server_transaction_ptr& tx);
  void on_update(const sig::message_view& req, const sig::peer& from, sig::server_transaction_ptr tx);
  void on_bye(const sig::message_view& req, const sig::peer& from, sig::server_transaction_ptr tx);
  void on_ack(const sig::message_view& ack);
  // Ends a call from our side: BYE with a Reason (RFC 3326), participant removed.
  void hang_up(const std::string& call_id, uint16_t cause, std::string_view why);
  // Sends a request in a dialog as a client transaction; `cb` may be empty. False when it
  // could not be sent (cb is then never called).
  bool send_in_dialog(sig::dialog& d, std::string request, sig::client_callback cb = {});
  // ACKs a 2xx to our INVITE with CSeq `cseq` (RFC 3261 §13.2.2.4).
  void send_ack(const sig::dialog& d, uint32_t cseq);
  // Session timers: arm after the INVITE (or a refresh) that set the interval.
  void arm_session_timer(const std::string& call_id);
  void refresh_session(const std::string& call_id);
  // Ensures the conference exists (created with the configured defaults), then `then(ok)`.
  void with_conference(const std::string& conference, std::function<void(bool ok, std::string why)> then);
  // Takes a call's participant off the data plane; an ad hoc conference goes with its last
  // participant, so conferences named by callers do not pile up until the engine refuses
  // new ones.
  void drop_participant(const std::string& conference, uint32_t participant);

  // voice_dialout.cpp
  // Dials `user` into `conference`; the attempt (already finished when the user has no
  // registered device).
  std::shared_ptr<dial_attempt> dial(const std::string& conference, const std::string& user,
                                     std::function<void(const dial_attempt&)> listener = {});
  void on_refer(const sig::message_view& req, const sig::peer& from, sig::server_transaction_ptr tx);
  // Queues a NOTIFY with a sipfrag of `status`; `final` terminates the subscription.
  void refer_notify(const std::shared_ptr<refer_subscription>& sub, uint16_t status, std::string_view reason,
                    bool final);
  void pump_refer_notify(const std::shared_ptr<refer_subscription>& sub);
  // Dials every member of chat `room` into conference `room`; `done` gets the attempts.
  void escalate(const std::string& room, std::string except_user,
                std::function<void(result<std::vector<std::shared_ptr<dial_attempt>>, std::string>)> done);
  void finish_dial(dial_attempt& a, uint16_t status, std::string outcome, std::string reason);
  void on_leg_event(uint64_t dial_id, size_t leg, const sig::client_event& e);
  void cancel_leg(dial_attempt& a, size_t leg);
  void join_answered(uint64_t dial_id, call c);
};

// The media participant for a negotiated stream; local_port 0 picks one (voice_sip.cpp).
participant_request participant_for(const std::string& conference, const std::string& label,
                                    const sig::negotiated_audio& a, uint16_t local_port);

// conf.dial, conf.dials, chat.escalate (voice_dialout.cpp).
void register_dialout_commands(service_context& ctx, voice_sip::state& s);

}  // namespace tutti::ctl
