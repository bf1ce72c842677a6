#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/kafka/kafka.h"
#include "common/records/delivery.h"

// The record selection shared by `hookpipe dlq list`, `stats`, `replay` and `purge` and
// by the API's /v1/dead-letters routes, and the small parsers of their values.
namespace hookpipe::dlq {

// Which dead letters a command acts on. Empty fields match everything. The time range
// is on the dead letter's record timestamp (the time it was produced to `dlq`), which
// is what rd_kafka_offsets_for_times maps to offsets; `until_ms` is inclusive.
struct DlqQuery {
  std::string subscription_id;
  std::string event_type;
  std::string error_class;
  std::optional<int64_t> since_ms;
  std::optional<int64_t> until_ms;

  bool matches(const records::DeliveryMeta& meta, int64_t record_timestamp_ms) const;
  bool matches(const kafka::HeaderList& headers, int64_t record_timestamp_ms) const {
    return matches(records::DeliveryMeta::fromHeaders(headers), record_timestamp_ms);
  }
  // A stable text form of the selection (used to derive a replay id).
  std::string canonical() const;
};

// "2026-01-09T15:30:00Z", "2026-01-09T15:30:00.250+02:00" (RFC 3339) or epoch
// milliseconds ("1767972600000") -> epoch milliseconds.
Result<int64_t> parseTimeMs(std::string_view text);
// Epoch milliseconds -> "2026-01-09T15:30:00.250Z".
std::string formatTimeMs(int64_t ms);
// "200/s", "200" (per second), "12000/m" -> records per second (> 0).
Result<double> parseRate(std::string_view text);
// "<partition>:<offset>" with both non-negative.
Result<std::pair<int32_t, int64_t>> parsePartitionOffset(std::string_view text);
// A non-negative decimal integer.
Result<uint64_t> parseCount(std::string_view text);

// If args[i] is a filter flag (--subscription, --event-type, --error-class, --since,
// --until), consumes it and its value (advancing i) and returns true; returns false
// for any other argument and an error for a flag without a value or a bad value.
Result<bool> parseQueryArg(const std::vector<std::string>& args, std::size_t& i, DlqQuery& filter);

}  // namespace hookpipe::dlq
