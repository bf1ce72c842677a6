#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/attempts/query.h"
#include "common/config/config.h"
#include "common/redis/redis.h"
#include "producer/http_util.h"

// The work behind /v1/…/deliveries and /v1/…/stats (docs/api.md): their query parameters,
// Redis connections for the HTTP threads, and threads for what takes long (exports, reading
// a payload back from Kafka). The reading itself is common/attempts (shared with the CLI).
namespace hookpipe::producer {

// GET …/deliveries?status=&event_type=&since=&until=&cursor=&limit= (and the export's
// status, event_type, since, until, format).
struct LogQuery {
  attempts::LogFilter filter;
  std::optional<attempts::Cursor> cursor;
  int limit = attempts::kDefaultLogLimit;
  std::string format;  // export only: "csv" or "ndjson"
};
// Every problem, each naming its parameter (none: `out` is filled in). `exporting`: the
// export's parameters (format required; no cursor or limit).
std::vector<Problem> parseLogQuery(const std::map<std::string, std::string>& query, bool exporting,
                                   LogQuery& out);

// GET …/stats?since=&until=&group_by=; since/until default to the 24 hours before `now_ms`.
std::vector<Problem> parseStatsQuery(const std::map<std::string, std::string>& query,
                                     int64_t now_ms, attempts::StatsQuery& out);

// Connections and threads for the delivery-log routes, one per process.
//
// Threads: lease() hands the calling HTTP thread a Redis connection of its own from a pool
// (redis::Client is single-threaded), returned when the lease ends; at most kMaxIdle are
// kept. submit() runs a job on a thread of its own, at most kMaxJobs at once (the caller
// answers 429 beyond); the destructor sets the stop flag the jobs watch and joins them.
class DeliveryLogService {
 public:
  static constexpr std::size_t kMaxIdle = 8;
  static constexpr std::size_t kMaxJobs = 4;

  explicit DeliveryLogService(const Config& config);
  ~DeliveryLogService();
  DeliveryLogService(const DeliveryLogService&) = delete;
  DeliveryLogService& operator=(const DeliveryLogService&) = delete;

  class Lease {
   public:
    Lease(DeliveryLogService& service, std::unique_ptr<redis::Client> client)
        : service_(service), client_(std::move(client)), query_(*client_, service.prefix()) {}
    ~Lease() { service_.giveBack(std::move(client_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    attempts::Query& query() { return query_; }

   private:
    DeliveryLogService& service_;
    std::unique_ptr<redis::Client> client_;
    attempts::Query query_;
  };
  Lease lease();

  // Runs `job` on a thread of its own; `stopping` turns true when the service is being
  // destroyed. False when kMaxJobs are running.
  bool submit(std::function<void(const std::atomic<bool>& stopping)> job);

  // The value of the record at topic/partition/offset (the body a delivery sent), or an
  // error saying why not (past the topic's retention, no such partition, broker away).
  Result<std::string> readPayload(const std::string& topic, int32_t partition,
                                  int64_t offset) const;

  const Config& config() const { return config_; }
  const std::string& prefix() const { return config_.topics.prefix; }

 private:
  void giveBack(std::unique_ptr<redis::Client> client);
  struct Job {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  Config config_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<std::unique_ptr<redis::Client>> idle_;  // guarded by mu_
  std::vector<Job> jobs_;                             // guarded by mu_
};

}  // namespace hookpipe::producer
