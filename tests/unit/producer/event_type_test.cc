#include "producer/event_type.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/table/record_table.h"

namespace hookpipe::producer {
namespace {

TEST(EventTypeName, AcceptsDottedSegmentsOfLettersDigitsUnderscoreAndDash) {
  for (const char* name : {"order.created", "invoice.payment_failed", "a", "v2.user-signup.done"})
    EXPECT_EQ(eventTypeNameProblem(name), "") << name;
}

TEST(EventTypeName, RefusesEmptySegmentsPatternsSpacesAndLongNames) {
  for (const char* name : {"", ".order", "order.", "order..created", "order.*", "*",
                           "order created", "order/created", "ordér"})
    EXPECT_NE(eventTypeNameProblem(name), "") << name;
  EXPECT_NE(eventTypeNameProblem(std::string(kMaxEventTypeNameLength + 1, 'a')), "");
  EXPECT_EQ(eventTypeNameProblem(std::string(kMaxEventTypeNameLength, 'a')), "");
}

TEST(EventTypeParse, KeepsSchemaAndExampleAsSentMinified) {
  auto t = parseEventType(R"({"name":"order.created","description":"An order was placed",
      "schema":{"type":"object","properties":{"amount":{"type":"number","multipleOf":0.01}}},
      "example":{"amount": 12.5, "tags":["a"]}})",
                          true);
  ASSERT_TRUE(t.has_value()) << t.error().message;
  EXPECT_EQ(t->name, "order.created");
  EXPECT_EQ(t->description, "An order was placed");
  EXPECT_EQ(t->schema_json,
            R"({"type":"object","properties":{"amount":{"type":"number","multipleOf":0.01}}})");
  EXPECT_EQ(t->example_json, R"({"amount":12.5,"tags":["a"]})");
  EXPECT_FALSE(t->archived);
}

TEST(EventTypeParse, ListsEveryProblemStartingWithItsField) {
  auto t =
      parseEventType(R"({"name":"bad name","schema":[1],"archived":"yes","colour":"red"})", true);
  ASSERT_FALSE(t.has_value());
  const std::string& m = t.error().message;
  EXPECT_NE(m.find("name may only hold"), std::string::npos) << m;
  EXPECT_NE(m.find("schema must be a JSON object"), std::string::npos) << m;
  EXPECT_NE(m.find("archived must be a boolean"), std::string::npos) << m;
  EXPECT_NE(m.find("colour: unknown field"), std::string::npos) << m;
}

TEST(EventTypeParse, NameIsRequiredAndBodyMustBeAnObject) {
  auto missing = parseEventType(R"({"description":"x"})", true);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("name is required"), std::string::npos);
  EXPECT_FALSE(parseEventType("[1]", true).has_value());
  EXPECT_FALSE(parseEventType("{", true).has_value());
}

// Which copy a reader keeps differs (a JSON Schema validator's "type" too): refused at each.
TEST(EventTypeParse, ANameGivenTwiceIsRefusedFromClientsAndLoadsFromTheTopic) {
  const char* body =
      R"({"name":"a.b","schema":{"type":"object","type":"string"},"description":"x",)"
      R"("description":"y"})";
  auto t = parseEventType(body, true);
  ASSERT_FALSE(t.has_value());
  std::vector<std::string> at;
  for (const auto& p : t.error().problems) at.push_back(p.pointer);
  EXPECT_EQ(at, (std::vector<std::string>{"/schema/type", "/description"}));
  EXPECT_EQ(t.error().problems[0].message, "'type' is given more than once");
  EXPECT_TRUE(parseEventType(body, false).has_value());
}

TEST(EventTypeParse, TopicRecordsIgnoreUnknownFieldsForNewerWriters) {
  auto t = parseEventType(R"({"name":"a.b","added_later":1})", false);
  ASSERT_TRUE(t.has_value()) << t.error().message;
  EXPECT_EQ(t->name, "a.b");
}

TEST(EventTypeJson, RoundTripsThroughTheStoredForm) {
  EventType t;
  t.name = "order.created";
  t.description = "with \"quotes\"";
  t.schema_json = R"({"type":"object"})";
  t.archived = true;
  t.created_at = t.updated_at = "2026-01-09T15:30:00Z";
  const std::string json = eventTypeJson(t);
  EXPECT_NE(json.find(R"("example":null)"), std::string::npos) << json;
  auto back = parseEventType(json, false);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->description, t.description);
  EXPECT_EQ(back->schema_json, t.schema_json);
  EXPECT_EQ(back->example_json, "");
  EXPECT_TRUE(back->archived);
  EXPECT_EQ(back->created_at, t.created_at);
}

TEST(RecordTable, SnapshotsDoNotSeeLaterWrites) {
  RecordTable<EventType> table;
  table.put("a", EventType{.name = "a"});
  auto before = table.snapshot();
  table.put("b", EventType{.name = "b"});
  table.erase("a");
  EXPECT_EQ(before->size(), 1u);
  EXPECT_EQ(table.snapshot()->size(), 1u);
  EXPECT_EQ(table.find("b")->name, "b");
  EXPECT_EQ(table.find("a"), nullptr);
}

}  // namespace
}  // namespace hookpipe::producer
