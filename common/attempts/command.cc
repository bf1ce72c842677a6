// `hookpipe deliveries` and `hookpipe stats`: argument parsing and output. The reading is
// query.h's and the JSON json.h's, shared with the API's routes.
#include "common/attempts/command.h"

#include <spdlog/fmt/fmt.h>

#include <boost/json.hpp>
#include <chrono>
#include <iostream>

#include "common/attempts/json.h"
#include "common/attempts/query.h"
#include "common/redis/redis.h"
#include "common/text/number.h"
#include "common/text/table.h"

namespace hookpipe::attempts {
namespace {

constexpr const char* kDeliveriesUsage =
    "usage: hookpipe deliveries <command>\n"
    "  list  --subscription ID [--status delivered|failed|pending_retry|dead_lettered]\n"
    "        [--event-type TYPE] [--since TIME] [--until TIME] [--limit 1..250]\n"
    "        [--cursor CURSOR] [--json]\n"
    "  show  DELIVERY_ID [--json]\n"
    "TIME: RFC 3339 or epoch milliseconds\n";
constexpr const char* kStatsUsage =
    "usage: hookpipe stats [--subscription ID | --tenant TENANT] [--since TIME] [--until TIME]\n"
    "                      [--group-by minute|hour|day|week|month] [--json]\n"
    "TIME: RFC 3339 or epoch milliseconds (default: the last 24 hours)\n";

int usageError(const char* usage, const std::string& message) {
  std::cerr << message << "\n" << usage;
  return 2;
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void printTable(const std::vector<std::vector<std::string>>& rows) {
  std::cout << text::formatTable(rows);
}

std::string timeOrDash(int64_t ms) { return ms > 0 ? formatTime(ms) : "-"; }
std::string msText(int64_t us) { return fmt::format("{:.1f}", static_cast<double>(us) / 1000.0); }

// Takes the value of flag args[i] (advancing i); an error message when there is none.
std::optional<std::string> value(const std::vector<std::string>& args, std::size_t& i) {
  if (i + 1 >= args.size() || args[i + 1].starts_with("--")) return std::nullopt;
  return args[++i];
}

int runList(const Config& config, const std::vector<std::string>& args) {
  std::string subscription;
  LogFilter filter;
  std::optional<Cursor> cursor;
  int limit = kDefaultLogLimit;
  bool json = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--json") {
      json = true;
      continue;
    }
    if (a != "--subscription" && a != "--status" && a != "--event-type" && a != "--since" &&
        a != "--until" && a != "--limit" && a != "--cursor")
      return usageError(kDeliveriesUsage, "deliveries list: unknown argument " + a);
    auto v = value(args, i);
    if (!v) return usageError(kDeliveriesUsage, "deliveries list: " + a + " needs a value");
    if (a == "--subscription") {
      subscription = *v;
    } else if (a == "--status") {
      auto s = parseStatusFilter(*v);
      if (!s)
        return usageError(kDeliveriesUsage,
                          "deliveries list: --status must be delivered, failed, pending_retry "
                          "or dead_lettered");
      filter.status = *s;
    } else if (a == "--event-type") {
      filter.event_type = *v;
    } else if (a == "--since" || a == "--until") {
      auto t = parseTime(*v);
      if (!t)
        return usageError(kDeliveriesUsage, "deliveries list: " + a + ": " + t.error().message);
      (a == "--since" ? filter.since_ms : filter.until_ms) = *t;
    } else if (a == "--limit") {
      auto n = text::parseInteger<int>(*v, 1, kMaxLogLimit);
      if (!n) return usageError(kDeliveriesUsage, "deliveries list: --limit must be 1..250");
      limit = *n;
    } else {
      cursor = decodeCursor(*v);
      if (!cursor)
        return usageError(kDeliveriesUsage,
                          "deliveries list: --cursor must be a cursor a listing printed");
    }
  }
  if (subscription.empty())
    return usageError(kDeliveriesUsage, "deliveries list: --subscription is required");
  if (filter.since_ms && filter.until_ms && *filter.since_ms > *filter.until_ms)
    return usageError(kDeliveriesUsage, "deliveries list: --since is after --until");
  redis::Client client(config.redis_host, config.redis_port, std::chrono::seconds(5));
  Query query(client, config.topics.prefix);
  auto page = query.listDeliveries(subscription, filter, cursor, limit);
  if (!page) {
    std::cerr << "deliveries list failed: " << page.error().message << "\n";
    return 1;
  }
  if (json) {
    std::cout << pageJson(*page) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"DELIVERY", "EVENT ID", "TYPE", "STATUS", "CODE",
                                                 "MS", "ATTEMPTS", "LAST ATTEMPT", "ERROR",
                                                 "NEXT RETRY"}};
  for (const auto& e : page->entries)
    rows.push_back({e.delivery_id, e.event_id, e.event_type, std::string(statusName(e.status)),
                    e.response_status > 0 ? std::to_string(e.response_status) : "-",
                    msText(e.duration_us),
                    // A replayed dead letter's attempts start again at 1: "2 (replay 1)".
                    e.replays > 0 ? fmt::format("{} (replay {})", e.attempts, e.replays)
                                  : std::to_string(e.attempts),
                    timeOrDash(e.last_attempt_ms), e.error_class.empty() ? "-" : e.error_class,
                    timeOrDash(e.next_attempt_ms)});
  printTable(rows);
  std::cout << page->entries.size() << " deliveries";
  if (page->summary)
    std::cout << fmt::format(
        " (in range: {} delivered, {} failed = {} pending retry + {} dead "
        "lettered{})",
        page->summary->delivered, page->summary->failed(), page->summary->pending_retry,
        page->summary->dead_lettered, page->summary->complete ? "" : ", newest 10000 counted");
  std::cout << "\n";
  if (page->next_cursor) std::cout << "more: --cursor " << *page->next_cursor << "\n";
  return 0;
}

