// Unit tests for common/json: validating and completing published events (event.h), and
// the document helpers they use (document.h).
#include "common/json/event.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cctype>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "common/json/document.h"

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

// Issue 13: the router read the first of two equal keys, receivers read the last, so a
// filter on `data.amount` (or the type itself) could be bypassed.
TEST(EventParser, RejectsDuplicateKeysAnywhereNamingTheFirst) {
  std::string wide = R"({"type":"a","data":{)";
  for (int i = 0; i < 40; ++i) wide += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  wide += R"("k17":0}})";  // past the pairwise-compared first 16 keys
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {R"({"type":"dup.a","type":"dup.b","data":{"amount":5,"amount":500}})",
       "field type appears twice"},
      {R"({"type":"a","data":{"amount":5,"amount":500}})", "field data.amount appears twice"},
      {R"({"type":"a","id":"e1","id":"e2"})", "field id appears twice"},
      {R"({"type":"a","data":{"items":[{"sku":"x"},{"sku":"y","sku":"z"}]}})",
       "field data.items.1.sku appears twice"},
      {R"({"type":"a","data":[[1],[{"x":1,"x":1}]]})", "field data.1.0.x appears twice"},
      {R"({"type":"a","data":{"":1,"":2}})", "appears twice"},
      {R"({"type":"a","data":{"\u0061":1,"a":2}})", "field data.a appears twice"},  // unescaped
      {wide, "field data.k17 appears twice"},
  };
  EventParser parser(4096);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto ev = parser.parse(c.text, kNowMs, "evt_fallback");
    ASSERT_FALSE(ev.has_value()) << ev->body;
    EXPECT_NE(ev.error().message.find(c.message), std::string::npos) << ev.error().message;
    EXPECT_FALSE(ev.error().retryable);
  }
  // Equal keys in different objects, or keys that differ only in case, are fine.
  for (std::string ok : {R"({"type":"a","data":{"type":"b","a":{"type":"c"}}})",
                         R"({"type":"a","data":[{"k":1},{"k":2}],"Type":"x"})"}) {
    SCOPED_TRACE(ok);
    EXPECT_TRUE(parser.parse(ok, kNowMs, "evt_f").has_value());
  }
}

// Valid JSON that simdjson's DOM cannot hold as a number (issue 13: "Problem while
// parsing a number"): accepted, the body kept byte for byte.
TEST(EventParser, AcceptsNumbersBeyondInt64AndDoubleKeepingTheBodyAsSent) {
  EventParser parser(4096);
  for (std::string text : {
           R"({"id":"e","timestamp":"t","type":"a","data":{"n":1e400}})",
           R"({"id":"e","timestamp":"t","type":"a","data":{"n":18446744073709551616}})",
           R"({"id":"e","timestamp":"t","type":"a","data":{"n":-9223372036854775809}})",
           R"({"id":"e","timestamp":"t","type":"a",)"
           R"("data":[-1E+400, 1e-400, 123456789012345678901234567890, 0.5e999]})",
           R"({"id":"e","timestamp":"t","type":"a","data":{"s":"1e400 in a string","n":1e400}})",
       }) {
    SCOPED_TRACE(text);
    auto ev = parser.parse(text, kNowMs, "evt_f");
    ASSERT_TRUE(ev.has_value()) << ev.error().message;
    EXPECT_EQ(ev->body, text);
  }
  // Completed events keep the numbers as sent too.
  auto ev = parser.parse(R"({"type":"a","data":{"n":1e400}})", kNowMs, "evt_f");
  ASSERT_TRUE(ev.has_value()) << ev.error().message;
  EXPECT_NE(ev->body.find(R"("data":{"n":1e400}})"), std::string::npos) << ev->body;
  // Malformed numbers stay invalid JSON.
  for (std::string bad :
       {R"({"type":"a","n":01})", R"({"type":"a","n":1.})", R"({"type":"a","n":-})",
        R"({"type":"a","n":1e})", R"({"type":"a","n":.5})", R"({"type":"a","n":+1})",
        R"({"type":"a","n":1e400x})", R"({"type":"a","n":184467440737095516160-})"}) {
    SCOPED_TRACE(bad);
    auto r = parser.parse(bad, kNowMs, "evt_f");
    ASSERT_FALSE(r.has_value()) << r->body;
    EXPECT_NE(r.error().message.find("not valid JSON"), std::string::npos) << r.error().message;
  }
}

TEST(WidenNumbers, RewritesOnlyWhatTheDomRefusesInPlace) {
  EXPECT_EQ(widenNumbers(R"({"a":1,"b":-2.5e10,"c":"1e400"})"), std::nullopt);
  EXPECT_EQ(widenNumbers("[18446744073709551615,-9223372036854775808]"), std::nullopt);
  const std::string text =
      R"({"a":18446744073709551616,"b":1e400,"c":-1e400,"d":1e-400,"e":"9e999"})";
  auto w = widenNumbers(text);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->size(), text.size());
  simdjson::dom::parser p;
  simdjson::dom::element root;
  ASSERT_EQ(p.parse(*w).get(root), simdjson::SUCCESS) << *w;
  EXPECT_EQ(root["a"].get_double().value(), 18446744073709551616.0);
  EXPECT_GE(root["b"].get_double().value(), 1e308);
  EXPECT_LE(root["c"].get_double().value(), -1e308);
  EXPECT_EQ(root["d"].get_double().value(), 0.0);
  EXPECT_EQ(root["e"].get_string().value(), "9e999");
  // parseDocument: the same values, the fast path untouched.
  ASSERT_EQ(parseDocument(p, text, root), simdjson::SUCCESS);
  EXPECT_EQ(root["a"].get_double().value(), 18446744073709551616.0);
  EXPECT_EQ(root["b"].get_double().value(), 1e308) << "1e400 has room for 1e308 only";
  ASSERT_EQ(parseDocument(p, "[1000000000000000000000e400]", root), simdjson::SUCCESS);
  EXPECT_EQ(root.at(0).get_double().value(), std::numeric_limits<double>::max());
  EXPECT_EQ(parseDocument(p, "[-9223372036854775809]", root), simdjson::SUCCESS);
  EXPECT_EQ(root.at(0).get_double().value(), -9223372036854775809.0);
  EXPECT_NE(parseDocument(p, "[1e400", root), simdjson::SUCCESS) << "still not JSON";
}

