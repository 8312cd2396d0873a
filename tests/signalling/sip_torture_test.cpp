// RFC 4475 torture messages (§3.1 syntax, §3.2 transaction, §3.3 application semantics) as
// test vectors. Line ends are CRLF as in the RFC's archive; crlf() converts the text below.
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

}  // namespace

TEST_CASE("RFC 4475 3.1.1.1 wsinv: a short tortuous INVITE", "[signalling][sip]") {
  const std::string text = crlf(R"(INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0
TO :
 sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n
from   : "J Rosenberg \\\""       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8
MaX-fOrWaRdS: 0068
Call-ID: wsinv.ndaksdj@192.0.2.1
Content-Length   : 150
cseq: 0009
  INVITE
Via  : SIP  /   2.0
 /UDP
    192.0.2.2;branch=390skdjuw
s :
NewFangledHeader:   newfangled value
 continued newfangled value
UnknownHeaderWithUnusualValue: ;;,,;;,;
Content-Type: application/sdp
Route:
 <sip:services.example.com;lr;unknownwith=value;unknown-no-value>
v:  SIP  / 2.0  / TCP     spindle.example.com   ;
  branch  =   z9hG4bK9ikj8  ,
 SIP  /    2.0   / UDP  192.168.255.111   ; branch=
 z9hG4bK30239
m:"Quoted string \"\"" <sip:jdrosen@example.com> ; newparam =
      newvalue ;
  secondparam ; q = 0.33

)") + sdp_body("192.0.2.3");
  // The RFC's two addresses differ (o= .3, c= .4); same length, so patch c=.
  std::string msg = text;
  msg.replace(msg.find("c=IN IP4 192.0.2.3"), 18, "c=IN IP4 192.0.2.4");
  const message_view m = must_parse(msg);

  CHECK(m.is_request());
  CHECK(m.method() == sip_method::invite);
  CHECK(m.request_uri().user == "vivekg");
  CHECK(m.request_uri().host == "chair-dnrc.example.com");
  CHECK(m.request_uri().has_param("unknownparam"));
  CHECK(m.to().uri.user == "vivekg");
  CHECK(m.to().tag == "1918181833n");
  CHECK(m.to().display_name.empty());
  CHECK(m.from().display_quoted);
  CHECK(m.from().display_name == R"(J Rosenberg \\\")");
  CHECK(m.from().display_text() == R"(J Rosenberg \")");
  CHECK(m.from().tag == "98asjd8");
  CHECK(m.max_forwards() == std::optional<uint8_t>(68));
  CHECK(m.call_id() == "wsinv.ndaksdj@192.0.2.1");
  CHECK(m.cseq().number == 9);
  CHECK(m.cseq().method == sip_method::invite);
  CHECK(m.body().size() == 150);
  REQUIRE(m.content_type());
  CHECK(m.content_type()->is("application", "sdp"));

  REQUIRE(m.via_count() == 3);
  CHECK(m.top_via().transport == "UDP");
  CHECK(m.top_via().host == "192.0.2.2");
  CHECK(m.top_via().branch == "390skdjuw");
  CHECK_FALSE(m.top_via().rfc3261_branch());
  std::vector<via> vias;
  for (std::string_view v : m.values(header_id::via)) vias.push_back(*parse_via(v));
  REQUIRE(vias.size() == 3);
  CHECK(vias[1].protocol_name == "SIP");
  CHECK(vias[1].protocol_version == "2.0");
  CHECK(vias[1].transport == "TCP");
  CHECK(vias[1].host == "spindle.example.com");
  CHECK(vias[1].branch == "z9hG4bK9ikj8");
  CHECK(vias[2].host == "192.168.255.111");
  CHECK(vias[2].branch == "z9hG4bK30239");

  const header_field* subject = m.find("Subject");
  REQUIRE(subject);
  CHECK(subject->name == "s");
  CHECK(subject->value.empty());
  const header_field* fangled = m.find("newfangledheader");
  REQUIRE(fangled);
  CHECK(fangled->value == "newfangled value\r\n continued newfangled value");
  CHECK(m.find("UnknownHeaderWithUnusualValue")->value == ";;,,;;,;");

  auto route = parse_name_addr(m.find(header_id::route)->value);
  REQUIRE(route);
  CHECK(route->uri.host == "services.example.com");
  CHECK(route->uri.has_param("lr"));
  CHECK(route->uri.param("unknownwith") == std::optional<std::string_view>("value"));

  auto c = parse_contact(*m.values(header_id::contact).begin());
  REQUIRE(c);
  CHECK(c->address.display_name == R"(Quoted string \"\")");
  CHECK(c->address.param("newparam") == std::optional<std::string_view>("newvalue"));
  CHECK(c->address.param("secondparam") == std::optional<std::string_view>(""));
  CHECK(c->q == std::optional<uint16_t>(330));
}

