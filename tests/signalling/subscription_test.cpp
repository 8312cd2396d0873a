#include <catch2/catch.hpp>

#include <cstdio>

#include "signalling/subscription.hpp"

using namespace tutti::sig;
using namespace std::chrono_literals;

namespace {

dialog make_dialog(std::string call_id, std::string local_tag = "l1", std::string remote_tag = "r1") {
  dialog d;
  d.call_id = std::move(call_id);
  d.local_tag = std::move(local_tag);
  d.remote_tag = std::move(remote_tag);
  return d;
}

subscription_params params(std::string call_id, std::string resource = "room1", std::string id = "") {
  subscription_params p;
  p.package = "conference";
  p.event_id = std::move(id);
  p.resource = std::move(resource);
  p.subscriber = "alice";
  p.content_type = "application/conference-info+xml";
  p.dialog = make_dialog(std::move(call_id));
  p.state = sub_state::active;
  p.expires_s = 600;
  p.min_notify_interval = 1000ms;
  return p;
}

const time_point t0 = time_point{} + 1000s;

}  // namespace

TEST_CASE("Expires negotiation: default, minimum (423), maximum, unsubscribe", "[signalling][subscription]") {
  const expires_policy p{60, 3600, 7200};
  auto none = negotiate_expires(std::nullopt, p);
  CHECK(none.what == expires_outcome::kind::accept);
  CHECK(none.seconds == 3600);
  auto brief = negotiate_expires(59, p);
  CHECK(brief.what == expires_outcome::kind::too_brief);
  CHECK(brief.seconds == 60);  // the Min-Expires of the 423
  auto at_min = negotiate_expires(60, p);
  CHECK(at_min.what == expires_outcome::kind::accept);
  CHECK(at_min.seconds == 60);
  auto big = negotiate_expires(100000, p);
  CHECK(big.what == expires_outcome::kind::accept);
  CHECK(big.seconds == 7200);
  auto zero = negotiate_expires(0, p);
  CHECK(zero.what == expires_outcome::kind::accept);
  CHECK(zero.seconds == 0);
}

TEST_CASE("Subscription-State and Event values", "[signalling][subscription]") {
  CHECK(subscription_state_value(sub_state::active, 599) == "active;expires=599");
  CHECK(subscription_state_value(sub_state::pending, 30) == "pending;expires=30");
  CHECK(subscription_state_value(sub_state::terminated, 30, end_reason::timeout) == "terminated;reason=timeout");
  CHECK(subscription_state_value(sub_state::terminated, 0, end_reason::noresource) == "terminated;reason=noresource");
  CHECK(subscription_state_value(sub_state::terminated, 0) == "terminated");
  CHECK(event_value("conference", "") == "conference");
  CHECK(event_value("presence", "x7") == "presence;id=x7");
}

TEST_CASE("a new subscription owes its first NOTIFY at once, numbered from 1", "[signalling][subscription]") {
  subscription_table t;
  subscription* s = t.add(params("c1"), t0);
  REQUIRE(s);
  CHECK(s->owed());
  CHECK(s->full_owed());
  CHECK(s->notify_due(t0));
  REQUIRE(t.next_deadline() == time_point{});  // at once
  auto w = t.due(t0);
  CHECK(w.expired.empty());
  REQUIRE(w.notify == std::vector<sub_id>{s->id()});
  CHECK(s->begin_notify(t0) == 1);
  CHECK(s->in_flight());
  CHECK_FALSE(s->owed());
  // Only the expiry is pending now.
  CHECK(t.next_deadline() == t0 + 600s);
  CHECK(s->expires_in_s(t0 + 100s) == 500);
  CHECK(s->expires_in_s(t0 + 1000s) == 0);
}

