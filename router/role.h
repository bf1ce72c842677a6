#pragma once
#include "common/config/config.h"
namespace hookpipe::router {
// Routes events until SIGTERM/SIGINT; returns the process exit code.
int run(const Config& config);
}  // namespace hookpipe::router
