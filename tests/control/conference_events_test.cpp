#include <catch2/catch.hpp>

#include "control/conference_events.hpp"

using namespace tutti::ctl;

namespace {

roster_user user(std::string name, uint32_t id, std::string status = "sendrecv", bool speaking = false) {
  roster_user u;
  u.entity = "sip:" + name + "@example.net";
  u.display_text = name;
  roster_endpoint e;
  e.entity = u.entity + ";participant=" + std::to_string(id);
  e.media.push_back(roster_media{std::to_string(id), "audio", std::move(status), speaking});
  u.endpoints.push_back(std::move(e));
  return u;
}

const std::string head =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<conference-info xmlns=\"urn:ietf:params:xml:ns:conference-info\" "
    "xmlns:tutti=\"urn:tutti:params:xml:ns:conference-info\" entity=\"sip:room1@example.net\" ";

}  // namespace

TEST_CASE("xml_escape escapes markup and drops control characters", "[control][conference_events]") {
  CHECK(xml_escape("a&b<c>d\"e'f") == "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  CHECK(xml_escape(std::string("x\x01y\tz", 5)) == "x y\tz");
  CHECK(xml_escape("plain") == "plain");
}

TEST_CASE("a full conference-info document lists every user, endpoint and medium", "[control][conference_events]") {
  roster r;
  r.entity = "sip:room1@example.net";
  r.users = {user("alice", 1, "sendrecv", true), user("b<o>b", 2, "recvonly")};
  const std::string expected = head +
      "state=\"full\" version=\"1\">\n"
      " <conference-state>\n"
      "  <user-count>2</user-count>\n"
      "  <active>true</active>\n"
      " </conference-state>\n"
      " <users>\n"
      "  <user entity=\"sip:alice@example.net\" state=\"full\">\n"
      "   <display-text>alice</display-text>\n"
      "   <endpoint entity=\"sip:alice@example.net;participant=1\" state=\"full\">\n"
      "    <status>connected</status>\n"
      "    <media id=\"1\">\n"
      "     <type>audio</type>\n"
      "     <status>sendrecv</status>\n"
      "     <tutti:speaking>true</tutti:speaking>\n"
      "    </media>\n"
      "   </endpoint>\n"
      "  </user>\n"
      "  <user entity=\"sip:b&lt;o&gt;b@example.net\" state=\"full\">\n"
      "   <display-text>b&lt;o&gt;b</display-text>\n"
      "   <endpoint entity=\"sip:b&lt;o&gt;b@example.net;participant=2\" state=\"full\">\n"
      "    <status>connected</status>\n"
      "    <media id=\"2\">\n"
      "     <type>audio</type>\n"
      "     <status>recvonly</status>\n"
      "    </media>\n"
      "   </endpoint>\n"
      "  </user>\n"
      " </users>\n"
      "</conference-info>\n";
  CHECK(build_conference_info(r, 1, true) == expected);
}

TEST_CASE("an empty conference has an empty users element", "[control][conference_events]") {
  roster r;
  r.entity = "sip:room1@example.net";
  r.active = false;
  CHECK(build_conference_info(r, 7, true) == head +
                                                 "state=\"full\" version=\"7\">\n"
                                                 " <conference-state>\n"
                                                 "  <user-count>0</user-count>\n"
                                                 "  <active>false</active>\n"
                                                 " </conference-state>\n"
                                                 " <users/>\n"
                                                 "</conference-info>\n");
}

TEST_CASE("diff_rosters finds joined, changed and departed users; unchanged ones stay out",
          "[control][conference_events]") {
  roster before, after;
  before.entity = after.entity = "sip:room1@example.net";
  before.users = {user("alice", 1), user("bob", 2), user("carol", 3)};
  after.users = {user("alice", 1), user("bob", 2, "recvonly"), user("dave", 4)};
  const roster_diff d = diff_rosters(before, after);
  REQUIRE(d.changed.size() == 2);
  CHECK(d.changed[0]->entity == "sip:bob@example.net");
  CHECK(d.changed[1]->entity == "sip:dave@example.net");
  CHECK(d.deleted == std::vector<std::string>{"sip:carol@example.net"});

  // Speaking alone is a change too.
  roster speaking = before;
  speaking.users[0].endpoints[0].media[0].speaking = true;
  const roster_diff s = diff_rosters(before, speaking);
  REQUIRE(s.changed.size() == 1);
  CHECK(s.changed[0]->entity == "sip:alice@example.net");
  CHECK(s.deleted.empty());
  CHECK(diff_rosters(before, before).changed.empty());
}

TEST_CASE("a partial document carries only the changed and deleted users", "[control][conference_events]") {
  roster before, after;
  before.entity = after.entity = "sip:room1@example.net";
  before.users = {user("alice", 1), user("carol", 3)};
  after.users = {user("alice", 1), user("dave", 4)};
  const roster_diff d = diff_rosters(before, after);
  const std::string expected = head +
      "state=\"partial\" version=\"3\">\n"
      " <conference-state>\n"
      "  <user-count>2</user-count>\n"
      "  <active>true</active>\n"
      " </conference-state>\n"
      " <users state=\"partial\">\n"
      "  <user entity=\"sip:dave@example.net\" state=\"full\">\n"
      "   <display-text>dave</display-text>\n"
      "   <endpoint entity=\"sip:dave@example.net;participant=4\" state=\"full\">\n"
      "    <status>connected</status>\n"
      "    <media id=\"4\">\n"
      "     <type>audio</type>\n"
      "     <status>sendrecv</status>\n"
      "    </media>\n"
      "   </endpoint>\n"
      "  </user>\n"
      "  <user entity=\"sip:carol@example.net\" state=\"deleted\"/>\n"
      " </users>\n"
      "</conference-info>\n";
  CHECK(build_conference_info(after, 3, false, d.changed, d.deleted) == expected);
  // Nothing changed in the users (a change undone within the rate-limit interval): no users element.
  CHECK(build_conference_info(after, 4, false) == head +
                                                      "state=\"partial\" version=\"4\">\n"
                                                      " <conference-state>\n"
                                                      "  <user-count>2</user-count>\n"
                                                      "  <active>true</active>\n"
                                                      " </conference-state>\n"
                                                      "</conference-info>\n");
}
