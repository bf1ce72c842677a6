// Unit tests for common/json/event.h: validating and completing published events.
#include "common/json/event.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cctype>
#include <string>
#include <vector>

namespace hookpipe::json {
namespace {

constexpr int64_t kNowMs = 1767972600123;  // 2026-01-09T15:30:00.123Z
constexpr const char* kNowText = "2026-01-09T15:30:00Z";

// Field `name` of the JSON object `text` as a string, "" when absent or not a string.
std::string field(const std::string& text, const char* name) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  EXPECT_EQ(parser.parse(text).get(obj), simdjson::SUCCESS) << text;
  std::string_view v;
  if (obj[name].get_string().get(v)) return "";
  return std::string(v);
}

// Minified form of `text` (simdjson::minify of the parsed element).
std::string minified(const std::string& text, const char* name) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  EXPECT_EQ(parser.parse(text).get(obj), simdjson::SUCCESS) << text;
  simdjson::dom::element e;
  if (obj[name].get(e)) return "<absent>";
  return simdjson::minify(e);
}

TEST(EventParser, CompleteEventIsKeptByteIdentical) {
  EventParser parser(4096);
  const std::vector<std::string> texts = {
      R"({"id":"evt_1","type":"order.created","timestamp":"2026-01-09T15:30:00Z","data":{"n":1}})",
      "{ \"type\" : \"order.created\",\n  \"id\": \"evt_2\", \"timestamp\": \"x\", \"data\": [1, "
      "2.50, \"\\u00e9\"] }\n",
      R"({"timestamp":"t","data":{"id":"inner"},"type":"a.b","id":"evt_3","extra":null})",
  };
  for (const auto& text : texts) {
    SCOPED_TRACE(text);
    auto ev = parser.parse(text, kNowMs, "evt_fallback");
    ASSERT_TRUE(ev.has_value()) << ev.error().message;
    EXPECT_EQ(ev->body, text);
    EXPECT_EQ(ev->id, field(text, "id"));
    EXPECT_EQ(ev->type, field(text, "type"));
  }
}

TEST(EventParser, MissingIdAndTimestampAreFilledInAndTheRestKept) {
  struct Case {
    std::string text;
    std::string fallback_id;
    std::string expected_id;  // "" when a random id is expected
    std::string expected_timestamp;
  };
  const std::vector<Case> cases = {
      {R"({"type":"order.created","data":{"n":[1,2,{"x":null}]}})", "evt_0x5", "evt_0x5", kNowText},
      {R"({"type":"order.created","id":"evt_kept","data":{"n":1}})", "evt_0x5", "evt_kept",
       kNowText},
      {R"({"type":"order.created","timestamp":"2020-01-01T00:00:00Z","data":1})", "evt_3x9",
       "evt_3x9", "2020-01-01T00:00:00Z"},
      {"  \n {\"type\": \"a\", \"data\": \"{not a brace}\"}  ", "evt_ws", "evt_ws", kNowText},
      {R"({"type":"a"})", "evt_only_type", "evt_only_type", kNowText},
      {R"({"type":"order.created","data":{}})", "", "", kNowText},
  };
  EventParser parser(4096);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto ev = parser.parse(c.text, kNowMs, c.fallback_id);
    ASSERT_TRUE(ev.has_value()) << ev.error().message;
    // The body is valid JSON with the id, the timestamp and every original field.
    simdjson::dom::parser check;
    simdjson::dom::object obj;
    ASSERT_EQ(check.parse(ev->body).get(obj), simdjson::SUCCESS) << ev->body;
    EXPECT_EQ(field(ev->body, "id"), ev->id);
    if (!c.expected_id.empty()) {
      EXPECT_EQ(ev->id, c.expected_id);
    }
    EXPECT_EQ(field(ev->body, "timestamp"), c.expected_timestamp);
    EXPECT_EQ(field(ev->body, "type"), field(c.text, "type"));
    EXPECT_EQ(ev->type, field(c.text, "type"));
    EXPECT_EQ(minified(ev->body, "data"), minified(c.text, "data"));
    std::size_t original_fields = 0, body_fields = 0;
    simdjson::dom::parser p2;
    simdjson::dom::object original;
    ASSERT_EQ(p2.parse(c.text).get(original), simdjson::SUCCESS);
    for ([[maybe_unused]] auto kv : original) ++original_fields;
    for ([[maybe_unused]] auto kv : obj) ++body_fields;
    EXPECT_EQ(body_fields, original_fields + (field(c.text, "id").empty() ? 1 : 0) +
                               (field(c.text, "timestamp").empty() ? 1 : 0));
  }
}

