#include "control/media_service.hpp"

#include <arpa/inet.h>
#include <sched.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cmath>
#include <random>
#include <set>
#include <unordered_map>

#include "base/doorbell.hpp"
#include "control/config.hpp"
#include "control/log.hpp"
#include "dataplane/conference.hpp"
#include "dataplane/io/dpdk.hpp"
#include "dataplane/io/uring.hpp"
#include "dataplane/worker.hpp"
#include "simd/mix.hpp"

namespace tutti::ctl {

namespace asio = boost::asio;

namespace {

constexpr uint8_t spare_encoders = 3;

media_error error(std::string code, std::string message) {
  return media_error{std::move(code), std::move(message)};
}

}  // namespace

struct media_service::state {
  struct conf_state {
    conference_info info;
    uint32_t max_participants = 0;
    std::set<dp::codec_id> groups;  // codecs whose output group the worker holds
    std::map<uint32_t, participant_info> parts;
  };

  state(service_context& c) : ctx(c), log(c.log.module("media")), rng(std::random_device{}()) {}

  service_context& ctx;
  log_module log;
  doorbell bell;
  // DPDK mode: the EAL and the port outlive the workers that poll its queues.
  std::unique_ptr<dp::io::dpdk_eal> eal;
  std::unique_ptr<dp::io::dpdk_port> port;
  std::vector<std::unique_ptr<dp::worker>> workers;
  std::unique_ptr<asio::posix::stream_descriptor> bell_fd;
  std::unordered_map<uint64_t, std::function<void(const dp::worker_message&)>> pending;
  uint64_t next_request = 1;
  uint32_t next_conference_id = 1;
  uint32_t next_participant_id = 1;
  std::map<std::string, conf_state> confs;
  std::map<uint32_t, std::string> names_by_id;
  std::set<uint16_t> free_ports;
  std::mt19937 rng;
  uint64_t events_seen = 0, dtmf_digits = 0, speaker_changes = 0;
  media_service::participant_listener rtp_timeout_listener;
  media_service::participant_listener removed_listener;
  bool stopped = false;
  std::vector<std::function<void(const std::string&)>> listeners;

  void changed(const std::string& conference) {
    for (auto& l : listeners) l(conference);
  }

  conf_state* find(const std::string& name) {
    auto it = confs.find(name);
    return it == confs.end() ? nullptr : &it->second;
  }

  unsigned least_loaded_worker() const {
    std::vector<size_t> load(workers.size(), 0);
    for (const auto& [name, c] : confs) load[c.info.worker] += c.parts.size() + 1;
    return static_cast<unsigned>(std::min_element(load.begin(), load.end()) - load.begin());
  }

  static void destroy(const dp::worker_message& m) {
    delete m.conf;
    delete m.part;
    delete m.group;
  }

  // Sends a command; `on_reply` runs on this thread with the worker's reply. A command the
  // ring cannot take is answered at once with ok=false and its objects back.
  void send(unsigned w, dp::command c, std::function<void(const dp::worker_message&)> on_reply) {
    c.request_id = next_request++;
    if (!workers[w]->submit(c)) {
      dp::worker_message refused;
      refused.type = dp::message_type::reply;
      refused.ok = false;
      refused.command = c.type;
      refused.conf = c.conf;
      refused.part = c.part;
      refused.group = c.group;
      on_reply(refused);
      destroy(refused);
      return;
    }
    pending.emplace(c.request_id, std::move(on_reply));
  }

  void on_event(const dp::engine_event& e) {
    ++events_seen;
    auto name = names_by_id.find(e.conference_id);
    conf_state* c = name == names_by_id.end() ? nullptr : find(name->second);
    participant_info* p = nullptr;
    if (c) {
      auto it = c->parts.find(e.participant_id);
      if (it != c->parts.end()) p = &it->second;
    }
    switch (e.type) {
      case dp::event_type::speaker_started:
      case dp::event_type::speaker_stopped:
        ++speaker_changes;
        if (p) {
          const bool speaking = e.type == dp::event_type::speaker_started;
          if (p->speaking != speaking) {
            p->speaking = speaking;
            changed(c->info.name);
          }
        }
        break;
      case dp::event_type::dtmf:
        ++dtmf_digits;
        log.info("dtmf", {{"conference", c ? c->info.name : std::string("?")},
                          {"participant", e.participant_id},
                          {"event", e.value}});
        break;
      case dp::event_type::rtp_timeout:
      case dp::event_type::rtp_resumed:
        log.info(e.type == dp::event_type::rtp_timeout ? "rtp timeout" : "rtp resumed",
                 {{"participant", e.participant_id}});
        if (e.type == dp::event_type::rtp_timeout && c && p && rtp_timeout_listener)
          rtp_timeout_listener(c->info.name, e.participant_id);
        break;
    }
  }

