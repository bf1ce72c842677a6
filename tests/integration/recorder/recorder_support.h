#pragma once

// Helpers of the recorder's integration tests: the attempts topic, records produced to it,
// the truth a set of records must give in the index, and the index as Redis holds it.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/attempts/histogram.h"
#include "common/attempts/keys.h"
#include "common/attempts/record.h"
#include "common/config/config.h"
#include "common/kafka/kafka.h"
#include "common/redis/redis.h"
#include "recorder/recorder.h"
#include "support/harness.h"
#include "support/poll.h"

namespace hookpipe::testing {

using Hash = std::map<std::string, std::string>;
using Index = std::map<std::string, Hash>;  // stats key -> its fields

// Creates `name` with `partitions` (the recorder's tests do not rely on ensureTopics()).
inline void createTopic(const Config& config, const std::string& name, int partitions) {
  std::string error;
  kafka::ConfPtr conf = kafka::baseConf(config, {}, error);
  ASSERT_TRUE(conf) << error;
  char errstr[512];
  kafka::HandlePtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.release(), errstr, sizeof errstr));
  ASSERT_TRUE(rk) << errstr;
  rd_kafka_NewTopic_t* t =
      rd_kafka_NewTopic_new(name.c_str(), partitions, 1, errstr, sizeof errstr);
  ASSERT_NE(t, nullptr) << errstr;
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
  rd_kafka_CreateTopics(rk.get(), &t, 1, nullptr, queue);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 30000);
  ASSERT_NE(ev, nullptr);
  size_t n = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  ASSERT_EQ(n, 1u);
  const auto err = rd_kafka_topic_result_error(results[0]);
  EXPECT_TRUE(err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
      << rd_kafka_err2str(err);
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(t);
  // Leaders elected: a watermark query answers.
  for (int p = 0; p < partitions; ++p)
    ASSERT_TRUE(kafka::watermarks(rk.get(), name, p, std::chrono::seconds(30)).has_value());
}

// Produces each record (keyed by subscription, like the deliverer) plus `raw` values as
// they are; waits for the broker.
inline void produce(const Config& config, const std::vector<attempts::Record>& records,
                    const std::vector<std::string>& raw = {}) {
  auto producer = kafka::Producer::create(config, {{"linger.ms", "20"}});
  ASSERT_TRUE(producer.has_value());
  std::string json;
  std::atomic<int> failed{0};
  auto done = [&failed](std::optional<Error> e) {
    if (e) ++failed;
  };
  for (const auto& r : records) {
    json.clear();
    attempts::encode(r, json);
    ASSERT_TRUE((*producer)
                    ->produceBlocking(config.topics.attempts(), r.subscription_id, json, {}, done)
                    .has_value());
  }
  for (const auto& v : raw)
    ASSERT_TRUE(
        (*producer)->produceBlocking(config.topics.attempts(), "sub_x", v, {}, done).has_value());
  ASSERT_TRUE((*producer)->flush(std::chrono::seconds(60)));
  ASSERT_EQ(failed.load(), 0);
}

// A mix: `subs` subscriptions (tenant "acme" for the even ones, none for the odd), up to 3
// attempts per delivery, outcomes, statuses, latencies and event types varied, finished in
// the last few minutes.
inline std::vector<attempts::Record> sampleRecords(int n, int subs, int64_t now_ms) {
  std::vector<attempts::Record> out;
  out.reserve(n);
  static const char* kTypes[] = {"order.created", "order.paid", "user.signup"};
  for (int i = 0; i < n; ++i) {
    attempts::Record r;
    const int delivery = i / 3;
    r.delivery_id = "dlv_" + std::to_string(delivery);
    r.event_id = "evt_" + std::to_string(delivery);
    r.event_type = kTypes[delivery % 3];
    const int sub = delivery % subs;
    r.subscription_id = "sub_" + std::to_string(sub);
    r.tenant = sub % 2 == 0 ? "acme" : "";
    r.attempt = i % 3 + 1;
    switch (i % 7) {
      case 0:
        r.outcome = "dead_lettered";
        r.status = 0;
        r.attempted = false;
        r.reason = "refused_address";
        r.error_class = "refused";
        break;
      case 1:
      case 2:
        r.outcome = "retried";
        r.status = i % 2 == 0 ? 503 : 429;
        r.attempted = true;
        r.error_class = "http_5xx";
        break;
      default:
        r.outcome = "delivered";
        r.status = i % 5 == 0 ? 204 : 200;
        r.attempted = true;
        break;
    }
    r.duration_us = r.attempted ? 100 + (i * 7919) % 250'000 : 0;
    r.finished_ms = now_ms - (i % 240) * 1000;  // spread over 4 minutes
    r.started_ms = r.finished_ms - r.duration_us / 1000;
    r.response_body = r.attempted ? "{\"ok\":true}" : "";
    out.push_back(std::move(r));
  }
  return out;
}

