#pragma once
#include <string>
#include <vector>

#include "common/config/config.h"
namespace hookpipe::retry {
// Runs the retry tiers until SIGTERM/SIGINT; returns the process exit code.
int run(const Config& config);
// `hookpipe dlq list|show|stats|replay|purge ...` (dlq_command.cc); returns the exit code.
int runDlqCommand(const Config& config, const std::vector<std::string>& args);
}  // namespace hookpipe::retry
