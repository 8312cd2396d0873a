// Fuzzes the DPDK backend's receive classifier (dataplane/net/frame.hpp) and the in-place
// answers built from what it accepts. Invariants: an accepted UDP payload lies inside the
// frame; an ICMP echo reply and an ARP reply built in place verify and parse.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "dataplane/net/arp.hpp"
#include "dataplane/net/checksum.hpp"
#include "dataplane/net/frame.hpp"
#include "dataplane/net/icmp.hpp"

using namespace tutti::dp::net;

namespace {

constexpr uint32_t our_ip = 0x0a000002;
const mac_addr our_mac{{0x02, 0, 0, 0, 0, 0x02}};

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> frame(data, data + size);
  for (hw_check ip : {hw_check::unknown, hw_check::good}) {
    auto f = classify_frame(frame, our_ip, ip, hw_check::unknown);
    if (!f) continue;
    switch (f->kind) {
      case frame_kind::udp:
        require(size_t{f->payload_offset} + f->payload_len <= size);
        require(f->dst_ip == our_ip);
        break;
      case frame_kind::icmp_echo_request: {
        std::vector<uint8_t> reply = frame;
        make_icmp_echo_reply(reply, f->l3_offset, f->ip_header_len, our_mac);
        const size_t ip_len = load_be16(reply.data() + f->l3_offset + 2);
        if (ip == hw_check::unknown)  // the request's header verified, so must the reply's
          require(ones_sum({reply.data() + f->l3_offset, f->ip_header_len}) == 0xffff);
        require(ones_sum({reply.data() + f->l3_offset + f->ip_header_len,
                          ip_len - f->ip_header_len}) == 0xffff);
        require(reply[f->l3_offset + f->ip_header_len] == icmp_echo_reply);
        break;
      }
      case frame_kind::arp: {
        auto req = parse_arp({frame.data() + eth_header_len, size - eth_header_len});
        require(req.ok());
        std::vector<uint8_t> reply = frame;
        make_arp_reply(reply, *req, our_mac, our_ip);
        auto r = classify_frame(reply, our_ip);
        require(r.ok() && r->kind == frame_kind::arp);
        auto rep = parse_arp({reply.data() + eth_header_len, size - eth_header_len});
        require(rep.ok() && rep->op == arp_op_reply && rep->sender_ip == our_ip &&
                rep->target_ip == req->sender_ip && rep->target_mac == req->sender_mac);
        break;
      }
    }
  }
  return 0;
}