TEST_CASE("changes inside the rate-limit interval coalesce into one NOTIFY", "[signalling][subscription]") {
  subscription_table t;
  subscription* s = t.add(params("c1"), t0);
  REQUIRE(s);
  s->begin_notify(t0);
  s->end_notify();
  // Three changes within 300 ms of the first NOTIFY: one NOTIFY owed, due at t0 + 1 s.
  s->changed();
  s->changed();
  s->changed();
  CHECK(s->owed());
  CHECK_FALSE(s->full_owed());
  CHECK_FALSE(s->notify_due(t0 + 300ms));
  CHECK(t.due(t0 + 300ms).notify.empty());
  CHECK(t.next_deadline() == t0 + 1000ms);
  CHECK(s->notify_due(t0 + 1000ms));
  REQUIRE(t.due(t0 + 1000ms).notify.size() == 1);
  CHECK(s->begin_notify(t0 + 1000ms) == 2);
  CHECK_FALSE(s->owed());
  CHECK(s->notifies() == 2);
}

TEST_CASE("one NOTIFY in flight at a time; what changes meanwhile waits for its response",
          "[signalling][subscription]") {
  subscription_table t;
  subscription* s = t.add(params("c1"), t0);
  REQUIRE(s);
  s->begin_notify(t0);
  s->changed();
  CHECK_FALSE(s->notify_due(t0 + 5s));  // the first has no response yet
  CHECK(t.next_deadline() == t0 + 600s);
  s->end_notify();
  CHECK(s->notify_due(t0 + 5s));
}

TEST_CASE("a refresh extends the expiry and owes a full NOTIFY past the rate limit", "[signalling][subscription]") {
  subscription_table t;
  subscription* s = t.add(params("c1"), t0);
  REQUIRE(s);
  s->begin_notify(t0);
  s->end_notify();
  s->refresh(t0 + 100ms, 1200);
  CHECK(s->expires_at() == t0 + 100ms + 1200s);
  CHECK(s->full_owed());
  CHECK(s->notify_due(t0 + 100ms));  // not held back by the 1 s interval
}

TEST_CASE("expiry: a subscription not refreshed is due as expired, not as a NOTIFY", "[signalling][subscription]") {
  subscription_table t;
  auto p = params("c1");
  p.expires_s = 60;
  subscription* s = t.add(p, t0);
  REQUIRE(s);
  s->begin_notify(t0);
  s->end_notify();
  s->changed();
  CHECK(t.due(t0 + 59s).expired.empty());
  auto w = t.due(t0 + 60s);
  CHECK(w.expired == std::vector<sub_id>{s->id()});
  CHECK(w.notify.empty());
}

TEST_CASE("the table finds subscriptions by dialog + event id and by resource, and forgets them",
          "[signalling][subscription]") {
  subscription_table t;
  subscription* a = t.add(params("c1", "room1"), t0);
  subscription* b = t.add(params("c1", "room1", "second"), t0);  // same dialog, another id (§4.1.2.2)
  subscription* c = t.add(params("c2", "room2"), t0);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK(t.add(params("c1", "room9"), t0) == nullptr);  // same dialog, package and id
  CHECK(t.size() == 3);
  CHECK(t.find("c1", "l1", "r1", "conference", "") == a);
  CHECK(t.find("c1", "l1", "r1", "conference", "second") == b);
  CHECK(t.find("c1", "l1", "r1", "presence", "") == nullptr);
  CHECK(t.find("c1", "r1", "l1", "conference", "") == nullptr);  // tags swapped
  CHECK(t.of_resource("conference", "room1") == std::vector<sub_id>{a->id(), b->id()});
  CHECK(t.of_resource("conference", "room2") == std::vector<sub_id>{c->id()});
  CHECK(t.of_resource("presence", "room1").empty());
  CHECK(t.count("conference", sub_state::active) == 3);
  const sub_id ida = a->id();
  CHECK(t.erase(ida));
  CHECK_FALSE(t.erase(ida));
  CHECK(t.find(ida) == nullptr);
  CHECK(t.find("c1", "l1", "r1", "conference", "") == nullptr);
  CHECK(t.of_resource("conference", "room1") == std::vector<sub_id>{b->id()});
  CHECK(t.size() == 2);
}

