// The resource-lists reader and writer (RFC 4826 §3): what a client's buddy-list document
// turns into, and every reason a document is refused.
#include <catch2/catch.hpp>
#include <string>

#include "signalling/resource_lists.hpp"

using namespace tutti::sig;
namespace rl = tutti::sig::resource_lists;

namespace {

std::string wrap(std::string_view inner) {
  return std::string(R"(<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">)") + std::string(inner) +
         "</resource-lists>";
}

rl::reason reason_of(const std::string& doc, size_t max_entries = 1000) {
  auto r = rl::parse(doc, max_entries);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

}  // namespace

TEST_CASE("resource-lists: entries of every list, in order, with display names", "[signalling][resource_lists]") {
  const std::string doc = R"(<?xml version="1.0" encoding="UTF-8"?>
<rl:resource-lists xmlns:rl="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:example:ext">
  <rl:list name="friends"><rl:display-name>Friends</rl:display-name>
    <rl:entry uri="sip:bob@example.com"><rl:display-name>Bob &amp; Co</rl:display-name><x:note>n</x:note></rl:entry>
    <rl:list name="inner"><rl:entry uri="sips:dan@example.com"/></rl:list>
    <x:ext><rl:entry uri="sip:skipped@example.com"/></x:ext>
    <rl:entry uri="sip:bob@example.com"/>
  </rl:list>
  <rl:list><rl:entry uri="sip:carol@example.com"/></rl:list>
</rl:resource-lists>)";
  auto r = rl::parse(doc);
  REQUIRE(r.ok());
  const std::vector<rl::entry> want{{"sip:bob@example.com", "Bob & Co"},
                                    {"sips:dan@example.com", ""},
                                    {"sip:bob@example.com", ""},
                                    {"sip:carol@example.com", ""}};
  CHECK(r->entries == want);
}

TEST_CASE("resource-lists: empty documents are empty lists", "[signalling][resource_lists]") {
  for (const std::string& doc : {wrap(""), wrap("<list/>"), wrap("<list><list/></list>"),
                                 std::string(R"(<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"/>)")}) {
    auto r = rl::parse(doc);
    REQUIRE(r.ok());
    CHECK(r->entries.empty());
  }
}

TEST_CASE("resource-lists: build parses back into the same entries", "[signalling][resource_lists]") {
  rl::document d;
  d.entries = {{"sip:bob@example.com", "Bob <\"the\" builder> & 'co'"},
               {"sip:a@b;x=\"q\"&y", ""},
               {"sip:tab@b", "line1\nline2\tend\r"}};
  const std::string text = rl::build(d);
  CHECK(text.find(R"(<entry uri="sip:bob@example.com"><display-name>Bob &lt;&quot;the&quot; builder&gt; &amp; &apos;co&apos;</display-name></entry>)") !=
        std::string::npos);
  auto back = rl::parse(text);
  REQUIRE(back.ok());
  CHECK(*back == d);
  CHECK(rl::build(rl::document{}) ==
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<resource-lists "
        "xmlns=\"urn:ietf:params:xml:ns:resource-lists\">\n<list>\n</list>\n</resource-lists>\n");
}

TEST_CASE("resource-lists: every rejection has its reason", "[signalling][resource_lists]") {
  SECTION("not XML") {
    xml::error detail = xml::error::rejected;
    auto r = rl::parse("<resource-lists", 10, &detail);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == rl::reason::xml);
    CHECK(detail == xml::error::malformed);
  }
  SECTION("a DOCTYPE") {
    xml::error detail = xml::error::rejected;
    auto r = rl::parse(R"(<!DOCTYPE r [<!ENTITY a "aaaa">]>)" + wrap(R"(<list><entry uri="&a;"/></list>)"), 10, &detail);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == rl::reason::xml);
    CHECK(detail == xml::error::doctype);
  }
  SECTION("the wrong root") {
    CHECK(reason_of(R"(<resource-lists><list/></resource-lists>)") == rl::reason::not_resource_lists);
    CHECK(reason_of(R"(<list xmlns="urn:ietf:params:xml:ns:resource-lists"/>)") == rl::reason::not_resource_lists);
    CHECK(reason_of(R"(<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"/>)") ==
          rl::reason::not_resource_lists);
  }
  SECTION("entries and lists out of place") {
    CHECK(reason_of(wrap(R"(<entry uri="sip:a@b"/>)")) == rl::reason::misplaced);
    CHECK(reason_of(wrap(R"(<list><entry uri="sip:a@b"><entry uri="sip:c@d"/></entry></list>)")) ==
          rl::reason::misplaced);
    CHECK(reason_of(wrap(R"(<list><entry uri="sip:a@b"><list/></entry></list>)")) == rl::reason::misplaced);
  }
  SECTION("an entry without a URI") {
    CHECK(reason_of(wrap("<list><entry/></list>")) == rl::reason::missing_uri);
    CHECK(reason_of(wrap(R"(<list><entry uri=""/></list>)")) == rl::reason::missing_uri);
  }
  SECTION("references to lists held elsewhere") {
    CHECK(reason_of(wrap(R"(<list><external anchor="http://xcap.example.com/x"/></list>)")) == rl::reason::reference);
    CHECK(reason_of(wrap(R"(<list><entry-ref ref="users/sip:a@b/index/~~/x"/></list>)")) == rl::reason::reference);
  }
  SECTION("too many entries") {
    std::string entries;
    for (int i = 0; i < 4; ++i) entries += "<entry uri=\"sip:u" + std::to_string(i) + "@b\"/>";
    CHECK(rl::parse(wrap("<list>" + entries + "</list>"), 4).ok());
    CHECK(reason_of(wrap("<list>" + entries + "<entry uri=\"sip:x@b\"/></list>"), 4) == rl::reason::too_many_entries);
  }
  SECTION("1,000 entries with display names fit the XML limits") {
    std::string entries;
    for (int i = 0; i < 1000; ++i)
      entries += "<entry uri=\"sip:u" + std::to_string(i) + "@b\"><display-name>U</display-name></entry>";
    auto r = rl::parse(wrap("<list>" + entries + "</list>"));
    REQUIRE(r.ok());
    CHECK(r->entries.size() == 1000);
    CHECK(reason_of(wrap("<list>" + entries + "<entry uri=\"sip:x@b\"/></list>")) == rl::reason::too_many_entries);
  }
}
