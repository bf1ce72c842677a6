#pragma once

#include <string>
#include <vector>

#include "common/config/config.h"

namespace hookpipe::loadtest {

// `hookpipe loadtest [FLAGS]` (docs/loadtest.md), run in the calling thread; returns the
// process exit code: 0 done (with a receiver: everything published was received), 1 not
// everything received after the drain, nothing published, or a set-up failure, 2 bad flags.
// `config` gives the brokers and the events topic for --via kafka.
int runCommand(const Config& config, const std::vector<std::string>& args);

}  // namespace hookpipe::loadtest