// The router's cheap tape walk must say what the element walk (which names the key) says.
TEST(HasDuplicateKey, AgreesWithTheElementWalk) {
  std::string wide = "{";
  for (int i = 0; i < 40; ++i) wide += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  const std::string wide_ok = wide + R"("last":1})";
  const std::string wide_dup = wide + R"("k33":1})";
  const std::vector<std::pair<std::string, bool>> cases = {
      {R"({"a":1,"b":2})", false},
      {R"({"a":1,"a":2})", true},
      {R"({"a":"b","b":"a","c":["a","a"]})", false},  // strings as values are not keys
      {R"({"a":1.5,"b":-3,"c":18446744073709551615,"a":true})", true},  // two-word numbers
      {R"({"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":1}]})", false},
      {R"({"a":[{"x":1},{"y":2,"y":3}]})", true},
      {R"({"a":[[[{"k":null,"j":false}]]],"k":{}})", false},
      {R"([{"k":1},{"k":1},[{"k":1,"k":1}]])", true},
      {R"({"":1,"":2})", true},
      {R"({"ab":1,"ac":2,"ba":3})", false},
      {R"("just a string")", false},
      {"42", false},
      {wide_ok, false},
      {wide_dup, true},
      {R"({"o":)" + wide_dup + R"(,"after":1})", true},
      {R"({"o":)" + wide_ok + R"(,"k1":1})", false},  // k1 is in the inner object only
  };
  simdjson::dom::parser parser;
  for (const auto& [text, dup] : cases) {
    SCOPED_TRACE(text.substr(0, 80));
    simdjson::dom::element root;
    ASSERT_EQ(parser.parse(text).get(root), simdjson::SUCCESS);
    EXPECT_EQ(hasDuplicateKey(parser), dup);
    EXPECT_EQ(duplicateKey(root).has_value(), dup);
  }
}

TEST(ArrayElements, SplitsATopLevelArrayKeepingEachElementAsWritten) {
  auto items = arrayElements(" [ {\"a\":[1,2],\"s\":\"x,]}\\\"\"} ,\n 1e400,\"b\" ,[[]],{}] ");
  ASSERT_TRUE(items.has_value());
  EXPECT_EQ(*items, (std::vector<std::string_view>{"{\"a\":[1,2],\"s\":\"x,]}\\\"\"}", "1e400",
                                                   "\"b\"", "[[]]", "{}"}));
  EXPECT_EQ(arrayElements("[]")->size(), 0u);
  EXPECT_EQ(arrayElements("{}"), std::nullopt);
  EXPECT_EQ(arrayElements("[1,"), std::nullopt);
}

TEST(EventParser, BoundsTypeAndIdAndRefusesControlCharacters) {
  EventParser parser(16384);
  auto event = [](const std::string& type, const std::string& id) {
    return R"({"type":")" + type + R"(","id":")" + id + R"(","data":{}})";
  };
  EXPECT_TRUE(parser.parse(event(std::string(kMaxTypeBytes, 't'), "e"), kNowMs).has_value());
  EXPECT_TRUE(parser.parse(event("t", std::string(kMaxIdBytes, 'i')), kNowMs).has_value());
  EXPECT_TRUE(parser.parse(event("order.créé", "evt_é ü"), kNowMs).has_value()) << "UTF-8 is fine";
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {event(std::string(kMaxTypeBytes + 1, 't'), "e"), "field type must be at most 256 bytes"},
      {event(std::string(10000, 't'), "e"), "field type must be at most 256 bytes"},
      {event("a\\u0000b", "e"), "field type must not hold control characters"},
      {event("a\\nb", "e"), "field type must not hold control characters"},
      {event("a\\tb", "e"), "field type must not hold control characters"},
      {event("a\\u007fb", "e"), "field type must not hold control characters"},
      {event("a\\u0085b", "e"), "field type must not hold control characters"},  // C1 NEL
      {event("t", "evt_1\\r\\nX-Injected: 1"), "field id must not hold control characters"},
      {event("t", "evt\\u0000"), "field id must not hold control characters"},
      {event("t", std::string(kMaxIdBytes + 1, 'i')), "field id must be at most 256 bytes"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text.substr(0, 80));
    auto ev = parser.parse(c.text, kNowMs, "evt_fallback");
    ASSERT_FALSE(ev.has_value()) << ev->body;
    EXPECT_NE(ev.error().message.find(c.message), std::string::npos) << ev.error().message;
    EXPECT_FALSE(ev.error().retryable);
  }
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
