#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace hookpipe {

// One named logger per role ("router", "deliverer", ...), key=value fields in messages.
std::shared_ptr<spdlog::logger> logger(const std::string& name);

}  // namespace hookpipe
