#include "control/services.hpp"

#include "control/config.hpp"
#include "control/log.hpp"
#include "control/media_service.hpp"
#include "control/sip_service.hpp"
#include "control/store_service.hpp"
#include "control/commands.hpp"
#include "control/config.hpp"
#include "control/registrar_service.hpp"
#include "control/voice_sip.hpp"
#include "control/chat_service.hpp"
#include "control/event_service.hpp"
#include "control/conference_events.hpp"
#include "control/presence_service.hpp"
#include "control/buddy_edit.hpp"
#include "signalling/auth.hpp"

#include <boost/json.hpp>

namespace tutti::ctl {

services::services() = default;
services::~services() = default;

namespace {

// The authenticator's users: the store's HA1s, for our domain's realm only.
class store_credentials final : public sig::credential_source {
 public:
  store_credentials(store& db, std::string realm) : db_(db), realm_(std::move(realm)) {}
  std::optional<sig::user_credentials> lookup(std::string_view user, std::string_view realm) override {
    if (realm != realm_) return std::nullopt;
    auto c = db_.credentials(user);
    if (!c) return std::nullopt;
    return sig::user_credentials{c->ha1_md5, c->ha1_sha256};
  }

 private:
  store& db_;
  std::string realm_;
};

// `stats`: one summary across services for operators (tuttictl stats).
void register_stats_command(service_context& ctx, services& s) {
  ctx.commands.register_command(
      "stats",
      [&s](const boost::json::object&) -> command_result {
        uint64_t participants = 0, rx = 0, tx = 0, dropped = 0;
        auto confs = s.media->conferences();
        for (auto& c : confs) participants += c.participants.size();
        auto workers = s.media->workers();
        for (auto& w : workers) {
          rx += w.snapshot.rx_rtp;
          tx += w.snapshot.tx_rtp;
          dropped += w.snapshot.rx_dropped + w.snapshot.io_rx_dropped;
        }
        return boost::json::value(boost::json::object{
            {"workers", workers.size()},
            {"conferences", confs.size()},
            {"participants", participants},
            {"rx_rtp", rx},
            {"tx_rtp", tx},
            {"rx_dropped", dropped},
            {"users", s.store->users()},
            {"messages_stored", s.store->messages()}});
      },
      "a summary: workers, conferences, participants, packets, users, messages stored");
}

}  // namespace

result<std::unique_ptr<services>, std::string> start_services(service_context& ctx) {
  auto s = std::make_unique<services>();
  log_module log = ctx.log.module("services");
  // Services in dependency order; each registers its commands and metrics and pushes its
  // stop step onto s->stop_steps. The SIP stack (signalling/) comes after the media runtime.
  auto media = media_service::start(ctx);
  if (!media) return fail(media.error());
  s->media = std::move(media.value());
  register_media_commands(ctx, *s->media);
  s->stop_steps.push_back([m = s->media.get()](std::function<void()> done) { m->stop(std::move(done)); });
  // The store before SIP: the registrar reads credentials from it.
  auto store = store_service::start(ctx);
  if (!store) return fail(store.error());
  s->store = std::move(store.value());
  s->stop_steps.push_back([st = s->store.get()](std::function<void()> done) { st->stop(std::move(done)); });
  auto sip = sip_service::start(ctx);
  if (!sip) return fail(sip.error());
  s->sip = std::move(sip.value());
  register_sip_commands(ctx, *s->sip);
  s->stop_steps.push_back([p = s->sip.get()](std::function<void()> done) { p->stop(std::move(done)); });
  s->credentials = std::make_unique<store_credentials>(s->store->db(), ctx.cfg.domain);
  s->registrar = registrar_service::start(ctx, s->sip->stack(), *s->credentials);
  register_registrar_commands(ctx, *s->registrar);
  s->stop_steps.push_back([r = s->registrar.get()](std::function<void()> done) { r->stop(std::move(done)); });
  s->voice = voice_sip::start(ctx, s->sip->stack(), *s->media, *s->registrar, s->store->db());
  register_voice_sip_commands(ctx, *s->voice);
  s->stop_steps.push_back([v = s->voice.get()](std::function<void()> done) { v->stop(std::move(done)); });
  // The event notifier after the focus; packages (conference, presence) are added to it.
  s->events = event_service::start(ctx, s->sip->stack(), *s->registrar);
  register_event_commands(ctx, *s->events);
  s->stop_steps.push_back([e = s->events.get()](std::function<void()> done) { e->stop(std::move(done)); });
  s->conf_events = std::make_unique<conference_events>(*s->events, *s->media, s->registrar->domain());
  // NOTIFYs at most every 20 ms per subscription: a burst of PUBLISHes coalesces, while one
  // presentity can still feed its watchers 50 updates a second.
  s->presence = presence_service::start(ctx, s->sip->stack(), *s->registrar, *s->store, *s->events,
                                        std::chrono::milliseconds(20));
  register_presence_commands(ctx, *s->presence);
  s->stop_steps.push_back([p = s->presence.get()](std::function<void()> done) { p->stop(std::move(done)); });
  s->chat = chat_service::start(ctx, s->sip->stack(), s->store->db(), *s->registrar);
  s->stop_steps.push_back([c = s->chat.get()](std::function<void()> done) { c->stop(std::move(done)); });
  // After chat: list edits sit in front of its MESSAGE handler and pass it everything else.
  s->buddy_edits = buddy_edit_service::start(ctx, s->sip->stack(), *s->registrar, s->store->db(), *s->presence);
  s->stop_steps.push_back([b = s->buddy_edits.get()](std::function<void()> done) { b->stop(std::move(done)); });
  // The chat's members join the conference rosters; REFERs about chat membership reach it
  // through the focus's one REFER handler.
  s->chat->attach(*s->conf_events);
  s->voice->on_chat_refer([c = s->chat.get()](chat_refer r, std::function<void(uint16_t, std::string)> done) {
    c->refer(std::move(r), std::move(done));
  });
  register_stats_command(ctx, *s);
  log.info("services started", {{"count", s->stop_steps.size()}});
  return s;
}

namespace {

void run_stop_step(services& s, size_t remaining, std::function<void()> done) {
  if (remaining == 0) {
    done();
    return;
  }
  auto& step = s.stop_steps[remaining - 1];
  step([&s, remaining, done = std::move(done)]() mutable {
    run_stop_step(s, remaining - 1, std::move(done));
  });
}

}  // namespace

void stop_services(services& s, std::function<void()> done) {
  run_stop_step(s, s.stop_steps.size(), std::move(done));
}

}  // namespace tutti::ctl