TEST(EventParser, WithoutFallbackEveryEventGetsAFreshRandomId) {
  EventParser parser(4096);
  auto a = parser.parse(R"({"type":"a"})", kNowMs);
  auto b = parser.parse(R"({"type":"a"})", kNowMs);
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  for (const auto& id : {a->id, b->id}) {
    ASSERT_EQ(id.size(), 4u + 24u) << id;
    EXPECT_TRUE(id.starts_with("evt_")) << id;
    for (char ch : id.substr(4)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch))) << id;
  }
  EXPECT_NE(a->id, b->id);
}

TEST(EventParser, FallbackIdIsStableAcrossParses) {
  EventParser parser(4096);
  auto a = parser.parse(R"({"type":"a"})", kNowMs, "evt_2x41");
  auto b = parser.parse(R"({"type":"a"})", kNowMs, "evt_2x41");
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(a->body, b->body);
}

TEST(EventParser, RejectsInvalidEvents) {
  struct Case {
    std::string text;
    std::string reason;  // a part of the expected message
  };
  const std::vector<Case> cases = {
      {"", "not valid JSON"},
      {"not json", "not valid JSON"},
      {"{", "not valid JSON"},
      {R"({"type":"a",})", "not valid JSON"},
      {R"({"type":"a"} trailing)", "not valid JSON"},
      {"[1,2]", "must be a JSON object"},
      {R"("order.created")", "must be a JSON object"},
      {"42", "must be a JSON object"},
      {"null", "must be a JSON object"},
      {R"({"id":"evt_1"})", "missing field: type"},
      {"{}", "missing field: type"},
      {R"({"type":""})", "type must be a non-empty string"},
      {R"({"type":5})", "type must be a non-empty string"},
      {R"({"type":null})", "type must be a non-empty string"},
      {R"({"type":["a"]})", "type must be a non-empty string"},
      {R"({"type":"a","id":7})", "id must be a non-empty string"},
      {R"({"type":"a","id":""})", "id must be a non-empty string"},
      {R"({"type":"a","id":null})", "id must be a non-empty string"},
      {R"({"type":"a","id":"evt_1","timestamp":1767972600})", "timestamp must be a string"},
  };
  EventParser parser(4096);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto ev = parser.parse(c.text, kNowMs, "evt_fallback");
    ASSERT_FALSE(ev.has_value()) << ev->body;
    EXPECT_NE(ev.error().message.find(c.reason), std::string::npos) << ev.error().message;
    EXPECT_FALSE(ev.error().retryable);
  }
}

TEST(EventParser, RejectsEventsOverTheSizeLimit) {
  const std::string at_limit =
      R"({"type":"a","id":"x","timestamp":"t","pad":")" + std::string(50, 'p') + "\"}";
  EventParser parser(at_limit.size());
  EXPECT_TRUE(parser.parse(at_limit, kNowMs).has_value());
  const std::string over =
      R"({"type":"a","id":"x","timestamp":"t","pad":")" + std::string(51, 'p') + "\"}";
  auto ev = parser.parse(over, kNowMs);
  ASSERT_FALSE(ev.has_value());
  EXPECT_NE(ev.error().message.find("over the limit"), std::string::npos) << ev.error().message;
  EXPECT_FALSE(ev.error().retryable);
}

std::string nested(int depth) {
  return R"({"type":"a","data":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
}

TEST(EventParser, RejectsNestingDeeperThanTheLimit) {
  EventParser parser(4096, 64);
  EXPECT_TRUE(parser.parse(nested(30), kNowMs, "evt_f").has_value());
  auto ev = parser.parse(nested(100), kNowMs, "evt_f");
  ASSERT_FALSE(ev.has_value());
  EXPECT_FALSE(ev.error().retryable);
  // The parser stays usable after a failure.
  EXPECT_TRUE(parser.parse(nested(30), kNowMs, "evt_f").has_value());
}

TEST(FormatTimestamp, IsRfc3339UtcWithSecondsPrecision) {
  struct Case {
    int64_t epoch_ms;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {0, "1970-01-01T00:00:00Z"},
      {999, "1970-01-01T00:00:00Z"},
      {1000, "1970-01-01T00:00:01Z"},
      {1767972600000, "2026-01-09T15:30:00Z"},
      {kNowMs, kNowText},
      {951782400000, "2000-02-29T00:00:00Z"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.epoch_ms);
    EXPECT_EQ(formatTimestamp(c.epoch_ms), c.expected);
  }
}

}  // namespace
}  // namespace hookpipe::json
