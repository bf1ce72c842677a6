#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "common/attempts/histogram.h"
#include "common/attempts/keys.h"
#include "common/attempts/record.h"
#include "common/redis/redis.h"

// Writes attempt records into Redis the way common/attempts/keys.h lays the index out (what
// the recorder does), so the reading side can be tested without the recorder: the delivery
// hashes, the per-subscription logs, idx:subs, and the minute/hour/day statistics of the
// subscription, its tenant and "all".
namespace hookpipe::testing {

inline void writeAttemptIndex(redis::Client& client, const std::string& topic_prefix,
                              std::vector<attempts::Record> records) {
  using attempts::Granularity;
  attempts::Keys keys(topic_prefix);
  std::sort(records.begin(), records.end(),
            [](const auto& a, const auto& b) { return a.finished_ms < b.finished_ms; });
  std::vector<std::vector<std::string>> cmds;
  std::map<std::string, std::map<std::string, int64_t>> stats;
  std::map<std::string, int64_t> latest;  // subscription log member -> score
  for (const auto& r : records) {
    std::string json;
    attempts::encode(r, json);
    // As the recorder writes it: the attempt, and "l" naming the latest (records come in
    // order of their finish here).
    const std::string field = attempts::Keys::attemptField(r.attempt, r.replay);
    cmds.push_back({"HSET", keys.delivery(r.delivery_id), "s", r.subscription_id, field, json,
                    std::string(attempts::Keys::kLatestField), field});
    cmds.push_back({"ZADD", keys.subscriptionLog(r.subscription_id), std::to_string(r.finished_ms),
                    r.delivery_id});
    cmds.push_back(
        {"ZADD", keys.subscriptions(), std::to_string(r.finished_ms), r.subscription_id});
    std::vector<std::string> scopes = {attempts::Keys::subscriptionScope(r.subscription_id),
                                       attempts::Keys::allScope()};
    if (!r.tenant.empty()) scopes.push_back(attempts::Keys::tenantScope(r.tenant));
    for (const auto& scope : scopes) {
      for (auto g : {Granularity::kMinute, Granularity::kHour, Granularity::kDay}) {
        auto& f = stats[keys.stats(scope, g, attempts::bucketStart(g, r.finished_ms))];
        ++f["n"];
        ++f["o:" + r.outcome];
        ++f["sc:" + std::string(attempts::statusClass(r.status))];
        if (r.outcome != "delivered") ++f["e:" + std::string(attempts::statsErrorClass(r))];
        if (r.attempt > 1) ++f["r"];
        ++f["t:" + r.event_type];
        if (r.outcome == "delivered") ++f["td:" + r.event_type];
        if (r.attempted) {
          ++f["ln"];
          f["ls"] += r.duration_us;
          f["lmin"] = f.contains("lmin") ? std::min(f["lmin"], r.duration_us) : r.duration_us;
          f["lmax"] = std::max(f["lmax"], r.duration_us);
          ++f["h:" + std::to_string(attempts::Histogram::bucketOf(r.duration_us))];
        }
      }
    }
  }
  for (const auto& [key, fields] : stats) {
    std::vector<std::string> cmd = {"HSET", key};
    for (const auto& [f, v] : fields) {
      cmd.push_back(f);
      cmd.push_back(std::to_string(v));
    }
    cmds.push_back(std::move(cmd));
  }
  auto r = client.pipeline(cmds);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  for (const auto& reply : *r) ASSERT_NE(reply->type, REDIS_REPLY_ERROR) << reply->str;
}

// Deletes every key of the index under `topic_prefix` (SCAN + DEL).
inline void wipeAttemptIndex(redis::Client& client, const std::string& topic_prefix) {
  const std::string pattern = attempts::Keys(topic_prefix).pattern();
  std::string cursor = "0";
  do {
    auto r = client.pipeline({{"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"}});
    if (!r || (*r)[0]->type != REDIS_REPLY_ARRAY || (*r)[0]->elements != 2) return;
    cursor = std::string((*r)[0]->element[0]->str, (*r)[0]->element[0]->len);
    const redisReply* keys = (*r)[0]->element[1];
    if (keys->elements > 0) {
      std::vector<std::string> del = {"DEL"};
      for (std::size_t i = 0; i < keys->elements; ++i)
        del.emplace_back(keys->element[i]->str, keys->element[i]->len);
      (void)client.pipeline({del});
    }
  } while (cursor != "0");
}

// A record with the usual fields filled in.
inline attempts::Record attemptRecord(const std::string& delivery_id, const std::string& sub,
                                      int attempt, const std::string& outcome, int64_t finished_ms,
                                      long status = 200,
                                      const std::string& event_type = "order.created",
                                      int64_t duration_us = 20'000) {
  attempts::Record r;
  r.delivery_id = delivery_id;
  r.event_id = "evt_" + delivery_id;
  r.event_type = event_type;
  r.subscription_id = sub;
  r.attempt = attempt;
  r.outcome = outcome;
  r.attempted = true;
  r.started_ms = finished_ms - duration_us / 1000;
  r.finished_ms = finished_ms;
  r.duration_us = duration_us;
  r.status = status;
  if (outcome != "delivered") {
    r.error_class = status >= 500 ? "http_5xx" : status == 0 ? "timeout" : "http_4xx";
    r.error_message = status > 0 ? "HTTP " + std::to_string(status) : "timed out";
  }
  if (outcome == "retried") r.next_attempt_ms = finished_ms + 5000;
  if (outcome == "dead_lettered") r.reason = "retries_exhausted";
  r.response_body = status > 0 ? "ok " + std::to_string(status) : "";
  r.payload_topic = "hookpipe.deliveries";
  r.payload_partition = 0;
  r.payload_offset = 0;
  return r;
}

}  // namespace hookpipe::testing
