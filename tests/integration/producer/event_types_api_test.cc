// The event-type catalog (/v1/event-types) against a real `hookpipe producer` on the real
// broker: create, list, get, replace, patch, archive, delete; a second instance loads the
// catalog from the compacted topic; auth, 404, 405 and 400 with every problem.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/harness.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;
namespace bj = boost::json;

constexpr const char* kToken = "catalog-token";
const std::string kAuth = std::string("Authorization: Bearer ") + kToken;

class EventTypesApiTest : public PipelineFixture {
 protected:
  // A producer with an API token on its own port; its base URL.
  std::string startProducer(const std::string& instance) {
    const unsigned short port = freePort();
    pipeline_->start(
        "producer", instance,
        {{"HOOKPIPE_API_TOKENS", kToken}, {"HOOKPIPE_HTTP_PORT", std::to_string(port)}});
    const std::string base = "http://127.0.0.1:" + std::to_string(port);
    EXPECT_TRUE(
        eventually([&] { return httpRequest("GET", base + "/healthz", "").status == 200; }, 60s));
    return base;
  }
  static HttpResult call(const std::string& method, const std::string& url,
                         const std::string& body = "") {
    return httpRequest(method, url, body, "application/json", {kAuth});
  }
  static bj::value json(const HttpResult& r) {
    boost::system::error_code ec;
    auto v = bj::parse(r.body, ec);
    if (ec || !v.is_object()) ADD_FAILURE() << "not a JSON object: " << r.status << " " << r.body;
    return ec ? bj::value() : v;
  }
  static std::vector<std::string> names(const HttpResult& list) {
    std::vector<std::string> out;
    const bj::value v = json(list);
    // The hookpipe.* types every producer registers (docs/operational-events.md) left out.
    for (const auto& item : v.at("data").as_array())
      if (!item.at("name").as_string().starts_with("hookpipe."))
        out.emplace_back(item.at("name").as_string());
    return out;
  }
};

constexpr int kOperationalTypes = 4;  // hookpipe.* (sorted first)

