// Unit tests for common/attempts/record.h: the attempt log's record, encode -> parse.
#include "common/attempts/record.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

namespace hookpipe::attempts {
namespace {

// An attempt with every field set to something distinct.
observe::Attempt sampleAttempt(observe::Outcome outcome) {
  observe::Attempt a;
  a.outcome = outcome;
  a.subscription_id = "sub_1";
  a.tenant = "acme";
  a.delivery_id = "dlv_1";
  a.event_id = "evt_1";
  a.event_type = "order.created";
  a.attempt = 3;
  a.replay = 2;
  a.attempted = true;
  a.started_ms = 1'767'972'600'000;
  a.duration_us = 12'345;
  a.status = 503;
  a.error_class = "http_5xx";
  a.error_message = "503 Service Unavailable";
  a.reason = "retries_exhausted";
  a.request_bytes = 321;
  a.response_bytes = 17;
  a.response_head = "upstream is down";
  a.next_attempt_ms = 1'767'972'660'000;
  a.source_topic = "hookpipe.deliveries";
  a.source_partition = 4;
  a.source_offset = 9'876'543'210;
  return a;
}

Record roundTrip(const observe::Attempt& a, int64_t finished_ms) {
  std::string json;
  encode(a, finished_ms, json);
  EXPECT_TRUE(simdjson::validate_utf8(json.data(), json.size())) << json;
  auto r = parse(json);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message) << " in " << json;
  return r ? *r : Record{};
}

TEST(AttemptRecord, RoundTripsEveryFieldOfARetriedAttempt) {
  const auto a = sampleAttempt(observe::Outcome::kRetried);
  const Record r = roundTrip(a, 1'767'972'600'020);
  EXPECT_EQ(r.version, kSchemaVersion);
  EXPECT_EQ(r.delivery_id, "dlv_1");
  EXPECT_EQ(r.event_id, "evt_1");
  EXPECT_EQ(r.event_type, "order.created");
  EXPECT_EQ(r.subscription_id, "sub_1");
  EXPECT_EQ(r.tenant, "acme");
  EXPECT_EQ(r.attempt, 3);
  EXPECT_EQ(r.replay, 2);
  EXPECT_EQ(r.outcome, "retried");
  EXPECT_EQ(r.reason, "");  // the reason is a dead letter's only
  EXPECT_TRUE(r.attempted);
  EXPECT_EQ(r.started_ms, 1'767'972'600'000);
  EXPECT_EQ(r.finished_ms, 1'767'972'600'020);
  EXPECT_EQ(r.duration_us, 12'345);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.error_class, "http_5xx");
  EXPECT_EQ(r.error_message, "503 Service Unavailable");
  EXPECT_EQ(r.request_bytes, 321u);
  EXPECT_EQ(r.response_bytes, 17u);
  EXPECT_EQ(r.response_body, "upstream is down");
  EXPECT_EQ(r.next_attempt_ms, 1'767'972'660'000);
  EXPECT_EQ(r.payload_topic, "hookpipe.deliveries");
  EXPECT_EQ(r.payload_partition, 4);
  EXPECT_EQ(r.payload_offset, 9'876'543'210);
}

TEST(AttemptRecord, DeadLetterKeepsItsReasonAndDropsTheNextAttempt) {
  const Record r = roundTrip(sampleAttempt(observe::Outcome::kDeadLettered), 5);
  EXPECT_EQ(r.outcome, "dead_lettered");
  EXPECT_EQ(r.reason, "retries_exhausted");
  EXPECT_EQ(r.next_attempt_ms, 0);
}

TEST(AttemptRecord, AnAttemptWithoutRequestStartsWhenItFinishes) {
  auto a = sampleAttempt(observe::Outcome::kDeadLettered);
  a.attempted = false;
  a.started_ms = 0;
  a.duration_us = 0;
  a.status = 0;
  a.reason = "refused_address";
  const Record r = roundTrip(a, 777);
  EXPECT_FALSE(r.attempted);
  EXPECT_EQ(r.started_ms, 777);
  EXPECT_EQ(r.finished_ms, 777);
  EXPECT_EQ(r.duration_us, 0);
  EXPECT_EQ(r.reason, "refused_address");
}

TEST(AttemptRecord, RecordEncodeRoundTrips) {
  Record in;
  in.delivery_id = "d";
  in.event_id = "e";
  in.event_type = "t";
  in.subscription_id = "s";
  in.tenant = "";
  in.attempt = 1;
  in.replay = 1;
  in.outcome = "delivered";
  in.attempted = true;
  in.started_ms = 10;
  in.finished_ms = 11;
  in.duration_us = 900;
  in.status = 204;
  in.request_bytes = 1;
  in.response_bytes = 0;
  in.payload_topic = "p";
  in.payload_partition = 0;
  in.payload_offset = 0;
  std::string json;
  encode(in, json);
  auto out = parse(json);
  ASSERT_TRUE(out) << out.error().message;
  std::string again;
  encode(*out, again);
  EXPECT_EQ(json, again);
}

TEST(AttemptRecord, EncodeAppendsToTheBuffer) {
  std::string out = "x";
  encode(sampleAttempt(observe::Outcome::kDelivered), 1, out);
  EXPECT_EQ(out.substr(0, 2), "x{");
  EXPECT_EQ(out.back(), '}');
}

TEST(AttemptRecord, EscapesQuotesBackslashesAndControlCharacters) {
  auto a = sampleAttempt(observe::Outcome::kRetried);
  const std::string nasty = std::string("q\"b\\n\nr\rt\tz") + '\0' + "\x01\x1f\x7f" + "/end";
  a.error_message = nasty;
  a.response_head = nasty;
  a.event_type = "\"}{";
  std::string json;
  encode(a, 1, json);
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_EQ(json.find('\0'), std::string::npos);
  EXPECT_NE(json.find("\\u0000"), std::string::npos);
  EXPECT_NE(json.find("\\u001f"), std::string::npos);
  auto r = parse(json);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->error_message, nasty);
  EXPECT_EQ(r->response_body, nasty);
  EXPECT_EQ(r->event_type, "\"}{");
}

TEST(AttemptRecord, KeepsValidUtf8AndReplacesInvalidBytes) {
  auto a = sampleAttempt(observe::Outcome::kRetried);
  a.error_message = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";  // é € 😀
  const std::string invalid = std::string("a\xff") + "b\xc3" + "c\xed\xa0\x80" + "d\xc0\xaf" + "e";
  a.response_head = invalid;
  std::string json;
  encode(a, 1, json);
  ASSERT_TRUE(simdjson::validate_utf8(json.data(), json.size()));
  auto r = parse(json);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->error_message, a.error_message);
  const std::string fffd = "\xef\xbf\xbd";
  // \xff, a lone lead byte, a surrogate (3 bytes) and an overlong '/' (2 bytes): one U+FFFD
  // per bad byte.
  EXPECT_EQ(r->response_body,
            "a" + fffd + "b" + fffd + "c" + fffd + fffd + fffd + "d" + fffd + fffd + "e");
}

TEST(AttemptRecord, CapsTheResponseBodyAt1KiB) {
  auto a = sampleAttempt(observe::Outcome::kRetried);
  const std::string body(5000, 'x');
  a.response_head = body;
  a.response_bytes = body.size();
  const Record r = roundTrip(a, 1);
  EXPECT_EQ(r.response_body, body.substr(0, kResponseBodyBytes));
  EXPECT_EQ(r.response_bytes, 5000u);  // the size read stays the real one
}

TEST(AttemptRecord, AUtf8SequenceCutByTheCapBecomesAReplacementCharacter) {
  auto a = sampleAttempt(observe::Outcome::kRetried);
  // 1023 ASCII bytes, then a 3-byte euro sign: the cap keeps its first byte only.
  std::string body(kResponseBodyBytes - 1, 'y');
  body += "\xe2\x82\xac tail";
  a.response_head = body;
  const Record r = roundTrip(a, 1);
  EXPECT_EQ(r.response_body, std::string(kResponseBodyBytes - 1, 'y') + "\xef\xbf\xbd");
  // Cut after two of the three bytes: both bytes kept are replaced.
  body = std::string(kResponseBodyBytes - 2, 'y') + "\xe2\x82\xac";
  a.response_head = body;
  const Record r2 = roundTrip(a, 1);
  EXPECT_EQ(r2.response_body,
            std::string(kResponseBodyBytes - 2, 'y') + "\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(AttemptRecord, ABinaryBodyStillGivesValidJson) {
  auto a = sampleAttempt(observe::Outcome::kRetried);
  std::string body;
  for (int i = 0; i < 2048; ++i) body += static_cast<char>(i * 37 % 256);
  a.response_head = body;
  const Record r = roundTrip(a, 1);
  EXPECT_TRUE(simdjson::validate_utf8(r.response_body.data(), r.response_body.size()));
  EXPECT_FALSE(r.response_body.empty());
}

std::string minimal(std::string extra = "") {
  return R"({"delivery_id":"d","subscription_id":"s","attempt":1,"outcome":"delivered",)"
         R"("finished_ms":5)" +
         extra + "}";
}

TEST(AttemptRecord, ParsesAMinimalRecordWithDefaults) {
  auto r = parse(minimal());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->delivery_id, "d");
  EXPECT_EQ(r->finished_ms, 5);
  EXPECT_EQ(r->status, 0);
  EXPECT_FALSE(r->attempted);
  EXPECT_EQ(r->payload_partition, -1);
  EXPECT_EQ(r->payload_offset, -1);
  EXPECT_EQ(r->replay, 0);  // records written before replays were counted
}

TEST(AttemptRecord, IgnoresUnknownFields) {
  auto r = parse(minimal(R"(,"future":{"nested":[1,2,{"x":null}]},"v2_field":"x","v":2)"));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->version, 2);
  EXPECT_EQ(r->subscription_id, "s");
}

