#include "dataplane/net/arp_cache.hpp"

namespace tutti::dp::net {

namespace {

size_t home(uint32_t ip) noexcept {
  // Fibonacci hashing: neighbouring addresses land far apart.
  return static_cast<size_t>((ip * 2654435769u) >> 22) % arp_cache::capacity;
}

}  // namespace

arp_cache::slot* arp_cache::find(uint32_t ip) const noexcept {
  if (ip == 0) return nullptr;
  size_t i = home(ip);
  for (size_t n = 0; n < max_probe; ++n, i = (i + 1) % capacity) {
    const uint32_t k = slots_[i].ip.load(std::memory_order_acquire);
    if (k == ip) return &slots_[i];
    if (k == 0) return nullptr;  // slots are never freed, so the probe chain ends here
  }
  return nullptr;
}

arp_cache::slot* arp_cache::find_or_claim(uint32_t ip) noexcept {
  if (ip == 0) return nullptr;
  size_t i = home(ip);
  for (size_t n = 0; n < max_probe; ++n, i = (i + 1) % capacity) {
    uint32_t k = slots_[i].ip.load(std::memory_order_acquire);
    if (k == 0 && slots_[i].ip.compare_exchange_strong(k, ip, std::memory_order_acq_rel))
      return &slots_[i];
    if (k == ip) return &slots_[i];  // already there, or another worker just claimed it
  }
  return nullptr;
}

bool arp_cache::lookup(uint32_t ip, mac_addr& out) const noexcept {
  const slot* s = find(ip);
  if (s == nullptr) return false;
  const uint64_t st = s->state.load(std::memory_order_acquire);
  if ((st & resolved_bit) == 0) return false;
  out = mac_addr::from_u64(st & mac_mask);
  return true;
}

bool arp_cache::learn(uint32_t ip, const mac_addr& mac, bool insert) noexcept {
  if (mac.is_multicast() || mac.is_zero()) return false;
  slot* s = insert ? find_or_claim(ip) : find(ip);
  if (s == nullptr) return false;
  const uint64_t want = resolved_bit | mac.to_u64();
  uint64_t st = s->state.load(std::memory_order_acquire);
  while (st != want) {
    if ((st & static_bit) != 0) return false;
    if (s->state.compare_exchange_weak(st, want, std::memory_order_acq_rel)) break;
  }
  return true;
}

bool arp_cache::set_static(uint32_t ip, const mac_addr& mac) noexcept {
  slot* s = find_or_claim(ip);
  if (s == nullptr) return false;
  s->state.store(resolved_bit | static_bit | mac.to_u64(), std::memory_order_release);
  return true;
}

bool arp_cache::should_request(uint32_t ip, uint64_t now_ns) noexcept {
  slot* s = find_or_claim(ip);
  if (s == nullptr) return false;
  uint64_t st = s->state.load(std::memory_order_acquire);
  // Unresolved states hold the time of the last request plus one, so 0 means "never".
  if ((st & resolved_bit) != 0) return false;
  if (st != 0 && now_ns + 1 - st < retry_ns) return false;
  const uint64_t stamp = (now_ns + 1) & ~(resolved_bit | static_bit);
  return s->state.compare_exchange_strong(st, stamp, std::memory_order_acq_rel);
}

size_t arp_cache::size() const noexcept {
  size_t n = 0;
  for (const auto& s : slots_) n += s.ip.load(std::memory_order_relaxed) != 0;
  return n;
}

}  // namespace tutti::dp::net