int runShow(const Config& config, const std::vector<std::string>& args) {
  std::string id;
  bool json = false;
  for (const auto& a : args) {
    if (a == "--json")
      json = true;
    else if (a.starts_with("--") || !id.empty())
      return usageError(kDeliveriesUsage, "deliveries show: unexpected argument " + a);
    else
      id = a;
  }
  if (id.empty()) return usageError(kDeliveriesUsage, "deliveries show: give a delivery id");
  redis::Client client(config.redis_host, config.redis_port, std::chrono::seconds(5));
  Query query(client, config.topics.prefix);
  auto d = query.delivery(id);
  if (!d) {
    std::cerr << "deliveries show failed: " << d.error().message << "\n";
    return 1;
  }
  if (!*d) {
    std::cerr << "no delivery " << id << " in the log\n";
    return 1;
  }
  if (json) {
    std::cout << boost::json::serialize(toJson(**d)) << "\n";
    return 0;
  }
  const auto& latest = (*d)->attempts.back();
  auto status = statusOfOutcome(latest.outcome);
  std::cout << "delivery      " << (*d)->delivery_id << "\n"
            << "subscription  " << (*d)->subscription_id << "\n"
            << "event         " << latest.event_id << " (" << latest.event_type << ")\n"
            << "status        " << (status ? statusName(*status) : latest.outcome) << "\n\n";
  std::vector<std::vector<std::string>> rows = {
      {"#", "OUTCOME", "CODE", "MS", "STARTED", "ERROR", "MESSAGE", "NEXT RETRY"}};
  for (const auto& a : (*d)->attempts)
    rows.push_back({std::to_string(a.attempt), a.outcome,
                    a.status > 0 ? std::to_string(a.status) : "-", msText(a.duration_us),
                    timeOrDash(a.started_ms), a.error_class.empty() ? "-" : a.error_class,
                    a.error_message.empty() ? "-" : a.error_message.substr(0, 60),
                    timeOrDash(a.next_attempt_ms)});
  printTable(rows);
  return 0;
}

}  // namespace

int runDeliveriesCommand(const Config& config, const std::vector<std::string>& args) {
  if (args.empty()) return usageError(kDeliveriesUsage, "deliveries: give a command");
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "list") return runList(config, rest);
  if (args[0] == "show") return runShow(config, rest);
  return usageError(kDeliveriesUsage, "deliveries: unknown command " + args[0]);
}

