#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/config/config.h"
#include "common/dlq/query.h"
#include "common/error.h"
#include "common/kafka/kafka.h"
#include "common/kafka/reader.h"
#include "common/records/delivery.h"

// Reading the dead-letter topic, for the ops commands (`hookpipe dlq list|show|stats|purge`,
// common/dlq/command.cc), the API (GET /v1/dead-letters, producer/dead_letters.cc) and
// replay.
//
// Positions. Nothing is ever deleted from `dlq` by these commands (retention does that).
// Two kinds of consumer-group offsets record how far work has gone, per partition:
//   - the purge floor, group `<prefix>dlq-purged`: records below it are skipped by every
//     command (unless `include_purged`); `purge` only ever moves it forward;
//   - a replay's progress, group `<prefix>dlq-replay.<replay id>`: records below it were
//     already replayed (or skipped as non-matching) by that replay.
// A scan of partition p covers [max(low watermark, purge floor, since offset),
// min(high watermark at the start of the scan, first offset after until)).
namespace hookpipe::dlq {

// One dead letter, copied out of librdkafka.
struct DeadLetter {
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::string key;
  std::string value;
  kafka::HeaderList headers;

  std::string header(const char* name) const;
  // The delivery record's metadata (the headers decoded).
  records::DeliveryMeta meta() const;
  // hp-dlq-at-ms, or the record timestamp when absent.
  int64_t deadLetteredAtMs() const;
};

// Per partition, the next offset to read: where a paged listing goes on.
using Positions = std::map<int32_t, int64_t>;

struct ScanOptions {
  DlqQuery filter;
  std::optional<uint64_t> max;  // stop after this many matches
  bool include_purged = false;
  const std::atomic<bool>* stop = nullptr;  // set: stop reading early
  Positions from;                           // start at least here (a page cursor)
  std::optional<uint64_t> max_read;  // stop after reading this many records (matching or not)
};

struct ScanEnd {
  uint64_t read = 0;      // records read (matching or not)
  bool complete = false;  // every record in range was read
  // Where a scan with the same filter goes on (`from`); meaningful when !complete.
  Positions next;
};

// Calls `on_match` for every dead letter in range that matches. Partitions are read
// side by side, so matches of different partitions interleave; within a partition they
// come in offset order.
Result<ScanEnd> scanDeadLetters(const Config& config, const ScanOptions& options,
                                const std::function<void(const DeadLetter&)>& on_match);

// A page cursor: "<partition>:<offset>,…" (Positions as text) and back.
std::string formatPositions(const Positions& positions);
Result<Positions> parsePositions(std::string_view text);

// The record at `partition:offset`, or an error when there is none.
Result<DeadLetter> readDeadLetter(const Config& config, int32_t partition, int64_t offset);

struct DlqStats {
  uint64_t total = 0;
  int64_t oldest_ms = 0;
  int64_t newest_ms = 0;
  std::map<std::string, uint64_t> by_subscription, by_event_type, by_error_class, by_reason;
};
Result<DlqStats> deadLetterStats(const Config& config, const ScanOptions& options);

// What `purge` skips past: every record dead-lettered at or before a time, or, on one
// partition, every record up to and including an offset.
struct PurgeTarget {
  std::optional<int64_t> until_ms;
  std::optional<std::pair<int32_t, int64_t>> until_position;
  bool dry_run = false;
};
struct PurgeResult {
  uint64_t purged = 0;               // records newly below the floor
  std::map<int32_t, int64_t> floor;  // the purge floor afterwards (next offset to read)
};
Result<PurgeResult> purgeDeadLetters(const Config& config, const PurgeTarget& target);

// ---- building blocks shared with replay ----------------------------------

namespace detail {

// An assign-only reader of `dlq` whose group id is used for committed offsets only.
Result<std::unique_ptr<kafka::Reader>> openReader(const Config& config,
                                                  const std::string& group_id);
// Per partition [begin, end) to read for `filter`, above `floors` (max of the maps).
using Range = kafka::Reader::Range;
Result<std::map<int32_t, Range>> plan(kafka::Reader& reader, const Config& config,
                                      const DlqQuery& filter,
                                      const std::vector<std::map<int32_t, int64_t>>& floors);
// The purge floor (group `<prefix>dlq-purged`).
Result<std::map<int32_t, int64_t>> purgeFloor(const Config& config);

}  // namespace detail
}  // namespace hookpipe::dlq
