#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/config/config.h"
#include "common/dlq/query.h"
#include "common/error.h"

namespace hookpipe::dlq {

inline constexpr int kDefaultMaxReplayCount = 5;

struct ReplayProgress {
  uint64_t scanned = 0;
  uint64_t replayed = 0;
  uint64_t refused = 0;    // matching, but at the replay-count cap
  uint64_t remaining = 0;  // records left in range (an upper bound on what is left to send)
  double elapsed_s = 0;
};

struct ReplayOptions {
  DlqQuery filter;
  std::string replay_id;        // empty: derived from the filter and target
  std::optional<uint64_t> max;  // replay at most this many (the rest stays for later)
  bool dry_run = false;         // count only: nothing produced, no progress recorded
  double rate_per_s = 0;        // 0: unthrottled
  std::string to_subscription;  // empty: back to the dead letter's own subscription
  int max_replay_count = kDefaultMaxReplayCount;  // refuse dead letters replayed this often
  std::function<void(const ReplayProgress&)> on_progress;  // called about twice a second
  // Set (e.g. by SIGINT): stop reading, wait for what was sent, record progress, return.
  const std::atomic<bool>* stop = nullptr;
};

struct ReplayStats {
  std::string replay_id;
  uint64_t scanned = 0;   // records read this run
  uint64_t replayed = 0;  // produced to `deliveries` (or that would be, with dry_run)
  uint64_t refused = 0;   // matching, but at the replay-count cap
  bool resumed = false;   // this replay id had progress recorded before
  bool stopped = false;   // interrupted by `stop`; run it again to go on
};

// The replay id a replay without --replay-id gets: "rpl_" + 16 hex digits of a hash of
// the filter and the target subscription, so the same command line resumes itself.
std::string defaultReplayId(const DlqQuery& filter, const std::string& to_subscription);

// The delivery id of a dead letter re-addressed to another subscription: stable for
// (old delivery id, target), so re-running the same replay keeps it.
std::string redirectedDeliveryId(const std::string& delivery_id, const std::string& target);

// Replays matching dead letters to `deliveries` as fresh first attempts.
//
// Resumable and idempotent: progress is committed, as the contiguous prefix of records
// the broker acknowledged in `deliveries` (non-matching records count as done), to the
// consumer group `<prefix>dlq-replay.<replay id>`, at least once a second and at the end.
// Running the same replay again starts where the last run stopped, so each dead letter
// is sent once per replay id; a run killed between producing and committing re-sends at
// most the last second's records, which the deliverer's delivered-id check then skips.
// Records below the purge floor are never replayed. A dead letter whose hp-replay-count
// reached `max_replay_count` is refused (counted, not sent), which stops replay loops.
Result<ReplayStats> replayDeadLetters(const Config& config, const ReplayOptions& options);

}  // namespace hookpipe::dlq
