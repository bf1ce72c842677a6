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

// Set by SIGTERM/SIGINT.
const std::atomic<bool>& stopRequested();
void installStopHandlers();

}  // namespace hookpipe
