#include "common/attempts/query.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "common/text/number.h"

namespace hookpipe::attempts {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kBase64Url[(acc >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += kBase64Url[(acc << (6 - bits)) & 0x3F];
  return out;
}

std::optional<std::string> base64UrlDecode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = c == '\0' ? nullptr : std::strchr(kBase64Url, c);
    if (p == nullptr) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(p - kBase64Url);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // Leftover bits must be zero padding (a canonical encoding only).
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string_view str(const redisReply* r) {
  return r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
             ? std::string_view(r->str, r->len)
             : std::string_view();
}

Result<void> checkReply(const redis::ReplyPtr& r) {
  if (!r) return fail("redis: no reply", true);
  if (r->type == REDIS_REPLY_ERROR) return fail("redis: " + std::string(r->str, r->len), true);
  return {};
}

std::string scoreArg(int64_t ms) { return std::to_string(ms); }

int64_t parseScore(std::string_view s) {
  if (auto v = text::parseInteger<int64_t>(s)) return *v;
  const std::string copy(s);
  return std::llround(std::strtod(copy.c_str(), nullptr));
}

int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

std::string_view statusName(Status status) {
  switch (status) {
    case Status::kDelivered:
      return "delivered";
    case Status::kPendingRetry:
      return "pending_retry";
    case Status::kDeadLettered:
      return "dead_lettered";
  }
  return "delivered";
}

std::optional<Status> statusOfOutcome(std::string_view outcome) {
  if (outcome == "delivered") return Status::kDelivered;
  if (outcome == "retried") return Status::kPendingRetry;
  if (outcome == "dead_lettered") return Status::kDeadLettered;
  return std::nullopt;
}

std::optional<StatusFilter> parseStatusFilter(std::string_view text) {
  if (text == "delivered") return StatusFilter::kDelivered;
  if (text == "failed") return StatusFilter::kFailed;
  if (text == "pending_retry") return StatusFilter::kPendingRetry;
  if (text == "dead_lettered") return StatusFilter::kDeadLettered;
  return std::nullopt;
}

bool matches(StatusFilter filter, Status status) {
  switch (filter) {
    case StatusFilter::kAny:
      return true;
    case StatusFilter::kDelivered:
      return status == Status::kDelivered;
    case StatusFilter::kFailed:
      return status != Status::kDelivered;
    case StatusFilter::kPendingRetry:
      return status == Status::kPendingRetry;
    case StatusFilter::kDeadLettered:
      return status == Status::kDeadLettered;
  }
  return false;
}

std::string encodeCursor(const Cursor& cursor) {
  return base64UrlEncode(std::to_string(cursor.score_ms) + ":" + cursor.delivery_id);
}

std::optional<Cursor> decodeCursor(std::string_view text) {
  if (text.empty() || text.size() > 1024) return std::nullopt;
  auto raw = base64UrlDecode(text);
  if (!raw) return std::nullopt;
  const auto colon = raw->find(':');
  if (colon == std::string::npos || colon + 1 == raw->size()) return std::nullopt;
  auto score = text::parseInteger<int64_t>(std::string_view(*raw).substr(0, colon), 0,
                                           std::numeric_limits<int64_t>::max());
  // Only the canonical form this encodes ("007" is not 7 here): one cursor, one text.
  if (!score || std::to_string(*score) != std::string_view(*raw).substr(0, colon))
    return std::nullopt;
  return Cursor{*score, raw->substr(colon + 1)};
}

std::optional<GroupBy> parseGroupBy(std::string_view text) {
  if (text == "minute") return GroupBy::kMinute;
  if (text == "hour") return GroupBy::kHour;
  if (text == "day") return GroupBy::kDay;
  if (text == "week") return GroupBy::kWeek;
  if (text == "month") return GroupBy::kMonth;
  return std::nullopt;
}

std::string_view groupByName(GroupBy g) {
  switch (g) {
    case GroupBy::kMinute:
      return "minute";
    case GroupBy::kHour:
      return "hour";
    case GroupBy::kDay:
      return "day";
    case GroupBy::kWeek:
      return "week";
    case GroupBy::kMonth:
      return "month";
  }
  return "hour";
}

Granularity granularityOf(GroupBy g) {
  switch (g) {
    case GroupBy::kMinute:
      return Granularity::kMinute;
    case GroupBy::kHour:
      return Granularity::kHour;
    default:
      return Granularity::kDay;
  }
}

int64_t groupStart(GroupBy g, int64_t ms) {
  switch (g) {
    case GroupBy::kMinute:
      return floorDiv(ms, 60'000) * 60'000;
    case GroupBy::kHour:
      return floorDiv(ms, 3'600'000) * 3'600'000;
    case GroupBy::kDay:
      return floorDiv(ms, kDayMs) * kDayMs;
    case GroupBy::kWeek: {
      // 1970-01-01 was a Thursday: day d is a Monday when (d + 3) % 7 == 0.
      const int64_t day = floorDiv(ms, kDayMs);
      return (day - (((day + 3) % 7) + 7) % 7) * kDayMs;
    }
    case GroupBy::kMonth: {
      using namespace std::chrono;
      const sys_days day{days(floorDiv(ms, kDayMs))};
      const year_month_day ymd{day};
      const sys_days first{ymd.year() / ymd.month() / 1};
      return static_cast<int64_t>(first.time_since_epoch().count()) * kDayMs;
    }
  }
  return ms;
}

int64_t nextGroupStart(GroupBy g, int64_t start_ms) {
  switch (g) {
    case GroupBy::kMinute:
      return start_ms + 60'000;
    case GroupBy::kHour:
      return start_ms + 3'600'000;
    case GroupBy::kDay:
      return start_ms + kDayMs;
    case GroupBy::kWeek:
      return start_ms + 7 * kDayMs;
    case GroupBy::kMonth: {
      using namespace std::chrono;
      const sys_days day{days(floorDiv(start_ms, kDayMs))};
      const year_month_day ymd{day};
      const sys_days next{(ymd.year() / ymd.month() / 1) + months(1)};
      return static_cast<int64_t>(next.time_since_epoch().count()) * kDayMs;
    }
  }
  return start_ms + kDayMs;
}

int64_t maxRangeMs(GroupBy g) {
  switch (g) {
    case GroupBy::kMinute:
      return kDayMs;  // 1,440 minute buckets
    case GroupBy::kHour:
      return 90 * kDayMs;  // 2,160 hour buckets
    default:
      return std::chrono::duration_cast<std::chrono::milliseconds>(kDayBucketsKept).count();
  }
}

void StatsCounts::addField(std::string_view field, std::string_view value,
                           StatsCounts* breakdowns) {
  const auto v = text::parseInteger<int64_t>(value);
  if (!v) return;
  const uint64_t u = *v > 0 ? static_cast<uint64_t>(*v) : 0;
  auto bump = [u](auto& map, std::string_view key) {
    auto it = map.find(key);
    if (it == map.end())
      map.emplace(std::string(key), u);
    else
      it->second += u;
  };
  if (field.starts_with("h:")) {  // the most frequent: ~20 a bucket
    if (auto b = text::parseInteger<int>(field.substr(2)); b && *b >= 0) histogram.add(*b, u);
  } else if (field == "n") {
    attempts += u;
  } else if (field == "r") {
    retries += u;
  } else if (field == "ln") {
    latency_count += u;
  } else if (field == "ls") {
    latency_sum_us += *v;
  } else if (field == "lmin") {
    latency_min_us = latency_min_us ? std::min(*latency_min_us, *v) : *v;
  } else if (field == "lmax") {
    latency_max_us = latency_max_us ? std::max(*latency_max_us, *v) : *v;
  } else if (field.starts_with("o:")) {
    bump(outcomes, field.substr(2));
  } else if (field.starts_with("sc:")) {
    bump(breakdowns ? breakdowns->status_classes : status_classes, field.substr(3));
  } else if (field.starts_with("e:")) {
    bump(breakdowns ? breakdowns->errors : errors, field.substr(2));
  } else if (field.starts_with("td:")) {
    bump(breakdowns ? breakdowns->types_delivered : types_delivered, field.substr(3));
  } else if (field.starts_with("t:")) {
    bump(breakdowns ? breakdowns->types : types, field.substr(2));
  }
}

void StatsCounts::merge(const StatsCounts& o) {
  attempts += o.attempts;
  retries += o.retries;
  auto add = [](auto& into, const auto& from) {
    for (const auto& [k, v] : from) into[k] += v;
  };
  add(outcomes, o.outcomes);
  add(status_classes, o.status_classes);
  add(errors, o.errors);
  add(types, o.types);
  add(types_delivered, o.types_delivered);
  latency_count += o.latency_count;
  latency_sum_us += o.latency_sum_us;
  if (o.latency_min_us)
    latency_min_us =
        latency_min_us ? std::min(*latency_min_us, *o.latency_min_us) : *o.latency_min_us;
  if (o.latency_max_us)
    latency_max_us =
        latency_max_us ? std::max(*latency_max_us, *o.latency_max_us) : *o.latency_max_us;
  histogram.merge(o.histogram);
}

uint64_t StatsCounts::outcome(std::string_view name) const {
  auto it = outcomes.find(name);
  return it == outcomes.end() ? 0 : it->second;
}

std::vector<Problem> checkStatsQuery(const StatsQuery& q) {
  std::vector<Problem> problems;
  if (q.since_ms < 0) problems.push_back({"since", "since must not be before 1970"});
  if (q.since_ms > q.until_ms) {
    problems.push_back({"since", "since is after until"});
  } else if (q.until_ms - q.since_ms > maxRangeMs(q.group_by)) {
    const int64_t days = maxRangeMs(q.group_by) / kDayMs;
    problems.push_back(
        {"group_by", "the range is too long for group_by=" + std::string(groupByName(q.group_by)) +
                         " (at most " + std::to_string(days) + (days == 1 ? " day" : " days") +
                         "): narrow since/until or group by a coarser unit"});
  }
  return problems;
}

Result<bool> Query::hasLog(std::string_view subscription_id) {
  auto r = client_.pipeline({{"EXISTS", keys_.subscriptionLog(subscription_id)}});
  if (!r) return std::unexpected(r.error());
  if (auto ok = checkReply((*r)[0]); !ok) return std::unexpected(ok.error());
  return (*r)[0]->type == REDIS_REPLY_INTEGER && (*r)[0]->integer > 0;
}

Result<std::vector<std::string>> Query::subscriptionsWithLog() {
  auto r = client_.pipeline({{"ZRANGE", keys_.subscriptions(), "0", "-1"}});
  if (!r) return std::unexpected(r.error());
  if (auto ok = checkReply((*r)[0]); !ok) return std::unexpected(ok.error());
  std::vector<std::string> ids;
  const redisReply* a = (*r)[0].get();
  if (a->type == REDIS_REPLY_ARRAY)
    for (std::size_t i = 0; i < a->elements; ++i) ids.emplace_back(str(a->element[i]));
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<std::vector<std::optional<LogEntry>>> Query::entries(const std::vector<std::string>& ids) {
  std::vector<std::optional<LogEntry>> out(ids.size());
  if (ids.empty()) return out;
  std::vector<std::vector<std::string>> latest_fields;
  latest_fields.reserve(ids.size());
  for (const auto& id : ids)
    latest_fields.push_back({"HGET", keys_.delivery(id), std::string(Keys::kLatestField)});
  auto lr = client_.pipeline(latest_fields);
  if (!lr) return std::unexpected(lr.error());
  // Only the latest attempt of each (what a filter and a summary need); the first one's
  // start is filled in for the entries a page keeps (firstAttempts()).
  std::vector<std::vector<std::string>> gets;
  std::vector<std::size_t> which;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (auto ok = checkReply((*lr)[i]); !ok) return std::unexpected(ok.error());
    if ((*lr)[i]->type == REDIS_REPLY_STRING) {
      gets.push_back({"HGET", keys_.delivery(ids[i]), std::string(str((*lr)[i].get()))});
    } else {
      // Expired, or indexed before the hash named its latest: HLEN tells which.
      gets.push_back({"HLEN", keys_.delivery(ids[i])});
    }
    which.push_back(i);
  }
  if (gets.empty()) return out;
  auto gr = client_.pipeline(gets);
  if (!gr) return std::unexpected(gr.error());
  for (std::size_t k = 0; k < which.size(); ++k) {
    if (auto ok = checkReply((*gr)[k]); !ok) return std::unexpected(ok.error());
    Result<Record> latest = fail("missing");
    if ((*gr)[k]->type == REDIS_REPLY_STRING) {
      latest = parse(str((*gr)[k].get()));
    } else if ((*gr)[k]->type == REDIS_REPLY_INTEGER && (*gr)[k]->integer > 1) {
      // Written before the index named the latest: read them all.
      auto all = delivery(ids[which[k]]);
      if (all && *all && !(*all)->attempts.empty()) latest = (*all)->attempts.back();
    }
    if (!latest) continue;
    auto status = statusOfOutcome(latest->outcome);
    if (!status) continue;
    LogEntry e;
    e.delivery_id = ids[which[k]];
    e.subscription_id = std::move(latest->subscription_id);
    e.event_id = std::move(latest->event_id);
    e.event_type = std::move(latest->event_type);
    e.status = *status;
    e.response_status = latest->status;
    e.duration_us = latest->duration_us;
    e.attempts = latest->attempt;
    e.replays = latest->replay;
    e.first_attempt_ms = latest->started_ms;  // the first one's when attempts == 1
    e.last_attempt_ms = latest->finished_ms;
    e.error_class = std::move(latest->error_class);
    e.error_message = std::move(latest->error_message);
    e.next_attempt_ms = e.status == Status::kPendingRetry ? latest->next_attempt_ms : 0;
    out[which[k]] = std::move(e);
  }
  return out;
}

Result<void> Query::firstAttempts(std::vector<LogEntry>& entries) {
  std::vector<std::vector<std::string>> gets;
  std::vector<LogEntry*> which;
  for (auto& e : entries) {
    if (e.attempts <= 1 && e.replays == 0) continue;
    // "a1" is Keys::attemptField(1) (which g++ 12 flags with a false -Wrestrict when inlined
    // with a constant).
    gets.push_back({"HGET", keys_.delivery(e.delivery_id), "a1"});
    which.push_back(&e);
  }
  if (gets.empty()) return {};
  auto r = client_.pipeline(gets);
  if (!r) return std::unexpected(r.error());
  for (std::size_t k = 0; k < which.size(); ++k) {
    if (auto ok = checkReply((*r)[k]); !ok) return std::unexpected(ok.error());
    if ((*r)[k]->type != REDIS_REPLY_STRING) continue;  // lost: the latest's start stays
    if (auto first = parse(str((*r)[k].get()))) which[k]->first_attempt_ms = first->started_ms;
  }
  return {};
}

Result<LogPage> Query::listDeliveries(std::string_view subscription_id, const LogFilter& filter,
                                      const std::optional<Cursor>& cursor, int limit,
                                      bool with_summary) {
  limit = std::clamp(limit, 1, kMaxLogLimit);
  const std::string key = keys_.subscriptionLog(subscription_id);
  int64_t max = filter.until_ms.value_or(std::numeric_limits<int64_t>::max());
  if (cursor) max = std::min(max, cursor->score_ms);
  const std::string max_arg =
      max == std::numeric_limits<int64_t>::max() ? std::string("+inf") : scoreArg(max);
  const std::string min_arg = filter.since_ms ? scoreArg(*filter.since_ms) : std::string("-inf");
  const bool filtered = filter.status != StatusFilter::kAny || !filter.event_type.empty();
  // Unfiltered, a page needs little more than `limit` members (some may have expired).
  const std::size_t batch = filtered ? 500 : static_cast<std::size_t>(limit) + 10;

  LogPage page;
  std::size_t offset = 0;
  std::optional<Cursor> last;  // the last examined
  bool more = true;
  while (more && page.entries.size() < static_cast<std::size_t>(limit)) {
    if (page.examined >= kMaxExaminedPerPage) break;
    auto r = client_.pipeline({{"ZREVRANGEBYSCORE", key, max_arg, min_arg, "WITHSCORES", "LIMIT",
                                std::to_string(offset), std::to_string(batch)}});
    if (!r) return std::unexpected(r.error());
    if (auto ok = checkReply((*r)[0]); !ok) return std::unexpected(ok.error());
    const redisReply* a = (*r)[0].get();
    const std::size_t n = a->type == REDIS_REPLY_ARRAY ? a->elements / 2 : 0;
    offset += n;
    more = n == batch;
    std::vector<std::string> ids;
    std::vector<int64_t> scores;
    for (std::size_t i = 0; i < n; ++i) {
      std::string id(str(a->element[2 * i]));
      const int64_t score = parseScore(str(a->element[2 * i + 1]));
      // Members at the cursor's score sort by id descending: those not after it were seen.
      if (cursor && score == cursor->score_ms && id >= cursor->delivery_id) continue;
      ids.push_back(std::move(id));
      scores.push_back(score);
    }
    auto got = entries(ids);
    if (!got) return std::unexpected(got.error());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (page.examined >= kMaxExaminedPerPage ||
          page.entries.size() >= static_cast<std::size_t>(limit)) {
        more = true;
        break;
      }
      ++page.examined;
      last = Cursor{scores[i], ids[i]};
      auto& e = (*got)[i];
      if (!e) continue;
      if (!matches(filter.status, e->status)) continue;
      if (!filter.event_type.empty() && e->event_type != filter.event_type) continue;
      page.entries.push_back(std::move(*e));
    }
  }
  if (more && last) page.next_cursor = encodeCursor(*last);
  if (auto firsts = firstAttempts(page.entries); !firsts) return std::unexpected(firsts.error());
  if (with_summary && !cursor) {
    auto summary = summarize(subscription_id, filter);
    if (!summary) return std::unexpected(summary.error());
    page.summary = *summary;
  }
  return page;
}

Result<LogSummary> Query::summarize(std::string_view subscription_id, const LogFilter& filter) {
  const std::string max_arg = filter.until_ms ? scoreArg(*filter.until_ms) : std::string("+inf");
  const std::string min_arg = filter.since_ms ? scoreArg(*filter.since_ms) : std::string("-inf");
  auto r = client_.pipeline({{"ZREVRANGEBYSCORE", keys_.subscriptionLog(subscription_id), max_arg,
                              min_arg, "LIMIT", "0", std::to_string(kMaxSummarized + 1)}});
  if (!r) return std::unexpected(r.error());
  if (auto ok = checkReply((*r)[0]); !ok) return std::unexpected(ok.error());
  const redisReply* a = (*r)[0].get();
  LogSummary s;
  std::vector<std::string> ids;
  if (a->type == REDIS_REPLY_ARRAY)
    for (std::size_t i = 0; i < a->elements; ++i) ids.emplace_back(str(a->element[i]));
  if (ids.size() > kMaxSummarized) {
    ids.resize(kMaxSummarized);
    s.complete = false;
  }
  auto got = entries(ids);
  if (!got) return std::unexpected(got.error());
  for (const auto& e : *got) {
    if (!e || (!filter.event_type.empty() && e->event_type != filter.event_type)) continue;
    switch (e->status) {
      case Status::kDelivered:
        ++s.delivered;
        break;
      case Status::kPendingRetry:
        ++s.pending_retry;
        break;
      case Status::kDeadLettered:
        ++s.dead_lettered;
        break;
    }
  }
  return s;
}

Result<std::optional<DeliveryAttempts>> Query::delivery(std::string_view delivery_id) {
  auto r = client_.pipeline({{"HGETALL", keys_.delivery(delivery_id)}});
  if (!r) return std::unexpected(r.error());
  if (auto ok = checkReply((*r)[0]); !ok) return std::unexpected(ok.error());
  const redisReply* a = (*r)[0].get();
  if (a->type != REDIS_REPLY_ARRAY || a->elements == 0) return std::nullopt;
  DeliveryAttempts d;
  d.delivery_id = std::string(delivery_id);
  for (std::size_t i = 0; i + 1 < a->elements; i += 2) {
    const auto field = str(a->element[i]);
    const auto value = str(a->element[i + 1]);
    if (field == "s") {
      d.subscription_id = std::string(value);
    } else if (Keys::isAttemptField(field)) {
      if (auto rec = parse(value)) d.attempts.push_back(std::move(*rec));
    }
  }
  if (d.attempts.empty()) return std::nullopt;
  std::sort(d.attempts.begin(), d.attempts.end(), [](const Record& x, const Record& y) {
    return std::pair(x.replay, x.attempt) < std::pair(y.replay, y.attempt);
  });
  if (d.subscription_id.empty()) d.subscription_id = d.attempts.front().subscription_id;
  return d;
}

Result<StatsResult> Query::stats(const StatsQuery& q) {
  if (auto problems = checkStatsQuery(q); !problems.empty()) return failWith(std::move(problems));
  StatsResult out;
  out.query = q;
  out.from_ms = groupStart(q.group_by, q.since_ms);
  out.to_ms =
      nextGroupStart(q.group_by, groupStart(q.group_by, std::max(q.until_ms - 1, q.since_ms)));
  for (int64_t t = out.from_ms; t < out.to_ms; t = nextGroupStart(q.group_by, t))
    out.series.push_back({t, {}});
  const Granularity g = granularityOf(q.group_by);
  const int64_t step = bucketSeconds(g) * 1000;
  std::vector<std::vector<std::string>> commands;
  std::vector<std::size_t> point_of;
  std::size_t p = 0;
  for (int64_t t = out.from_ms; t < out.to_ms; t += step) {
    while (p + 1 < out.series.size() && out.series[p + 1].start_ms <= t) ++p;
    commands.push_back({"HGETALL", keys_.stats(q.scope, g, t / 1000)});
    point_of.push_back(p);
  }
  auto r = client_.pipeline(commands);
  if (!r) return std::unexpected(r.error());
  out.buckets_read = commands.size();
  for (std::size_t i = 0; i < r->size(); ++i) {
    if (auto ok = checkReply((*r)[i]); !ok) return std::unexpected(ok.error());
    const redisReply* a = (*r)[i].get();
    if (a->type != REDIS_REPLY_ARRAY) continue;
    auto& counts = out.series[point_of[i]].counts;
    for (std::size_t k = 0; k + 1 < a->elements; k += 2)
      counts.addField(str(a->element[k]), str(a->element[k + 1]), &out.total);
  }
  for (const auto& point : out.series) out.total.merge(point.counts);
  return out;
}

}  // namespace hookpipe::attempts