// What the statistics must hold for `records`, computed the plain way.
inline Index expectedStats(const attempts::Keys& keys,
                           const std::vector<attempts::Record>& records) {
  std::map<std::string, std::map<std::string, int64_t>> sums;
  std::map<std::string, std::pair<int64_t, int64_t>> latency;  // min, max
  auto inc = [&](const std::string& k, const std::string& f, int64_t by = 1) { sums[k][f] += by; };
  for (const auto& r : records) {
    std::vector<std::string> scopes = {attempts::Keys::subscriptionScope(r.subscription_id), "all"};
    if (!r.tenant.empty()) scopes.push_back(attempts::Keys::tenantScope(r.tenant));
    for (const auto& scope : scopes)
      for (auto g : {attempts::Granularity::kMinute, attempts::Granularity::kHour,
                     attempts::Granularity::kDay}) {
        const std::string k = keys.stats(scope, g, attempts::bucketStart(g, r.finished_ms));
        inc(k, "n");
        inc(k, "o:" + r.outcome);
        inc(k, "sc:" + std::string(attempts::statusClass(r.status)));
        if (auto e = attempts::statsErrorClass(r); !e.empty()) inc(k, "e:" + std::string(e));
        if (r.attempt > 1) inc(k, "r");
        inc(k, "t:" + r.event_type);
        if (r.outcome == "delivered") inc(k, "td:" + r.event_type);
        if (r.attempted) {
          inc(k, "ln");
          inc(k, "ls", r.duration_us);
          inc(k, "h:" + std::to_string(attempts::Histogram::bucketOf(r.duration_us)));
          auto [it, fresh] = latency.try_emplace(k, r.duration_us, r.duration_us);
          if (!fresh) {
            it->second.first = std::min(it->second.first, r.duration_us);
            it->second.second = std::max(it->second.second, r.duration_us);
          }
        }
      }
  }
  Index out;
  for (const auto& [k, fields] : sums)
    for (const auto& [f, v] : fields) out[k][f] = std::to_string(v);
  for (const auto& [k, mm] : latency) {
    out[k]["lmin"] = std::to_string(mm.first);
    out[k]["lmax"] = std::to_string(mm.second);
  }
  return out;
}

inline redis::Client redisClient() {
  auto [host, port] = testRedisHostPort();
  return redis::Client(host, port, std::chrono::seconds(5));
}

inline std::vector<std::string> scanKeys(redis::Client& client, const std::string& pattern) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    auto r = client.pipeline({{"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"}});
    if (!r) return keys;
    cursor = (*r)[0]->element[0]->str;
    for (std::size_t i = 0; i < (*r)[0]->element[1]->elements; ++i)
      keys.emplace_back((*r)[0]->element[1]->element[i]->str);
  } while (cursor != "0");
  return keys;
}

inline Hash hgetall(redis::Client& client, const std::string& key) {
  Hash h;
  auto r = client.pipeline({{"HGETALL", key}});
  if (!r) return h;
  const redisReply* reply = (*r)[0].get();
  for (std::size_t i = 0; i + 1 < reply->elements; i += 2)
    h[reply->element[i]->str] = std::string(reply->element[i + 1]->str, reply->element[i + 1]->len);
  return h;
}

// Every stats hash of the index (without the "tn" bookkeeping field).
inline Index actualStats(redis::Client& client, const attempts::Keys& keys) {
  Index out;
  const std::string stats_prefix = keys.stats("", attempts::Granularity::kMinute, 0);
  const std::string pattern = stats_prefix.substr(0, stats_prefix.find("st:") + 3) + "*";
  for (const auto& k : scanKeys(client, pattern)) {
    Hash h = hgetall(client, k);
    h.erase("tn");
    out[k] = std::move(h);
  }
  return out;
}

// The sum of the partitions' applied offsets (for a fresh topic without transactions: how
// many records the index has taken in).
inline int64_t appliedTotal(redis::Client& client, const attempts::Keys& keys, int partitions) {
  int64_t total = 0;
  for (int p = 0; p < partitions; ++p) {
    auto r = client.pipeline({{"GET", keys.offset(p)}});
    if (r && (*r)[0]->type == REDIS_REPLY_STRING) total += std::atoll((*r)[0]->str);
  }
  return total;
}

// A Recorder in this process, on its own thread, until destroyed.
class InProcessRecorder {
 public:
  explicit InProcessRecorder(const Config& config) {
    auto r = recorder::Recorder::create(config, registry_);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    if (!r) return;
    recorder_ = std::move(*r);
    thread_ = std::thread([this] { recorder_->run(stop_); });
  }
  ~InProcessRecorder() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  const recorder::RecorderMetrics& metrics() const { return recorder_->metrics(); }

 private:
  metrics::Registry registry_;
  std::unique_ptr<recorder::Recorder> recorder_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace hookpipe::testing
