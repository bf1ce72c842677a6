// `hookpipe dlq list|show|stats|replay|purge`: argument parsing and output. The work is
// in the rest of common/dlq (shared with the API's /v1/dead-letters routes).
#include "common/dlq/command.h"

#include <spdlog/fmt/fmt.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <iostream>

#include "common/dlq/json.h"
#include "common/dlq/reader.h"
#include "common/dlq/replay.h"
#include "common/records/delivery.h"
#include "common/role/role.h"
#include "common/text/table.h"

namespace hookpipe::dlq {
namespace {

constexpr const char* kUsage =
    "usage: hookpipe dlq <command>\n"
    "  list   [--json] [FILTERS] [--max N] [--include-purged]\n"
    "  show   PARTITION:OFFSET [--json]\n"
    "  stats  [--json] [FILTERS] [--include-purged]\n"
    "  replay [FILTERS] [--max N] [--dry-run] [--rate N/s] [--to-subscription ID]\n"
    "         [--replay-id ID] [--max-replay-count N] [--no-progress]\n"
    "  purge  --until TIME|PARTITION:OFFSET [--dry-run]\n"
    "FILTERS: --subscription ID --event-type TYPE --error-class CLASS\n"
    "         --since TIME --until TIME   (TIME: RFC 3339, a date, or epoch ms)\n";

int usageError(const std::string& message) {
  std::cerr << "dlq: " << message << "\n" << kUsage;
  return 2;
}

struct Common {
  ScanOptions scan;
  bool json = false;
};

int runList(const Config& config, const Common& c) {
  std::vector<std::vector<std::string>> rows = {{"POSITION", "SUBSCRIPTION", "EVENT ID", "TYPE",
                                                 "ATTEMPTS", "STATUS", "ERROR CLASS", "REASON",
                                                 "DEAD-LETTERED AT"}};
  auto read = scanDeadLetters(config, c.scan, [&](const DeadLetter& d) {
    if (c.json) {
      std::cout << boost::json::serialize(toJson(d, false)) << "\n";
      return;
    }
    const auto meta = records::DeliveryMeta::fromHeaders(d.headers);
    rows.push_back({std::to_string(d.partition) + ":" + std::to_string(d.offset),
                    meta.subscription_id, meta.event_id, meta.event_type,
                    std::to_string(meta.attempt), std::to_string(meta.last_status),
                    meta.error_class, meta.dead_letter_reason, formatTimeMs(d.deadLetteredAtMs())});
  });
  if (!read) {
    std::cerr << "dlq list failed: " << read.error().message << "\n";
    return 1;
  }
  if (c.json) return 0;
  std::cout << text::formatTable(rows);
  std::cout << rows.size() - 1 << " dead letters\n";
  return 0;
}

int runShow(const Config& config, const std::vector<std::string>& args) {
  std::optional<std::pair<int32_t, int64_t>> position;
  bool json = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--json") {
      json = true;
      continue;
    }
    auto p = parsePartitionOffset(args[i]);
    if (!p || position) return usageError(p ? "show takes one position" : p.error().message);
    position = *p;
  }
  if (!position) return usageError("show needs PARTITION:OFFSET");
  auto d = readDeadLetter(config, position->first, position->second);
  if (!d) {
    std::cerr << "dlq show failed: " << d.error().message << "\n";
    return 1;
  }
  if (json) {
    std::cout << boost::json::serialize(toJson(*d, true)) << "\n";
    return 0;
  }
  std::cout << "position: " << d->partition << ":" << d->offset << "\n"
            << "timestamp: " << formatTimeMs(d->timestamp_ms) << "\n"
            << "key: " << d->key << "\n"
            << "headers:\n";
  for (const auto& [k, v] : d->headers) std::cout << "  " << k << ": " << v << "\n";
  std::cout << "body (" << d->value.size() << " bytes):\n" << d->value << "\n";
  return 0;
}

boost::json::object countsJson(const std::map<std::string, uint64_t>& counts) {
  boost::json::object o;
  for (const auto& [k, n] : counts) o[k.empty() ? "(none)" : k] = n;
  return o;
}

int runStats(const Config& config, const Common& c) {
  auto stats = deadLetterStats(config, c.scan);
  if (!stats) {
    std::cerr << "dlq stats failed: " << stats.error().message << "\n";
    return 1;
  }
  if (c.json) {
    boost::json::object o;
    o["total"] = stats->total;
    if (stats->total > 0) {
      o["oldest"] = formatTimeMs(stats->oldest_ms);
      o["newest"] = formatTimeMs(stats->newest_ms);
    }
    o["by_subscription"] = countsJson(stats->by_subscription);
    o["by_event_type"] = countsJson(stats->by_event_type);
    o["by_error_class"] = countsJson(stats->by_error_class);
    o["by_reason"] = countsJson(stats->by_reason);
    std::cout << boost::json::serialize(o) << "\n";
    return 0;
  }
  std::cout << "dead letters: " << stats->total << "\n";
  if (stats->total > 0)
    std::cout << "oldest: " << formatTimeMs(stats->oldest_ms)
              << "\nnewest: " << formatTimeMs(stats->newest_ms) << "\n";
  const auto section = [](const char* title, const std::map<std::string, uint64_t>& counts) {
    std::cout << title << ":\n";
    for (const auto& [k, n] : counts)
      std::cout << fmt::format("  {:<40} {}\n", k.empty() ? "(none)" : k, n);
  };
  section("by subscription", stats->by_subscription);
  section("by event type", stats->by_event_type);
  section("by error class", stats->by_error_class);
  section("by reason", stats->by_reason);
  return 0;
}

