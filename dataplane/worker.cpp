#include "dataplane/worker.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "base/clock.hpp"
#include "dataplane/conference.hpp"

namespace tutti::dp {

namespace {
constexpr uint64_t publish_interval_ns = 100'000'000;
constexpr uint64_t max_idle_wait_ns = 1'000'000;  // commands are taken within 1 ms
constexpr size_t commands_per_loop = 32;
static_assert(sizeof(worker_snapshot) % sizeof(uint64_t) == 0);

// The calling thread's CPU time. A system call (no vDSO for thread clocks): read once per
// publish, never per loop.
uint64_t thread_cpu_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}
}  // namespace

const char* to_string(command_type t) noexcept {
  switch (t) {
    case command_type::add_conference: return "add_conference";
    case command_type::remove_conference: return "remove_conference";
    case command_type::add_participant: return "add_participant";
    case command_type::remove_participant: return "remove_participant";
    case command_type::set_muted: return "set_muted";
    case command_type::set_deaf: return "set_deaf";
    case command_type::set_input_gain: return "set_input_gain";
    case command_type::set_output_gain: return "set_output_gain";
  }
  return "unknown";
}

worker::worker(const worker_config& config, std::unique_ptr<io::packet_io> io, doorbell& bell)
    : config_(config),
      io_(std::move(io)),
      bell_(bell),
      engine_(*io_, config.engine, this),
      commands_(config.ring_capacity),
      messages_(config.ring_capacity) {}

worker::~worker() { stop(); }

void worker::start() {
  stop_.store(false, std::memory_order_relaxed);
  thread_ = std::thread([this] { run(); });
  if (config_.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(config_.cpu, &set);
    pthread_setaffinity_np(thread_.native_handle(), sizeof set, &set);
  }
  const std::string name = "tutti-w" + std::to_string(config_.index);
  pthread_setname_np(thread_.native_handle(), name.c_str());
}

void worker::stop() {
  stop_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
}

bool worker::submit(const command& c) noexcept { return commands_.try_push(c); }

size_t worker::drain(worker_message* out, size_t max) noexcept {
  return messages_.pop_burst(out, max);
}

void worker::send(const worker_message& m) noexcept {
  if (messages_.try_push(m)) {
    rang_ = true;
  } else {
    ++messages_dropped_;
  }
}

void worker::post(const engine_event& e) noexcept {
  worker_message m;
  m.type = message_type::event;
  m.event = e;
  send(m);
}

void worker::reply(const command& c, bool ok, conference* conf, participant* part,
                   output_group* group) noexcept {
  worker_message m;
  m.type = message_type::reply;
  m.ok = ok;
  m.command = c.type;
  m.request_id = c.request_id;
  m.conf = conf;
  m.part = part;
  m.group = group;
  // A reply carrying objects must not be lost: they would leak. The ring is sized for the
  // commands in flight, so a full ring here means a runaway control thread; keep trying.
  while (!messages_.try_push(m)) {
    bell_.notify();
    std::this_thread::yield();
  }
  rang_ = true;
}

