#include "common/kafka/stats.h"

#include <simdjson.h>

#include <atomic>
#include <charconv>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>

namespace hookpipe::kafka {
namespace {

struct Tracker {
  std::mutex mu;
  std::map<const void*, ClientStatus> clients;
  std::set<rd_kafka_t*> producers;
  RequestCounts retired;  // the requests of clients gone or replaced
};

// Keeps what `status` had counted once its client is gone. Called under the mutex.
void retire(Tracker& t, const ClientStatus& status) {
  for (const auto& [type, n] : status.last.requests) t.retired[{status.last.client_id, type}] += n;
}

Tracker& tracker() {
  static Tracker t;
  return t;
}

std::atomic<int64_t> g_interval_ms{0};
std::atomic<uint64_t> g_produce_errors{0};

std::string_view stringOr(simdjson::dom::object obj, std::string_view key) {
  std::string_view v;
  if (obj[key].get(v) != simdjson::SUCCESS) return {};
  return v;
}

int64_t intOr(simdjson::dom::object obj, std::string_view key, int64_t fallback) {
  int64_t v = 0;
  if (obj[key].get(v) != simdjson::SUCCESS) return fallback;
  return v;
}

}  // namespace

Result<ClientStats> parseStats(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root); err)
    return fail(std::string("kafka statistics are not JSON: ") + simdjson::error_message(err));
  simdjson::dom::object obj;
  if (root.get(obj) != simdjson::SUCCESS) return fail("kafka statistics: not an object");
  ClientStats s;
  s.name = stringOr(obj, "name");
  s.type = stringOr(obj, "type");
  s.client_id = stringOr(obj, "client_id");
  s.queued_messages = intOr(obj, "msg_cnt", 0);
  simdjson::dom::object brokers;
  if (obj["brokers"].get(brokers) == simdjson::SUCCESS) {
    for (auto [name, broker] : brokers) {
      simdjson::dom::object b;
      if (broker.get(b) != simdjson::SUCCESS) continue;
      ++s.brokers;
      if (stringOr(b, "state") == "UP") ++s.brokers_up;
      simdjson::dom::object req;
      if (b["req"].get(req) != simdjson::SUCCESS) continue;
      for (auto [type, count] : req) {
        int64_t n = 0;
        if (count.get(n) != simdjson::SUCCESS || n <= 0) continue;
        if (auto it = s.requests.find(type); it != s.requests.end())
          it->second += n;
        else
          s.requests.emplace(std::string(type), n);
      }
    }
  }
  simdjson::dom::object cgrp;
  if (obj["cgrp"].get(cgrp) == simdjson::SUCCESS) {
    s.has_group = true;
    s.group_state = stringOr(cgrp, "state");
    s.join_state = stringOr(cgrp, "join_state");
    s.assignment_size = intOr(cgrp, "assignment_size", 0);
    s.rebalances = intOr(cgrp, "rebalance_cnt", 0);
  }
  simdjson::dom::object topics;
  if (s.has_group && obj["topics"].get(topics) == simdjson::SUCCESS) {
    for (auto [topic, t] : topics) {
      simdjson::dom::object partitions;
      if (t["partitions"].get(partitions) != simdjson::SUCCESS) continue;
      for (auto [key, p] : partitions) {
        int32_t partition = -1;
        const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), partition);
        if (ec != std::errc() || end != key.data() + key.size() || partition < 0) continue;
        simdjson::dom::object po;
        if (p.get(po) != simdjson::SUCCESS) continue;
        bool desired = false;
        if (po["desired"].get(desired) != simdjson::SUCCESS || !desired) continue;
        int64_t lag = intOr(po, "consumer_lag", -1);
        if (lag < 0 && intOr(po, "committed_offset", -1) < 0) {
          // Nothing committed yet (a new group): consumption starts at the low watermark
          // (auto.offset.reset=earliest), so everything from there to the end is behind.
          int64_t end_offset = intOr(po, "ls_offset", -1);
          if (end_offset < 0) end_offset = intOr(po, "hi_offset", -1);
          const int64_t lo = intOr(po, "lo_offset", -1);
          if (end_offset >= 0 && lo >= 0 && end_offset >= lo) lag = end_offset - lo;
        }
        if (lag < 0) continue;  // no watermark yet
        s.lags.push_back({std::string(topic), partition, lag});
      }
    }
  }
  return s;
}