  void drain() {
    dp::worker_message batch[64];
    for (auto& w : workers) {
      while (size_t n = w->drain(batch, 64)) {
        for (size_t i = 0; i < n; ++i) {
          const dp::worker_message& m = batch[i];
          if (m.type == dp::message_type::reply) {
            auto it = pending.find(m.request_id);
            if (it != pending.end()) {
              auto cb = std::move(it->second);
              pending.erase(it);
              cb(m);
            }
          } else if (m.type == dp::message_type::event) {
            on_event(m.event);
          }
          destroy(m);
        }
      }
    }
  }

  // The doorbell protocol of base/doorbell.hpp: drain, then sleep only if still empty.
  void wait_for_messages() {
    if (stopped) return;
    if (!bell.prepare_sleep([this] {
          for (auto& w : workers)
            if (w->has_messages()) return false;
          return true;
        })) {
      asio::post(ctx.io, [this] { on_bell(); });
      return;
    }
    bell_fd->async_wait(asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
      if (!ec) on_bell();
    });
  }

  void on_bell() {
    if (stopped) return;
    bell.wake_up();
    drain();
    wait_for_messages();
  }

  uint16_t take_port() {
    if (free_ports.empty()) return 0;
    const uint16_t p = *free_ports.begin();
    free_ports.erase(free_ports.begin());
    return p;
  }
};

media_service::media_service(std::unique_ptr<state> s) : s_(std::move(s)) {}

media_service::~media_service() {
  if (s_ && !s_->stopped) {
    s_->stopped = true;
    for (auto& w : s_->workers) w->stop();
    s_->drain();
  }
}

result<std::unique_ptr<media_service>, std::string> media_service::start(service_context& ctx) {
  const config& cfg = ctx.cfg;
  auto s = std::make_unique<state>(ctx);
  if (!s->bell.ok()) return fail(std::string("eventfd for the worker doorbell failed"));
  in_addr media_addr{};
  if (inet_pton(AF_INET, cfg.media.c_str(), &media_addr) != 1)
    return fail("media: '" + cfg.media + "' is not an IPv4 address");
  for (uint32_t p = cfg.media_ports.lo + (cfg.media_ports.lo & 1u); p <= cfg.media_ports.hi; p += 2)
    s->free_ports.insert(static_cast<uint16_t>(p));
  if (s->free_ports.empty()) return fail(std::string("media_ports: the range holds no even port"));
  const uint32_t ports = static_cast<uint32_t>(s->free_ports.size());

  const uint32_t worker_count = std::max<uint32_t>(cfg.workers, 1);
  if (cfg.io == io_backend::dpdk) {
    // The EAL arguments choose the device (-a PCI, or --vdev); tuttid uses the first port,
    // one RX/TX queue pair per worker, and owns the media address on it.
    // EAL pins the calling thread to its main lcore; the control thread (and the workers it
    // starts, which inherit it) keep the affinity they had.
    cpu_set_t affinity;
    sched_getaffinity(0, sizeof affinity, &affinity);
    auto eal = dp::io::dpdk_eal::start(cfg.eal);
    sched_setaffinity(0, sizeof affinity, &affinity);
    if (!eal) return fail("dpdk: " + eal.error().describe());
    s->eal = std::move(eal.value());
    dp::io::dpdk_port_config pc;
    pc.device = "0";
    pc.queues = static_cast<uint16_t>(worker_count);
    pc.ip = ntohl(media_addr.s_addr);
    auto port = dp::io::dpdk_port::open(*s->eal, pc);
    if (!port) return fail("dpdk: " + port.error().describe());
    s->port = std::move(port.value());
  }
  for (uint32_t i = 0; i < worker_count; ++i) {
    std::unique_ptr<dp::io::packet_io> io;
    dp::worker_config wc;
    wc.index = i;
    wc.engine.max_participants = ports;
    wc.engine.rtp_timeout_ms = ctx.cfg.conference.rtp_timeout_s * 1000;
    wc.ring_capacity = 4096;
    if (cfg.io == io_backend::dpdk) {
      auto q = dp::io::dpdk_io::open(*s->port, static_cast<uint16_t>(i));
      if (!q) return fail("worker " + std::to_string(i) + ": " + q.error().describe());
      io = std::move(q.value());
      wc.busy_poll = true;  // a DPDK worker owns its core and never sleeps
      wc.thread_init = [] { dp::io::dpdk_eal::register_thread(); };
    } else {
      dp::io::uring_config uc;
      uc.media_ip = ntohl(media_addr.s_addr);
      uc.max_ports = std::min<uint32_t>(ports, 65535);
      uc.rx_buffers = 8192;
      uc.tx_buffers = 4096;
      auto u = dp::io::uring_io::create(uc);
      if (!u) return fail("worker " + std::to_string(i) + ": io_uring setup failed (error " +
                          std::to_string(static_cast<int>(u.error())) + ")");
      io = std::move(u.value());
    }
    auto w = std::make_unique<dp::worker>(wc, std::move(io), s->bell);
    w->start();
    s->workers.push_back(std::move(w));
  }
  s->bell_fd = std::make_unique<asio::posix::stream_descriptor>(ctx.io, ::dup(s->bell.fd()));
  s->wait_for_messages();
  s->log.info("media workers started", {{"workers", s->workers.size()},
                                        {"io", std::string(to_string(cfg.io))},
                                        {"media", cfg.media},
                                        {"ports", ports}});
  return std::unique_ptr<media_service>(new media_service(std::move(s)));
}