void worker::execute(const command& c) noexcept {
  switch (c.type) {
    case command_type::add_conference: {
      std::unique_ptr<conference> conf(c.conf);
      const bool ok = engine_.add_conference(conf);
      return reply(c, ok, conf.release());
    }
    case command_type::remove_conference: {
      // Participants come back one message each, then the conference in the reply; the
      // vector stays empty (nothing is allocated here).
      std::vector<std::unique_ptr<participant>> members;
      conference* conf = engine_.find_conference(c.conference_id);
      std::unique_ptr<conference> gone;
      if (conf) {
        while (conf->size() > 0) {
          auto p = engine_.remove_participant(c.conference_id, conf->at(0)->config.id);
          worker_message m;
          m.type = message_type::give_back;
          m.part = p.release();
          while (!messages_.try_push(m)) {
            bell_.notify();
            std::this_thread::yield();
          }
        }
        gone = engine_.remove_conference(c.conference_id, members);
      }
      const bool ok = gone != nullptr;
      return reply(c, ok, gone.release());
    }
    case command_type::add_participant: {
      std::unique_ptr<participant> p(c.part);
      std::unique_ptr<output_group> g(c.group);
      const bool ok = engine_.add_participant(c.conference_id, p, g);
      return reply(c, ok, nullptr, p.release(), g.release());
    }
    case command_type::remove_participant: {
      auto p = engine_.remove_participant(c.conference_id, c.participant_id);
      const bool ok = p != nullptr;
      return reply(c, ok, nullptr, p.release());
    }
    case command_type::set_muted:
    case command_type::set_deaf:
    case command_type::set_input_gain:
    case command_type::set_output_gain: {
      conference* conf = engine_.find_conference(c.conference_id);
      bool ok = false;
      if (conf) {
        if (c.type == command_type::set_muted) ok = conf->set_muted(c.participant_id, c.value != 0);
        if (c.type == command_type::set_deaf) ok = conf->set_deaf(c.participant_id, c.value != 0);
        if (c.type == command_type::set_input_gain) ok = conf->set_input_gain(c.participant_id, c.value);
        if (c.type == command_type::set_output_gain) ok = conf->set_output_gain(c.participant_id, c.value);
      }
      return reply(c, ok);
    }
  }
}

size_t worker::take_commands() noexcept {
  command batch[commands_per_loop];
  const size_t n = commands_.pop_burst(batch, commands_per_loop);
  for (size_t i = 0; i < n; ++i) execute(batch[i]);
  return n;
}

void worker::publish(uint64_t now_ns) noexcept {
  // Load from CPU time. busy_ns_ is wall time while working, so on a shared core it counts
  // the time the thread was preempted mid-work. Over each interval: a worker that sleeps when
  // idle burns CPU only working, so its CPU time bounds its work; a busy-polling worker spins
  // the whole interval, so its working wall time is scaled by the share of the interval it
  // actually ran. On a dedicated core both equal busy_ns_.
  const uint64_t cpu = thread_cpu_ns();
  const uint64_t d_wall = now_ns - published_ns_;
  const uint64_t d_busy = busy_ns_ - published_busy_ns_;
  const uint64_t d_cpu = cpu - published_cpu_ns_;
  uint64_t d_load = std::min(d_busy, d_cpu);
  if (config_.busy_poll && d_wall > 0 && d_cpu < d_wall)
    d_load = static_cast<uint64_t>(double(d_busy) * double(d_cpu) / double(d_wall));
  load_ns_ += d_load;
  published_ns_ = now_ns;
  published_busy_ns_ = busy_ns_;
  published_cpu_ns_ = cpu;

  worker_snapshot s;
  s.uptime_ns = now_ns - started_ns_;
  s.busy_ns = busy_ns_;
  s.load_ns = load_ns_;
  s.cpu_ns = cpu;
  s.loops = loops_;
  s.conferences = engine_.conference_count();
  s.participants = engine_.participant_count();
  const engine_stats& e = engine_.stats();
  s.rx_rtp = e.rx_rtp;
  s.rx_rtcp = e.rx_rtcp;
  s.tx_rtp = e.tx_rtp;
  s.ticks = e.ticks;
  s.late_ticks = e.late_ticks;
  s.rx_drops = e.rx_drops;
  for (uint64_t d : e.rx_drops) s.rx_dropped += d;
  const io::io_stats io = io_->stats();
  s.io_rx = io.rx_packets;
  s.io_tx = io.tx_packets;
  s.io_rx_dropped = io.rx_dropped;
  s.io_tx_dropped = io.tx_dropped;
  s.io_rx_no_buffer = io.rx_no_buffer;
  s.messages_dropped = messages_dropped_;
  const latency_histogram& h = engine_.tick_times();
  s.tick_p50_ns = h.quantile_ns(0.50);
  s.tick_p99_ns = h.quantile_ns(0.99);
  s.tick_max_ns = h.max_ns();
  // Fine buckets into the coarse ones by upper bound: a fine bucket straddling a bound
  // counts above it.
  for (size_t b = 0, k = 0; b < latency_histogram::bucket_count; ++b) {
    if (h.buckets()[b] == 0) continue;
    const uint64_t upper = latency_histogram::upper_bound_ns(b);
    while (k < tick_bucket_bounds_ns.size() && upper > tick_bucket_bounds_ns[k]) ++k;
    s.tick_buckets[k] += h.buckets()[b];
  }
  s.tick_sum_ns = h.sum_ns();
  s.tx_no_buffer = e.tx_no_buffer;
  s.tx_no_destination = e.tx_no_destination;
  s.decode_ns = e.codec.decode_ns;
  s.decodes_timed = e.codec.decodes;
  s.encode_ns = e.codec.encode_ns;
  s.encodes_timed = e.codec.encodes;
  // Mean depth over the interval; kept as it was when no tick ran since.
  if (e.jitter_depth_samples > published_depth_samples_) {
    depth_milli_ = (e.jitter_depth_sum - published_depth_sum_) * 1000 /
                   (e.jitter_depth_samples - published_depth_samples_);
    published_depth_sum_ = e.jitter_depth_sum;
    published_depth_samples_ = e.jitter_depth_samples;
  }
  if (s.participants == 0) depth_milli_ = 0;
  s.jitter_depth_milli = depth_milli_;

  uint64_t words[snapshot_words];
  std::memcpy(words, &s, sizeof s);
  // Sequence lock: odd while writing; readers retry until they see the same even value.
  const uint64_t seq = snapshot_seq_.load(std::memory_order_relaxed);
  snapshot_seq_.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (size_t i = 0; i < snapshot_words; ++i) snapshot_words_[i].store(words[i], std::memory_order_relaxed);
  snapshot_seq_.store(seq + 2, std::memory_order_release);
}