void printProgress(const ReplayProgress& p) {
  const double rate = p.elapsed_s > 0 ? static_cast<double>(p.scanned) / p.elapsed_s : 0;
  const std::string eta =
      rate > 0 ? fmt::format("{:.0f}s", static_cast<double>(p.remaining) / rate) : std::string("?");
  std::cout << fmt::format("\rscanned {} replayed {} left {} rate {:.0f}/s eta {}    ", p.scanned,
                           p.replayed, p.remaining, rate, eta)
            << std::flush;
}

int runReplay(const Config& config, const Common& c, ReplayOptions options, bool progress) {
  options.filter = c.scan.filter;
  options.max = c.scan.max;
  options.stop = c.scan.stop;
  if (progress && isatty(STDOUT_FILENO)) options.on_progress = printProgress;
  auto stats = replayDeadLetters(config, options);
  if (options.on_progress) std::cout << "\n";
  if (!stats) {
    std::cerr << "dlq replay failed: " << stats.error().message << "\n";
    return 1;
  }
  std::cout << (options.dry_run ? "would replay " : "replayed ") << stats->replayed << " of "
            << stats->scanned << " dead letters replay_id=" << stats->replay_id
            << (stats->resumed ? " (resumed)" : "")
            << (stats->stopped ? " (stopped: run the same command to go on)" : "");
  if (stats->refused > 0)
    std::cout << " refused=" << stats->refused << " (replayed " << options.max_replay_count
              << " times already)";
  std::cout << "\n";
  return 0;
}

int runPurge(const Config& config, const std::vector<std::string>& args) {
  PurgeTarget target;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--dry-run") {
      target.dry_run = true;
    } else if (args[i] == "--until" && i + 1 < args.size()) {
      const std::string& v = args[++i];
      if (v.find(':') != std::string::npos && v.find('T') == std::string::npos &&
          v.find('t') == std::string::npos && v.find(' ') == std::string::npos) {
        auto p = parsePartitionOffset(v);
        if (!p) return usageError(p.error().message);
        target.until_position = *p;
      } else {
        auto t = parseTimeMs(v);
        if (!t) return usageError("--until: " + t.error().message);
        target.until_ms = *t;
      }
    } else {
      return usageError("purge: unknown argument '" + args[i] + "'");
    }
  }
  if (!target.until_ms && !target.until_position) return usageError("purge needs --until");
  auto result = purgeDeadLetters(config, target);
  if (!result) {
    std::cerr << "dlq purge failed: " << result.error().message << "\n";
    return 1;
  }
  std::cout << (target.dry_run ? "would purge " : "purged ") << result->purged
            << " dead letters; floor";
  for (const auto& [p, offset] : result->floor) std::cout << " " << p << ":" << offset;
  std::cout << "\n";
  return 0;
}

}  // namespace

int runCommand(const Config& config, const std::vector<std::string>& args) {
  if (args.empty()) return usageError("missing command");
  const std::string& command = args[0];
  if (command == "show") {
    ensureTopicsOrThrow(config);
    return runShow(config, args);
  }
  if (command == "purge") {
    ensureTopicsOrThrow(config);
    return runPurge(config, args);
  }
  if (command != "list" && command != "stats" && command != "replay")
    return usageError("unknown command '" + command + "'");

  Common common;
  common.scan.stop = &stopRequested();
  ReplayOptions replay;
  bool progress = true;
  for (std::size_t i = 1; i < args.size(); ++i) {
    auto filter = parseQueryArg(args, i, common.scan.filter);
    if (!filter) return usageError(filter.error().message);
    if (*filter) continue;
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--json" && command != "replay") {
      common.json = true;
    } else if (a == "--include-purged" && command != "replay") {
      common.scan.include_purged = true;
    } else if (a == "--max" && command != "stats" && has_value) {
      auto n = parseCount(args[++i]);
      if (!n) return usageError("--max: " + n.error().message);
      common.scan.max = *n;
    } else if (command != "replay") {
      return usageError(command + ": unknown argument '" + a + "'");
    } else if (a == "--dry-run") {
      replay.dry_run = true;
    } else if (a == "--no-progress") {
      progress = false;
    } else if (a == "--rate" && has_value) {
      auto r = parseRate(args[++i]);
      if (!r) return usageError(r.error().message);
      replay.rate_per_s = *r;
    } else if (a == "--to-subscription" && has_value && !args[i + 1].empty()) {
      replay.to_subscription = args[++i];
    } else if (a == "--replay-id" && has_value && !args[i + 1].empty()) {
      replay.replay_id = args[++i];
    } else if (a == "--max-replay-count" && has_value) {
      auto n = parseCount(args[++i]);
      if (!n || *n > 1000) return usageError("--max-replay-count: expected 0..1000");
      replay.max_replay_count = static_cast<int>(*n);
    } else {
      return usageError("replay: unknown argument or missing value '" + a + "'");
    }
  }
  ensureTopicsOrThrow(config);
  if (command == "list") return runList(config, common);
  if (command == "stats") return runStats(config, common);
  return runReplay(config, common, std::move(replay), progress);
}

}  // namespace hookpipe::dlq
