#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/attempts/histogram.h"
#include "common/attempts/keys.h"
#include "common/attempts/record.h"
#include "common/error.h"
#include "common/redis/redis.h"

// The reading side of the delivery-log index (keys.h): the delivery log of a subscription,
// one delivery's attempts, and statistics over a time range. Shared by the producer's
// /v1/…/deliveries and /v1/…/stats routes and by `hookpipe deliveries` / `hookpipe stats`.
//
// A Query reads through one redis::Client and is used by the thread that owns that client;
// it keeps no state between calls, so it is cheap to make per request.
namespace hookpipe::attempts {

// The delivery log.

// A delivery's status, from its latest attempt's outcome.
enum class Status { kDelivered, kPendingRetry, kDeadLettered };
std::string_view statusName(Status status);
// "delivered" -> kDelivered, "retried" -> kPendingRetry, "dead_lettered" -> kDeadLettered.
std::optional<Status> statusOfOutcome(std::string_view outcome);

// The `status` filter: a status, or "failed" (pending_retry or dead_lettered).
enum class StatusFilter { kAny, kDelivered, kFailed, kPendingRetry, kDeadLettered };
// "delivered", "failed", "pending_retry", "dead_lettered"; nullopt for anything else.
std::optional<StatusFilter> parseStatusFilter(std::string_view text);
bool matches(StatusFilter filter, Status status);

struct LogFilter {
  StatusFilter status = StatusFilter::kAny;
  std::string event_type;  // "" matches every type
  // On the delivery's latest attempt (finished_ms), both inclusive; none: unbounded.
  std::optional<int64_t> since_ms;
  std::optional<int64_t> until_ms;
};

// Where a page ended: the last entry's score (its latest finished_ms) and delivery id, the
// order the log is listed in (score descending, then id descending, as ZREVRANGEBYSCORE).
struct Cursor {
  int64_t score_ms = 0;
  std::string delivery_id;
  bool operator==(const Cursor&) const = default;
};
// Opaque to clients: base64url (no padding) of "<score>:<id>".
std::string encodeCursor(const Cursor& cursor);
std::optional<Cursor> decodeCursor(std::string_view text);

inline constexpr int kDefaultLogLimit = 50;
inline constexpr int kMaxLogLimit = 250;
// A page examines at most this many deliveries of the log (a narrow filter over a long
// log): it then ends early, with a cursor to go on from.
inline constexpr std::size_t kMaxExaminedPerPage = 5000;
// The summary reads at most this many deliveries of the range (the log's default cap).
inline constexpr std::size_t kMaxSummarized = 10'000;

// One delivery in a log listing.
struct LogEntry {
  std::string delivery_id;
  std::string subscription_id;
  std::string event_id;
  std::string event_type;
  Status status = Status::kDelivered;
  long response_status = 0;      // of the latest attempt; 0 without a response
  int64_t duration_us = 0;       // of the latest attempt
  int attempts = 0;              // of its latest run (a replay starts again at 1)
  int replays = 0;               // how often it was replayed from the dead letters
  int64_t first_attempt_ms = 0;  // the first attempt's start
  int64_t last_attempt_ms = 0;   // the latest attempt's finish (the log's order)
  std::string error_class;       // of the latest attempt
  std::string error_message;
  int64_t next_attempt_ms = 0;  // pending_retry: when the next attempt is due
};

struct LogSummary {
  uint64_t delivered = 0;
  uint64_t pending_retry = 0;
  uint64_t dead_lettered = 0;
  uint64_t failed() const { return pending_retry + dead_lettered; }
  // False when the range holds more than kMaxSummarized deliveries (the newest were counted).
  bool complete = true;
};

struct LogPage {
  std::vector<LogEntry> entries;
  // Set when the log may go on: pass it as the next request's cursor.
  std::optional<std::string> next_cursor;
  std::size_t examined = 0;
  // Of the filter's time range, status and event type aside; only on a first page (no
  // cursor) when asked for.
  std::optional<LogSummary> summary;
};

// One delivery with every attempt, in attempt order.
struct DeliveryAttempts {
  std::string delivery_id;
  std::string subscription_id;
  std::vector<Record> attempts;
};

// Statistics.

enum class GroupBy { kMinute, kHour, kDay, kWeek, kMonth };
std::optional<GroupBy> parseGroupBy(std::string_view text);
std::string_view groupByName(GroupBy g);
// The stored granularity a group reads: minute, hour, or day (day, week and month).
Granularity granularityOf(GroupBy g);
// The start (epoch ms, UTC) of the group bucket holding `ms`, and of the next one. A week
// starts on Monday (ISO 8601), a month on its first day.
int64_t groupStart(GroupBy g, int64_t ms);
int64_t nextGroupStart(GroupBy g, int64_t start_ms);
// The longest range a group_by may cover (its count of stored buckets is bounded).
int64_t maxRangeMs(GroupBy g);

inline constexpr int64_t kDefaultStatsRangeMs = 24LL * 3600 * 1000;

// The counters of one stats hash, or of several merged.
struct StatsCounts {
  uint64_t attempts = 0;
  uint64_t retries = 0;
  std::map<std::string, uint64_t, std::less<>> outcomes;
  std::map<std::string, uint64_t, std::less<>> status_classes;
  std::map<std::string, uint64_t, std::less<>> errors;
  std::map<std::string, uint64_t, std::less<>> types;
  std::map<std::string, uint64_t, std::less<>> types_delivered;
  uint64_t latency_count = 0;
  int64_t latency_sum_us = 0;
  std::optional<int64_t> latency_min_us;
  std::optional<int64_t> latency_max_us;
  Histogram histogram;

