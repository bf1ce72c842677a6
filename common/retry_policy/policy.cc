#include "common/retry_policy/policy.h"

#include <algorithm>
#include <cmath>

namespace hookpipe::retry_policy {

std::optional<std::chrono::milliseconds> retryDelay(const RetryConfig& config, int failed_attempt,
                                                    std::mt19937_64& rng) {
  using std::chrono::milliseconds;
  if (config.strategy == RetryConfig::Strategy::kNone || failed_attempt < 1) return std::nullopt;
  const bool default_schedule =
      config.strategy == RetryConfig::Strategy::kExponential && config.retry_delay_ms < 0;
  const int max_retries =
      config.max_retries >= 0 ? config.max_retries : static_cast<int>(defaultSchedule().size());
  if (failed_attempt > max_retries) return std::nullopt;

  double delay_ms = 0;
  if (default_schedule) {
    const auto& s = defaultSchedule();
    delay_ms =
        static_cast<double>(s[std::min<std::size_t>(failed_attempt - 1, s.size() - 1)].count());
  } else {
    const double base =
        static_cast<double>(config.retry_delay_ms >= 0 ? config.retry_delay_ms : 5000);
    switch (config.strategy) {
      case RetryConfig::Strategy::kFixed:
        delay_ms = base;
        break;
      case RetryConfig::Strategy::kLinear:
        delay_ms = base * failed_attempt;
        break;
      default:
        delay_ms = base * std::pow(config.backoff_multiplier, failed_attempt - 1);
        break;
    }
  }
  if (config.jitter && delay_ms > 0) {
    std::uniform_real_distribution<double> spread(0.9, 1.1);
    delay_ms *= spread(rng);
  }
  delay_ms = std::min(delay_ms, static_cast<double>(config.max_delay_ms));
  return milliseconds(static_cast<int64_t>(delay_ms));
}

std::chrono::milliseconds horizon(const RetryConfig& config) {
  RetryConfig longest = config;
  longest.jitter = false;
  std::mt19937_64 unused;
  double total_ms = 0;
  for (int n = 1;; ++n) {
    auto delay = retryDelay(longest, n, unused);
    if (!delay) break;
    double ms = static_cast<double>(delay->count());
    if (config.jitter) ms = std::min(ms * 1.1, static_cast<double>(config.max_delay_ms));
    total_ms += ms;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total_ms));
}

int chooseTier(const std::vector<std::chrono::milliseconds>& tiers,
               std::chrono::milliseconds remaining) {
  if (remaining.count() <= 0 || tiers.empty()) return -1;
  int chosen = 0;
  for (std::size_t i = 0; i < tiers.size(); ++i)
    if (tiers[i] <= remaining) chosen = static_cast<int>(i);
  return chosen;
}

}  // namespace hookpipe::retry_policy
