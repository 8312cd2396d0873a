#include "perf/pcap_writer.hpp"

#include <cstring>

#include "dataplane/be_bytes.hpp"

namespace tutti::perf {

namespace {

constexpr size_t eth_len = 14, ip_len = 20, udp_len = 8;
constexpr uint32_t pcap_magic_ns = 0xa1b23c4d;  // nanosecond-resolution timestamps
constexpr uint32_t linktype_ethernet = 1;
constexpr uint32_t snaplen = 65535;

// Sum of 16-bit big-endian words (RFC 1071), not folded.
uint32_t sum16(const uint8_t* data, size_t len, uint32_t sum) noexcept {
  for (size_t i = 0; i + 1 < len; i += 2) sum += uint32_t(data[i]) << 8 | data[i + 1];
  if (len & 1) sum += uint32_t(data[len - 1]) << 8;
  return sum;
}

}  // namespace

uint16_t internet_checksum(const uint8_t* data, size_t len, uint32_t initial) noexcept {
  uint64_t sum = sum16(data, len, 0) + uint64_t{initial};
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

size_t build_udp_frame(uint8_t* out, size_t cap, const frame_addresses& a, uint16_t ip_id,
                       std::span<const uint8_t> payload) noexcept {
  const size_t total = eth_len + ip_len + udp_len + payload.size();
  if (total > cap || ip_len + udp_len + payload.size() > 65535) return 0;
  std::memcpy(out, a.dst_mac, 6);
  std::memcpy(out + 6, a.src_mac, 6);
  dp::store_be16(out + 12, 0x0800);  // IPv4

  uint8_t* ip = out + eth_len;
  ip[0] = 0x45;  // version 4, header 5 words
  ip[1] = 0xb8;  // DSCP EF (RFC 4594 telephony), not ECN-capable
  dp::store_be16(ip + 2, static_cast<uint16_t>(ip_len + udp_len + payload.size()));
  dp::store_be16(ip + 4, ip_id);
  dp::store_be16(ip + 6, 0x4000);  // DF, no fragments
  ip[8] = 64;             // TTL
  ip[9] = 17;             // UDP
  dp::store_be16(ip + 10, 0);
  dp::store_be32(ip + 12, a.src.ip);
  dp::store_be32(ip + 16, a.dst.ip);
  dp::store_be16(ip + 10, internet_checksum(ip, ip_len));

  uint8_t* udp = ip + ip_len;
  const auto ulen = static_cast<uint16_t>(udp_len + payload.size());
  dp::store_be16(udp, a.src.port);
  dp::store_be16(udp + 2, a.dst.port);
  dp::store_be16(udp + 4, ulen);
  dp::store_be16(udp + 6, 0);
  std::memcpy(udp + udp_len, payload.data(), payload.size());
  // RFC 768: the checksum covers a pseudo-header of addresses, protocol and length.
  uint32_t pseudo = sum16(ip + 12, 8, 0) + 17 + ulen;
  uint16_t csum = internet_checksum(udp, ulen, pseudo);
  if (csum == 0) csum = 0xffff;  // 0 means "no checksum"; send its ones'-complement twin
  dp::store_be16(udp + 6, csum);
  return total;
}

pcap_writer::~pcap_writer() {
  if (f_) std::fclose(f_);
}

bool pcap_writer::open(const std::string& path) {
  f_ = std::fopen(path.c_str(), "wb");
  if (!f_) return false;
  // Native byte order, as readers expect from the magic number.
  struct {
    uint32_t magic;
    uint16_t major, minor;
    int32_t thiszone;
    uint32_t sigfigs, snaplen, linktype;
  } h{pcap_magic_ns, 2, 4, 0, 0, snaplen, linktype_ethernet};
  ok_ = std::fwrite(&h, sizeof h, 1, f_) == 1;
  return ok_;
}

bool pcap_writer::write(uint64_t ts_ns, std::span<const uint8_t> frame) {
  if (!f_) return false;
  const uint32_t rec[4] = {static_cast<uint32_t>(ts_ns / 1'000'000'000), static_cast<uint32_t>(ts_ns % 1'000'000'000),
                           static_cast<uint32_t>(frame.size()), static_cast<uint32_t>(frame.size())};
  ok_ = ok_ && std::fwrite(rec, sizeof rec, 1, f_) == 1 && std::fwrite(frame.data(), 1, frame.size(), f_) == frame.size();
  if (ok_) ++frames_;
  return ok_;
}

bool pcap_writer::close() {
  if (!f_) return ok_;
  ok_ = std::fflush(f_) == 0 && ok_;
  ok_ = std::fclose(f_) == 0 && ok_;
  f_ = nullptr;
  return ok_;
}

}  // namespace tutti::perf
