// Helpers for control tests that play a SIP client over loopback UDP against a service's
// stack: receive one datagram while running the io_context, and answer a digest challenge
// (RFC 8760 / RFC 2617 with qop=auth when offered) with an Authorization header line.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "signalling/digest.hpp"
#include "signalling/sip/message.hpp"

namespace tutti::ctl::test {

// The next datagram on `sock` ("" when none came within `limit`), running `io` meanwhile.
inline std::string receive_datagram(boost::asio::io_context& io, boost::asio::ip::udp::socket& sock,
                                    std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  std::string got;
  bool done = false;
  static char buf[65536];
  boost::asio::ip::udp::endpoint from;
  sock.async_receive_from(boost::asio::buffer(buf), from, [&](boost::system::error_code ec, size_t n) {
    if (!ec) got.assign(buf, n);
    done = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < deadline) io.run_one_for(std::chrono::milliseconds(20));
  if (!done) {
    sock.cancel();
    while (!done) io.run_one_for(std::chrono::milliseconds(20));
  }
  return got;
}

// "Authorization: Digest ...\r\n" answering the 401 in `challenge_text` for `method` on
// `uri` as `user` with `password` (the test fails when it is not a 401 with a challenge).
inline std::string digest_authorization(const std::string& challenge_text, std::string_view method,
                                        const std::string& uri, std::string_view user, std::string_view password) {
  auto c = sig::parse_message(challenge_text);
  REQUIRE(c);
  REQUIRE(c->status() == 401);
  const auto* h = c->find(sig::header_id::www_authenticate);
  REQUIRE(h);
  auto ch = sig::parse_challenge(h->value);
  REQUIRE(ch);
  sig::digest_credentials cr;
  cr.username = std::string(user);
  cr.realm = ch->realm;
  cr.nonce = ch->nonce;
  cr.uri = uri;
  cr.opaque = ch->opaque;
  cr.algorithm = ch->algorithm;
  cr.qop = ch->qop_auth ? "auth" : "";
  cr.nc = ch->qop_auth ? "00000001" : "";
  cr.cnonce = ch->qop_auth ? "c0ffee" : "";
  const std::string ha1 = sig::digest_ha1(ch->algorithm, user, ch->realm, password);
  cr.response = sig::digest_response(ch->algorithm, ha1, {method, uri, cr.nonce, cr.nc, cr.cnonce, cr.qop, {}});
  return "Authorization: " + sig::format_credentials(cr) + "\r\n";
}

}  // namespace tutti::ctl::test
