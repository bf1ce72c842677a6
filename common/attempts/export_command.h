#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/attempts/record.h"
#include "common/config/config.h"
#include "common/error.h"

// `hookpipe attempts export`: the attempt log read back from the `attempts` topic itself
// (not from the recorder's index), by time range and filters, as NDJSON or CSV
// (docs/attempts.md).
namespace hookpipe::attempts {

// Which attempts --status selects: "delivered", "pending_retry" (outcome retried),
// "dead_lettered", "failed" (retried or dead-lettered).
enum class StatusFilter { kAny, kDelivered, kPendingRetry, kDeadLettered, kFailed };

struct ExportOptions {
  std::optional<int64_t> since_ms;  // finished_ms >= since (inclusive)
  std::optional<int64_t> until_ms;  // finished_ms <= until (inclusive)
  std::string subscription_id;      // "" for any
  std::string event_type;           // "" for any
  StatusFilter status = StatusFilter::kAny;
  bool csv = false;  // else NDJSON

  bool matches(const Record& record) const;
};

// The flags after `attempts export`; a bad one is an error saying which and why.
Result<ExportOptions> parseExportArgs(const std::vector<std::string>& args);

// The CSV columns, in order (the header row).
const std::vector<std::string_view>& csvColumns();
// One record as a CSV row (RFC 4180: a field with a comma, quote, CR or LF is quoted, its
// quotes doubled), ending in CRLF.
void appendCsvRow(const Record& record, std::string& out);

struct ExportStats {
  uint64_t read = 0;      // records read from the topic in the offset range
  uint64_t exported = 0;  // written out
  uint64_t invalid = 0;   // not attempt records (skipped, counted)
};
// Reads the topic and writes each matching record to `out`; a progress line goes to
// `progress` when not null.
Result<ExportStats> exportAttempts(const Config& config, const ExportOptions& options,
                                   std::ostream& out, std::ostream* progress);

// `hookpipe attempts export ...`: returns the exit code (2 for a usage error).
int runCommand(const Config& config, const std::vector<std::string>& args);

}  // namespace hookpipe::attempts
