#include "common/attempts/json.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>

#include "common/dlq/query.h"

namespace hookpipe::attempts {
namespace bj = boost::json;
namespace {

bj::value timeOrNull(int64_t ms) {
  if (ms <= 0) return nullptr;
  return bj::value(formatTime(ms));
}

bj::value stringOrNull(const std::string& s) {
  if (s.empty()) return nullptr;
  return bj::value(s);
}

// Microseconds as milliseconds with three decimals.
double ms(double us) { return std::round(us) / 1000.0; }

double ratio(uint64_t part, uint64_t whole) {
  if (whole == 0) return 0;
  return std::round(static_cast<double>(part) * 10000.0 / static_cast<double>(whole)) / 10000.0;
}

bj::value statusCode(long status) {
  if (status <= 0) return nullptr;
  return bj::value(static_cast<int64_t>(status));
}

bj::object countsJson(const StatsCounts& c) {
  bj::object o;
  const uint64_t delivered = c.outcome("delivered");
  o["attempts"] = c.attempts;
  o["delivered"] = delivered;
  o["retried"] = c.outcome("retried");
  o["dead_lettered"] = c.outcome("dead_lettered");
  o["success_rate"] = ratio(delivered, c.attempts);
  o["retries"] = c.retries;
  return o;
}

}  // namespace

std::string formatTime(int64_t t) { return dlq::formatTimeMs(t); }

Result<int64_t> parseTime(std::string_view text) {
  auto v = dlq::parseTimeMs(text);
  if (!v) {
    // Appended, not operator+: g++ 12 sees a false -Wrestrict in "'" + std::string(...).
    std::string message = "'";
    message.append(text.substr(0, 64));
    message.append("' is not an RFC 3339 time or epoch milliseconds (");
    message.append(v.error().message);
    message.append(")");
    return fail(std::move(message));
  }
  if (*v < 0) return fail("times before 1970 are not kept");
  return *v;
}

bj::object toJson(const LogEntry& e) {
  bj::object o;
  o["id"] = e.delivery_id;
  o["subscription_id"] = e.subscription_id;
  o["event_id"] = e.event_id;
  o["event_type"] = e.event_type;
  o["status"] = statusName(e.status);
  o["response_status"] = statusCode(e.response_status);
  o["response_time_ms"] = ms(static_cast<double>(e.duration_us));
  o["attempts"] = e.attempts;
  o["replays"] = e.replays;
  o["first_attempt_at"] = timeOrNull(e.first_attempt_ms);
  o["last_attempt_at"] = timeOrNull(e.last_attempt_ms);
  o["error_class"] = stringOrNull(e.error_class);
  o["error_message"] = stringOrNull(e.error_message);
  o["next_attempt_at"] = timeOrNull(e.next_attempt_ms);
  return o;
}

std::string pageJson(const LogPage& page) {
  bj::object o;
  bj::array data;
  data.reserve(page.entries.size());
  for (const auto& e : page.entries) data.push_back(toJson(e));
  o["data"] = std::move(data);
  o["has_more"] = page.next_cursor.has_value();
  o["next_cursor"] = page.next_cursor ? bj::value(*page.next_cursor) : bj::value(nullptr);
  o["examined"] = page.examined;
  if (page.summary) {
    bj::object s;
    s["delivered"] = page.summary->delivered;
    s["failed"] = page.summary->failed();
    s["pending_retry"] = page.summary->pending_retry;
    s["dead_lettered"] = page.summary->dead_lettered;
    s["complete"] = page.summary->complete;
    o["summary"] = std::move(s);
  } else {
    o["summary"] = nullptr;
  }
  return bj::serialize(o);
}

bj::object toJson(const Record& a) {
  bj::object o;
  o["attempt"] = a.attempt;
  o["replay"] = a.replay;
  const auto status = statusOfOutcome(a.outcome);
  o["status"] = status ? bj::value(statusName(*status)) : bj::value(nullptr);
  o["outcome"] = a.outcome;
  o["reason"] = stringOrNull(a.reason);
  o["attempted"] = a.attempted;
  o["response_status"] = statusCode(a.status);
  o["response_time_ms"] = ms(static_cast<double>(a.duration_us));
  o["started_at"] = timeOrNull(a.started_ms);
  o["finished_at"] = timeOrNull(a.finished_ms);
  o["error_class"] = stringOrNull(a.error_class);
  o["error_message"] = stringOrNull(a.error_message);
  o["response_body"] = a.attempted ? bj::value(a.response_body) : bj::value(nullptr);
  o["request_bytes"] = a.request_bytes;
  o["response_bytes"] = a.response_bytes;
  o["next_attempt_at"] = timeOrNull(a.next_attempt_ms);
  if (a.payload_topic.empty()) {
    o["payload_location"] = nullptr;
  } else {
    bj::object p;
    p["topic"] = a.payload_topic;
    p["partition"] = a.payload_partition;
    p["offset"] = a.payload_offset;
    o["payload_location"] = std::move(p);
  }
  return o;
}

bj::object toJson(const DeliveryAttempts& d) {
  bj::object o;
  o["id"] = d.delivery_id;
  o["subscription_id"] = d.subscription_id;
  const Record& latest = d.attempts.back();
  o["event_id"] = latest.event_id;
  o["event_type"] = latest.event_type;
  const auto status = statusOfOutcome(latest.outcome);
  o["status"] = status ? bj::value(statusName(*status)) : bj::value(nullptr);
  bj::array attempts;
  for (const auto& a : d.attempts) attempts.push_back(toJson(a));
  o["attempts"] = std::move(attempts);
  return o;
}

bj::object latencyJson(const StatsCounts& c) {
  bj::object o;
  o["count"] = c.latency_count;
  auto q = [&](double p) -> bj::value {
    auto v = c.histogram.quantile(p, c.latency_min_us, c.latency_max_us);
    return v ? bj::value(ms(static_cast<double>(*v))) : bj::value(nullptr);
  };
  o["avg_ms"] = c.latency_count == 0 ? bj::value(nullptr)
                                     : bj::value(ms(static_cast<double>(c.latency_sum_us) /
                                                    static_cast<double>(c.latency_count)));
  o["min_ms"] =
      c.latency_min_us ? bj::value(ms(static_cast<double>(*c.latency_min_us))) : bj::value(nullptr);
  o["max_ms"] =
      c.latency_max_us ? bj::value(ms(static_cast<double>(*c.latency_max_us))) : bj::value(nullptr);
  o["p50_ms"] = q(0.50);
  o["p95_ms"] = q(0.95);
  o["p99_ms"] = q(0.99);
  o["relative_error"] = Histogram::kRelativeError;
  return o;
}

bj::object toJson(const StatsResult& s) {
  bj::object o;
  o["scope"] = s.query.scope;
  o["since"] = formatTime(s.query.since_ms);
  o["until"] = formatTime(s.query.until_ms);
  o["from"] = formatTime(s.from_ms);
  o["to"] = formatTime(s.to_ms);
  o["group_by"] = groupByName(s.query.group_by);

  bj::object summary = countsJson(s.total);
  summary["latency"] = latencyJson(s.total);
  o["summary"] = std::move(summary);

  std::vector<std::pair<std::string, uint64_t>> types(s.total.types.begin(), s.total.types.end());
  std::stable_sort(types.begin(), types.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  bj::array by_type;
  for (const auto& [type, n] : types) {
    bj::object t;
    auto it = s.total.types_delivered.find(type);
    const uint64_t delivered = it == s.total.types_delivered.end() ? 0 : it->second;
    t["event_type"] = type;
    t["attempts"] = n;
    t["delivered"] = delivered;
    t["success_rate"] = ratio(delivered, n);
    by_type.push_back(std::move(t));
  }
  o["by_event_type"] = std::move(by_type);

  bj::array series;
  for (const auto& p : s.series) {
    bj::object point = countsJson(p.counts);
    point["start"] = formatTime(p.start_ms);
    bj::object latency;
    latency["avg_ms"] = p.counts.latency_count == 0
                            ? bj::value(nullptr)
                            : bj::value(ms(static_cast<double>(p.counts.latency_sum_us) /
                                           static_cast<double>(p.counts.latency_count)));
    auto p95 = p.counts.histogram.quantile(0.95, p.counts.latency_min_us, p.counts.latency_max_us);
    latency["p95_ms"] = p95 ? bj::value(ms(static_cast<double>(*p95))) : bj::value(nullptr);
    point["latency"] = std::move(latency);
    series.push_back(std::move(point));
  }
  o["series"] = std::move(series);

  const uint64_t failed =
      s.total.attempts - std::min(s.total.attempts, s.total.outcome("delivered"));
  std::vector<std::pair<std::string, uint64_t>> errors(s.total.errors.begin(),
                                                       s.total.errors.end());
  std::stable_sort(errors.begin(), errors.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  bj::array errs;
  for (const auto& [cls, n] : errors) {
    bj::object e;
    e["error_class"] = cls;
    e["count"] = n;
    e["percent"] = ratio(n, failed) * 100.0;
    errs.push_back(std::move(e));
  }
  o["errors"] = std::move(errs);
  o["failed_attempts"] = failed;

  bj::object classes;
  for (const char* c : {"2xx", "3xx", "4xx", "5xx", "none"}) {
    auto it = s.total.status_classes.find(std::string_view(c));
    classes[c] = it == s.total.status_classes.end() ? 0 : it->second;
  }
  o["status_classes"] = std::move(classes);
  o["buckets_read"] = s.buckets_read;
  return o;
}

std::string csvField(std::string_view f) {
  if (f.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(f);
  std::string out = "\"";
  for (char c : f) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string csvHeader() {
  return "delivery_id,subscription_id,event_id,event_type,status,response_status,"
         "response_time_ms,attempts,first_attempt_at,last_attempt_at,error_class,"
         "error_message,next_attempt_at,replays\r\n";
}

std::string csvRow(const LogEntry& e) {
  auto time = [](int64_t t) { return t > 0 ? formatTime(t) : std::string(); };
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.3f", ms(static_cast<double>(e.duration_us)));
  std::string row;
  bool first = true;
  for (const std::string& f :
       {e.delivery_id, e.subscription_id, e.event_id, e.event_type,
        std::string(statusName(e.status)),
        e.response_status > 0 ? std::to_string(e.response_status) : std::string(),
        std::string(duration), std::to_string(e.attempts), time(e.first_attempt_ms),
        time(e.last_attempt_ms), e.error_class, e.error_message, time(e.next_attempt_ms),
        std::to_string(e.replays)}) {
    if (!first) row += ',';
    first = false;
    row += csvField(f);
  }
  row += "\r\n";
  return row;
}

}  // namespace hookpipe::attempts