TEST_F(EventTypesApiTest, CatalogIsCreatedListedReplacedPatchedArchivedAndDeleted) {
  const std::string base = startProducer("1");
  const std::string url = base + "/v1/event-types";
  auto created = call("POST", url, R"({"name":"order.created","description":"An order was placed",
      "schema":{"type":"object","properties":{"amount":{"type":"number","multipleOf":0.01}}},
      "example":{"id":42,"amount":12.5}})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(json(created).at("description").as_string(), "An order was placed");
  EXPECT_NE(
      created.body.find(
          R"("schema":{"type":"object","properties":{"amount":{"type":"number","multipleOf":0.01}}})"),
      std::string::npos)
      << created.body;
  EXPECT_FALSE(json(created).at("created_at").as_string().empty());

  auto again = call("POST", url, R"({"name":"order.created"})");
  EXPECT_EQ(again.status, 409) << again.body;

  auto got = call("GET", url + "/order.created");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, created.body);  // read-your-writes on this instance

  ASSERT_EQ(call("POST", url, R"({"name":"order.paid","example":{"id":42}})").status, 201);
  auto list = call("GET", url);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(names(list), (std::vector<std::string>{"order.created", "order.paid"}));
  EXPECT_EQ(json(list).at("total").as_int64(), 2 + kOperationalTypes);

  // PUT replaces the whole entry (left-out fields are cleared) and creates unknown names.
  auto put = call("PUT", url + "/order.paid", R"({"description":"Paid in full"})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(json(put).at("description").as_string(), "Paid in full");
  EXPECT_TRUE(json(put).at("example").is_null());
  auto upserted = call("PUT", url + "/invoice.sent", R"({"name":"invoice.sent"})");
  EXPECT_EQ(upserted.status, 201) << upserted.body;

  // PATCH changes only what it names.
  auto patched = call("PATCH", url + "/order.created", R"({"archived":true})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_TRUE(json(patched).at("archived").as_bool());
  EXPECT_EQ(json(patched).at("schema"), json(created).at("schema"));
  EXPECT_EQ(json(patched).at("created_at"), json(created).at("created_at"));
  EXPECT_EQ(names(call("GET", url)), (std::vector<std::string>{"invoice.sent", "order.paid"}));
  EXPECT_EQ(names(call("GET", url + "?include_archived=true&limit=2&offset=" +
                                  std::to_string(1 + kOperationalTypes))),
            (std::vector<std::string>{"order.created", "order.paid"}));
  auto exists = call("POST", url, R"({"name":"order.created"})");
  EXPECT_EQ(exists.status, 409);
  EXPECT_NE(exists.body.find("archived"), std::string::npos) << exists.body;

  auto deleted = call("DELETE", url + "/order.paid");
  EXPECT_EQ(deleted.status, 204) << deleted.body;
  EXPECT_EQ(call("GET", url + "/order.paid").status, 404);
  EXPECT_EQ(call("DELETE", url + "/order.paid").status, 404);

  // Another instance loads the catalog from the compacted topic.
  const std::string other = startProducer("2");
  auto seen = call("GET", other + "/v1/event-types/order.created");
  ASSERT_EQ(seen.status, 200) << seen.body;
  EXPECT_EQ(seen.body, patched.body);
  EXPECT_EQ(call("GET", other + "/v1/event-types/order.paid").status, 404);
  // … and converges on later writes of the first.
  ASSERT_EQ(call("PATCH", url + "/invoice.sent", R"({"description":"sent"})").status, 200);
  EXPECT_TRUE(eventually(
      [&] {
        auto r = call("GET", other + "/v1/event-types/invoice.sent");
        return r.status == 200 && json(r).at("description") == "sent";
      },
      10s));
}

TEST_F(EventTypesApiTest, BadInputIs400WithEveryProblemUnknownIs404AndATokenIsNeeded) {
  const std::string base = startProducer("1");
  const std::string url = base + "/v1/event-types";

  EXPECT_EQ(httpRequest("GET", url, "").status, 401);
  EXPECT_EQ(httpRequest("POST", url, R"({"name":"a.b"})").status, 401);
  EXPECT_EQ(
      httpRequest("GET", url + "/a.b", "", "application/json", {"Authorization: Bearer wrong"})
          .status,
      403);

  auto bad = call("POST", url, R"({"name":"order created","schema":"string","archived":1,"x":2})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  std::vector<std::string> pointers;
  const bj::value problems = json(bad);
  for (const auto& e : problems.at("errors").as_array())
    pointers.emplace_back(e.at("pointer").as_string());
  EXPECT_EQ(pointers, (std::vector<std::string>{"/name", "/schema", "/archived", "/x"}))
      << bad.body;
  EXPECT_NE(bad.body.find("name may only hold letters"), std::string::npos) << bad.body;

  auto missing = call("POST", url, R"({"description":"no name"})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find("name is required"), std::string::npos) << missing.body;
  EXPECT_EQ(call("POST", url, "not json").status, 400);
  EXPECT_EQ(call("POST", url, "[]").status, 400);

  EXPECT_EQ(call("GET", url + "/nope.never").status, 404);
  EXPECT_EQ(call("PATCH", url + "/nope.never", R"({"description":"x"})").status, 404);
  EXPECT_EQ(call("DELETE", url + "/nope.never").status, 404);
  EXPECT_EQ(call("POST", url + "/nope.never").status, 405);

  // A name given twice, in the body or its schema: refused at it, nothing stored or changed.
  auto twice = call("POST", url, R"({"name":"a.b","schema":{"type":"object","type":"array"}})");
  EXPECT_EQ(twice.status, 400) << twice.body;
  EXPECT_NE(twice.body.find(R"("pointer":"/schema/type")"), std::string::npos) << twice.body;
  EXPECT_EQ(call("GET", url + "/a.b").status, 404);

  ASSERT_EQ(call("POST", url, R"({"name":"a.b","description":"kept"})").status, 201);
  for (const char* method : {"PATCH", "PUT"}) {
    auto patched = call(method, url + "/a.b", R"({"description":"x","description":"y"})");
    EXPECT_EQ(patched.status, 400) << method << " " << patched.body;
    EXPECT_NE(patched.body.find("'description' is given more than once"), std::string::npos)
        << patched.body;
  }
  EXPECT_EQ(json(call("GET", url + "/a.b")).at("description").as_string(), "kept");
  auto renamed = call("PUT", url + "/a.b", R"({"name":"a.c"})");
  EXPECT_EQ(renamed.status, 400);
  EXPECT_NE(renamed.body.find("name cannot change"), std::string::npos) << renamed.body;
  auto bad_name = call("PUT", url + "/a..b", R"({})");
  EXPECT_EQ(bad_name.status, 400) << bad_name.body;
  EXPECT_EQ(call("GET", url + "?limit=0").status, 400);
  EXPECT_EQ(call("GET", url + "?include_archived=maybe").status, 400);
  EXPECT_EQ(call("GET", url + "?colour=red").status, 400);
}

}  // namespace
}  // namespace hookpipe::testing
