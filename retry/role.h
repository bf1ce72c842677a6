#pragma once

#include "common/config/config.h"
namespace hookpipe::retry {
// Runs the retry tiers until SIGTERM/SIGINT; returns the process exit code.
int run(const Config& config);
}  // namespace hookpipe::retry