void media_service::stop(std::function<void()> done) {
  if (!s_->stopped) {
    s_->stopped = true;
    for (auto& w : s_->workers) w->stop();
    s_->drain();
    s_->bell_fd.reset();
    s_->log.info("media workers stopped");
  }
  done();
}

void media_service::create_conference(const std::string& name, uint32_t rate_hz, uint32_t speakers,
                                      done<conference_info> cb) {
  state& s = *s_;
  if (name.empty()) return cb(fail(error("invalid_args", "a conference needs a name")));
  if (s.find(name)) return cb(fail(error("conflict", "conference '" + name + "' exists")));
  if (!dp::valid_mix_rate(rate_hz))
    return cb(fail(error("invalid_args", "rate must be 8000, 16000 or 48000")));
  if (speakers < 1 || speakers > 16)
    return cb(fail(error("invalid_args", "speakers must be 1..16")));
  dp::conference_config cc;
  cc.id = s.next_conference_id++;
  cc.mix_rate_hz = rate_hz;
  cc.max_participants = static_cast<uint32_t>(s.free_ports.size() + 1);
  cc.speakers.max_speakers = static_cast<uint8_t>(speakers);
  cc.spare_encoders = spare_encoders;
  state::conf_state c;
  c.info = {name, cc.id, s.least_loaded_worker(), rate_hz, speakers, false, {}};
  c.max_participants = cc.max_participants;
  dp::command cmd;
  cmd.type = dp::command_type::add_conference;
  cmd.conf = new dp::conference(cc);
  const unsigned w = c.info.worker;
  s.confs.emplace(name, std::move(c));
  s.names_by_id[cc.id] = name;
  s.send(w, cmd, [this, name, cb](const dp::worker_message& m) {
    state::conf_state* c = s_->find(name);
    if (!m.ok || !c) {
      if (c) {
        s_->names_by_id.erase(c->info.id);
        s_->confs.erase(name);
      }
      return cb(fail(error("unavailable", "the worker refused the conference")));
    }
    s_->log.info("conference created", {{"name", name}, {"worker", c->info.worker}});
    const conference_info info = c->info;
    s_->changed(name);
    cb(info);
  });
}

