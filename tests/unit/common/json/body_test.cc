// Unit tests for common/json/body.h: the objects API clients send, and the names given
// twice in them.
#include "common/json/body.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

namespace hookpipe::json {
namespace {

std::vector<std::string> pointers(const std::vector<Problem>& problems) {
  std::vector<std::string> out;
  for (const auto& p : problems) out.push_back(p.pointer);
  return out;
}

// parseObject's callers (subscriptions, event types) minify parts of the object to store
// them: a widened number would be stored altered, so it keeps refusing them.
TEST(ParseObject, RefusesNumbersTheDomCannotHoldRatherThanAlterThem) {
  simdjson::dom::parser parser;
  auto r = parseObject(parser, R"({"example":{"n":1e400}})");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("body is not valid JSON"), std::string::npos);
}

TEST(ParseObject, KeepsARepeatedNameForRecordsThatMustLoadAsWritten) {
  simdjson::dom::parser parser;
  EXPECT_TRUE(parseObject(parser, R"({"a":1,"a":2})").has_value());
  EXPECT_EQ(parseObject(parser, "[1]").error().message, "body must be a JSON object");
}

TEST(RepeatedNames, NamesEveryLaterCopyAtItsPointerInObjectsAndArraysAtAnyDepth) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser
                .parse(std::string(R"({"a":1,"b":{"c":1,"c":2,"c":3},"a":{"x":1},)"
                                   R"("l":[{"k":1},{"k":1,"k":2}],"a/~":1,"a/~":2,"":0,"":0})"))
                .get(root),
            simdjson::SUCCESS);
  const auto problems = repeatedNames(root);
  EXPECT_EQ(pointers(problems),
            (std::vector<std::string>{"/b/c", "/b/c", "/a", "/l/1/k", "/a~1~0", "/"}));
  EXPECT_EQ(problems[0].message, "'c' is given more than once");
  EXPECT_EQ(problems[4].message, "'a/~' is given more than once");
  EXPECT_EQ(problems[5].message, "'' is given more than once");
  // Below a pointer given by the caller.
  simdjson::dom::object b;
  ASSERT_EQ(root["b"].get_object().get(b), simdjson::SUCCESS);
  EXPECT_EQ(pointers(repeatedNames(b, "/b")), (std::vector<std::string>{"/b/c", "/b/c"}));
}

TEST(RepeatedNames, NoneInDistinctNamesOrTheSameNameInDifferentObjects) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(
      parser.parse(std::string(R"({"a":{"a":{"a":1}},"l":[{"a":1},{"a":2}],"s":"a"})")).get(root),
      simdjson::SUCCESS);
  EXPECT_TRUE(repeatedNames(root).empty());
  ASSERT_EQ(parser.parse(std::string("[1,\"x\",null]")).get(root), simdjson::SUCCESS);
  EXPECT_TRUE(repeatedNames(root).empty());
}

// Names are compared as decoded: an escape spells the same name.
TEST(RepeatedNames, AnEscapedSpellingIsTheSameName) {
  EXPECT_EQ(pointers(repeatedNamesIn(R"({"team":1,"t\u0065am":2})")),
            std::vector<std::string>{"/team"});
}

TEST(RepeatedNames, AnUnprintableNameIsShownEscapedAndALongOneCut) {
  const auto problems = repeatedNamesIn("{\"a\\u0001\":1,\"a\\u0001\":2}");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message, "'a\\x01' is given more than once");
  const std::string long_name(100, 'n');
  const auto cut = repeatedNamesIn("{\"" + long_name + "\":1,\"" + long_name + "\":2}");
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0].message, "'" + std::string(64, 'n') + "...' is given more than once");
  EXPECT_EQ(cut[0].pointer, "/" + long_name);
}

TEST(RepeatedNames, TextThatIsNotJsonHasNoneForItsOwnParseToReport) {
  EXPECT_TRUE(repeatedNamesIn(R"({"a":1,"a":)").empty());
  EXPECT_TRUE(repeatedNamesIn("").empty());
}

TEST(ParseClientObject, RefusesEachRepeatedNameAtItsPointerAndTakesDistinctOnes) {
  simdjson::dom::parser parser;
  auto refused = parseClientObject(parser, R"({"url":"a","h":{"X":"1","X":"2"},"url":"b"})");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(pointers(refused.error().problems), (std::vector<std::string>{"/h/X", "/url"}));
  EXPECT_EQ(refused.error().message, "'X' is given more than once; 'url' is given more than once");
  auto taken = parseClientObject(parser, R"({"url":"a","h":{"X":"1"}})");
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->size(), 2u);
  EXPECT_EQ(parseClientObject(parser, "{").error().problems.front().pointer, "");
}

}  // namespace
}  // namespace hookpipe::json