void enableStats(std::chrono::milliseconds interval) { g_interval_ms = interval.count(); }

std::chrono::milliseconds statsInterval() { return std::chrono::milliseconds(g_interval_ms); }

std::vector<ClientStatus> clientStatuses() {
  auto& t = tracker();
  std::lock_guard lock(t.mu);
  std::vector<ClientStatus> out;
  out.reserve(t.clients.size());
  for (const auto& [key, status] : t.clients) out.push_back(status);
  return out;
}

uint64_t produceErrors() { return g_produce_errors.load(std::memory_order_relaxed); }

RequestCounts requestsSent() {
  auto& t = tracker();
  std::lock_guard lock(t.mu);
  RequestCounts out = t.retired;
  for (const auto& [key, status] : t.clients)
    for (const auto& [type, n] : status.last.requests) out[{status.last.client_id, type}] += n;
  return out;
}

int64_t producerQueueDepth() {
  auto& t = tracker();
  std::lock_guard lock(t.mu);
  int64_t n = 0;
  for (rd_kafka_t* rk : t.producers) n += rd_kafka_outq_len(rk);
  return n;
}

namespace detail {

void trackClient(const void* key, bool group_consumer, std::chrono::milliseconds interval) {
  auto& t = tracker();
  std::lock_guard lock(t.mu);
  ClientStatus& status = t.clients[key];
  retire(t, status);  // a client replaced under the same key (the attempt log's restart)
  status = ClientStatus{};
  status.group_consumer = group_consumer;
  status.interval = interval;
  status.created = std::chrono::steady_clock::now();
}

void untrackClient(const void* key) {
  auto& t = tracker();
  std::lock_guard lock(t.mu);
  if (auto it = t.clients.find(key); it != t.clients.end()) {
    retire(t, it->second);
    t.clients.erase(it);
  }
}

void trackProducer(rd_kafka_t* rk) {
  auto& t = tracker();
  std::lock_guard lock(t.mu);
  t.producers.insert(rk);
}

void untrackProducer(rd_kafka_t* rk) {
  auto& t = tracker();
  std::lock_guard lock(t.mu);
  t.producers.erase(rk);
}

void countProduceError() { g_produce_errors.fetch_add(1, std::memory_order_relaxed); }

int onStats(rd_kafka_t*, char* json, size_t len, void* opaque) noexcept {
  auto parsed = parseStats(std::string_view(json, len));
  if (!parsed) return 0;  // librdkafka frees the JSON
  auto& t = tracker();
  std::lock_guard lock(t.mu);
  auto it = t.clients.find(opaque);
  if (it == t.clients.end()) return 0;
  ClientStatus& status = it->second;
  status.reported = true;
  status.reported_at = std::chrono::steady_clock::now();
  if (parsed->join_state == "steady") status.joined = true;
  status.last = std::move(*parsed);
  return 0;
}

void trackStats(rd_kafka_conf_t* conf, const void* client, bool group_consumer) {
  char value[32] = {};
  size_t size = sizeof value;
  if (rd_kafka_conf_get(conf, "statistics.interval.ms", value, &size) != RD_KAFKA_CONF_OK) return;
  const long interval_ms = std::strtol(value, nullptr, 10);
  if (interval_ms <= 0) return;
  rd_kafka_conf_set_stats_cb(conf, &onStats);
  trackClient(client, group_consumer, std::chrono::milliseconds(interval_ms));
}

}  // namespace detail

}  // namespace hookpipe::kafka
