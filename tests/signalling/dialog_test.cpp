#include <boost/asio/ip/address.hpp>
#include <catch2/catch.hpp>

#include "signalling/dialog.hpp"

using namespace tutti::sig;

namespace {

message_view parse(std::string&&) = delete;  // the view would outlive its text
message_view parse(const std::string& text) {
  auto m = parse_message(text);
  REQUIRE(m);
  return *m;
}

// What the transaction layer does before sending: a top Via.
std::string with_via(std::string request) {
  request.insert(request.find("\r\n") + 2, "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKv\r\n");
  return request;
}

peer udp(uint16_t port) { return peer{transport_kind::udp, boost::asio::ip::make_address("127.0.0.1"), port, 0}; }

const std::string subscribe =
    "SUBSCRIBE sip:conf1@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n"
    "Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
    "Record-Route: <sip:p3.example.com;lr>\r\n"
    "From: \"Alice\" <sip:alice@example.com>;tag=a1\r\n"
    "To: <sip:conf1@example.com>\r\n"
    "Call-ID: c1@host\r\n"
    "CSeq: 7 SUBSCRIBE\r\n"
    "Contact: <sip:alice@127.0.0.1:5070;transport=udp>\r\n"
    "Event: conference\r\n"
    "Max-Forwards: 70\r\n"
    "Content-Length: 0\r\n\r\n";

}  // namespace

TEST_CASE("a UAS dialog takes the peer's Contact, the Record-Route in order and its CSeq", "[signalling][dialog]") {
  const auto req = parse(subscribe);
  auto d = dialog_as_uas(req, udp(5070), "b2", "sip:focus@127.0.0.1:5060");
  REQUIRE(d);
  CHECK(d->call_id == "c1@host");
  CHECK(d->local_tag == "b2");
  CHECK(d->remote_tag == "a1");
  CHECK(d->local_uri == "sip:conf1@example.com");
  CHECK(d->remote_uri == "sip:alice@example.com");
  CHECK(d->remote_target == "sip:alice@127.0.0.1:5070;transport=udp");
  REQUIRE(d->route_set.size() == 3);
  CHECK(d->route_set[0] == "<sip:p1.example.com;lr>");
  CHECK(d->route_set[2] == "<sip:p3.example.com;lr>");
  CHECK(d->remote_cseq == 7u);
  CHECK(d->next_hop.port == 5070);

  // Our NOTIFY: Request-URI = their Contact, Route = the set, tags swapped, CSeq from 1.
  const std::string notify = with_via(build_request(*d, "NOTIFY", true).finish());
  const auto n = parse(notify);
  CHECK(n.method() == sip_method::notify);
  CHECK(n.request_uri().text == "sip:alice@127.0.0.1:5070;transport=udp");
  CHECK(n.from().tag == "b2");
  CHECK(n.to().tag == "a1");
  CHECK(n.cseq().number == 1u);
  CHECK(n.count(header_id::route) == 3);
  CHECK(n.find(header_id::contact)->value == "<sip:focus@127.0.0.1:5060>");
  CHECK(build_request(*d, "NOTIFY").finish().find("CSeq: 2 NOTIFY") != std::string::npos);

  // Requests from the peer in the dialog: CSeq must grow (§12.2.2); tags must match.
  CHECK_FALSE(check_remote_cseq(*d, 7));
  CHECK(check_remote_cseq(*d, 8));
  const std::string bye_text = "BYE sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK2\r\n"
                            "From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:conf1@example.com>;tag=b2\r\n"
                            "Call-ID: c1@host\r\nCSeq: 9 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
  CHECK(in_dialog(*d, parse(bye_text)));
  CHECK_FALSE(in_dialog(*d, req));  // no To tag: not in the dialog
}

TEST_CASE("no dialog without a From tag or a Contact", "[signalling][dialog]") {
  std::string no_tag = subscribe;
  no_tag.replace(no_tag.find(";tag=a1"), 7, "");
  CHECK_FALSE(dialog_as_uas(parse(no_tag), udp(1), "b", "sip:f@h"));
  std::string no_contact = subscribe;
  no_contact.erase(no_contact.find("Contact:"), no_contact.find("Event:") - no_contact.find("Contact:"));
  CHECK_FALSE(dialog_as_uas(parse(no_contact), udp(1), "b", "sip:f@h"));
}

TEST_CASE("a UAC dialog reverses the response's Record-Route and continues our CSeq", "[signalling][dialog]") {
  request_head h;
  h.method = "INVITE";
  h.request_uri = "sip:bob@127.0.0.1:5080";
  h.from_uri = "sip:conf1@example.com";
  h.from_display = "Conf \"1\"";
  h.from_tag = "f1";
  h.to_uri = "sip:bob@example.com";
  h.call_id = "out1";
  h.cseq = 4;
  std::string invite = build_request(h).finish();
  CHECK(invite.find("From: \"Conf \\\"1\\\"\" <sip:conf1@example.com>;tag=f1\r\n") != std::string::npos);
  invite.insert(invite.find("\r\n") + 2, "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n");
  const auto req = parse(invite);
  // Named strings: a message_view points into the text it was parsed from.
  const std::string ok_text =
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n"
      "Record-Route: <sip:p1;lr>, <sip:p2;lr>\r\n"
      "From: <sip:conf1@example.com>;tag=f1\r\nTo: <sip:bob@example.com>;tag=t9\r\n"
      "Call-ID: out1\r\nCSeq: 4 INVITE\r\nContact: <sip:bob@127.0.0.1:5080>\r\nContent-Length: 0\r\n\r\n";
  const auto ok = parse(ok_text);
  auto d = dialog_as_uac(req, ok, udp(5080), "sip:focus@127.0.0.1:5060");
  REQUIRE(d);
  CHECK(d->remote_tag == "t9");
  CHECK(d->local_tag == "f1");
  REQUIRE(d->route_set.size() == 2);
  CHECK(d->route_set[0] == "<sip:p2;lr>");
  CHECK(d->local_cseq == 4u);

  const std::string ack_text = ack_for_2xx(*d, 4, "UDP", "127.0.0.1:5060", "z9hG4bKack");
  const auto ack = parse(ack_text);
  CHECK(ack.method() == sip_method::ack);
  CHECK(ack.cseq().number == 4u);
  CHECK(ack.top_via().branch == "z9hG4bKack");
  CHECK(ack.to().tag == "t9");

  const std::string bye_text = with_via(build_request(*d, "BYE").finish());  // the view points into it
  const auto bye = parse(bye_text);
  CHECK(bye.cseq().number == 5u);
  CHECK(bye.request_uri().text == "sip:bob@127.0.0.1:5080");

  // A response without a To tag forms no dialog.
  const std::string no_tag_text =
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n"
      "From: <sip:conf1@example.com>;tag=f1\r\nTo: <sip:bob@example.com>\r\n"
      "Call-ID: out1\r\nCSeq: 4 INVITE\r\nContact: <sip:bob@127.0.0.1:5080>\r\nContent-Length: 0\r\n\r\n";
  const auto no_tag = parse(no_tag_text);
  CHECK_FALSE(dialog_as_uac(req, no_tag, udp(5080), "sip:f@h"));
}
