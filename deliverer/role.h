#pragma once
#include "common/config/config.h"
namespace hookpipe::deliverer {
// Delivers until SIGTERM/SIGINT; returns the process exit code.
int run(const Config& config);
}  // namespace hookpipe::deliverer
