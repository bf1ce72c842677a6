#pragma once
#include "common/config/config.h"
namespace hookpipe::producer {
// Runs the HTTP API until SIGTERM/SIGINT; returns the process exit code.
int run(const Config& config);
}  // namespace hookpipe::producer