int runStatsCommand(const Config& config, const std::vector<std::string>& args) {
  StatsQuery q;
  q.scope = Keys::allScope();
  std::optional<int64_t> since;
  std::optional<int64_t> until;
  bool json = false;
  bool scoped = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--json") {
      json = true;
      continue;
    }
    if (a != "--subscription" && a != "--tenant" && a != "--since" && a != "--until" &&
        a != "--group-by")
      return usageError(kStatsUsage, "stats: unknown argument " + a);
    auto v = value(args, i);
    if (!v) return usageError(kStatsUsage, "stats: " + a + " needs a value");
    if (a == "--subscription" || a == "--tenant") {
      if (scoped)
        return usageError(kStatsUsage, "stats: give --subscription or --tenant, not both");
      scoped = true;
      q.scope = a == "--subscription" ? Keys::subscriptionScope(*v) : Keys::tenantScope(*v);
    } else if (a == "--group-by") {
      auto g = parseGroupBy(*v);
      if (!g)
        return usageError(kStatsUsage,
                          "stats: --group-by must be minute, hour, day, week or month");
      q.group_by = *g;
    } else {
      auto t = parseTime(*v);
      if (!t) return usageError(kStatsUsage, "stats: " + a + ": " + t.error().message);
      (a == "--since" ? since : until) = *t;
    }
  }
  q.until_ms = until.value_or(nowMs());
  q.since_ms = since.value_or(q.until_ms - kDefaultStatsRangeMs);
  if (auto problems = checkStatsQuery(q); !problems.empty())
    return usageError(kStatsUsage, "stats: " + problems[0].message);
  redis::Client client(config.redis_host, config.redis_port, std::chrono::seconds(5));
  Query query(client, config.topics.prefix);
  auto stats = query.stats(q);
  if (!stats) {
    std::cerr << "stats failed: " << stats.error().message << "\n";
    return 1;
  }
  if (json) {
    std::cout << boost::json::serialize(toJson(*stats)) << "\n";
    return 0;
  }
  const auto& t = stats->total;
  const uint64_t delivered = t.outcome("delivered");
  std::cout << "scope " << q.scope << ", " << formatTime(stats->from_ms) << " .. "
            << formatTime(stats->to_ms) << " by " << groupByName(q.group_by) << "\n";
  std::cout << fmt::format(
      "attempts {}  delivered {}  retried {}  dead lettered {}  success {:.2f} %  retries {}\n",
      t.attempts, delivered, t.outcome("retried"), t.outcome("dead_lettered"),
      t.attempts == 0 ? 0.0
                      : 100.0 * static_cast<double>(delivered) / static_cast<double>(t.attempts),
      t.retries);
  if (t.latency_count > 0) {
    auto q50 = t.histogram.quantile(0.5, t.latency_min_us, t.latency_max_us);
    auto q95 = t.histogram.quantile(0.95, t.latency_min_us, t.latency_max_us);
    auto q99 = t.histogram.quantile(0.99, t.latency_min_us, t.latency_max_us);
    std::cout << fmt::format(
        "latency ms: avg {}  min {}  p50 {}  p95 {}  p99 {}  max {}  (within {:.1f} %)\n",
        msText(t.latency_sum_us / static_cast<int64_t>(t.latency_count)),
        msText(t.latency_min_us.value_or(0)), msText(q50.value_or(0)), msText(q95.value_or(0)),
        msText(q99.value_or(0)), msText(t.latency_max_us.value_or(0)),
        Histogram::kRelativeError * 100);
  }
  std::cout << "\n";
  std::vector<std::vector<std::string>> series = {
      {"START", "ATTEMPTS", "DELIVERED", "RETRIED", "DEAD LETTERED"}};
  for (const auto& p : stats->series)
    if (!p.counts.empty())
      series.push_back({formatTime(p.start_ms), std::to_string(p.counts.attempts),
                        std::to_string(p.counts.outcome("delivered")),
                        std::to_string(p.counts.outcome("retried")),
                        std::to_string(p.counts.outcome("dead_lettered"))});
  printTable(series);
  if (!t.types.empty()) {
    std::cout << "\n";
    std::vector<std::vector<std::string>> types = {{"EVENT TYPE", "ATTEMPTS", "DELIVERED"}};
    for (const auto& [type, n] : t.types) {
      auto it = t.types_delivered.find(type);
      types.push_back({type, std::to_string(n),
                       std::to_string(it == t.types_delivered.end() ? 0 : it->second)});
    }
    printTable(types);
  }
  if (!t.errors.empty()) {
    std::cout << "\n";
    std::vector<std::vector<std::string>> errors = {{"ERROR CLASS", "COUNT"}};
    for (const auto& [cls, n] : t.errors) errors.push_back({cls, std::to_string(n)});
    printTable(errors);
  }
  return 0;
}

}  // namespace hookpipe::attempts
