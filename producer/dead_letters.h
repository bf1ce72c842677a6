#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/config/config.h"
#include "common/dlq/reader.h"
#include "common/dlq/replay.h"
#include "producer/http_util.h"

// The work behind /v1/dead-letters (docs/api.md). The reading and replaying itself is
// common/dlq, shared with `hookpipe dlq`; this file parses the API's parameters and runs
// that work off the HTTP threads.
namespace hookpipe::producer {

inline constexpr std::size_t kDefaultDeadLetterLimit = 100;
inline constexpr std::size_t kMaxDeadLetterLimit = 1000;
// A listing page stops after reading this many records even if it is not full (a
// narrow filter over a long topic); next_cursor then goes on from there.
inline constexpr uint64_t kMaxScannedPerPage = 100'000;

// GET /v1/dead-letters?subscription_id=&event_type=&error_class=&since=&until=&limit=
// &cursor=&include_body=
struct DeadLetterQuery {
  dlq::DlqQuery filter;
  std::size_t limit = kDefaultDeadLetterLimit;
  dlq::Positions cursor;
  bool include_body = false;
};
// Every problem with the query parameters (none: `out` is filled in).
std::vector<Problem> parseDeadLetterQuery(const std::map<std::string, std::string>& query,
                                          DeadLetterQuery& out);

// POST /v1/dead-letters/replay: the filters (as in the query, `since`/`until` also as
// epoch ms numbers), `dry_run`, `max`, `to_subscription`, `rate_per_s`,
// `max_replay_count`, `replay_id`. Every problem, with JSON pointers (none: `out` is
// filled in; its replay_id is the given one or the derived default).
std::vector<Problem> parseReplayRequest(std::string_view body, dlq::ReplayOptions& out);

// Runs dead-letter listings and replays for the API, off the HTTP threads.
//
// Threads: one listing thread serves listings in arrival order (at most
// kMaxQueuedListings wait; more are refused so the caller can answer 429); one replay
// runs at a time per process, on a thread of its own. Replay statuses are kept in memory
// (the last kKeptReplays), so GET …/replays/{id} answers on the instance that started
// the replay; the replay's progress itself is durable in its consumer group, and POSTing
// the same replay again resumes it. Destruction stops a running replay (progress is
// committed) and joins both threads.
class DeadLetterService {
 public:
  static constexpr std::size_t kMaxQueuedListings = 8;
  static constexpr std::size_t kKeptReplays = 100;

  explicit DeadLetterService(const Config& config);
  ~DeadLetterService();
  DeadLetterService(const DeadLetterService&) = delete;
  DeadLetterService& operator=(const DeadLetterService&) = delete;

  // Queues `job` for the listing thread; false when kMaxQueuedListings are waiting.
  bool submitListing(std::function<void()> job);
  // Runs a listing page (call on the listing thread): the answer's JSON body.
  Result<std::string> listPage(const DeadLetterQuery& query) const;

  struct Start {
    bool started = false;
    std::string replay_id;  // the new replay, or the one still running
  };
  // Starts a replay unless one is running.
  Start startReplay(dlq::ReplayOptions options);
  // The status JSON of a replay started here; nullopt when unknown.
  std::optional<std::string> replayStatus(const std::string& id) const;

 private:
  struct Status {
    dlq::ReplayOptions options;     // callbacks cleared
    std::string state = "running";  // running | done | stopped | failed
    dlq::ReplayProgress progress;
    bool resumed = false;
    std::string error;
    std::string started_at;
    std::string finished_at;
    uint64_t sequence = 0;  // for eviction, oldest first
  };
  void listingLoop();
  void runReplay(dlq::ReplayOptions options);
  static std::string statusJson(const std::string& id, const Status& s);

  Config config_;
  std::atomic<bool> stop_{false};

  mutable std::mutex listing_mu_;
  std::condition_variable listing_cv_;
  std::deque<std::function<void()>> listings_;  // guarded by listing_mu_
  std::thread listing_thread_;

  mutable std::mutex replay_mu_;
  std::map<std::string, Status> replays_;  // guarded by replay_mu_
  std::string running_;                    // guarded by replay_mu_; "" when idle
  uint64_t sequence_ = 0;                  // guarded by replay_mu_
  std::thread replay_thread_;              // started under replay_mu_
};

}  // namespace hookpipe::producer
