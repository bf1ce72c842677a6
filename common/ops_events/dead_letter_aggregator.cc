#include "common/ops_events/dead_letter_aggregator.h"

#include <algorithm>
#include <boost/json.hpp>
#include <climits>

#include "common/ops_events/event.h"

namespace hookpipe::ops_events {
namespace {

void countInto(std::map<std::string, int64_t>& counts, std::string_view key) {
  if (key.empty()) key = "none";
  auto it = counts.find(std::string(key));
  if (it != counts.end()) {
    ++it->second;
  } else if (counts.size() < DeadLetterAggregator::kMaxKeys - 1 || key == "other") {
    counts.emplace(std::string(key), 1);
  } else {
    ++counts["other"];
  }
}

boost::json::object countsJson(const std::map<std::string, int64_t>& counts) {
  boost::json::object o;
  for (const auto& [k, n] : counts) o[k] = n;
  return o;
}

std::vector<DeadLetterSummary> sorted(std::vector<DeadLetterSummary> out) {
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.window_start_ms != b.window_start_ms ? a.window_start_ms < b.window_start_ms
                                                  : a.subscription_id < b.subscription_id;
  });
  return out;
}

}  // namespace

std::string deadLetteredData(const DeadLetterSummary& s) {
  boost::json::object o;
  o["subscription_id"] = s.subscription_id;
  o["count"] = s.count;
  o["reasons"] = countsJson(s.reasons);
  o["error_classes"] = countsJson(s.error_classes);
  o["first_delivery_id"] = s.first_delivery_id;
  o["first_dead_lettered_at"] = formatTimestampMs(s.first_ms);
  o["last_delivery_id"] = s.last_delivery_id;
  o["last_dead_lettered_at"] = formatTimestampMs(s.last_ms);
  o["window_start"] = formatTimestampMs(s.window_start_ms);
  o["window_end"] = formatTimestampMs(s.window_end_ms);
  return boost::json::serialize(o);
}

void DeadLetterAggregator::add(std::string_view subscription_id, std::string_view tenant,
                               std::string_view reason, std::string_view error_class,
                               std::string_view delivery_id, int64_t now_ms) {
  auto it = open_.find(std::string(subscription_id));
  if (it != open_.end() && now_ms >= it->second.window_end_ms) {
    // Its window ended and was not taken yet: this dead letter opens the next one, and
    // the ended one stays to be taken under another key until then.
    DeadLetterSummary ended = std::move(it->second);
    open_.erase(it);
    open_.emplace(ended.subscription_id + '\n' + std::to_string(ended.window_start_ms),
                  std::move(ended));
    it = open_.end();
  }
  if (it == open_.end()) {
    if (open_.size() >= max_subscriptions_) {
      ++dropped_;
      return;
    }
    DeadLetterSummary s;
    s.subscription_id = std::string(subscription_id);
    s.tenant = std::string(tenant);
    s.first_delivery_id = std::string(delivery_id);
    s.first_ms = now_ms;
    s.window_start_ms = now_ms;
    s.window_end_ms = now_ms + window_ms_;
    it = open_.emplace(s.subscription_id, std::move(s)).first;
  }
  DeadLetterSummary& s = it->second;
  ++s.count;
  countInto(s.reasons, reason);
  countInto(s.error_classes, error_class);
  s.last_delivery_id = std::string(delivery_id);
  s.last_ms = std::max(s.last_ms, now_ms);
}

std::vector<DeadLetterSummary> DeadLetterAggregator::takeDue(int64_t now_ms) {
  std::vector<DeadLetterSummary> out;
  for (auto it = open_.begin(); it != open_.end();) {
    if (it->second.window_end_ms <= now_ms) {
      out.push_back(std::move(it->second));
      it = open_.erase(it);
    } else {
      ++it;
    }
  }
  return sorted(std::move(out));
}

std::vector<DeadLetterSummary> DeadLetterAggregator::takeAll() {
  std::vector<DeadLetterSummary> out;
  out.reserve(open_.size());
  for (auto& [key, s] : open_) out.push_back(std::move(s));
  open_.clear();
  return sorted(std::move(out));
}

int64_t DeadLetterAggregator::nextDueMs() const {
  int64_t next = INT64_MAX;
  for (const auto& [key, s] : open_) next = std::min(next, s.window_end_ms);
  return next;
}

}  // namespace hookpipe::ops_events
