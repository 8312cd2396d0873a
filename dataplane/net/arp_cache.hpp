// IPv4 → Ethernet address cache shared by all workers of one port (RFC 826, RFC 1122
// §2.3.2.1), lock-free: any worker may look up, learn or claim the right to ask.
//
// Model: a fixed open-addressed table of `capacity` slots, each an address key (claimed
// once, never freed) and one 64-bit state word: resolved (MAC, maybe static) or
// unresolved (when it was last asked for). One atomic word per slot means a reader
// never sees half an update. No aging: a changed MAC is learned from the owner's
// ARP (gratuitous or reply); a full table learns nothing new (lookups still work).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "dataplane/net/ethernet.hpp"

namespace tutti::dp::net {

class arp_cache {
 public:
  static constexpr size_t capacity = 1024;
  static constexpr uint64_t retry_ns = 1'000'000'000;  // one request per address per second

  // The MAC for `ip` when resolved.
  bool lookup(uint32_t ip, mac_addr& out) const noexcept;

  // RFC 826 merge: updates `ip` if already present; inserts it when `insert` (we were the
  // target of the ARP, or it is a peer that just sent to us). Static entries never change.
  // True when the entry now holds `mac` (it was already there, or was just set).
  bool learn(uint32_t ip, const mac_addr& mac, bool insert) noexcept;

  // A fixed entry (configured gateway) that learning never overrides. False when full.
  bool set_static(uint32_t ip, const mac_addr& mac) noexcept;

  // True when the caller should send an ARP request for unresolved `ip` now: the first ask,
  // or retry_ns after the last one. Only one caller wins each turn, across workers.
  bool should_request(uint32_t ip, uint64_t now_ns) noexcept;

  // Entries in use (for metrics and tests).
  size_t size() const noexcept;

 private:
  static constexpr uint64_t resolved_bit = uint64_t{1} << 63;
  static constexpr uint64_t static_bit = uint64_t{1} << 62;
  static constexpr uint64_t mac_mask = (uint64_t{1} << 48) - 1;
  static constexpr size_t max_probe = 32;

  struct slot {
    std::atomic<uint32_t> ip{0};     // 0: free (0.0.0.0 is never a next hop)
    std::atomic<uint64_t> state{0};  // resolved: bits + MAC; else last request ns + 1, 0 never
  };

  slot* find(uint32_t ip) const noexcept;
  slot* find_or_claim(uint32_t ip) noexcept;

  mutable std::array<slot, capacity> slots_;
};

}  // namespace tutti::dp::net
