#include <catch2/catch.hpp>

#include <string>

#include "signalling/pidf.hpp"

using namespace tutti::sig;

namespace {

const char* const phone_doc = R"(<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
          xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
          xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"
          xmlns:c="urn:ietf:params:xml:ns:pidf:caps"
          xmlns:ci="urn:ietf:params:xml:ns:pidf:cipid"
          entity="sip:alice@example.com">
  <tuple id="phone">
    <status><basic>open</basic></status>
    <c:servcaps><c:audio>true</c:audio><c:text>1</c:text><c:video>false</c:video><c:methods/></c:servcaps>
    <contact priority="0.8">sip:alice@10.0.0.1</contact>
    <note xml:lang="en">desk phone</note>
    <timestamp>2026-11-26T10:00:00Z</timestamp>
  </tuple>
  <dm:person id="p1">
    <rpid:activities><rpid:on-the-phone/><rpid:other>coding &amp; tea</rpid:other></rpid:activities>
    <dm:note>back at 3</dm:note>
    <ci:display-name>Alice A.</ci:display-name>
    <unknown xmlns="urn:example:ext"><deep/></unknown>
  </dm:person>
  <note>hello</note>
</presence>)";

}  // namespace

TEST_CASE("pidf parses tuples, caps, RPID activities and CIPID display name", "[signalling][pidf]") {
  auto r = pidf::parse(phone_doc);
  REQUIRE(r.ok());
  const pidf::document& d = *r;
  CHECK(d.entity == "sip:alice@example.com");
  REQUIRE(d.tuples.size() == 1);
  const pidf::tuple& t = d.tuples[0];
  CHECK(t.id == "phone");
  CHECK(t.basic == pidf::basic_status::open);
  CHECK(t.contact == "sip:alice@10.0.0.1");
  CHECK(t.contact_priority == "0.8");
  CHECK(t.timestamp == "2026-11-26T10:00:00Z");
  REQUIRE(t.notes.size() == 1);
  CHECK(t.notes[0].text == "desk phone");
  CHECK(t.notes[0].lang == "en");
  CHECK(t.caps.has(pidf::media::audio));
  CHECK(t.caps.has(pidf::media::text));
  CHECK_FALSE(t.caps.has(pidf::media::video));
  CHECK(t.caps.specified == ((1u << 0) | (1u << 4) | (1u << 5)));
  REQUIRE(d.person);
  CHECK(d.person->id == "p1");
  REQUIRE(d.person->activities.size() == 2);
  CHECK(d.person->activities[0].name == "on-the-phone");
  CHECK(d.person->activities[1].name == "other");
  CHECK(d.person->activities[1].other_text == "coding & tea");
  CHECK(d.person->display_name == "Alice A.");
  REQUIRE(d.person->notes.size() == 1);
  CHECK(d.person->notes[0].text == "back at 3");
  REQUIRE(d.notes.size() == 1);
  CHECK(d.notes[0].text == "hello");
  CHECK(d.overall() == pidf::basic_status::open);
}

TEST_CASE("pidf build writes what parse reads back", "[signalling][pidf]") {
  auto r = pidf::parse(phone_doc);
  REQUIRE(r.ok());
  pidf::document d = *r;
  d.entity = "sip:a\"<&>'\t@x";
  d.tuples[0].notes[0].text = "line1\nline2 <b>";
  const std::string text = pidf::build(d);
  CHECK(text.find("<caps:audio>true</caps:audio>") != std::string::npos);
  CHECK(text.find("<rpid:on-the-phone/>") != std::string::npos);
  auto again = pidf::parse(text);
  REQUIRE(again.ok());
  CHECK(*again == d);
}