TEST_CASE("the table counts each subscriber's subscriptions (per-user limits)", "[signalling][subscription]") {
  subscription_table t;
  auto bobs = params("c3", "room1");
  bobs.subscriber = "bob";
  subscription* a = t.add(params("c1", "room1"), t0);
  subscription* b = t.add(params("c2", "room2"), t0);
  subscription* c = t.add(std::move(bobs), t0);
  REQUIRE((a && b && c));
  CHECK(t.of_subscriber("alice") == 2);
  CHECK(t.of_subscriber("bob") == 1);
  CHECK(t.of_subscriber("carol") == 0);
  CHECK(t.erase(a->id()));
  CHECK(t.of_subscriber("alice") == 1);
  CHECK(t.erase(c->id()));
  CHECK(t.of_subscriber("bob") == 0);
}

TEST_CASE("the deadline index follows every change; due() returns only what is due, oldest first",
          "[signalling][subscription]") {
  subscription_table t;
  // 1,000 subscriptions with expiries spread over 1,000 s, each NOTIFY answered.
  std::vector<subscription*> subs;
  for (int i = 0; i < 1000; ++i) {
    char call_id[16];
    std::snprintf(call_id, sizeof call_id, "c%d", i);  // (std::string concatenation here trips g++ 12's -Wrestrict)
    auto p = params(call_id);
    p.expires_s = 1000 - i;  // the newest expires first
    subscription* s = t.add(std::move(p), t0);
    REQUIRE(s);
    s->begin_notify(t0);
    s->end_notify();
    subs.push_back(s);
  }
  CHECK(t.next_deadline() == t0 + 1s);  // the last one added
  auto w = t.due(t0 + 3s);
  CHECK(w.expired == std::vector<sub_id>{subs[997]->id(), subs[998]->id(), subs[999]->id()});
  CHECK(w.notify.empty());
  // Changes to two of them: their NOTIFYs fall due at the end of the 1 s interval, before
  // any expiry but the first; changes to one in flight wait for its response.
  subs[10]->changed();
  subs[5]->changed();
  subs[20]->begin_notify(t0 + 200ms);
  subs[20]->changed();
  CHECK(t.next_deadline() == t0 + 1s);
  w = t.due(t0 + 1s);
  CHECK(w.notify == std::vector<sub_id>{subs[5]->id(), subs[10]->id()});
  CHECK(w.expired == std::vector<sub_id>{subs[999]->id()});
  subs[5]->begin_notify(t0 + 1s);
  subs[10]->begin_notify(t0 + 1s);
  CHECK(t.erase(subs[999]->id()));
  CHECK(t.next_deadline() == t0 + 2s);  // subs[998]'s expiry
  // The in-flight one's response: its owed NOTIFY is due 1 s after it went.
  CHECK(t.erase(subs[998]->id()));
  CHECK(t.erase(subs[997]->id()));
  subs[20]->end_notify();
  CHECK(t.next_deadline() == t0 + 1200ms);
  CHECK(t.due(t0 + 1200ms).notify == std::vector<sub_id>{subs[20]->id()});
  // A refresh moves the expiry and owes a NOTIFY at once.
  subs[996]->refresh(t0 + 1500ms, 600);
  CHECK(t.next_deadline() == time_point{});  // at once
  w = t.due(t0 + 1500ms);
  CHECK(w.notify == std::vector<sub_id>{subs[20]->id(), subs[996]->id()});
  CHECK(w.expired.empty());
  // Erasing everything empties the index.
  for (int i = 0; i < 997; ++i) CHECK(t.erase(subs[i]->id()));
  CHECK(t.size() == 0);
  CHECK_FALSE(t.next_deadline().has_value());
  CHECK(t.due(t0 + 10000s).expired.empty());
}
