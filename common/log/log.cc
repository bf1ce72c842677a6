#include "common/log/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>
#include <mutex>

namespace hookpipe {

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (auto existing = spdlog::get(name)) return existing;
  auto log = spdlog::stderr_color_mt(name);
  log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %n %v");
  if (const char* level = std::getenv("HOOKPIPE_LOG_LEVEL"))
    log->set_level(spdlog::level::from_str(level));
  return log;
}

}  // namespace hookpipe
