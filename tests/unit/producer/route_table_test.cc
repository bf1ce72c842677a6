// The API's route table: literal and {param} segments, 405 with the pattern's methods
// in Allow, 404 for a path no pattern matches, routes for any method.
#include "producer/route_table.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "producer/http_util.h"

namespace hookpipe::producer {
namespace {

// Keeps the one response a handler (or the table) answers with.
struct Captured : Connection {
  void respond(Response res) override { response = std::move(res); }
  std::shared_ptr<ResponseStream> stream(ResponseHead) override { return nullptr; }
  std::optional<Response> response;
};

class RouteTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto record = [this](std::string name) {
      return [this, name](const Request&, const PathParams& p, Reply reply) {
        std::string body = name;
        if (name.starts_with("sub")) body += " " + p["id"];
        reply.json(http::status::ok, body);
      };
    };
    routes_.add(std::nullopt, "/healthz", record("health"));
    routes_.add(http::verb::get, "/v1/things", record("list"));
    routes_.add(http::verb::post, "/v1/things", record("create"));
    routes_.add(http::verb::get, "/v1/things/{id}", record("sub-get"));
    routes_.add(http::verb::put, "/v1/things/{id}", record("sub-put"));
    routes_.add(http::verb::delete_, "/v1/things/{id}", record("sub-delete"));
    routes_.add(http::verb::post, "/v1/things/{id}/pause", record("sub-pause"));
  }

  Response call(http::verb method, const std::string& target) {
    Request req{method, target, 11};
    auto c = std::make_shared<Captured>();
    routes_.dispatch(req, pathSegments(target), Reply(req, Responder(c)));
    EXPECT_TRUE(c->response.has_value()) << target;
    return c->response.value_or(Response{});
  }

  RouteTable routes_;
};

TEST_F(RouteTableTest, MatchesLiteralsAndHandsOverDecodedParams) {
  EXPECT_EQ(call(http::verb::get, "/v1/things").body(), "list");
  EXPECT_EQ(call(http::verb::post, "/v1/things?x=1").body(), "create");
  EXPECT_EQ(call(http::verb::put, "/v1/things/a%2Fb").body(), "sub-put a/b");
  EXPECT_EQ(call(http::verb::post, "/v1/things/t1/pause").body(), "sub-pause t1");
  // A literal matches its %-decoded spelling too, as pathSegments() gives it.
  EXPECT_EQ(call(http::verb::get, "/v1/%74hings/x").body(), "sub-get x");
}

TEST_F(RouteTableTest, AnotherMethodIsA405ListingThePatternsMethodsInOrder) {
  auto r = call(http::verb::patch, "/v1/things/t1");
  EXPECT_EQ(r.result(), http::status::method_not_allowed);
  EXPECT_EQ(r[http::field::allow], "GET, PUT, DELETE");
  EXPECT_EQ(r.body(), R"({"error":"use GET, PUT, DELETE"})");
  EXPECT_EQ(call(http::verb::delete_, "/v1/things")[http::field::allow], "GET, POST");
  EXPECT_EQ(call(http::verb::get, "/v1/things/t1/pause")[http::field::allow], "POST");
}

TEST_F(RouteTableTest, APathNoPatternMatchesIsA404NamingTheTarget) {
  for (const char* target : {"/", "/v1", "/v1/things/t1/resume", "/v1/things/t1/pause/x",
                             "/v2/things", "/v1/other?a=b"}) {
    auto r = call(http::verb::get, target);
    EXPECT_EQ(r.result(), http::status::not_found) << target;
    EXPECT_EQ(r.body(), std::string(R"({"error":"no route )") + target + "\"}") << target;
  }
}

TEST_F(RouteTableTest, ARouteForAnyMethodIsNeverA405) {
  EXPECT_EQ(call(http::verb::get, "/healthz").body(), "health");
  EXPECT_EQ(call(http::verb::delete_, "/healthz/").body(), "health");
}

}  // namespace
}  // namespace hookpipe::producer
