#pragma once

#include <string>
#include <vector>

#include "common/config/config.h"

namespace hookpipe::dlq {

// `hookpipe dlq list|show|stats|replay|purge ...` (usage: docs/dlq.md), run in the calling
// thread; returns the process exit code (2 for a usage error).
int runCommand(const Config& config, const std::vector<std::string>& args);

}  // namespace hookpipe::dlq
