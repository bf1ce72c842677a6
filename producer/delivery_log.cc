#include "producer/delivery_log.h"

#include "common/attempts/json.h"
#include "common/kafka/kafka.h"
#include "common/kafka/reader.h"
#include "common/text/number.h"

namespace hookpipe::producer {
namespace {

constexpr auto kPayloadTimeout = std::chrono::seconds(5);

void timeParameter(const std::string& key, const std::string& value, std::optional<int64_t>& out,
                   std::vector<Problem>& problems) {
  auto t = attempts::parseTime(value);
  if (!t)
    problems.push_back({key, key + ": " + t.error().message});
  else
    out = *t;
}

}  // namespace

std::vector<Problem> parseLogQuery(const std::map<std::string, std::string>& query, bool exporting,
                                   LogQuery& out) {
  std::vector<Problem> problems;
  bool has_format = false;
  for (const auto& [k, v] : query) {
    if (k == "status") {
      auto s = attempts::parseStatusFilter(v);
      if (!s)
        problems.push_back(
            {k, "status must be delivered, failed, pending_retry or dead_lettered, not '" +
                    v.substr(0, 64) + "'"});
      else
        out.filter.status = *s;
    } else if (k == "event_type") {
      if (v.empty())
        problems.push_back({k, "event_type must not be empty"});
      else
        out.filter.event_type = v;
    } else if (k == "since") {
      timeParameter(k, v, out.filter.since_ms, problems);
    } else if (k == "until") {
      timeParameter(k, v, out.filter.until_ms, problems);
    } else if (k == "cursor" && !exporting) {
      out.cursor = attempts::decodeCursor(v);
      if (!out.cursor) problems.push_back({k, "cursor must be a next_cursor this route returned"});
    } else if (k == "limit" && !exporting) {
      auto n = text::parseInteger<int>(v, 1, attempts::kMaxLogLimit);
      if (!n)
        problems.push_back(
            {k, "limit must be an integer 1.." + std::to_string(attempts::kMaxLogLimit)});
      else
        out.limit = *n;
    } else if (k == "format" && exporting) {
      has_format = true;
      if (v != "csv" && v != "ndjson")
        problems.push_back({k, "format must be csv or ndjson"});
      else
        out.format = v;
    } else {
      problems.push_back(
          {k, "unknown parameter " + k.substr(0, 64) +
                  (exporting ? " (expected format, status, event_type, since, until)"
                             : " (expected status, event_type, since, until, cursor, limit)")});
    }
  }
  if (exporting && !has_format) problems.push_back({"format", "format is required: csv or ndjson"});
  if (out.filter.since_ms && out.filter.until_ms && *out.filter.since_ms > *out.filter.until_ms)
    problems.push_back({"since", "since is after until"});
  return problems;
}

std::vector<Problem> parseStatsQuery(const std::map<std::string, std::string>& query,
                                     int64_t now_ms, attempts::StatsQuery& out) {
  std::vector<Problem> problems;
  std::optional<int64_t> since;
  std::optional<int64_t> until;
  for (const auto& [k, v] : query) {
    if (k == "since") {
      timeParameter(k, v, since, problems);
    } else if (k == "until") {
      timeParameter(k, v, until, problems);
    } else if (k == "group_by") {
      auto g = attempts::parseGroupBy(v);
      if (!g)
        problems.push_back({k, "group_by must be minute, hour, day, week or month"});
      else
        out.group_by = *g;
    } else {
      problems.push_back(
          {k, "unknown parameter " + k.substr(0, 64) + " (expected since, until, group_by)"});
    }
  }
  if (!problems.empty()) return problems;
  out.until_ms = until.value_or(now_ms);
  out.since_ms =
      since.value_or(std::max<int64_t>(0, out.until_ms - attempts::kDefaultStatsRangeMs));
  return attempts::checkStatsQuery(out);
}

DeliveryLogService::DeliveryLogService(const Config& config) : config_(config) {}

DeliveryLogService::~DeliveryLogService() {
  stopping_ = true;
  std::vector<Job> jobs;
  {
    std::lock_guard lock(mu_);
    jobs.swap(jobs_);
  }
  for (auto& j : jobs)
    if (j.thread.joinable()) j.thread.join();
}

DeliveryLogService::Lease DeliveryLogService::lease() {
  std::unique_ptr<redis::Client> client;
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      client = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!client)
    client = std::make_unique<redis::Client>(config_.redis_host, config_.redis_port,
                                             std::chrono::milliseconds(2000));
  return Lease(*this, std::move(client));
}

void DeliveryLogService::giveBack(std::unique_ptr<redis::Client> client) {
  std::lock_guard lock(mu_);
  if (idle_.size() < kMaxIdle) idle_.push_back(std::move(client));
}

bool DeliveryLogService::submit(std::function<void(const std::atomic<bool>& stopping)> job) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  // Join the jobs that are done.
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (it->done->load()) {
      it->thread.join();
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
  if (jobs_.size() >= kMaxJobs) return false;
  auto done = std::make_shared<std::atomic<bool>>(false);
  jobs_.push_back({std::thread([this, job = std::move(job), done] {
                     job(stopping_);
                     *done = true;
                   }),
                   done});
  return true;
}

Result<std::string> DeliveryLogService::readPayload(const std::string& topic, int32_t partition,
                                                    int64_t offset) const {
  auto reader = kafka::Reader::open(config_, config_.groupId("log-payload"));
  if (!reader) return std::unexpected(reader.error());
  auto partitions = (*reader)->partitionCount(topic, kPayloadTimeout);
  if (!partitions) return std::unexpected(partitions.error());
  if (partition < 0 || partition >= *partitions)
    return fail(topic + " has no partition " + std::to_string(partition));
  auto marks = (*reader)->watermarks(topic, partition, kPayloadTimeout);
  if (!marks) return std::unexpected(marks.error());
  if (offset < marks->first)
    return fail("the record is past " + topic + "'s retention (partition " +
                std::to_string(partition) + " starts at offset " + std::to_string(marks->first) +
                ")");
  if (offset >= marks->second)
    return fail("no record at " + topic + " " + std::to_string(partition) + ":" +
                std::to_string(offset));
  std::optional<std::string> found;
  kafka::Reader::ReadOptions options;
  options.deadline = std::chrono::steady_clock::now() + kPayloadTimeout;
  options.stall_timeout = kPayloadTimeout;
  auto done = (*reader)->read(
      topic, {{partition, {offset, offset + 1}}},
      [&](const rd_kafka_message_t* msg) {
        if (msg->offset == offset) found = std::string(kafka::payloadOf(msg));
        return !found;
      },
      options);
  if (!done) return std::unexpected(done.error());
  if (!found)
    return fail("no record at " + topic + " " + std::to_string(partition) + ":" +
                std::to_string(offset) + " (compacted or a transaction marker)");
  return *found;
}

}  // namespace hookpipe::producer