TEST(AttemptRecord, AMissingRequiredFieldIsAnErrorNamingIt) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"subscription_id":"s","attempt":1,"outcome":"delivered","finished_ms":5})",
       "delivery_id"},
      {R"({"delivery_id":"d","attempt":1,"outcome":"delivered","finished_ms":5})",
       "subscription_id"},
      {R"({"delivery_id":"d","subscription_id":"s","outcome":"delivered","finished_ms":5})",
       "attempt"},
      {R"({"delivery_id":"d","subscription_id":"s","attempt":1,"finished_ms":5})", "outcome"},
      {R"({"delivery_id":"d","subscription_id":"s","attempt":1,"outcome":"delivered"})",
       "finished_ms"},
  };
  for (const auto& [json, field] : cases) {
    auto r = parse(json);
    ASSERT_FALSE(r) << json;
    EXPECT_NE(r.error().message.find(field), std::string::npos) << r.error().message;
  }
}

TEST(AttemptRecord, AFieldOfTheWrongTypeIsAnErrorNamingIt) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {minimal(R"(,"status":"200")"), "status"},
      {minimal(R"(,"event_type":7)"), "event_type"},
      {minimal(R"(,"duration_us":1.5)"), "duration_us"},
      {minimal(R"(,"attempted":"yes")"), "attempted"},
      {minimal(R"(,"payload":[])"), "payload"},
      {minimal(R"(,"payload":{"topic":"t","partition":0})"), "payload.offset"},
      {minimal(R"(,"payload":{"topic":1,"partition":0,"offset":1})"), "payload.topic"},
      {minimal(R"(,"payload":{"topic":"t","partition":"0","offset":1})"), "payload.partition"},
      {minimal(R"(,"payload":{"topic":"t","partition":4294967296,"offset":1})"),
       "payload.partition"},
      {minimal(R"(,"request_bytes":-1)"), "request_bytes"},
      {minimal(R"(,"replay":-1)"), "replay"},
      {minimal(R"(,"replay":"1")"), "replay"},
      {minimal(R"(,"response_bytes":18446744073709551615)"), "response_bytes"},
      {R"({"delivery_id":"d","subscription_id":"s","attempt":4294967297,"outcome":"delivered","finished_ms":5})",
       "attempt"},
      {R"({"delivery_id":"d","subscription_id":"s","attempt":0,"outcome":"delivered","finished_ms":5})",
       "attempt"},
      {R"({"delivery_id":"d","subscription_id":"s","attempt":1,"outcome":"parked","finished_ms":5})",
       "outcome"},
      {R"({"delivery_id":null,"subscription_id":"s","attempt":1,"outcome":"delivered","finished_ms":5})",
       "delivery_id"},
      {R"({"delivery_id":"d","subscription_id":"s","attempt":1,"outcome":"delivered","finished_ms":-1})",
       "finished_ms"},
      {R"({"delivery_id":"d","subscription_id":"s","attempt":1,"outcome":"delivered","finished_ms":9223372036854775807})",
       "finished_ms"},
      {R"({"delivery_id":"d","subscription_id":"s","attempt":1,"outcome":"delivered","finished_ms":1767972610000000})",
       "finished_ms"},
  };
  for (const auto& [json, field] : cases) {
    auto r = parse(json);
    ASSERT_FALSE(r) << json;
    EXPECT_NE(r.error().message.find(field), std::string::npos)
        << field << " not in: " << r.error().message;
  }
}