worker_snapshot worker::snapshot() const noexcept {
  uint64_t words[snapshot_words];
  for (;;) {
    const uint64_t before = snapshot_seq_.load(std::memory_order_acquire);
    if (before & 1) continue;
    for (size_t i = 0; i < snapshot_words; ++i) words[i] = snapshot_words_[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (snapshot_seq_.load(std::memory_order_relaxed) == before) break;
  }
  worker_snapshot s;
  std::memcpy(&s, words, sizeof s);
  return s;
}

void worker::run() noexcept {
  if (config_.thread_init) config_.thread_init();
  started_ns_ = monotonic_ns();
  published_ns_ = started_ns_;
  published_cpu_ns_ = thread_cpu_ns();
  engine_.start(started_ns_);
  uint64_t next_publish = started_ns_;
  publish(started_ns_);
  while (!stop_.load(std::memory_order_relaxed)) {
    const uint64_t t0 = monotonic_ns();
    ++loops_;
    const size_t received = engine_.poll_rx();
    const size_t commanded = take_commands();
    const size_t ticked = engine_.run_due_ticks(monotonic_ns());
    if (rang_) {
      bell_.notify();
      rang_ = false;
    }
    const uint64_t t1 = monotonic_ns();
    const bool worked = received + commanded + ticked > 0;
    if (worked) busy_ns_ += t1 - t0;
    if (t1 >= next_publish) {
      publish(t1);
      next_publish = t1 + publish_interval_ns;
    }
    if (!worked && !config_.busy_poll) {
      const uint64_t due = engine_.next_due_ns();
      const uint64_t wait = due > t1 ? std::min(due - t1, max_idle_wait_ns) : 0;
      if (wait > 0) io_->wait(wait);
    }
  }
  publish(monotonic_ns());
}

}  // namespace tutti::dp
