#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/observe/observer.h"

// The attempt log's record: one JSON object per finished attempt on `<prefix>attempts`,
// keyed by subscription id. Its schema is stable (docs/attempts.md): fields are only ever
// added, and a reader ignores the ones it does not know.
namespace hookpipe::attempts {

// The first bytes of the response body kept in a record.
inline constexpr std::size_t kResponseBodyBytes = 1024;
// The schema version written in "v".
inline constexpr int kSchemaVersion = 1;

// Whether a delivery step is an attempt for the log: delivered, retried and dead-lettered
// steps are (a dead letter without a request too: a refused address, a policy cut short);
// a park or a skip is not.
bool isLogged(observe::Outcome outcome);

// One attempt as read back from the topic (owning).
struct Record {
  int version = kSchemaVersion;
  std::string delivery_id;
  std::string event_id;
  std::string event_type;
  std::string subscription_id;
  std::string tenant;       // the subscription's tenant ("" for none)
  int attempt = 0;          // 1 for the first (of this run: a replay starts again at 1)
  int replay = 0;           // the delivery's replays from the dead letters before this one
  std::string outcome;      // "delivered", "retried", "dead_lettered"
  std::string reason;       // the dead-letter reason (hp-dlq-reason); "" otherwise
  bool attempted = false;   // an HTTP request was made
  int64_t started_ms = 0;   // the request's start, wall clock (the finish time when no request)
  int64_t finished_ms = 0;  // when the attempt finished: the record's time in the index
  int64_t duration_us = 0;
  long status = 0;          // the HTTP status, 0 without a response
  std::string error_class;  // webhook::classify()'s class, "" when delivered
  std::string error_message;
  uint64_t request_bytes = 0;
  uint64_t response_bytes = 0;
  std::string response_body;    // the first kResponseBodyBytes of it, as read (UTF-8 repaired)
  int64_t next_attempt_ms = 0;  // retried: when the next attempt is due; 0 otherwise
  // Where the delivery's record (the body sent) was read from.
  std::string payload_topic;
  int32_t payload_partition = -1;
  int64_t payload_offset = -1;
};

// Appends the record of `attempt` (finished at `finished_ms`) to `out` as one JSON object.
// Cheap enough for every delivery: no DOM, one pass, `out` reused by the caller.
void encode(const observe::Attempt& attempt, int64_t finished_ms, std::string& out);
// The same for a Record (tests, the rebuild, tools).
void encode(const Record& record, std::string& out);

// Parses one record (simdjson). Unknown fields are ignored; a missing required field
// (delivery_id, subscription_id, attempt, outcome, finished_ms) or a wrong type is an error
// naming it.
Result<Record> parse(std::string_view json);

// The error class the statistics count an attempt under: its error_class, except that a
// 429 counts as "http_429" (classify() files it with the other retryable 4xx), and "" for a
// delivered one.
std::string_view statsErrorClass(const Record& record);
// "2xx", "3xx", "4xx", "5xx", or "none" (no response).
std::string_view statusClass(long status);

}  // namespace hookpipe::attempts
