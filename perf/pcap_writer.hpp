// Writes UDP datagrams as Ethernet/IPv4/UDP frames into a classic pcap file (LINKTYPE_ETHERNET,
// nanosecond timestamps), the input DPDK's pcap PMD replays (--vdev=net_pcap0,rx_pcap=FILE).
// Checksums are filled in (IPv4 header, UDP over the RFC 768 pseudo-header), so a stack that
// checks them in software accepts the frames.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include "dataplane/io/packet_io.hpp"

namespace tutti::perf {

struct frame_addresses {
  uint8_t src_mac[6];
  uint8_t dst_mac[6];
  dp::io::endpoint src;  // host byte order
  dp::io::endpoint dst;
};

// Builds the Ethernet/IPv4/UDP frame of `payload` into `out`; returns its length, or 0 when
// `cap` is too small or the payload does not fit one datagram. `ip_id` is the IPv4 ID field.
size_t build_udp_frame(uint8_t* out, size_t cap, const frame_addresses& a, uint16_t ip_id,
                       std::span<const uint8_t> payload) noexcept;

// RFC 1071 Internet checksum of `data` plus `initial` (a partial sum), folded and inverted.
uint16_t internet_checksum(const uint8_t* data, size_t len, uint32_t initial = 0) noexcept;

class pcap_writer {
 public:
  pcap_writer() = default;
  pcap_writer(const pcap_writer&) = delete;
  pcap_writer& operator=(const pcap_writer&) = delete;
  ~pcap_writer();

  // Creates (truncates) `path` and writes the file header. False with errno set on failure.
  bool open(const std::string& path);
  // Appends one frame with timestamp `ts_ns` (nanoseconds since the epoch or any origin).
  bool write(uint64_t ts_ns, std::span<const uint8_t> frame);
  // Flushes and closes; false if any write failed.
  bool close();
  uint64_t frames() const noexcept { return frames_; }

 private:
  std::FILE* f_ = nullptr;
  bool ok_ = true;
  uint64_t frames_ = 0;
};

}  // namespace tutti::perf
