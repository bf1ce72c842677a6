#pragma once

#include <atomic>
#include <memory>

#include "common/config/config.h"
#include "common/subscriptions/table.h"

namespace hookpipe {

// What every role does before its own work: create the topics (waiting for the broker
// for up to a minute) and load the subscription table. Throws on failure: start-up
// errors end the process with a clear message.
void ensureTopicsOrThrow(const Config& config);
std::unique_ptr<SubscriptionSync> loadSubscriptions(const Config& config, SubscriptionTable& table);
// Starts a topic mirror and waits (up to 60 s) until it has loaded its topic; `what`
// names it in the error.
void loadOrThrow(TopicMirror& mirror, const std::string& what);

// glibc malloc settings for the hot roles (router, deliverer), measured with their
// benchmarks (benchmarks/README.md):
// - no fastbins: both allocate and free small blocks in bursts (librdkafka messages and
//   headers, curl's transfer state), and glibc kept consolidating fastbins;
// - blocks up to 32 MiB from the heap and no trimming below 256 MiB: librdkafka's
//   decompression buffers (one per fetched message set) otherwise come from mmap and are
//   page-faulted in anew each time.
void tuneMallocForThroughput();

// Set by SIGTERM/SIGINT.
const std::atomic<bool>& stopRequested();
void installStopHandlers();

}  // namespace hookpipe
