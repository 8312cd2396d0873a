// RFC 4475 torture messages, part 2: §3.1.2 invalid messages, §3.2/§3.3 semantically odd ones.
// See sip_torture_test.cpp for the valid §3.1.1 set. Line ends are CRLF as in the RFC's
// archive; crlf() converts the text below.
// Valid messages must parse with the expected fields; invalid ones must be refused with the
// expected reason, and answerable exactly when a 400 can be built from them.
#include <catch2/catch.hpp>

#include <deque>
#include <string>
#include <string_view>

#include "signalling/sip/message.hpp"
#include "signalling/sip/serializer.hpp"

using namespace tutti::sig;

namespace {

std::string crlf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\r\n";
    else out += c;
  }
  return out;
}

// The SDP body most torture messages carry, for an address of the given text.
std::string sdp_body(std::string_view ip, std::string_view t = "0 0") {
  return crlf("v=0\no=mhandley 29739 7272939 IN IP4 " + std::string(ip) + "\ns=-\nc=IN IP4 " + std::string(ip) +
              "\nt=" + std::string(t) + "\nm=audio 49217 RTP/AVP 0 12\nm=video 3227 RTP/AVP 31\na=rtpmap:31 LPC\n");
}

// A message_view points into its text: keep every parsed text alive for the test run.
message_view must_parse(std::string text) {
  static std::deque<std::string> keep;
  keep.push_back(std::move(text));
  auto r = parse_message(keep.back());
  INFO("reason: " << (r ? "" : reason_phrase(r.error().reason)));
  REQUIRE(r.ok());
  return *r;
}

parse_error must_fail(const std::string& text) {
  auto r = parse_message(text);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

}  // namespace