TEST_CASE("RFC 4475 3.1.1.2 intmeth: wide range of valid characters", "[signalling][sip]") {
  std::string msg = crlf(R"(!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0
Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~
)");
  msg += "To: \"BEL:\\\x07 NUL:\\";
  msg += '\0';
  msg += " DEL:\\\x7f\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\r\n";
  msg += "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%="
         "\"\xD1\x80\xD0\xB0\xD0\xB1\xD0\xBE\xD1\x82\xD0\xB0\xD1\x8E\xD1\x89\xD0\xB8\xD0\xB9\""
         ";tag=_token~1'+`*%!-.\r\n";
  msg += crlf(R"(Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\/"][?}{
CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~
Max-Forwards: 255
)");
  msg += "extensionHeader-!.%*+_`'~:\xEF\xBB\xBF\xE5\xA4\xA7\xE5\x81\x9C\xE9\x9B\xBB\r\n";
  msg += "Content-Length: 0\r\n\r\n";
  const message_view m = must_parse(msg);

  CHECK(m.method() == sip_method::unknown);
  CHECK(m.method_text() == "!interesting-Method0123456789_*+`.%indeed'~");
  CHECK(m.request_uri().user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  CHECK(m.request_uri().password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  CHECK(m.request_uri().host == "example.com");
  CHECK(m.top_via().branch == "z9hG4bK-.!%66*_+`'~");
  const std::string to_display = m.to().display_text();
  CHECK(to_display == std::string("BEL:\x07 NUL:") + '\0' + std::string(" DEL:\x7f"));
  CHECK(m.to().uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  CHECK(m.from().display_name == "token1~` token2'+_ token3*%!.-");
  CHECK(m.from().tag == "_token~1'+`*%!-.");
  CHECK(m.from().param("fromParam''~+*_!.-%")->size() == 22);  // the quoted UTF-8 value
  CHECK(m.call_id() == R"(intmeth.word%ZK-!.*_+'@word`~)(><:\/"][?}{)");
  CHECK(m.cseq().number == 139122385);
  CHECK(m.max_forwards() == std::optional<uint8_t>(255));
  CHECK(m.find("extensionHeader-!.%*+_`'~")->value == "\xEF\xBB\xBF\xE5\xA4\xA7\xE5\x81\x9C\xE9\x9B\xBB");
}

TEST_CASE("RFC 4475 3.1.1.3-5 esc01 escnull esc02: % escapes", "[signalling][sip]") {
  const message_view esc01 = must_parse(crlf(R"(INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0
To: sip:%75se%72@example.com
From: <sip:I%20have%20spaces@example.net>;tag=938
Max-Forwards: 87
i: esc01.239409asdfakjkn23onasd0-3234
CSeq: 234234 INVITE
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw
C: application/sdp
Contact:
  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>
Content-Length: 150

)") + sdp_body("192.0.2.1"));
  CHECK(esc01.request_uri().user == "sips%3Auser%40example.com");
  CHECK(percent_decode(esc01.request_uri().user) == std::optional<std::string>("sips:user@example.com"));
  CHECK(esc01.to().uri.user == "%75se%72");
  CHECK(percent_decode(esc01.to().uri.user) == std::optional<std::string>("user"));
  CHECK(percent_decode(esc01.from().uri.user) == std::optional<std::string>("I have spaces"));
  CHECK(esc01.call_id() == "esc01.239409asdfakjkn23onasd0-3234");
  auto c = parse_contact(*esc01.values(header_id::contact).begin());
  REQUIRE(c);
  CHECK(c->address.uri.param("%6C%72") == std::optional<std::string_view>(""));
  CHECK(c->address.uri.param("n%61me") == std::optional<std::string_view>("v%61lue%25%34%31"));
  // Unescaping is never recursive: value%41 stays value%41, not valueA.
  CHECK(percent_decode("v%61lue%25%34%31") == std::optional<std::string>("value%41"));

  const message_view escnull = must_parse(crlf(R"(REGISTER sip:example.com SIP/2.0
To: sip:null-%00-null@example.com
From: sip:null-%00-null@example.com;tag=839923423
Max-Forwards: 70
Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
Contact: <sip:%00@host5.example.com>
Contact: <sip:%00%00@host5.example.com>
L:0

)"));
  CHECK(escnull.method() == sip_method::register_);
  CHECK(percent_decode(escnull.to().uri.user)->size() == 11);  // not cut at the NUL
  std::vector<std::string> users;
  for (std::string_view v : escnull.values(header_id::contact)) users.push_back(*percent_decode(parse_contact(v)->address.uri.user));
  REQUIRE(users.size() == 2);
  CHECK(users[0] == std::string(1, '\0'));
  CHECK(users[1] == std::string(2, '\0'));

  const message_view esc02 = must_parse(crlf(R"(RE%47IST%45R sip:registrar.example.com SIP/2.0
To: "%Z%45" <sip:resource@example.com>
From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23
Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf
Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234
CSeq: 29344 RE%47IST%45R
Max-Forwards: 70
Contact: <sip:alias1@host1.example.com>
C%6Fntact: <sip:alias2@host2.example.com>
Contact: <sip:alias3@host3.example.com>
l: 0

)"));
  CHECK(esc02.method() == sip_method::unknown);
  CHECK(esc02.method_text() == "RE%47IST%45R");
  CHECK(esc02.to().display_name == "%Z%45");
  CHECK(esc02.top_via().branch == "z9hG4bK209%fzsnel234");
  size_t contacts = 0;
  for (std::string_view v : esc02.values(header_id::contact)) contacts += parse_contact(v).ok();
  CHECK(contacts == 2);
  CHECK(esc02.find("C%6Fntact")->id == header_id::other);
}

TEST_CASE("RFC 4475 3.1.1.6-8 lwsdisp longreq dblreq", "[signalling][sip]") {
  const message_view lwsdisp = must_parse(crlf(R"(OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: caller<sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID: lwsdisp.1234abcd@funky.example.com
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw
l: 0

)"));
  CHECK(lwsdisp.from().display_name == "caller");
  CHECK(lwsdisp.from().uri.user == "caller");
  CHECK(lwsdisp.from().tag == "323");

  std::string longreq = crlf(R"(INVITE sip:user@example.com SIP/2.0
To: "I have a user name of extremeextremeextremeextremeextremeextremeextremeextremeextremeextreme proportion"<sip:user@example.com:6000;unknownparam1=verylonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglongvalue;longparamnamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamename=shortvalue;verylonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglongParameterNameWithNoValue>
F: sip:amazinglylongcallernameamazinglylongcallernameamazinglylongcallernameamazinglylongcallernameamazinglylongcallername@example.net;tag=12982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982424;unknownheaderparamnamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamename=unknowheaderparamvaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevaluevalue;unknownValuelessparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamname
Call-ID: longreq.onereallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallylongcallid
CSeq: 3882340 INVITE
Unknown-LongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLongLong-Name: unknown-longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglong-value; unknown-longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglong-parameter-name = unknown-longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglong-parameter-value
Via: SIP/2.0/TCP sip33.example.com
v: SIP/2.0/TCP sip32.example.com
V: SIP/2.0/TCP sip31.example.com
Via: SIP/2.0/TCP sip30.example.com
ViA: SIP/2.0/TCP sip29.example.com
VIa: SIP/2.0/TCP sip28.example.com
VIA: SIP/2.0/TCP sip27.example.com
via: SIP/2.0/TCP sip26.example.com
viA: SIP/2.0/TCP sip25.example.com
vIa: SIP/2.0/TCP sip24.example.com
vIA: SIP/2.0/TCP sip23.example.com
V :  SIP/2.0/TCP sip22.example.com
v :  SIP/2.0/TCP sip21.example.com
V  : SIP/2.0/TCP sip20.example.com
v  : SIP/2.0/TCP sip19.example.com
Via : SIP/2.0/TCP sip18.example.com
Via  : SIP/2.0/TCP sip17.example.com
Via: SIP/2.0/TCP sip16.example.com
Via: SIP/2.0/TCP sip15.example.com
Via: SIP/2.0/TCP sip14.example.com
Via: SIP/2.0/TCP sip13.example.com
Via: SIP/2.0/TCP sip12.example.com
Via: SIP/2.0/TCP sip11.example.com
Via: SIP/2.0/TCP sip10.example.com
Via: SIP/2.0/TCP sip9.example.com
Via: SIP/2.0/TCP sip8.example.com
Via: SIP/2.0/TCP sip7.example.com
Via: SIP/2.0/TCP sip6.example.com
Via: SIP/2.0/TCP sip5.example.com
Via: SIP/2.0/TCP sip4.example.com
Via: SIP/2.0/TCP sip3.example.com
Via: SIP/2.0/TCP sip2.example.com
Via: SIP/2.0/TCP sip1.example.com
Via: SIP/2.0/TCP host.example.com;received=192.0.2.5;branch=verylonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglongbranchvalue
Max-Forwards: 70
Contact: <sip:amazinglylongcallernameamazinglylongcallernameamazinglylongcallernameamazinglylongcallernameamazinglylongcallername@host5.example.net>
Content-Type: application/sdp
l: 150

)") + sdp_body("192.0.2.1");
  const message_view m = must_parse(longreq);
  CHECK(m.via_count() == 34);
  CHECK(m.top_via().host == "sip33.example.com");
  int n = 33;
  for (std::string_view v : m.values(header_id::via)) {
    auto via = parse_via(v);
    REQUIRE(via);
    if (n > 0) CHECK(via->host == "sip" + std::to_string(n) + ".example.com");
    else CHECK(via->received == "192.0.2.5");
    --n;
  }
  CHECK(m.to().uri.port == 6000);
  CHECK(m.to().uri.param("longparamnamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamenamename") ==
        std::optional<std::string_view>("shortvalue"));
  CHECK(m.from().tag == "12982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982982424");
  CHECK(m.from().param("unknownValuelessparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamname") ==
        std::optional<std::string_view>(""));
  CHECK(m.body().size() == 150);

  // dblreq: bytes after Content-Length octets are noise (RFC 3261 §18.3).
  const std::string dblreq = crlf(R"(REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=43251j3j324
Max-Forwards: 8
I: dblreq.0ha0isndaksdj99sdfafnl3lk233412
Contact: sip:j.user@host.example.com
CSeq: 8 REGISTER
Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492
Content-Length: 0

INVITE sip:joe@example.com SIP/2.0
t: sip:joe@example.com
From: sip:caller@example.net;tag=141334
Max-Forwards: 8
Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234
Content-Type: application/sdp
Content-Length: 150

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.15
s=-
c=IN IP4 192.0.2.15
t=0 0
m=audio 49217 RTP/AVP 0 12
m =video 3227 RTP/AVP 31
a=rtpmap:31 LPC
)");
  const message_view d = must_parse(dblreq);
  CHECK(d.method() == sip_method::register_);
  CHECK(d.body().empty());
  CHECK(d.call_id() == "dblreq.0ha0isndaksdj99sdfafnl3lk233412");
  CHECK(d.raw().size() < dblreq.size());
  CHECK(d.raw().substr(d.raw().size() - 4) == "\r\n\r\n");
}

TEST_CASE("RFC 4475 3.1.1.9-13 semiuri transports mpart01 unreason noreason", "[signalling][sip]") {
  const message_view semiuri = must_parse(crlf(R"(OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Call-ID: semiuri.0ha0isndaksdj
CSeq: 8 OPTIONS
Accept: application/sdp, application/pkcs7-mime,
        multipart/mixed, multipart/signed,
        message/sip, message/sipfrag
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw
l: 0

)"));
  CHECK(semiuri.request_uri().user == "user;par=u%40example.net");
  CHECK(semiuri.request_uri().host == "example.com");
  CHECK(semiuri.request_uri().params.empty());
  std::vector<std::string> accepts;
  for (std::string_view v : semiuri.values(header_id::accept)) {
    auto mt = parse_media_type(v);
    REQUIRE(mt);
    accepts.push_back(std::string(mt->type) + "/" + std::string(mt->subtype));
  }
  CHECK(accepts == std::vector<std::string>{"application/sdp", "application/pkcs7-mime", "multipart/mixed",
                                            "multipart/signed", "message/sip", "message/sipfrag"});

  const message_view transports = must_parse(crlf(R"(OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: <sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID:  transports.kijh4akdnaqjkwendsasfdj
Accept: application/sdp
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw
Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf
Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj
Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en
Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee
l: 0

)"));
  std::vector<std::string_view> kinds;
  for (std::string_view v : transports.values(header_id::via)) kinds.push_back(parse_via(v)->transport);
  CHECK(kinds == std::vector<std::string_view>{"UDP", "SCTP", "TLS", "UNKNOWN", "TCP"});
  CHECK(transports.call_id() == "transports.kijh4akdnaqjkwendsasfdj");

  // mpart01: a binary body part with NULs; framing must follow Content-Length exactly.
  std::string part = "--7a9cbec02ceef655\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\nHello\r\n"
                     "--7a9cbec02ceef655\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n";
  for (int i = 0; i < 256; ++i) part += static_cast<char>(i);
  part += "\r\n--7a9cbec02ceef655--\r\n";
  const std::string mpart = crlf(R"(MESSAGE sip:kumiko@example.org SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport
Max-Forwards: 70
Route: <sip:127.0.0.1:5080>
Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD+813gvYjcBUaZngQmXc9WNZSDNGCzA+fWl9MEUHWIZo1CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfbqMJmQFteeivUhkMWYUA=
Contact: <sip:fluffy@127.0.0.1:5070>
To: <sip:kumiko@example.org>
From: <sip:fluffy@example.com>;tag=2fb0dcc9
Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..
CSeq: 1 MESSAGE
Content-Transfer-Encoding: binary
Content-Type: multipart/mixed;boundary=7a9cbec02ceef655
Date: Sat, 15 Oct 2005 04:44:56 GMT
User-Agent: SIPimp.org/0.2.5 (curses)
)") + "Content-Length: " + std::to_string(part.size()) + "\r\n\r\n" + part;
  const message_view m = must_parse(mpart);
  CHECK(m.method() == sip_method::message);
  CHECK(m.body() == part);
  CHECK(m.top_via().port == 5070);
  CHECK(m.top_via().has_rport);
  CHECK(m.top_via().rport == 0);
  CHECK(m.content_type()->is("multipart", "mixed"));
  CHECK(tutti::sig::text::find_param(m.content_type()->params, "boundary")->value == "7a9cbec02ceef655");

  const message_view unreason = must_parse(
      "SIP/2.0 200 = 2**3 * 5**2 \xD0\xBD\xD0\xBE \xD1\x81\xD1\x82\xD0\xBE \xD0\xB4\xD0\xB5\xD0\xB2\xD1\x8F\xD0\xBD\xD0"
      "\xBE\xD1\x81\xD1\x82\xD0\xBE \xD0\xB4\xD0\xB5\xD0\xB2\xD1\x8F\xD1\x82\xD1\x8C - \xD0\xBF\xD1\x80\xD0\xBE\xD1\x81"
      "\xD1\x82\xD0\xBE\xD0\xB5\r\n" +
      crlf(R"(Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Call-ID: unreason.1234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Length: 154
Content-Type: application/sdp
Contact: <sip:user@host198.example.com>

)") + sdp_body("192.0.2.198"));
  CHECK(unreason.is_response());
  CHECK(unreason.status() == 200);
  CHECK(unreason.reason().substr(0, 14) == "= 2**3 * 5**2 ");
  CHECK(unreason.body().size() == 154);

  const message_view noreason = must_parse(crlf(R"(SIP/2.0 100 
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: noreason.asndj203insdf99223ndf
CSeq: 35 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0
Contact: <sip:user@host105.example.com>

)"));
  CHECK(noreason.status() == 100);
  CHECK(noreason.reason().empty());
}
