#pragma once

#include <cstdint>
#include <string>

#include "common/config/config.h"
#include "common/error.h"

namespace hookpipe::retry {

struct ReplayOptions {
  std::string subscription_id;  // empty: every subscription
  bool dry_run = false;
};

struct ReplayStats {
  std::string replay_id;
  uint64_t scanned = 0;
  uint64_t replayed = 0;
};

// Reads the dead-letter topic from its start to where it ends now and produces every
// matching record back to `deliveries` as a fresh first attempt (same delivery id,
// replay id set). Records already delivered are skipped by the deliverer's
// delivered-id check, so running a replay twice does not send anything twice.
Result<ReplayStats> replayDeadLetters(const Config& config, const ReplayOptions& options);

}  // namespace hookpipe::retry
