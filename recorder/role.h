#pragma once

#include <string>
#include <vector>

#include "common/config/config.h"

namespace hookpipe::recorder {
// `hookpipe recorder`: keeps the delivery-log index until SIGTERM/SIGINT;
// `hookpipe recorder --rebuild`: builds it again from the topic and exits. Returns the
// process exit code.
int run(const Config& config, const std::vector<std::string>& args = {});
}  // namespace hookpipe::recorder
