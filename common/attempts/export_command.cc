#include "common/attempts/export_command.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>

#include "common/dlq/query.h"
#include "common/kafka/kafka.h"
#include "common/kafka/reader.h"
#include "common/role/role.h"

namespace hookpipe::attempts {
namespace {

// A record's Kafka timestamp is its finished_ms, but workers race for the producer, so a
// partition is only nearly in time order (and another writer may stamp records with the
// time it produced them): the offset range is planned this much wider than asked, and
// finished_ms then decides exactly.
constexpr int64_t kTimestampSlackMs = 5000;
constexpr uint64_t kProgressEvery = 5000;

constexpr const char* kUsage =
    "usage: hookpipe attempts export [--since TIME] [--until TIME] [--subscription ID]\n"
    "         [--event-type TYPE] [--status delivered|failed|pending_retry|dead_lettered]\n"
    "         [--format ndjson|csv]\n"
    "  TIME: RFC 3339 (2026-01-09T15:30:00Z) or epoch milliseconds; both bounds inclusive,\n"
    "  on the attempt's finished_ms. Output on stdout (docs/attempts.md).\n";

int usageError(const std::string& message) {
  std::cerr << "hookpipe attempts: " << message << "\n" << kUsage;
  return 2;
}

void appendCsvField(std::string& out, std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void appendCsvInt(std::string& out, int64_t v) { out += std::to_string(v); }

}  // namespace

bool ExportOptions::matches(const Record& r) const {
  if (since_ms && r.finished_ms < *since_ms) return false;
  if (until_ms && r.finished_ms > *until_ms) return false;
  if (!subscription_id.empty() && r.subscription_id != subscription_id) return false;
  if (!event_type.empty() && r.event_type != event_type) return false;
  switch (status) {
    case StatusFilter::kAny:
      return true;
    case StatusFilter::kDelivered:
      return r.outcome == "delivered";
    case StatusFilter::kPendingRetry:
      return r.outcome == "retried";
    case StatusFilter::kDeadLettered:
      return r.outcome == "dead_lettered";
    case StatusFilter::kFailed:
      return r.outcome == "retried" || r.outcome == "dead_lettered";
  }
  return true;
}

Result<ExportOptions> parseExportArgs(const std::vector<std::string>& args) {
  ExportOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    const bool known = flag == "--since" || flag == "--until" || flag == "--subscription" ||
                       flag == "--event-type" || flag == "--status" || flag == "--format";
    if (!known) return fail("unknown argument '" + flag + "'");
    if (i + 1 >= args.size()) return fail(flag + " needs a value");
    const std::string& v = args[++i];
    if (flag == "--since" || flag == "--until") {
      auto t = dlq::parseTimeMs(v);
      if (!t) return fail(flag + ": " + t.error().message);
      (flag == "--since" ? o.since_ms : o.until_ms) = *t;
    } else if (flag == "--subscription") {
      if (v.empty()) return fail("--subscription needs a value");
      o.subscription_id = v;
    } else if (flag == "--event-type") {
      if (v.empty()) return fail("--event-type needs a value");
      o.event_type = v;
    } else if (flag == "--status") {
      if (v == "delivered")
        o.status = StatusFilter::kDelivered;
      else if (v == "failed")
        o.status = StatusFilter::kFailed;
      else if (v == "pending_retry")
        o.status = StatusFilter::kPendingRetry;
      else if (v == "dead_lettered")
        o.status = StatusFilter::kDeadLettered;
      else
        return fail("--status must be delivered, failed, pending_retry or dead_lettered, got '" +
                    v + "'");
    } else {
      if (v == "csv")
        o.csv = true;
      else if (v == "ndjson")
        o.csv = false;
      else
        return fail("--format must be ndjson or csv, got '" + v + "'");
    }
  }
  if (o.since_ms && o.until_ms && *o.since_ms > *o.until_ms)
    return fail("--since is after --until");
  return o;
}

const std::vector<std::string_view>& csvColumns() {
  static const std::vector<std::string_view> columns = {
      "finished_at", "finished_ms", "delivery_id", "event_id", "event_type", "subscription_id",
      "tenant", "attempt", "outcome", "reason", "attempted", "started_ms", "duration_us", "status",
      "error_class", "error_message", "request_bytes", "response_bytes", "next_attempt_ms",
      "payload_topic", "payload_partition", "payload_offset", "response_body",
      // Added after the first release: new columns go at the end.
      "replay"};
  return columns;
}

void appendCsvRow(const Record& r, std::string& out) {
  const auto sep = [&] { out += ','; };
  out += dlq::formatTimeMs(r.finished_ms);
  sep();
  appendCsvInt(out, r.finished_ms);
  for (std::string_view s : {std::string_view(r.delivery_id), std::string_view(r.event_id),
                             std::string_view(r.event_type), std::string_view(r.subscription_id),
                             std::string_view(r.tenant)}) {
    sep();
    appendCsvField(out, s);
  }
  sep();
  appendCsvInt(out, r.attempt);
  sep();
  appendCsvField(out, r.outcome);
  sep();
  appendCsvField(out, r.reason);
  sep();
  out += r.attempted ? "true" : "false";
  sep();
  appendCsvInt(out, r.started_ms);
  sep();
  appendCsvInt(out, r.duration_us);
  sep();
  appendCsvInt(out, r.status);
  sep();
  appendCsvField(out, r.error_class);
  sep();
  appendCsvField(out, r.error_message);
  sep();
  out += std::to_string(r.request_bytes);
  sep();
  out += std::to_string(r.response_bytes);
  sep();
  appendCsvInt(out, r.next_attempt_ms);
  sep();
  appendCsvField(out, r.payload_topic);
  sep();
  appendCsvInt(out, r.payload_partition);
  sep();
  appendCsvInt(out, r.payload_offset);
  sep();
  appendCsvField(out, r.response_body);
  sep();
  appendCsvInt(out, r.replay);
  out += "\r\n";
}

Result<ExportStats> exportAttempts(const Config& config, const ExportOptions& options,
                                   std::ostream& out, std::ostream* progress) {
  const std::string topic = config.topics.attempts();
  auto reader = kafka::Reader::open(config, config.groupId("attempts-export"));
  if (!reader) return std::unexpected(reader.error());
  kafka::Reader& r = **reader;
  auto partitions = r.partitionCount(topic);
  if (!partitions) return std::unexpected(partitions.error());
  kafka::Reader::Ranges ranges;
  for (int32_t p = 0; p < *partitions; ++p) {
    auto marks = r.watermarks(topic, p);
    if (!marks) return std::unexpected(marks.error());
    ranges[p] = {marks->first, marks->second};
  }
  // Offsets for times: a partition without a record at or after the time has none in
  // range from there (begin) or ends where it ends now (end).
  if (options.since_ms) {
    auto since = r.offsetsForTime(topic, *partitions, *options.since_ms - kTimestampSlackMs);
    if (!since) return std::unexpected(since.error());
    for (auto& [p, range] : ranges) {
      auto it = since->find(p);
      range.begin = it == since->end() ? range.end : std::max(range.begin, it->second);
    }
  }
  if (options.until_ms) {
    auto until = r.offsetsForTime(topic, *partitions, *options.until_ms + 1 + kTimestampSlackMs);
    if (!until) return std::unexpected(until.error());
    for (auto& [p, range] : ranges)
      if (auto it = until->find(p); it != until->end()) range.end = std::min(range.end, it->second);
  }
  std::erase_if(ranges, [](const auto& e) { return e.second.begin >= e.second.end; });
  uint64_t total = 0;
  for (const auto& [p, range] : ranges) total += static_cast<uint64_t>(range.end - range.begin);

  ExportStats stats;
  std::string line;
  if (options.csv) {
    for (std::size_t i = 0; i < csvColumns().size(); ++i) {
      if (i > 0) line += ',';
      line += csvColumns()[i];
    }
    line += "\r\n";
    out << line;
  }
  const auto& stop = stopRequested();
  const auto show = [&] {
    if (progress != nullptr)
      *progress << "\rread " << stats.read << " of " << total << " exported " << stats.exported
                << std::flush;
  };
  auto done = r.read(topic, std::move(ranges), [&](const rd_kafka_message_t* msg) {
    if (stop) return false;
    ++stats.read;
    const std::string_view value = kafka::payloadOf(msg);
    auto record = parse(value);
    if (!record) {
      ++stats.invalid;
    } else if (options.matches(*record)) {
      line.clear();
      if (options.csv) {
        appendCsvRow(*record, line);
      } else if (value.find_first_of("\r\n") == std::string_view::npos) {
        line.append(value);  // as on the topic: fields a newer writer added stay
        line += '\n';
      } else {
        encode(*record, line);  // one line whatever whitespace the writer used
        line += '\n';
      }
      out << line;
      ++stats.exported;
    }
    if (stats.read % kProgressEvery == 0) show();
    return true;
  });
  out.flush();
  if (progress != nullptr) {
    show();
    *progress << "\n";
  }
  if (!done) return std::unexpected(done.error());
  return stats;
}

int runCommand(const Config& config, const std::vector<std::string>& args) {
  if (args.empty() || args[0] != "export") {
    if (args.empty() || args[0] == "help" || args[0] == "--help") {
      std::cerr << kUsage;
      return 2;
    }
    return usageError("unknown subcommand '" + args[0] + "'");
  }
  auto options = parseExportArgs(std::vector<std::string>(args.begin() + 1, args.end()));
  if (!options) return usageError(options.error().message);
  std::ios::sync_with_stdio(false);
  auto stats =
      exportAttempts(config, *options, std::cout, isatty(STDERR_FILENO) ? &std::cerr : nullptr);
  if (!stats) {
    std::cerr << "hookpipe attempts export: " << stats.error().message << "\n";
    return 1;
  }
  if (stats->invalid > 0)
    std::cerr << "hookpipe attempts export: skipped " << stats->invalid
              << " records that are not attempt records\n";
  return 0;
}

}  // namespace hookpipe::attempts