TEST(AttemptRecord, RejectsWhatIsNotAJsonObject) {
  for (const std::string json : {"", "[]", "\"x\"", "{", "{\"delivery_id\":", "null", "1"}) {
    auto r = parse(json);
    EXPECT_FALSE(r) << json;
  }
}

TEST(AttemptRecord, OnlyAttemptsAreLogged) {
  EXPECT_TRUE(isLogged(observe::Outcome::kDelivered));
  EXPECT_TRUE(isLogged(observe::Outcome::kRetried));
  EXPECT_TRUE(isLogged(observe::Outcome::kDeadLettered));
  EXPECT_FALSE(isLogged(observe::Outcome::kParked));
  EXPECT_FALSE(isLogged(observe::Outcome::kSkipped));
}

TEST(AttemptRecord, StatusAndStatsErrorClasses) {
  EXPECT_EQ(statusClass(0), "none");
  EXPECT_EQ(statusClass(199), "none");
  EXPECT_EQ(statusClass(200), "2xx");
  EXPECT_EQ(statusClass(302), "3xx");
  EXPECT_EQ(statusClass(404), "4xx");
  EXPECT_EQ(statusClass(599), "5xx");
  EXPECT_EQ(statusClass(600), "none");
  Record r;
  r.outcome = "delivered";
  r.error_class = "x";
  EXPECT_EQ(statsErrorClass(r), "");
  r.outcome = "retried";
  r.status = 429;
  EXPECT_EQ(statsErrorClass(r), "http_429");
  r.status = 500;
  r.error_class = "http_5xx";
  EXPECT_EQ(statsErrorClass(r), "http_5xx");
  r.error_class = "";
  EXPECT_EQ(statsErrorClass(r), "unknown");
}

}  // namespace
}  // namespace hookpipe::attempts