void media_service::destroy_conference(const std::string& name, done<bool> cb) {
  state& s = *s_;
  state::conf_state* c = s.find(name);
  if (!c) return cb(fail(error("not_found", "no conference '" + name + "'")));
  dp::command cmd;
  cmd.type = dp::command_type::remove_conference;
  cmd.conference_id = c->info.id;
  s.send(c->info.worker, cmd, [this, name, cb](const dp::worker_message& m) {
    state::conf_state* c = s_->find(name);
    std::vector<uint32_t> removed;
    if (c) {
      for (auto& [id, p] : c->parts) {
        s_->free_ports.insert(p.local_port);
        removed.push_back(id);
      }
      s_->names_by_id.erase(c->info.id);
      s_->confs.erase(name);
    }
    s_->changed(name);
    if (s_->removed_listener)
      for (uint32_t id : removed) s_->removed_listener(name, id);
    if (!m.ok) return cb(fail(error("internal", "the worker did not hold the conference")));
    s_->log.info("conference destroyed", {{"name", name}});
    cb(true);
  });
}

void media_service::add_participant(const participant_request& r, done<participant_info> cb) {
  state& s = *s_;
  state::conf_state* c = s.find(r.conference);
  const bool refused_locked = c && c->info.locked && !r.admit_when_locked;
  if (!c || refused_locked || c->parts.size() >= c->max_participants) {
    if (r.local_port) s.free_ports.insert(r.local_port);  // a reserved port is consumed either way
    if (!c) return cb(fail(error("not_found", "no conference '" + r.conference + "'")));
    if (refused_locked) return cb(fail(error("conflict", "conference '" + r.conference + "' is locked")));
    return cb(fail(error("conflict", "conference '" + r.conference + "' is full")));
  }
  const uint16_t port = r.local_port ? r.local_port : s.take_port();
  if (port == 0) return cb(fail(error("unavailable", "no free media port")));

  participant_info info;
  info.id = s.next_participant_id++;
  info.conference = r.conference;
  info.label = r.label;
  info.local_port = port;
  info.remote_ip = r.remote_ip;
  info.remote_port = r.remote_port;
  info.format = r.format;
  info.muted = r.muted;

  dp::participant_config pc;
  pc.id = info.id;
  pc.local_port = port;
  pc.remote = {r.remote_ip, r.remote_port};
  pc.format = r.format;
  pc.ssrc = static_cast<uint32_t>(s.rng());
  pc.muted = r.muted;
  dp::command cmd;
  cmd.type = dp::command_type::add_participant;
  cmd.conference_id = c->info.id;
  cmd.participant_id = info.id;
  cmd.part = new dp::participant(pc, c->info.rate_hz);
  const bool new_group = !c->groups.count(r.format.codec);
  if (new_group) {
    cmd.group = new dp::output_group(r.format.codec, c->info.rate_hz, c->info.speakers + spare_encoders, {});
    c->groups.insert(r.format.codec);
  }
  c->parts[info.id] = info;
  const std::string conf = r.conference;
  const dp::codec_id codec = r.format.codec;
  s.send(c->info.worker, cmd, [this, conf, info, new_group, codec, cb](const dp::worker_message& m) {
    state::conf_state* c = s_->find(conf);
    if (!m.ok) {
      s_->free_ports.insert(info.local_port);
      if (c) {
        c->parts.erase(info.id);
        if (new_group) c->groups.erase(codec);
      }
      return cb(fail(error("unavailable", "the worker could not add the participant (port " +
                                              std::to_string(info.local_port) + " in use?)")));
    }
    if (!c) return cb(fail(error("not_found", "the conference went away")));
    s_->log.info("participant added", {{"conference", conf}, {"participant", info.id},
                                       {"port", info.local_port}, {"codec", dp::to_string(codec)}});
    const participant_info added = c->parts[info.id];
    s_->changed(conf);
    cb(added);
  });
}

uint16_t media_service::reserve_port() { return s_->take_port(); }

bool media_service::reserve_port(uint16_t port) { return s_->free_ports.erase(port) == 1; }

void media_service::release_port(uint16_t port) {
  if (port) s_->free_ports.insert(port);
}

void media_service::on_rtp_timeout(participant_listener l) { s_->rtp_timeout_listener = std::move(l); }
void media_service::on_removed(participant_listener l) { s_->removed_listener = std::move(l); }

