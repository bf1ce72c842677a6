#pragma once
#include <string>
#include <vector>

#include "common/config/config.h"
namespace hookpipe::producer {
// Runs the HTTP API until SIGTERM/SIGINT; returns the process exit code.
int run(const Config& config);
// `hookpipe produce [FILE|-]`: NDJSON events (validated like POST /v1/events) straight to
// the events topic; prints "produced N events, M invalid"; 0 when every line was stored.
int runProduceCommand(const Config& config, const std::vector<std::string>& args);
}  // namespace hookpipe::producer
