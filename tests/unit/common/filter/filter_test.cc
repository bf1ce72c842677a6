#include "common/filter/filter.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "common/json/document.h"
#include "common/subscriptions/subscription.h"

namespace hookpipe::filter {
namespace {

// Compiles `filter` (which must be valid) and evaluates it on `event`.
bool matches(const std::string& filter, const std::string& event) {
  auto f = compileFilter(filter);
  EXPECT_TRUE(f.has_value()) << filter << " -> " << (f ? "" : f.error().message);
  if (!f) return false;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  EXPECT_EQ(parser.parse(event).get(root), simdjson::SUCCESS) << event;
  return (*f)->matches(root);
}

std::string errorOf(const std::string& filter) {
  auto f = compileFilter(filter);
  EXPECT_FALSE(f.has_value()) << filter << " compiled";
  return f ? "" : f.error().message;
}

const std::string kOrder =
    R"({"type":"order.created","tenant":"acme","data":{"status":"confirmed","amount":150,)"
    R"("price":9.5,"big":18446744073709551615,"neg":-3,"paid":true,"note":null,)"
    R"("customer":{"tier":"gold","address":{"country":"FR"}},"tags":["new","vip"],)"
    R"("items":[{"sku":"A-1"},{"sku":"B-2"}],"code":"1"}})";

TEST(Filter, ScalarMeansEquality) {
  EXPECT_TRUE(matches(R"({"data.status":"confirmed"})", kOrder));
  EXPECT_FALSE(matches(R"({"data.status":"shipped"})", kOrder));
  EXPECT_TRUE(matches(R"({"data.amount":150})", kOrder));
  EXPECT_TRUE(matches(R"({"data.amount":150.0})", kOrder));
  EXPECT_TRUE(matches(R"({"data.paid":true})", kOrder));
  EXPECT_TRUE(matches(R"({"data.note":null})", kOrder));
  EXPECT_TRUE(matches(R"({"type":"order.created"})", kOrder));
}

TEST(Filter, ListMeansOneOf) {
  EXPECT_TRUE(matches(R"({"data.status":["shipped","confirmed"]})", kOrder));
  EXPECT_FALSE(matches(R"({"data.status":["shipped","cancelled"]})", kOrder));
  EXPECT_TRUE(matches(R"({"data.amount":[1,150]})", kOrder));
}

TEST(Filter, TopLevelKeysAreAnded) {
  EXPECT_TRUE(
      matches(R"({"data.status":["confirmed","shipped"],"data.amount":{"$gte":100}})", kOrder));
  EXPECT_FALSE(
      matches(R"({"data.status":["confirmed","shipped"],"data.amount":{"$gte":200}})", kOrder));
}

TEST(Filter, EqAndNe) {
  EXPECT_TRUE(matches(R"({"data.status":{"$eq":"confirmed"}})", kOrder));
  EXPECT_FALSE(matches(R"({"data.status":{"$ne":"confirmed"}})", kOrder));
  EXPECT_TRUE(matches(R"({"data.status":{"$ne":"shipped"}})", kOrder));
}

TEST(Filter, InAndNin) {
  EXPECT_TRUE(matches(R"({"data.customer.tier":{"$in":["gold","platinum"]}})", kOrder));
  EXPECT_FALSE(matches(R"({"data.customer.tier":{"$nin":["gold","platinum"]}})", kOrder));
  EXPECT_TRUE(matches(R"({"data.customer.tier":{"$nin":["silver"]}})", kOrder));
}

TEST(Filter, NumericComparisons) {
  EXPECT_TRUE(matches(R"({"data.amount":{"$gt":149}})", kOrder));
  EXPECT_FALSE(matches(R"({"data.amount":{"$gt":150}})", kOrder));
  EXPECT_TRUE(matches(R"({"data.amount":{"$gte":150}})", kOrder));
  EXPECT_TRUE(matches(R"({"data.amount":{"$lt":150.5}})", kOrder));
  EXPECT_FALSE(matches(R"({"data.amount":{"$lt":150}})", kOrder));
  EXPECT_TRUE(matches(R"({"data.amount":{"$lte":150}})", kOrder));
  EXPECT_TRUE(matches(R"({"data.amount":{"$gt":100,"$lt":200}})", kOrder));
  EXPECT_FALSE(matches(R"({"data.amount":{"$gt":100,"$lt":120}})", kOrder));
  EXPECT_TRUE(matches(R"({"data.price":{"$gt":9,"$lt":10}})", kOrder));
  EXPECT_TRUE(matches(R"({"data.neg":{"$lt":0}})", kOrder));
  EXPECT_TRUE(matches(R"({"data.big":{"$gt":9223372036854775807}})", kOrder));
  EXPECT_TRUE(matches(R"({"data.big":{"$gt":-1}})", kOrder));
}

TEST(Filter, StringComparisonsAreBytewise) {
  EXPECT_TRUE(matches(R"({"data.status":{"$gt":"b","$lt":"d"}})", kOrder));
  EXPECT_FALSE(matches(R"({"data.status":{"$gte":"d"}})", kOrder));
  EXPECT_TRUE(matches(R"({"data.status":{"$lte":"confirmed"}})", kOrder));
}

TEST(Filter, TypeMismatchesAreFalseNotErrors) {
  EXPECT_FALSE(matches(R"({"data.status":{"$gt":1}})", kOrder));    // string vs number
  EXPECT_FALSE(matches(R"({"data.amount":{"$gt":"1"}})", kOrder));  // number vs string
  EXPECT_FALSE(matches(R"({"data.amount":{"$lte":"zzz"}})", kOrder));
  EXPECT_FALSE(matches(R"({"data.paid":{"$gt":0}})", kOrder));         // bool vs number
  EXPECT_FALSE(matches(R"({"data.customer":{"$gt":0}})", kOrder));     // object
  EXPECT_FALSE(matches(R"({"data.code":1})", kOrder));                 // "1" != 1
  EXPECT_FALSE(matches(R"({"data.paid":1})", kOrder));                 // true != 1
  EXPECT_FALSE(matches(R"({"data.note":false})", kOrder));             // null != false
  EXPECT_FALSE(matches(R"({"data.amount":{"$regex":"1"}})", kOrder));  // regex on number
  EXPECT_TRUE(matches(R"({"data.code":{"$ne":1}})", kOrder));
}

TEST(Filter, MissingPathIsFalseExceptNegations) {
  const std::string f = R"({"data.nope":)";
  EXPECT_FALSE(matches(f + R"("x"})", kOrder));
  EXPECT_FALSE(matches(f + R"(["x"]})", kOrder));
  EXPECT_FALSE(matches(f + R"({"$eq":null}})", kOrder));
  EXPECT_FALSE(matches(f + R"({"$in":["x"]}})", kOrder));
  EXPECT_FALSE(matches(f + R"({"$gt":0}})", kOrder));
  EXPECT_FALSE(matches(f + R"({"$lte":0}})", kOrder));
  EXPECT_FALSE(matches(f + R"({"$regex":".*"}})", kOrder));
  EXPECT_FALSE(matches(f + R"({"$exists":true}})", kOrder));
  EXPECT_TRUE(matches(f + R"({"$exists":false}})", kOrder));
  EXPECT_TRUE(matches(f + R"({"$ne":"x"}})", kOrder));
  EXPECT_TRUE(matches(f + R"({"$nin":["x"]}})", kOrder));
  EXPECT_TRUE(matches(f + R"({"$not":{"$eq":"x"}}})", kOrder));
  // A path through a scalar is missing too.
  EXPECT_FALSE(matches(R"({"data.status.deeper":{"$exists":true}})", kOrder));
}

TEST(Filter, ExistsTreatsNullAsPresent) {
  EXPECT_TRUE(matches(R"({"data.note":{"$exists":true}})", kOrder));
  EXPECT_FALSE(matches(R"({"data.note":{"$exists":false}})", kOrder));
  EXPECT_TRUE(matches(R"({"data.customer":{"$exists":true}})", kOrder));
}

TEST(Filter, NestedPathsAndArrayIndexes) {
  EXPECT_TRUE(matches(R"({"data.customer.address.country":"FR"})", kOrder));
  EXPECT_FALSE(matches(R"({"data.customer.address.country":"DE"})", kOrder));
  EXPECT_TRUE(matches(R"({"data.items.1.sku":"B-2"})", kOrder));
  EXPECT_FALSE(matches(R"({"data.items.2.sku":{"$exists":true}})", kOrder));
  EXPECT_TRUE(matches(R"({"data.tags.0":"new"})", kOrder));
}

TEST(Filter, OperatorsOnArraysHoldForAnyElement) {
  EXPECT_TRUE(matches(R"({"data.tags":"vip"})", kOrder));
  EXPECT_TRUE(matches(R"({"data.tags":{"$in":["x","vip"]}})", kOrder));
  EXPECT_FALSE(matches(R"({"data.tags":{"$ne":"vip"}})", kOrder));
  EXPECT_FALSE(matches(R"({"data.tags":{"$nin":["vip"]}})", kOrder));
  EXPECT_TRUE(matches(R"({"data.tags":{"$regex":"^v"}})", kOrder));
}

TEST(Filter, Regex) {
  EXPECT_TRUE(matches(R"({"data.customer.tier":{"$regex":"^go"}})", kOrder));
  EXPECT_TRUE(matches(R"({"data.customer.tier":{"$regex":"ol"}})", kOrder));  // unanchored
  EXPECT_FALSE(matches(R"({"data.customer.tier":{"$regex":"^old"}})", kOrder));
  EXPECT_TRUE(matches(R"({"type":{"$regex":"^order\\.(created|updated)$"}})", kOrder));
  EXPECT_TRUE(matches(R"({"data.customer.tier":{"$regex":"(?i)GOLD"}})", kOrder));
}

TEST(Filter, AndOrNotNesting) {
  EXPECT_TRUE(
      matches(R"({"$or":[{"data.status":"shipped"},{"data.amount":{"$gt":100}}]})", kOrder));
  EXPECT_FALSE(
      matches(R"({"$or":[{"data.status":"shipped"},{"data.amount":{"$gt":200}}]})", kOrder));
  EXPECT_TRUE(matches(R"({"$and":[{"data.status":"confirmed"},{"data.paid":true}]})", kOrder));
  EXPECT_FALSE(matches(R"({"$and":[{"data.status":"confirmed"},{"data.paid":false}]})", kOrder));
  EXPECT_FALSE(matches(R"({"$not":{"data.status":"confirmed"}})", kOrder));
  EXPECT_TRUE(matches(R"({"$not":{"data.status":"confirmed","data.paid":false}})", kOrder));
  EXPECT_TRUE(
      matches(R"({"$and":[{"$or":[{"data.customer.tier":"silver"},{"$not":{"data.tags":"spam"}}]},)"
              R"({"$or":[{"data.amount":{"$not":{"$lt":100}}},{"data.paid":false}]}]})",
              kOrder));
  EXPECT_FALSE(matches(R"({"data.amount":{"$not":{"$gt":100}}})", kOrder));
  EXPECT_TRUE(matches(R"({"data.amount":{"$not":{"$gt":100,"$lt":120}}})", kOrder));
}

// Issue 13 §4: events may hold numbers simdjson's DOM cannot (json::parseDocument reads
// them as the nearest double, ±1.8e308 beyond the double range); filters compare those.
bool matchesWide(const std::string& filter, const std::string& event) {
  auto f = compileFilter(filter);
  EXPECT_TRUE(f.has_value()) << filter << " -> " << (f ? "" : f.error().message);
  if (!f) return false;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  EXPECT_EQ(json::parseDocument(parser, event, root), simdjson::SUCCESS) << event;
  return (*f)->matches(root);
}

TEST(Filter, NumbersBeyondInt64AndDoubleCompareAsDoubles) {
  const std::string huge = R"({"data":{"n":1e400}})";
  const std::string tiny = R"({"data":{"n":-1e400}})";
  const std::string above = R"({"data":{"n":18446744073709551616}})";
  const std::string below = R"({"data":{"n":-9223372036854775809}})";
  EXPECT_TRUE(matchesWide(R"({"data.n":{"$gt":1e300}})", huge));
  EXPECT_FALSE(matchesWide(R"({"data.n":{"$lt":0}})", huge));
  EXPECT_TRUE(matchesWide(R"({"data.n":{"$lt":-1e300}})", tiny));
  EXPECT_TRUE(matchesWide(R"({"data.n":{"$gte":18446744073709551615}})", above))
      << "both are 2^64 as doubles";
  EXPECT_TRUE(matchesWide(R"({"data.n":{"$gt":10000000000000000000}})", above));
  EXPECT_TRUE(matchesWide(R"({"data.n":{"$gt":9223372036854775807}})", above));
  EXPECT_FALSE(matchesWide(R"({"data.n":{"$lt":100}})", above));
  EXPECT_TRUE(matchesWide(R"({"data.n":{"$lt":-1e18}})", below));
  EXPECT_TRUE(matchesWide(R"({"data.n":{"$exists":true}})", below));
  EXPECT_FALSE(matchesWide(R"({"data.n":"18446744073709551616"})", above))
      << "a string is not a number";
  // The filter's own numbers may be out of range too.
  EXPECT_TRUE(matchesWide(R"({"data.n":{"$lt":1e400}})", above));
  EXPECT_TRUE(matchesWide(R"({"data.n":{"$gt":-100000000000000000000000}})", below));
  EXPECT_FALSE(compileFilter(R"({"data.n":{"$gt":01}})").has_value()) << "malformed stays invalid";
}

TEST(Filter, EmptyFilterMatchesEverything) { EXPECT_TRUE(matches("{}", kOrder)); }

TEST(Filter, BadFiltersAreCompileErrorsNamingThePath) {
  EXPECT_EQ(errorOf("[1]"), "filter must be a JSON object");
  EXPECT_NE(errorOf("{").find("not valid JSON"), std::string::npos);
  EXPECT_EQ(errorOf(R"({"data.amount":{"$gte":[1]}})"),
            "data.amount.$gte: needs a number or a string");
  EXPECT_EQ(errorOf(R"({"data.amount":{"$gt":true}})"),
            "data.amount.$gt: needs a number or a string");
  EXPECT_NE(
      errorOf(R"({"data.x":{"$regex":"("}})").find("data.x.$regex: invalid regular expression"),
      std::string::npos);
  EXPECT_EQ(errorOf(R"({"data.x":{"$regex":1}})"),
            "data.x.$regex: needs a string (an RE2 pattern)");
  EXPECT_NE(errorOf(R"({"data.x":{"$foo":1}})").find("data.x.$foo: unknown operator"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"$xor":[]})").find("$xor: unknown operator"), std::string::npos);
  EXPECT_NE(errorOf(R"({"data.x":{"y":1}})").find("data.x.y: is not an operator"),
            std::string::npos);
  EXPECT_EQ(errorOf(R"({"data.x":{"$in":[]}})"), "data.x.$in: needs a non-empty array of values");
  EXPECT_EQ(errorOf(R"({"data.x":{"$nin":"a"}})"),
            "data.x.$nin: needs a non-empty array of values");
  EXPECT_EQ(errorOf(R"({"data.x":[]})"), "data.x: needs a non-empty array of values");
  EXPECT_NE(errorOf(R"({"data.x":[{"a":1}]})").find("data.x: needs a string, number"),
            std::string::npos);
  EXPECT_NE(errorOf(R"({"data.x":{"$eq":{}}})").find("data.x.$eq: needs a string, number"),
            std::string::npos);
  EXPECT_EQ(errorOf(R"({"data.x":{"$exists":1}})"), "data.x.$exists: needs true or false");
  EXPECT_NE(errorOf(R"({"data.x":{}})").find("data.x: needs operators"), std::string::npos);
  EXPECT_NE(errorOf(R"({"data..x":1})").find("data..x: a path is"), std::string::npos);
  EXPECT_NE(errorOf(R"({"data.$x":1})").find("data.$x: a path is"), std::string::npos);
  EXPECT_EQ(errorOf(R"({"$and":{}})"), "$and: needs a non-empty array of filter objects");
  EXPECT_EQ(errorOf(R"({"$or":[1]})"), "$or[0]: must be a filter object");
  EXPECT_EQ(errorOf(R"({"$not":[]})"), "$not: needs a non-empty filter object");
  EXPECT_EQ(errorOf(R"({"a":{"$not":1}})"), "a.$not: needs an object of operators");
  EXPECT_EQ(errorOf(R"({"$or":[{"a":{"$gt":{}}}]})"), "$or[0].a.$gt: needs a number or a string");
}

TEST(Filter, ReportsEveryProblemAtOnce) {
  EXPECT_EQ(errorOf(R"({"a":{"$gt":[]},"b":{"$exists":"no"}})"),
            "a.$gt: needs a number or a string; b.$exists: needs true or false");
}

TEST(Filter, SizeAndDepthAreBounded) {
  std::string deep = R"({"a":1})";
  for (int i = 0; i < 10; ++i) deep = R"({"$not":)" + deep + "}";
  EXPECT_NE(errorOf(deep).find("nested too deeply"), std::string::npos);
  std::string many = "{";
  for (std::size_t i = 0; i <= kMaxConditions; ++i) {
    if (i > 0) many += ',';
    many += "\"f";
    many += std::to_string(i);
    many += "\":1";
  }
  many += "}";
  EXPECT_NE(errorOf(many).find("conditions, over the limit of 128"), std::string::npos);
  EXPECT_NE(errorOf("{\"a\":\"" + std::string(kMaxFilterBytes, 'x') + "\"}").find("over the limit"),
            std::string::npos);
  std::string list = R"({"a":[)";
  for (std::size_t i = 0; i <= kMaxListValues; ++i) {
    if (i > 0) list += ',';
    list += std::to_string(i);
  }
  list += "]}";
  EXPECT_NE(errorOf(list).find("a: has more than 256 values"), std::string::npos);
  std::string long_path = "{\"" + std::string(kMaxPathBytes + 1, 'p') + "\":1}";
  EXPECT_NE(errorOf(long_path).find("a path must be"), std::string::npos);
  std::string segments = "{\"a";
  for (std::size_t i = 0; i < kMaxPathSegments; ++i) segments += ".a";
  segments += "\":1}";
  EXPECT_NE(errorOf(segments).find("at most 16 segments"), std::string::npos);
  EXPECT_NE(errorOf(R"({"a":{"$regex":")" + std::string(kMaxRegexBytes + 1, 'x') + "\"}}")
                .find("pattern longer than"),
            std::string::npos);
}

TEST(Filter, SubscriptionCompilesItsFilterOnce) {
  auto s = parseSubscription(
      R"({"url":"https://example.com/h","events":["*"],"filters":{"data.amount":{"$gte":100}}})");
  ASSERT_TRUE(s.has_value()) << s.error().message;
  ASSERT_NE(s->filter, nullptr);
  EXPECT_EQ(s->filter->conditions(), 1u);
  auto none = parseSubscription(R"({"url":"https://example.com/h","events":["*"]})");
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->filter, nullptr);
}

TEST(Filter, SubscriptionWithBadFilterIsAValidationError) {
  auto s = parseSubscription(
      R"({"url":"ftp://x","events":["*"],"filters":{"data.x":{"$regex":"(","$gt":[]}}})");
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().message.find("url must start with"), std::string::npos);
  EXPECT_NE(s.error().message.find("filters: data.x.$regex: invalid regular expression"),
            std::string::npos);
  EXPECT_NE(s.error().message.find("data.x.$gt: needs a number or a string"), std::string::npos);
}

}  // namespace
}  // namespace hookpipe::filter
