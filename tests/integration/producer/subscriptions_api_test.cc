// Subscription management through the producer's HTTP API, against a real `hookpipe
// producer` process on the real broker and Redis: create, replace, patch, pause, list,
// rotate; validation (unknown fields, names given twice, ids, formats, templates), stored
// records, credentials in URLs, and two instances converging through the compacted
// subscriptions topic.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "common/signing/signer.h"
#include "integration/producer/api_fixture.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

namespace bj = boost::json;

TEST_F(ApiTest, SubscriptionsAreReplacedPatchedPausedListedAndRotated) {
  const auto base = startProducer();
  const auto id =
      createSubscription(base, R"({"url":"https://a.example/h","events":["order.*"],"name":"a"})");
  const auto other =
      createSubscription(base, R"({"url":"https://b.example/h","events":["invoice.paid"]})");
  const auto url = base + "/v1/subscriptions/" + id;

  // PUT replaces: fields left out go back to their defaults; id, secret, created_at stay.
  const auto original_secret = jsonField(call("GET", url + "/secret").body, "secret");
  ASSERT_TRUE(original_secret.starts_with("whsec_"));
  auto put = call("PUT", url, R"({"url":"https://a2.example/h","events":["order.created"]})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(jsonField(put.body, "url"), "https://a2.example/h");
  EXPECT_EQ(jsonField(put.body, "name"), "");
  EXPECT_EQ(jsonField(put.body, "id"), id);
  EXPECT_EQ(put.body.find("secret"), std::string::npos);
  EXPECT_EQ(jsonField(call("GET", url + "/secret").body, "secret"), original_secret);

  // PATCH merges.
  auto patch = call("PATCH", url, R"({"name":"renamed","retry_config":{"max_retries":3}})");
  ASSERT_EQ(patch.status, 200) << patch.body;
  auto patched = patch.json().as_object();
  EXPECT_EQ(patched.at("name").as_string(), "renamed");
  EXPECT_EQ(patched.at("url").as_string(), "https://a2.example/h");
  EXPECT_EQ(patched.at("retry_config").at("max_retries").as_int64(), 3);

  // Validation lists every problem with a pointer; nothing is changed.
  auto bad =
      call("PATCH", url, R"({"url":"ftp://x","retry_config":{"max_retries":1000},"timeout_ms":1})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  std::set<std::string> pointers;
  const auto bad_json = bad.json();
  for (const auto& e : bad_json.at("errors").as_array())
    pointers.insert(std::string(e.at("pointer").as_string()));
  EXPECT_EQ(pointers, (std::set<std::string>{"/url", "/retry_config/max_retries", "/timeout_ms"}));
  auto bad_put = call("PUT", url, R"({"events":[]})");
  ASSERT_EQ(bad_put.status, 400);
  EXPECT_NE(bad_put.body.find("\"/url\""), std::string::npos);
  EXPECT_NE(bad_put.body.find("\"/events\""), std::string::npos);
  auto secret_patch = call("PATCH", url, R"({"secret":"whsec_AAAA"})");
  EXPECT_EQ(secret_patch.status, 400);
  EXPECT_NE(secret_patch.body.find("\"/secret\""), std::string::npos);
  EXPECT_EQ(call("PATCH", url, R"({"id":"sub_other"})").status, 400);
  // Custom headers may not replace the ones hookpipe sets (signature, content type, …).
  auto forged = call("PATCH", url, R"({"headers":{"webhook-signature":"v1,x","X-Ok":"1"}})");
  EXPECT_EQ(forged.status, 400) << forged.body;
  EXPECT_NE(forged.body.find(R"("pointer":"/headers/webhook-signature")"), std::string::npos)
      << forged.body;
  EXPECT_NE(forged.body.find("'webhook-signature' is set by hookpipe"), std::string::npos);
  EXPECT_EQ(call("PATCH", url, "not json").status, 400);
  EXPECT_EQ(call("PATCH", url, "[1]").status, 400);
  EXPECT_EQ(jsonField(call("GET", url).body, "name"), "renamed");

  // Pause / resume, and list filters.
  auto paused = call("POST", url + "/pause");
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_FALSE(paused.json().at("is_active").as_bool());
  auto list = [&](const std::string& q) {
    auto a = call("GET", base + "/v1/subscriptions" + q);
    EXPECT_EQ(a.status, 200) << q << " " << a.body;
    std::vector<std::string> ids;
    const auto page = a.json();
    for (const auto& s : page.at("data").as_array()) ids.emplace_back(s.at("id").as_string());
    return ids;
  };
  EXPECT_EQ(list("?status=paused"), std::vector<std::string>{id});
  EXPECT_EQ(list("?status=active"), std::vector<std::string>{other});
  EXPECT_EQ(list("?event_type=order.created"), std::vector<std::string>{id});
  EXPECT_EQ(list("?event_type=invoice.paid&status=active"), std::vector<std::string>{other});
  EXPECT_EQ(list("?limit=1").size(), 1u);
  EXPECT_EQ(list("?limit=1&offset=1").size(), 1u);
  EXPECT_NE(list("?limit=1"), list("?limit=1&offset=1"));
  EXPECT_TRUE(list("?offset=2").empty());
  auto all = call("GET", base + "/v1/subscriptions");
  EXPECT_EQ(all.json().at("total").as_int64(), 2);
  EXPECT_EQ(all.body.find("secret"), std::string::npos);
  auto bad_list = call("GET", base + "/v1/subscriptions?status=sleeping&limit=0&colour=red");
  ASSERT_EQ(bad_list.status, 400);
  EXPECT_EQ(bad_list.json().at("errors").as_array().size(), 3u);
  auto resumed = call("POST", url + "/resume");
  ASSERT_EQ(resumed.status, 200);
  EXPECT_TRUE(resumed.json().at("is_active").as_bool());

  // Rotation: the answer shows the new secret, GET /secret agrees, GETs never show it.
  auto rotated = call("POST", url + "/secret/rotate?grace_ms=60000");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  const auto new_secret = jsonField(rotated.body, "secret");
  EXPECT_TRUE(new_secret.starts_with("whsec_"));
  EXPECT_NE(new_secret, original_secret);
  EXPECT_EQ(rotated.body.find(original_secret), std::string::npos);
  auto secret = call("GET", url + "/secret");
  EXPECT_EQ(jsonField(secret.body, "secret"), new_secret);
  EXPECT_GT(secret.json().at("previous_secret_expires_ms").as_int64(), 0);
  EXPECT_EQ(call("GET", url).body.find("secret"), std::string::npos);
  EXPECT_EQ(call("POST", url + "/secret/rotate?grace_ms=-1").status, 400);
  EXPECT_EQ(call("POST", url + "/secret/rotate?grace=1").status, 400);
  // The stored record carries the previous secret for the grace period.
  std::string stored;
  for (const auto& m : readTopic(pipeline_->config(), pipeline_->config().topics.subscriptions()))
    if (m.key == id) stored = m.value;
  EXPECT_EQ(jsonField(stored, "previous_secret"), original_secret);

  // Unknown ids, methods, routes.
  const auto missing = base + "/v1/subscriptions/sub_missing";
  EXPECT_EQ(call("GET", missing).status, 404);
  EXPECT_EQ(call("PUT", missing, R"({"url":"https://x.example","events":["*"]})").status, 404);
  EXPECT_EQ(call("PATCH", missing, "{}").status, 404);
  EXPECT_EQ(call("POST", missing + "/pause").status, 404);
  EXPECT_EQ(call("POST", missing + "/secret/rotate").status, 404);
  EXPECT_EQ(call("GET", missing + "/secret").status, 404);
  auto wrong_method = call("POST", url);
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_FALSE(wrong_method.headers["allow"].empty());
  EXPECT_EQ(call("GET", url + "/pause").status, 405);
  EXPECT_EQ(call("GET", base + "/v1/nothing").status, 404);

  EXPECT_EQ(call("DELETE", url).status, 204);
  EXPECT_EQ(call("GET", url).status, 404);
}

TEST_F(ApiTest, FormatOptionsAreCheckedByTheFormatAndBadOnesStoreNothing) {
  const auto base = startProducer();
  auto pointersOf = [](const Answer& a) {
    std::set<std::string> out;
    const auto doc = a.json();
    for (const auto& e : doc.at("errors").as_array())
      out.insert(std::string(e.at("pointer").as_string()));
    return out;
  };
  const std::string telegram =
      R"({"id":"sub_tg","url":"https://api.telegram.org/bot1:x/sendMessage","events":["*"],)"
      R"("format":"telegram")";
  auto missing = call("POST", base + "/v1/subscriptions", telegram + "}");
  ASSERT_EQ(missing.status, 400) << missing.body;
  EXPECT_EQ(pointersOf(missing), (std::set<std::string>{"/format_options/chat_id"}));
  EXPECT_NE(missing.body.find("chat_id is required"), std::string::npos) << missing.body;
  auto several = call("POST", base + "/v1/subscriptions",
                      telegram + R"(,"format_options":{"chat_id":"general","colour":"red",)"
                                 R"("disable_notification":"yes"}})");
  ASSERT_EQ(several.status, 400) << several.body;
  EXPECT_EQ(pointersOf(several),
            (std::set<std::string>{"/format_options/chat_id", "/format_options/colour",
                                   "/format_options/disable_notification"}));
  EXPECT_EQ(call("GET", base + "/v1/subscriptions/sub_tg").status, 404);  // nothing stored

  auto created = call("POST", base + "/v1/subscriptions",
                      telegram + R"(,"format_options":{"chat_id":-1001234567890}})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json().at("format_options").at("chat_id").as_int64(), -1001234567890);
  const auto url = base + "/v1/subscriptions/sub_tg";
  // A bad PATCH changes nothing; switching format with options it does not take is refused.
  auto bad_patch = call("PATCH", url, R"({"format_options":{"chat_id":"@no"}})");
  ASSERT_EQ(bad_patch.status, 400) << bad_patch.body;
  EXPECT_EQ(pointersOf(bad_patch), (std::set<std::string>{"/format_options/chat_id"}));
  auto to_slack = call("PATCH", url, R"({"format":"slack"})");
  ASSERT_EQ(to_slack.status, 400) << to_slack.body;
  EXPECT_NE(to_slack.body.find("unknown option chat_id for format slack"), std::string::npos);
  auto got = call("GET", url);
  EXPECT_EQ(got.json().at("format").as_string(), "telegram");
  EXPECT_EQ(got.json().at("format_options").at("chat_id").as_int64(), -1001234567890);
  auto slack = call("PATCH", url,
                    R"({"format":"slack","format_options":{"chat_id":null,"channel":"#ops"}})");
  ASSERT_EQ(slack.status, 200) << slack.body;
  EXPECT_EQ(slack.json().at("format_options"), boost::json::parse(R"({"channel":"#ops"})"));
}

TEST_F(ApiTest, ATemplateThatDoesNotCompileIsA400SayingWhere) {
  const auto base = startProducer();
  const std::string head =
      R"({"id":"sub_tmpl","url":"https://api.example.com/x","events":["*"],"format":"template",)"
      R"("format_options":{"template":)";
  auto bad = call("POST", base + "/v1/subscriptions",
                  head + R"("{\"skus\":\"{{#data.items}}{{sku}}\"}"}})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  const auto doc = bad.json();
  const auto& error = doc.at("errors").at(0);
  EXPECT_EQ(error.at("pointer").as_string(), "/format_options/template");
  EXPECT_EQ(error.at("message").as_string(),
            "template does not compile: line 1, column 10: unclosed section 'data.items': no "
            "{{/data.items}}");
  EXPECT_EQ(call("GET", base + "/v1/subscriptions/sub_tmpl").status, 404);  // nothing stored
  // A big template (60 KiB: past the 1024 characters of other options) is stored as given.
  std::string big = R"("{\"id\":\"{{id}}\",\"pad\":\")";
  big += std::string(60 * 1024, 'x');
  big += R"(\"}")";
  auto created = call("POST", base + "/v1/subscriptions", head + big + "}}");
  ASSERT_EQ(created.status, 201) << created.body.substr(0, 300);
  EXPECT_EQ(created.json().at("format_options").at("template").as_string().size(), 60 * 1024 + 24);
}

TEST_F(ApiTest, TwoInstancesSeeEachOthersSubscriptionsWithinASecond) {
  const auto a = startProducer();
  const auto b = startProducer();
  const auto id = createSubscription(a, R"({"url":"https://a.example/h","events":["*"]})");
  EXPECT_TRUE(
      eventually([&] { return call("GET", b + "/v1/subscriptions/" + id).status == 200; }, 1s));
  ASSERT_EQ(call("PATCH", b + "/v1/subscriptions/" + id, R"({"name":"from-b"})").status, 200);
  EXPECT_TRUE(eventually(
      [&] {
        return jsonField(call("GET", a + "/v1/subscriptions/" + id).body, "name") == "from-b";
      },
      1s));
  ASSERT_EQ(call("DELETE", a + "/v1/subscriptions/" + id).status, 204);
  EXPECT_TRUE(
      eventually([&] { return call("GET", b + "/v1/subscriptions/" + id).status == 404; }, 1s));
}

// The records the subscriptions topic holds for `id`.
std::vector<std::string> storedRecords(const Config& config, const std::string& id) {
  std::vector<std::string> out;
  for (const auto& m : readTopic(config, config.topics.subscriptions()))
    if (m.key == id) out.push_back(m.value);
  return out;
}

std::set<std::string> errorPointers(const Answer& a) {
  std::set<std::string> out;
  const auto v = a.json();
  if (v.is_object() && v.as_object().contains("errors"))
    for (const auto& e : v.at("errors").as_array())
      out.insert(std::string(e.at("pointer").as_string()));
  return out;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(ApiTest, CreatingAnExistingIdIs409AndChangesNothing) {
  const auto base = startProducer();
  auto first = call("POST", base + "/v1/subscriptions",
                    R"({"id":"orders-1","url":"https://a.example/h","events":["order.*"]})");
  ASSERT_EQ(first.status, 201) << first.body;
  const auto secret = jsonField(first.body, "secret");
  const auto created_at = jsonField(first.body, "created_at");
  const auto url = base + "/v1/subscriptions/orders-1";

  // A takeover: another url, secret and events under the same id.
  auto again = call("POST", base + "/v1/subscriptions",
                    R"({"id":"orders-1","url":"https://attacker.example/h","events":["*"],)"
                    R"("secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_NE(again.body.find("orders-1"), std::string::npos) << again.body;
  auto now = call("GET", url).json().as_object();
  EXPECT_EQ(now.at("url").as_string(), "https://a.example/h");
  EXPECT_EQ(bj::serialize(now.at("events")), R"(["order.*"])");
  EXPECT_EQ(now.at("created_at").as_string(), created_at);
  EXPECT_EQ(jsonField(call("GET", url + "/secret").body, "secret"), secret);
  EXPECT_EQ(storedRecords(pipeline_->config(), "orders-1").size(), 1u);

  // Racing creates of one new id on one instance: one wins, the others are 409s.
  std::vector<long> statuses(6);
  std::vector<std::thread> racers;
  for (std::size_t i = 0; i < statuses.size(); ++i)
    racers.emplace_back([&, i] {
      statuses[i] = call("POST", base + "/v1/subscriptions",
                         R"({"id":"race-1","url":"https://r)" + std::to_string(i) +
                             R"(.example/h","events":["*"]})")
                        .status;
    });
  for (auto& t : racers) t.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 201), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 409), 5);
  EXPECT_EQ(storedRecords(pipeline_->config(), "race-1").size(), 1u);

  // Deleted, the id is free again.
  ASSERT_EQ(call("DELETE", url).status, 204);
  EXPECT_EQ(call("POST", base + "/v1/subscriptions",
                 R"({"id":"orders-1","url":"https://b.example/h","events":["*"]})")
                .status,
            201);
}

TEST_F(ApiTest, ClientChosenIdsOutsideTheSafeCharsetAre400AndWriteNothing) {
  const auto base = startProducer();
  const std::vector<std::string> bad = {"x/../y", "a\\nforged line level=error", "..", "a b",
                                        "a%2Fb",  std::string(129, 'i')};
  for (const auto& id : bad) {
    SCOPED_TRACE(id);
    auto a = call("POST", base + "/v1/subscriptions",
                  R"({"id":")" + id + R"(","url":"https://a.example/h","events":["*"]})");
    EXPECT_EQ(a.status, 400) << a.body;
    EXPECT_EQ(errorPointers(a), std::set<std::string>{"/id"}) << a.body;
  }
  EXPECT_EQ(call("GET", base + "/v1/subscriptions").json().at("total").as_int64(), 0);
  EXPECT_TRUE(readTopic(pipeline_->config(), pipeline_->config().topics.subscriptions()).empty());
  EXPECT_EQ(readFile(producers_[0]->logPath()).find("forged"), std::string::npos);
  // What is allowed: letters, digits, '_', '-', '.', up to 128.
  for (const auto& id : std::vector<std::string>{"orders.v2", "Team_A-7", std::string(128, 'i')}) {
    SCOPED_TRACE(id);
    EXPECT_EQ(call("POST", base + "/v1/subscriptions",
                   R"({"id":")" + id + R"(","url":"https://a.example/h","events":["*"]})")
                  .status,
              201);
    EXPECT_EQ(call("GET", base + "/v1/subscriptions/" + id).status, 200);
    EXPECT_EQ(call("DELETE", base + "/v1/subscriptions/" + id).status, 204);
  }

  // A record written before ids were checked can still be read and deleted, %-encoded.
  auto producer = kafka::Producer::create(pipeline_->config());
  ASSERT_TRUE(producer.has_value()) << producer.error().message;
  ASSERT_TRUE((*producer)
                  ->produceBlocking(pipeline_->config().topics.subscriptions(), "x/../y",
                                    R"({"id":"x/../y","url":"https://a.example/h","events":["*"]})",
                                    {}, nullptr)
                  .has_value());
  ASSERT_TRUE((*producer)->flush(10s));
  const auto legacy = base + "/v1/subscriptions/x%2F..%2Fy";
  EXPECT_TRUE(eventually([&] { return call("GET", legacy).status == 200; }, 10s));
  EXPECT_EQ(call("DELETE", legacy).status, 204);
  EXPECT_EQ(call("GET", legacy).status, 404);
}

TEST_F(ApiTest, UnknownFieldsAreRefusedEachNamedByItsPointer) {
  const auto base = startProducer();
  auto a = call("POST", base + "/v1/subscriptions",
                R"({"url":"https://a.example/h","events":["*"],"active":false,)"
                R"("retry_config":{"max_retrys":3},"rate_limit":{"per_day":5},"colour":"red"})");
  ASSERT_EQ(a.status, 400) << a.body;
  EXPECT_EQ(errorPointers(a), (std::set<std::string>{"/active", "/retry_config/max_retrys",
                                                     "/rate_limit/per_day", "/colour"}))
      << a.body;
  EXPECT_NE(a.body.find("did you mean is_active?"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("did you mean max_retries?"), std::string::npos) << a.body;
  EXPECT_EQ(call("GET", base + "/v1/subscriptions").json().at("total").as_int64(), 0);

  const auto id = createSubscription(base, R"({"url":"https://a.example/h","events":["*"]})");
  const auto url = base + "/v1/subscriptions/" + id;
  auto put = call("PUT", url, R"({"url":"https://a.example/h","events":["*"],"active":false})");
  EXPECT_EQ(put.status, 400) << put.body;
  EXPECT_EQ(errorPointers(put), std::set<std::string>{"/active"});
  auto patch = call("PATCH", url, R"({"retry_config":{"max_retrys":3,"jitter":false}})");
  EXPECT_EQ(patch.status, 400) << patch.body;
  EXPECT_EQ(errorPointers(patch), std::set<std::string>{"/retry_config/max_retrys"});
  // Null is not a way around it (in a merge patch it removes a field, but this is none).
  auto null_patch = call("PATCH", url, R"({"active":null,"rate_limit":{"per_day":null}})");
  EXPECT_EQ(null_patch.status, 400) << null_patch.body;
  EXPECT_EQ(errorPointers(null_patch), (std::set<std::string>{"/active", "/rate_limit/per_day"}));
  auto kept = call("GET", url).json().as_object();
  EXPECT_TRUE(kept.at("is_active").as_bool());
  EXPECT_TRUE(kept.at("retry_config").at("jitter").as_bool());
  // A GET's answer is a valid PUT body.
  auto round_trip = call("PUT", url, call("GET", url).body);
  EXPECT_EQ(round_trip.status, 200) << round_trip.body;
}

TEST_F(ApiTest, ANameGivenTwiceIsRefusedAndNothingIsStoredOrChanged) {
  const auto base = startProducer();
  auto a = call("POST", base + "/v1/subscriptions",
                R"({"url":"https://a.example/h","events":["*"],"url":"https://b.example/h",)"
                R"("metadata":{"team":"a","team":"b"}})");
  ASSERT_EQ(a.status, 400) << a.body;
  EXPECT_EQ(errorPointers(a), (std::set<std::string>{"/url", "/metadata/team"})) << a.body;
  EXPECT_NE(a.body.find("'team' is given more than once"), std::string::npos) << a.body;
  EXPECT_EQ(call("GET", base + "/v1/subscriptions").json().at("total").as_int64(), 0);

  const auto id = createSubscription(
      base, R"({"url":"https://a.example/h","events":["*"],"headers":{"X-Team":"a"}})");
  const auto url = base + "/v1/subscriptions/" + id;
  // The merge would have kept one copy: the body is judged before it.
  auto patch = call("PATCH", url, R"({"headers":{"X-Team":"b","X-Team":"c"}})");
  EXPECT_EQ(patch.status, 400) << patch.body;
  EXPECT_EQ(errorPointers(patch), std::set<std::string>{"/headers/X-Team"});
  auto put = call("PUT", url,
                  R"({"url":"https://a.example/h","events":["*"],"timeout_ms":500,)"
                  R"("timeout_ms":900})");
  EXPECT_EQ(put.status, 400) << put.body;
  EXPECT_EQ(errorPointers(put), std::set<std::string>{"/timeout_ms"});
  auto kept = call("GET", url).json().as_object();
  EXPECT_EQ(bj::serialize(kept.at("headers")), R"({"X-Team":"a"})");
  EXPECT_EQ(kept.if_contains("timeout_ms"), nullptr) << bj::serialize(kept);
}

TEST_F(ApiTest, MetadataIsStoredAndReturnedAsGiven) {
  const auto base = startProducer();
  auto a = call("POST", base + "/v1/subscriptions",
                R"({"url":"https://a.example/h","events":["*"],)"
                R"("metadata":{"team":"payments","ticket":"OPS-12","note":"caf\u00e9"}})");
  ASSERT_EQ(a.status, 201) << a.body;
  const std::string expected = R"({"note":"café","team":"payments","ticket":"OPS-12"})";
  EXPECT_EQ(bj::serialize(a.json().at("metadata")), expected);
  const auto id = jsonField(a.body, "id");
  const auto url = base + "/v1/subscriptions/" + id;
  EXPECT_EQ(bj::serialize(call("GET", url).json().at("metadata")), expected);
  EXPECT_EQ(
      bj::serialize(call("GET", base + "/v1/subscriptions").json().at("data").at(0).at("metadata")),
      expected);
  const auto stored = storedRecords(pipeline_->config(), id);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(bj::serialize(bj::parse(stored[0]).at("metadata")), expected);

  // PATCH merges it (null removes a key); PUT replaces it.
  auto patch = call("PATCH", url, R"({"metadata":{"ticket":null,"owner":"ana"}})");
  ASSERT_EQ(patch.status, 200) << patch.body;
  EXPECT_EQ(bj::serialize(patch.json().at("metadata")),
            R"({"note":"café","owner":"ana","team":"payments"})");
  auto put = call("PUT", url, R"({"url":"https://a.example/h","events":["*"]})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(bj::serialize(put.json().at("metadata")), "{}");

  // Bounds: 50 keys, keys up to 40 characters, values strings up to 500.
  std::string many;
  for (int i = 0; i <= 50; ++i) many += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":\"v\"";
  const std::vector<std::string> bad = {"{" + many + "}", R"({"k":5})",
                                        "{\"" + std::string(41, 'k') + "\":\"v\"}",
                                        R"({"k":")" + std::string(501, 'v') + "\"}", R"("k=v")"};
  for (const auto& metadata : bad) {
    auto bad = call("PATCH", url, R"({"metadata":)" + metadata + "}");
    EXPECT_EQ(bad.status, 400) << metadata.substr(0, 60) << " " << bad.body;
    EXPECT_TRUE((*errorPointers(bad).begin()).starts_with("/metadata")) << bad.body;
  }
}

TEST_F(ApiTest, PreviousSecretCannotBeSetOnCreate) {
  const auto base = startProducer();
  auto a = call("POST", base + "/v1/subscriptions",
                R"({"url":"https://a.example/h","events":["*"],)"
                R"("previous_secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",)"
                R"("previous_secret_expires_ms":4102444800000})");
  EXPECT_EQ(a.status, 400) << a.body;
  EXPECT_EQ(errorPointers(a),
            (std::set<std::string>{"/previous_secret", "/previous_secret_expires_ms"}));
  EXPECT_EQ(call("GET", base + "/v1/subscriptions").json().at("total").as_int64(), 0);
}

TEST_F(ApiTest, UrlCredentialsSendBasicAuthButAreNeverShown) {
  Receiver receiver;
  const auto base = startProducer();
  const std::string with_credentials =
      "http://hook-user:s3cr3t-pw@127.0.0.1:" + std::to_string(receiver.port()) + "/hook";
  const std::string shown = "http://***@127.0.0.1:" + std::to_string(receiver.port()) + "/hook";
  std::vector<std::string> answers;
  auto created = call("POST", base + "/v1/subscriptions",
                      R"({"url":")" + with_credentials + R"(","events":["*"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(jsonField(created.body, "url"), shown);
  answers.push_back(created.body);
  const auto id = jsonField(created.body, "id");
  const auto url = base + "/v1/subscriptions/" + id;
  auto got = call("GET", url);
  EXPECT_EQ(jsonField(got.body, "url"), shown);
  answers.push_back(got.body);
  answers.push_back(call("GET", base + "/v1/subscriptions").body);
  answers.push_back(call("PATCH", url, R"({"name":"renamed"})").body);
  answers.push_back(call("POST", url + "/pause").body);
  answers.push_back(call("POST", url + "/resume").body);
  // The URL as shown, sent back with PUT, keeps the credentials it stands for.
  auto put = call("PUT", url, R"({"url":")" + shown + R"(","events":["*"]})");
  ASSERT_EQ(put.status, 200) << put.body;
  answers.push_back(put.body);
  auto sent = call("POST", url + "/test", R"({"payload":{"n":1}})");
  ASSERT_EQ(sent.status, 200) << sent.body;
  answers.push_back(sent.body);
  for (const auto& answer : answers) {
    EXPECT_EQ(answer.find("s3cr3t"), std::string::npos) << answer;
    EXPECT_EQ(answer.find("hook-user"), std::string::npos) << answer;
  }
  // Delivery still authenticates with them.
  ASSERT_EQ(receiver.requestsTo("/hook").size(), 1u);
  EXPECT_EQ(receiver.requestsTo("/hook")[0].headers.at("authorization"),
            "Basic " + signing::base64Encode("hook-user:s3cr3t-pw"));
  const auto stored = storedRecords(pipeline_->config(), id);
  ASSERT_FALSE(stored.empty());
  EXPECT_EQ(jsonField(stored.back(), "url"), with_credentials);
  const std::string log = readFile(producers_[0]->logPath());
  EXPECT_EQ(log.find("s3cr3t"), std::string::npos);
  EXPECT_NE(log.find("subscription created"), std::string::npos);  // the log was read
}

TEST_F(ApiTest, GithubStyleSignsWithTheSecretStringAsGiven) {
  Receiver receiver;
  const auto base = startProducer();
  auto created =
      call("POST", base + "/v1/subscriptions",
           R"({"url":")" + receiver.url("/gh") + R"(","events":["*"],"signature_style":"github"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const auto secret = jsonField(created.body, "secret");
  const auto id = jsonField(created.body, "id");
  ASSERT_EQ(call("POST", base + "/v1/subscriptions/" + id + "/test",
                 R"({"payload":{"type":"order.created"}})")
                .status,
            200);
  ASSERT_EQ(receiver.requestsTo("/gh").size(), 1u);
  const auto r = receiver.requestsTo("/gh")[0];
  // What a GitHub receiver computes: HMAC-SHA256 keyed with the secret it was given.
  signing::Signer signer;
  EXPECT_EQ(r.headers.at("x-webhook-signature"), signer.githubStyle(secret, r.body));
  // After a rotation, the new secret string is the key at once.
  auto rotated = call("POST", base + "/v1/subscriptions/" + id + "/secret/rotate?grace_ms=0");
  ASSERT_EQ(rotated.status, 200);
  const auto new_secret = jsonField(rotated.body, "secret");
  ASSERT_EQ(
      call("POST", base + "/v1/subscriptions/" + id + "/test", R"({"payload":{"n":2}})").status,
      200);
  ASSERT_EQ(receiver.requestsTo("/gh").size(), 2u);
  const auto after = receiver.requestsTo("/gh")[1];
  EXPECT_EQ(after.headers.at("x-webhook-signature"), signer.githubStyle(new_secret, after.body));
}

TEST_F(ApiTest, UrlSchemesAreCaseInsensitive) {
  Receiver receiver;
  const auto base = startProducer();
  const std::string upper = "HTTP://127.0.0.1:" + std::to_string(receiver.port()) + "/upper";
  auto created =
      call("POST", base + "/v1/subscriptions", R"({"url":")" + upper + R"(","events":["*"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(jsonField(created.body, "url"), upper);
  auto sent = call("POST", base + "/v1/subscriptions/" + jsonField(created.body, "id") + "/test");
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(jsonField(sent.body, "outcome"), "delivered") << sent.body;
  EXPECT_EQ(receiver.requestsTo("/upper").size(), 1u);
  EXPECT_EQ(
      call("POST", base + "/v1/subscriptions", R"({"url":"Https://a.example/h","events":["*"]})")
          .status,
      201);
  EXPECT_EQ(
      call("POST", base + "/v1/subscriptions", R"({"url":"FTP://a.example/h","events":["*"]})")
          .status,
      400);
}

}  // namespace
}  // namespace hookpipe::testing
