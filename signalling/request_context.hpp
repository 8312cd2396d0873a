// What a transport-independent request handler (auth, registrar, ...) needs to know about a
// request besides its parsed text: where it came from, the wall clock, and the choices the
// stack made for this transaction (the To tag, the stamped top Via). The stack fills one per
// received request; the handlers return the response text to send.
#pragma once

#include <cstdint>
#include <string_view>

namespace tutti::sig {

struct request_context {
  uint64_t now_s = 0;            // wall-clock seconds since the Unix epoch (nonce times, Date)
  std::string_view transport;    // "udp", "tcp", "tls", "ws", ... as the stack names it
  std::string_view source_ip;    // the packet's source address, without brackets
  uint16_t source_port = 0;      // the packet's source port
  std::string_view to_tag;       // tag for the To of a response; "" when the request has one
  std::string_view top_via;      // stamp_via() of the top Via; "" to copy it unchanged
};

}  // namespace tutti::sig