TEST_CASE("RFC 4475 3.1.2 invalid messages are refused with the right reason", "[signalling][sip]") {
  struct torture_case {
    const char* name;
    std::string text;
    parse_reason reason;
    bool answerable;
    uint16_t status;
  };
  const torture_case vectors[] = {
      {"badinv01", crlf(R"(INVITE sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=134161461246
Max-Forwards: 7
Call-ID: badinv01.0ha0isndaksdjasdf3234nas
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;;,;,,
Contact: "Joe" <sip:joe@example.org>;;;;
Content-Length: 152
Content-Type: application/sdp

)") + sdp_body("192.0.2.15"),
       parse_reason::bad_via, false, 400},
      {"clerr", crlf(R"(INVITE sip:user@example.com SIP/2.0
Max-Forwards: 80
To: sip:j.user@example.com
From: sip:caller@example.net;tag=93942939o2
Contact: <sip:caller@hungry.example.net>
Call-ID: clerr.0ha0isndaksdjweiafasdk3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523
Content-Type: application/sdp
Content-Length: 9999

)") + sdp_body("192.0.2.155"),
       parse_reason::body_truncated, true, 400},
      {"ncl", crlf(R"(INVITE sip:user@example.com SIP/2.0
Max-Forwards: 254
To: sip:j.user@example.com
From: sip:caller@example.net;tag=32394234
Call-ID: ncl.0ha0isndaksdj2193423r542w35
CSeq: 0 INVITE
Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw
Contact: <sip:caller@example53.example.net>
Content-Type: application/sdp
Content-Length: -999

)") + sdp_body("192.0.2.53"),
       parse_reason::bad_content_length, true, 400},
      {"scalar02", crlf(R"(REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3
To: <sip:user@example.com>
From: <sip:user@example.com>;tag=239232jh3
CSeq: 36893488147419103232 REGISTER
Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32
Max-Forwards: 300
Expires: 10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
Contact: <sip:user@host129.example.com>
  ;expires=280297596632815
Content-Length: 0

)"),
       parse_reason::bad_cseq, false, 400},
      {"scalarlg", crlf(R"(SIP/2.0 503 Service Unavailable
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129
To: <sip:user@example.com>
From: <sip:other@example.net>;tag=2easdjfejw
CSeq: 9292394834772304023312 OPTIONS
Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r
Retry-After: 949302838503028349304023988
Warning: 1812 overture "In Progress"
Content-Length: 0

)"),
       parse_reason::bad_cseq, false, 400},
      {"quotbal", crlf(R"(INVITE sip:user@example.com SIP/2.0
To: "Mr. J. User <sip:j.user@example.com>
From: sip:caller@example.net;tag=93334
Max-Forwards: 10
Call-ID: quotbal.aksdj
Contact: <sip:caller@host59.example.net>
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234
Content-Type: application/sdp
Content-Length: 152

)") + sdp_body("192.0.2.15"),
       parse_reason::bad_to, false, 400},
      {"ltgtruri", crlf(R"(INVITE <sip:user@example.com> SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=39291
Max-Forwards: 23
Call-ID: ltgtruri.1@192.0.2.5
CSeq: 1 INVITE
Via: SIP/2.0/UDP 192.0.2.5
Contact: <sip:caller@host5.example.net>
Content-Type: application/sdp
Content-Length: 159

)") + sdp_body("192.0.2.5", "3149328700 0"),
       parse_reason::bad_request_uri, true, 400},
      {"lwsruri", crlf(R"(INVITE sip:user@example.com; lr SIP/2.0
To: sip:user@example.com;tag=3xfe-9921883-z9f
From: sip:caller@example.net;tag=231413434
Max-Forwards: 5
Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423
CSeq: 2130706432 INVITE
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395
Contact: <sip:caller@host1.example.net>
Content-Type: application/sdp
Content-Length: 159

)") + sdp_body("192.0.2.1", "3149328700 0"),
       parse_reason::bad_request_uri, true, 400},
      {"lwsstart", crlf(R"(INVITE  sip:user@example.com  SIP/2.0
Max-Forwards: 8
To: sip:user@example.com
From: sip:caller@example.net;tag=8814
Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com
CSeq: 1893884 INVITE
Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923
Contact: <sip:caller@host1.example.net>
Content-Type: application/sdp
Content-Length: 150

)") + sdp_body("192.0.2.1"),
       parse_reason::bad_request_uri, true, 400},
      {"trws", crlf(R"(OPTIONS sip:remote-target@example.com SIP/2.0  
Via: SIP/2.0/TCP host1.examle.com;branch=z9hG4bK299342093
To: <sip:remote-target@example.com>
From: <sip:local-resource@example.com>;tag=329429089
Call-ID: trws.oicu34958239neffasdhr2345r
Accept: application/sdp
CSeq: 238923 OPTIONS
Max-Forwards: 70
Content-Length: 0

)"),
       parse_reason::bad_start_line, true, 400},
      {"escruri", crlf(R"(INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=341518
Max-Forwards: 7
Contact: <sip:caller@host39923.example.net>
Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5
CSeq: 149209342 INVITE
Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw
Content-Type: application/sdp
Content-Length: 150

)") + sdp_body("192.0.2.1"),
       parse_reason::bad_request_uri, true, 400},
      {"regbadct", crlf(R"(REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=998332
Max-Forwards: 70
Call-ID: regbadct.k345asrl3fdbv@10.0.0.1
CSeq: 1 REGISTER
Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw
Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E
l: 0

)"),
       parse_reason::bad_contact, true, 400},
      {"badaspec", crlf(R"(OPTIONS sip:user@example.org SIP/2.0
Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234
Max-Forwards: 70
From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423
To: "Watson, Thomas" < sip:t.watson@example.org >
Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3
Accept: application/sdp
CSeq: 3923239 OPTIONS
l: 0

)"),
       parse_reason::bad_to, false, 400},
      {"baddn", crlf(R"(OPTIONS sip:t.watson@example.org SIP/2.0
Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards:      70
From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43
To:      Watson, Thomas <sip:t.watson@example.org>
Call-ID: baddn.31415@c.example.com
Accept: application/sdp
CSeq:    3923239 OPTIONS
l: 0

)"),
       parse_reason::bad_from, false, 400},
      {"badvers", crlf(R"(OPTIONS sip:t.watson@example.org SIP/7.0
Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw
Max-Forwards:     70
From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe
To:      T. Watson <sip:t.watson@example.org>
Call-ID: badvers.31417@c.example.com
CSeq:    1 OPTIONS
l: 0

)"),
       parse_reason::unsupported_version, true, 505},
      {"mismatch01", crlf(R"(OPTIONS sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: mismatch01.dj0234sxdfl3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
l: 0

)"),
       parse_reason::cseq_method_mismatch, true, 400},
      {"mismatch02", crlf(R"(NEWMETHOD sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: mismatch02.dj0234sxdfl3
CSeq: 8 INVITE
Contact: <sip:caller@host.example.net>
Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw
Content-Type: application/sdp
l: 138

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.1
c=IN IP4 192.0.2.1
m=audio 49217 RTP/AVP 0 12
m=video 3227 RTP/AVP 31
a=rtpmap:31 LPC
)"),
       parse_reason::cseq_method_mismatch, true, 400},
      {"bigcode", crlf(R"(SIP/2.0 4294967301 better not break the receiver
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i
CSeq: 353494 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0
Contact: <sip:user@host105.example.com>

)"),
       parse_reason::bad_status_code, false, 400},
      // §3.3 application-layer: insuf lacks To, From, Call-ID, Max-Forwards.
      {"insuf", crlf(R"(INVITE sip:user@example.com SIP/2.0
CSeq: 193942 INVITE
Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf
Content-Type: application/sdp
l: 152

)") + sdp_body("192.0.2.95"),
       parse_reason::missing_header, false, 400},
      {"multi01", crlf(R"(INVITE sip:user@company.com SIP/2.0
Contact: <sip:caller@host25.example.net>
Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw
Max-Forwards: 70
CSeq: 5 INVITE
Call-ID: multi01.98asdh@192.0.2.1
CSeq: 59 INVITE
Call-ID: multi01.98asdh@192.0.2.2
From: sip:caller@example.com;tag=3413415
To: sip:user@example.com
To: sip:other@example.net
From: sip:caller@example.net;tag=2923420123
Content-Type: application/sdp
l: 154
Contact: <sip:caller@host36.example.net>
Max-Forwards: 5

)") + sdp_body("192.0.2.25") + "\r\n",
       parse_reason::duplicate_header, true, 400},
      {"mcl01", crlf(R"(OPTIONS sip:user@example.com SIP/2.0
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423
To: sip:user@example.com
From: sip:other@example.net;tag=3923942
Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf
CSeq: 15932 OPTIONS
Content-Length: 13
Max-Forwards: 60
Content-Length: 5
Content-Type: text/plain

There's no way to know how many octets are supposed to be here.
)"),
       parse_reason::content_length_conflict, true, 400},
  };
  for (const torture_case& v : vectors) {
    INFO(v.name);
    const parse_error e = must_fail(v.text);
    CHECK(reason_phrase(e.reason) == reason_phrase(v.reason));
    CHECK(can_answer(e) == v.answerable);
    CHECK(e.status == v.status);
    const std::string answer = make_error_response(e, "t1");
    CHECK(answer.empty() == !v.answerable);
    if (v.answerable) {
      // The error response itself must parse, as a response to the same transaction.
      auto r = parse_message(answer);
      INFO(answer);
      REQUIRE(r);
      CHECK(r->status() == v.status);
      CHECK(r->reason() == reason_phrase(v.reason));
      CHECK(r->to().tag.size() > 0);
    }
  }
}

