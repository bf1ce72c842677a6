#pragma once

#include <string>
#include <vector>

#include "common/config/config.h"

// `hookpipe deliveries list|show` and `hookpipe stats` (docs/deliveries.md): the delivery
// log and statistics read from the recorder's Redis index (query.h), printed as tables or,
// with --json, as the API's JSON (json.h). Run in the calling thread; each returns the
// process exit code (2 for a usage error, 1 when Redis cannot be read).
namespace hookpipe::attempts {

int runDeliveriesCommand(const Config& config, const std::vector<std::string>& args);
int runStatsCommand(const Config& config, const std::vector<std::string>& args);

}  // namespace hookpipe::attempts
