#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "common/attempts/query.h"

// The delivery log and statistics as JSON — the same for the API (docs/api.md) and for
// `hookpipe deliveries|stats --json` — and the log's CSV export rows. Times are RFC 3339
// UTC strings (null when unset), latencies milliseconds.
namespace hookpipe::attempts {

// One log entry: id, subscription_id, event_id, event_type, status, response_status,
// response_time_ms, attempts, first_attempt_at, last_attempt_at, error_class,
// error_message, next_attempt_at.
boost::json::object toJson(const LogEntry& entry);
// {"data": [entries], "has_more", "next_cursor", "examined", "summary": {delivered, failed,
// pending_retry, dead_lettered, complete} or null}.
std::string pageJson(const LogPage& page);
// One attempt: attempt, status (its outcome as a delivery status), outcome, reason,
// response_status, response_time_ms, started_at, finished_at, error_class, error_message,
// response_body (the first bytes kept), request_bytes, response_bytes, next_attempt_at,
// payload {topic, partition, offset}.
boost::json::object toJson(const Record& attempt);
// {"id", "subscription_id", "event_id", "event_type", "status", "attempts": [...]}.
boost::json::object toJson(const DeliveryAttempts& delivery);
// {"scope", "since", "until", "group_by", "summary", "by_event_type", "series", "errors",
// "status_classes"} (docs/api.md, "Statistics").
boost::json::object toJson(const StatsResult& stats);
// Latency figures of counts (avg, min, max, p50, p95, p99 in ms; count; relative_error).
boost::json::object latencyJson(const StatsCounts& counts);

// The export's CSV columns, in order (docs/api.md, "Export").
std::string csvHeader();
// One entry as a CSV row (RFC 4180: fields with a comma, a quote or a line break quoted,
// quotes doubled; CRLF line end).
std::string csvRow(const LogEntry& entry);
// A field quoted as RFC 4180 asks (when needed).
std::string csvField(std::string_view field);

// Epoch milliseconds -> "2026-01-09T15:30:00.250Z".
std::string formatTime(int64_t ms);
// RFC 3339 or epoch milliseconds -> epoch milliseconds (an error saying what is wrong).
Result<int64_t> parseTime(std::string_view text);

}  // namespace hookpipe::attempts