TEST_CASE("pidf refuses invalid documents with a reason", "[signalling][pidf]") {
  auto reason_of = [](const std::string& s) {
    auto r = pidf::parse(s);
    REQUIRE_FALSE(r.ok());
    return r.error();
  };
  const std::string head = R"(<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b">)";
  CHECK(reason_of("<presence") == pidf::reason::xml_malformed);
  CHECK(reason_of(R"(<presence entity="sip:a@b"/>)") == pidf::reason::not_pidf);
  CHECK(reason_of(R"(<presence xmlns="urn:ietf:params:xml:ns:pidf"/>)") == pidf::reason::missing_entity);
  CHECK(reason_of(head + "<tuple><status/></tuple></presence>") == pidf::reason::missing_tuple_id);
  CHECK(reason_of(head + "<tuple id='a'/></presence>") == pidf::reason::missing_status);
  CHECK(reason_of(head + "<tuple id='a'><status/></tuple><tuple id='a'><status/></tuple></presence>") ==
        pidf::reason::duplicate_tuple_id);
  CHECK(reason_of(head + "<tuple id='a'><status><basic>maybe</basic></status></tuple></presence>") ==
        pidf::reason::bad_basic);
  CHECK(reason_of(head + "<tuple id='a'><status/><servcaps xmlns='urn:ietf:params:xml:ns:pidf:caps'>"
                         "<audio>yes</audio></servcaps></tuple></presence>") == pidf::reason::bad_caps_value);
  CHECK(reason_of(head + "<person xmlns='urn:ietf:params:xml:ns:pidf:data-model'><activities "
                         "xmlns='urn:ietf:params:xml:ns:pidf:rpid'><dancing/></activities></person></presence>") ==
        pidf::reason::unknown_activity);
  std::string many = head;
  for (int i = 0; i < 40; ++i) many += "<tuple id='t" + std::to_string(i) + "'><status/></tuple>";
  CHECK(reason_of(many + "</presence>") == pidf::reason::too_many_tuples);
  std::string deep = head;
  for (int i = 0; i < 20; ++i) deep += "<x>";
  CHECK(reason_of(deep) == pidf::reason::xml_too_deep);
  CHECK(reason_of(std::string(70000, ' ')) == pidf::reason::xml_too_large);
}

TEST_CASE("pidf refuses any DOCTYPE: no entity expansion (billion laughs, XXE)", "[signalling][pidf]") {
  const std::string lol = R"(<?xml version="1.0"?>
<!DOCTYPE presence [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><note>&c;</note></presence>)";
  auto r = pidf::parse(lol);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == pidf::reason::xml_doctype);
  const std::string xxe = R"(<!DOCTYPE presence [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><note>&x;</note></presence>)";
  auto r2 = pidf::parse(xxe);
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error() == pidf::reason::xml_doctype);
  // An undeclared entity is a well-formedness error.
  auto r3 = pidf::parse(R"(<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><note>&x;</note></presence>)");
  REQUIRE_FALSE(r3.ok());
  CHECK(r3.error() == pidf::reason::xml_malformed);
}

TEST_CASE("pidf compose: union of device tuples, person from the newest", "[signalling][pidf]") {
  pidf::document phone;
  phone.entity = "sip:alice@x";
  phone.tuples.push_back({"phone", pidf::basic_status::closed, "sip:p", "", "", {}, {}});
  phone.tuples[0].caps.set(pidf::media::audio, true);
  phone.person = pidf::person{"p", {{"away", ""}}, {}, "Alice", ""};
  pidf::document laptop;
  laptop.entity = "sip:alice@x";
  laptop.tuples.push_back({"laptop", pidf::basic_status::open, "sip:l", "", "", {}, {}});
  laptop.tuples[0].caps.set(pidf::media::text, true);
  laptop.person = pidf::person{"p", {{"working", ""}}, {}, "Alice L", ""};
  pidf::document phone2 = phone;
  phone2.tuples[0].basic = pidf::basic_status::open;
  phone2.person.reset();

  const pidf::document* order[] = {&phone, &laptop, &phone2};
  const pidf::document c = pidf::compose("sip:alice@example.com", order);
  CHECK(c.entity == "sip:alice@example.com");
  REQUIRE(c.tuples.size() == 2);
  CHECK(c.tuples[0].id == "phone");
  CHECK(c.tuples[0].basic == pidf::basic_status::open);
  CHECK(c.tuples[1].id == "laptop");
  REQUIRE(c.person);
  CHECK(c.person->activities[0].name == "working");
  CHECK(c.person->display_name == "Alice L");
  CHECK(c.caps().has(pidf::media::audio));
  CHECK(c.caps().has(pidf::media::text));
  CHECK_FALSE(c.caps().has(pidf::media::video));
  CHECK(c.overall() == pidf::basic_status::open);
}