  // One field of a stored hash (keys.h); unknown fields are ignored. The breakdowns (status
  // classes, error classes, event types) go to `breakdowns` when given (a series point
  // keeps only what the series shows; the total gets them at once, not merged per point).
  void addField(std::string_view field, std::string_view value, StatsCounts* breakdowns = nullptr);
  void merge(const StatsCounts& other);
  uint64_t outcome(std::string_view name) const;
  bool empty() const { return attempts == 0; }
};

struct StatsQuery {
  std::string scope;  // Keys::subscriptionScope(), tenantScope() or allScope()
  int64_t since_ms = 0;
  int64_t until_ms = 0;  // exclusive
  GroupBy group_by = GroupBy::kHour;
};

struct StatsResult {
  StatsQuery query;
  int64_t from_ms = 0;  // the range widened to whole group buckets
  int64_t to_ms = 0;
  StatsCounts total;
  struct Point {
    int64_t start_ms = 0;
    StatsCounts counts;
  };
  std::vector<Point> series;  // every group bucket of the range, empty ones included
  std::size_t buckets_read = 0;
};

// Problems with a stats range (since after until, too long for its group_by), each at the
// parameter it names; empty when it can be read.
std::vector<Problem> checkStatsQuery(const StatsQuery& query);

// The reader.

class Query {
 public:
  Query(redis::Client& client, const std::string& topic_prefix)
      : client_(client), keys_(topic_prefix) {}

  // A page of the subscription's log, newest first. `limit` 1..kMaxLogLimit.
  Result<LogPage> listDeliveries(std::string_view subscription_id, const LogFilter& filter,
                                 const std::optional<Cursor>& cursor, int limit,
                                 bool with_summary = true);
  // Whether the subscription has a log (a delivery-log entry in Redis).
  Result<bool> hasLog(std::string_view subscription_id);
  // Every subscription that has a log (idx:subs), in id order.
  Result<std::vector<std::string>> subscriptionsWithLog();
  // The delivery's attempts; nullopt when the index has none.
  Result<std::optional<DeliveryAttempts>> delivery(std::string_view delivery_id);
  // Statistics of a scope; the query must pass checkStatsQuery() (an error naming the
  // parameter otherwise). Reads every bucket in one pipelined round trip.
  Result<StatsResult> stats(const StatsQuery& query);

 private:
  // The entries of these deliveries from their latest attempts (nullopt: expired), in the
  // same order; first_attempt_ms is the latest attempt's start until firstAttempts().
  Result<std::vector<std::optional<LogEntry>>> entries(const std::vector<std::string>& ids);
  // Reads the first attempt's start of the entries with more than one attempt.
  Result<void> firstAttempts(std::vector<LogEntry>& entries);
  Result<LogSummary> summarize(std::string_view subscription_id, const LogFilter& filter);

  redis::Client& client_;
  Keys keys_;
};

}  // namespace hookpipe::attempts