TEST_CASE("RFC 4475 3.2-3.3 semantically odd but well-formed messages parse", "[signalling][sip]") {
  const char* names[] = {"badbranch", "bcast", "bext01", "cparam01", "cparam02", "inv2543", "invut",
                         "novelsc", "regaut01", "regescrt", "sdp01", "unkscm", "unksm2", "zeromf", "baddate"};
  const std::string texts[] = {
      crlf(R"(OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK
Accept: application/sdp
Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n
CSeq: 8 OPTIONS
l: 0

)"),
      crlf(R"(SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23
Call-ID: bcast.0384840201234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Length: 154
Content-Type: application/sdp
Contact: <sip:user@host28.example.com>

)") + sdp_body("192.0.2.198"),
      crlf(R"(OPTIONS sip:user@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.net;tag=242etr
Max-Forwards: 6
Call-ID: bext01.0ha0isndaksdj
Require: nothingSupportsThis, nothingSupportsThisEither
Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis
CSeq: 8 OPTIONS
Via: SIP/2.0/TLS fold-and-staple.example.com;branch=z9hG4bKkdjuw
Content-Length: 0

)"),
      crlf(R"(REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards: 70
From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe
To: sip:watson@example.com
Call-ID: cparam01.70710@saturn.example.com
CSeq: 2 REGISTER
Contact: sip:+19725552222@gw1.example.net;unknownparam
l: 0

)"),
      crlf(R"(REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards: 70
From: sip:watson@example.com;tag=838293
To: sip:watson@example.com
Call-ID: cparam02.70710@saturn.example.com
CSeq: 3 REGISTER
Contact: <sip:+19725552222@gw1.example.net;unknownparam>
l: 0

)"),
      crlf(R"(INVITE sip:UserB@example.com SIP/2.0
Via: SIP/2.0/UDP iftgw.example.com
From: <sip:+13035551111@ift.client.example.net;user=phone>
Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>
To: sip:+16505552222@ss1.example.net;user=phone
Call-ID: inv2543.1717@ift.client.example.com
CSeq: 56 INVITE
Content-Type: application/sdp

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.5
s=-
c=IN IP4 192.0.2.5
t=0 0
m=audio 49217 RTP/AVP 0
)"),
      crlf(R"(INVITE sip:user@example.com SIP/2.0
Contact: <sip:caller@host5.example.net>
To: sip:j.user@example.com
From: sip:caller@example.net;tag=8392034
Max-Forwards: 70
Call-ID: invut.0ha0isndaksdjadsfij34n23d
CSeq: 235448 INVITE
Via: SIP/2.0/UDP somehost.example.com;branch=z9hG4bKkdjuw
Content-Type: application/unknownformat
Content-Length: 40

<audio>
 <pcmu port="443"/>
</audio>
)"),
      crlf(R"(OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=384
Max-Forwards: 3
Call-ID: novelsc.asdfasser0q239nwsdfasdkl34
CSeq: 3923423 OPTIONS
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
Content-Length: 0

)"),
      crlf(R"(REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=87321hj23128
Max-Forwards: 8
Call-ID: regaut01.0ha0isndaksdj
CSeq: 9338 REGISTER
Via: SIP/2.0/TCP 192.0.2.253;branch=z9hG4bKkdjuw
Authorization: NoOneKnowsThisScheme opaque-data=here
Content-Length:0

)"),
      crlf(R"(REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=8
Max-Forwards: 70
Call-ID: regescrt.k345asrl3fdbv@192.0.2.1
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>
L:0

)"),
      crlf(R"(INVITE sip:user@example.com SIP/2.0
To: sip:j_user@example.com
Contact: <sip:caller@host15.example.net>
From: sip:caller@example.net;tag=234
Max-Forwards: 5
Call-ID: sdp01.ndaksdj9342dasdd
Accept: text/nobodyKnowsThis
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw
Content-Length: 150
Content-Type: application/sdp

)") + sdp_body("192.0.2.5"),
      crlf(R"(OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=384
Max-Forwards: 3
Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34
CSeq: 3923423 OPTIONS
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
Content-Length: 0

)"),
      crlf(R"(REGISTER sip:example.com SIP/2.0
To: isbn:2983792873
From: <http://www.example.com>;tag=3234233
Call-ID: unksm2.daksdj@hyphenated-host.example.com
CSeq: 234902 REGISTER
Max-Forwards: 70
Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw
Contact: <name:John_Smith>
l: 0

)"),
      crlf(R"(OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=3ghsd41
Call-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas
CSeq: 39234321 OPTIONS
Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i
Max-Forwards: 0
Content-Length: 0

)"),
      // baddate: Date is not interpreted, so its non-GMT zone does not matter here.
      crlf(R"(INVITE sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=2234923
Max-Forwards: 70
Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234
CSeq: 1392934 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
Date: Fri, 01 Jan 2010 16:00:00 EST
Contact: <sip:caller@host5.example.net>
Content-Type: application/sdp
Content-Length: 150

)") + sdp_body("192.0.2.5"),
  };
  for (size_t i = 0; i < std::size(texts); ++i) {
    INFO(names[i]);
    const message_view m = must_parse(texts[i]);
    const std::string_view name = names[i];
    if (name == "badbranch") {
      CHECK(m.top_via().branch == "z9hG4bK");
      CHECK_FALSE(m.top_via().rfc3261_branch());
    } else if (name == "bcast") {
      CHECK(m.via_count() == 2);
    } else if (name == "bext01") {
      CHECK(token_list_contains(m.find(header_id::require)->value, "nothingSupportsThisEither"));
      CHECK(valid_token_list(m.find(header_id::proxy_require)->value));
    } else if (name == "cparam01") {
      auto c = parse_contact(m.find(header_id::contact)->value);
      CHECK(c->address.param("unknownparam"));
      CHECK(c->address.uri.params.empty());
    } else if (name == "cparam02") {
      auto c = parse_contact(m.find(header_id::contact)->value);
      CHECK_FALSE(c->address.param("unknownparam"));
      CHECK(c->address.uri.has_param("unknownparam"));
    } else if (name == "inv2543") {
      CHECK_FALSE(m.max_forwards());
      CHECK(m.top_via().branch.empty());
      CHECK(m.to().params == ";user=phone");  // addr-spec: the parameter belongs to the header
      CHECK(m.body().substr(0, 5) == "v=0\r\n");
    } else if (name == "invut") {
      CHECK(m.body().size() == 40);
    } else if (name == "novelsc" || name == "unkscm") {
      CHECK(m.request_uri().scheme == uri_scheme::other);
    } else if (name == "regescrt") {
      auto c = parse_contact(m.find(header_id::contact)->value);
      CHECK(c->address.uri.header("Route") == std::optional<std::string_view>("%3Csip:sip.example.com%3E"));
    } else if (name == "unksm2") {
      CHECK(m.to().uri.scheme_text == "isbn");
      CHECK(m.from().uri.opaque == "//www.example.com");
    } else if (name == "zeromf") {
      CHECK(m.max_forwards() == std::optional<uint8_t>(0));
    }
  }
}
