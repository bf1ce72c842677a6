#include "common/ops_events/event.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <ctime>

namespace hookpipe::ops_events {

std::string formatTimestampMs(int64_t epoch_ms) {
  const std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(epoch_ms % 1000));
  return buf;
}

std::string eventJson(std::string_view id, std::string_view type, int64_t now_ms,
                      std::string_view tenant, std::string_view data_json) {
  std::string out = "{\"id\":" + boost::json::serialize(boost::json::string(id)) +
                    ",\"type\":" + boost::json::serialize(boost::json::string(type)) +
                    ",\"timestamp\":\"" + formatTimestampMs(now_ms) + "\",\"data\":";
  out += data_json;
  if (!tenant.empty()) out += ",\"tenant\":" + boost::json::serialize(boost::json::string(tenant));
  out += '}';
  return out;
}

namespace {

boost::json::object subscriptionPart(std::string_view id, std::string_view name) {
  boost::json::object o;
  o["subscription_id"] = id;
  if (!name.empty()) o["subscription_name"] = name;
  return o;
}

}  // namespace

std::string disabledData(const Disabled& d) {
  boost::json::object o = subscriptionPart(d.subscription_id, d.subscription_name);
  o["reason"] = d.reason;
  o["message"] = d.message;
  if (d.status != 0) o["status"] = d.status;
  if (!d.delivery_id.empty()) o["delivery_id"] = d.delivery_id;
  o["disabled_at"] = formatTimestampMs(d.disabled_ms);
  return boost::json::serialize(o);
}

std::string breakerOpenedData(const BreakerOpened& b) {
  boost::json::object o = subscriptionPart(b.subscription_id, b.subscription_name);
  o["window_failures"] = b.window_failures;
  o["window_attempts"] = b.window_attempts;
  o["opened_at"] = formatTimestampMs(b.opened_ms);
  o["retry_at"] = formatTimestampMs(b.retry_at_ms);
  return boost::json::serialize(o);
}

std::string breakerRecoveredData(const BreakerRecovered& b) {
  boost::json::object o = subscriptionPart(b.subscription_id, b.subscription_name);
  o["opened_at"] = formatTimestampMs(b.opened_ms);
  o["recovered_at"] = formatTimestampMs(b.recovered_ms);
  o["open_ms"] = std::max<int64_t>(0, b.recovered_ms - b.opened_ms);
  return boost::json::serialize(o);
}

}  // namespace hookpipe::ops_events