void media_service::remove_participant(const std::string& conference, uint32_t id, done<bool> cb) {
  state& s = *s_;
  state::conf_state* c = s.find(conference);
  if (!c) return cb(fail(error("not_found", "no conference '" + conference + "'")));
  if (!c->parts.count(id)) return cb(fail(error("not_found", "no participant " + std::to_string(id))));
  dp::command cmd;
  cmd.type = dp::command_type::remove_participant;
  cmd.conference_id = c->info.id;
  cmd.participant_id = id;
  s.send(c->info.worker, cmd, [this, conference, id, cb](const dp::worker_message& m) {
    state::conf_state* c = s_->find(conference);
    if (c) {
      auto it = c->parts.find(id);
      if (it != c->parts.end()) {
        if (m.ok) s_->free_ports.insert(it->second.local_port);
        c->parts.erase(it);
      }
      s_->changed(conference);
    }
    if (!m.ok) return cb(fail(error("internal", "the worker did not hold the participant")));
    if (s_->removed_listener) s_->removed_listener(conference, id);
    cb(true);
  });
}

void media_service::control_participant(const std::string& conference, uint32_t id, control what,
                                        double gain_db, done<participant_info> cb) {
  state& s = *s_;
  state::conf_state* c = s.find(conference);
  if (!c) return cb(fail(error("not_found", "no conference '" + conference + "'")));
  if (!c->parts.count(id)) return cb(fail(error("not_found", "no participant " + std::to_string(id))));
  if (!std::isfinite(gain_db) || gain_db < -60 || gain_db > 24)
    return cb(fail(error("invalid_args", "gain must be -60..24 dB")));
  dp::command cmd;
  cmd.conference_id = c->info.id;
  cmd.participant_id = id;
  switch (what) {
    case control::mute:
    case control::unmute:
      cmd.type = dp::command_type::set_muted;
      cmd.value = what == control::mute;
      break;
    case control::deaf:
    case control::undeaf:
      cmd.type = dp::command_type::set_deaf;
      cmd.value = what == control::deaf;
      break;
    case control::input_gain:
      cmd.type = dp::command_type::set_input_gain;
      cmd.value = simd::gain_q12_from_db(gain_db);
      break;
    case control::output_gain:
      cmd.type = dp::command_type::set_output_gain;
      cmd.value = simd::gain_q12_from_db(gain_db);
      break;
  }
  s.send(c->info.worker, cmd, [this, conference, id, what, gain_db, cb](const dp::worker_message& m) {
    state::conf_state* c = s_->find(conference);
    if (!m.ok || !c || !c->parts.count(id))
      return cb(fail(error("not_found", "the worker did not hold the participant")));
    participant_info& p = c->parts[id];
    switch (what) {
      case control::mute: p.muted = true; break;
      case control::unmute: p.muted = false; break;
      case control::deaf: p.deaf = true; break;
      case control::undeaf: p.deaf = false; break;
      case control::input_gain: p.input_gain_db = gain_db; break;
      case control::output_gain: p.output_gain_db = gain_db; break;
    }
    const participant_info now = p;
    if (what != control::input_gain && what != control::output_gain) s_->changed(conference);
    cb(now);
  });
}

void media_service::on_change(std::function<void(const std::string&)> listener) {
  s_->listeners.push_back(std::move(listener));
}

result<conference_info, media_error> media_service::set_locked(const std::string& name, bool locked) {
  state::conf_state* c = s_->find(name);
  if (!c) return fail(error("not_found", "no conference '" + name + "'"));
  if (c->info.locked != locked)
    s_->log.info(locked ? "conference locked" : "conference unlocked", {{"name", name}});
  c->info.locked = locked;
  return *find(name);
}

bool media_service::admits(const std::string& name) const {
  const auto* c = s_->find(name);
  return !c || !c->info.locked;
}

std::vector<conference_info> media_service::conferences() const {
  std::vector<conference_info> out;
  for (const auto& [name, c] : s_->confs) {
    conference_info i = c.info;
    for (const auto& [id, p] : c.parts) i.participants.push_back(p);
    out.push_back(std::move(i));
  }
  return out;
}

std::optional<conference_info> media_service::find(const std::string& name) const {
  auto* c = s_->find(name);
  if (!c) return std::nullopt;
  conference_info i = c->info;
  for (const auto& [id, p] : c->parts) i.participants.push_back(p);
  return i;
}

std::vector<media_service::worker_row> media_service::workers() const {
  std::vector<worker_row> rows;
  for (const auto& w : s_->workers) rows.push_back({w->index(), w->snapshot()});
  return rows;
}

}  // namespace tutti::ctl
