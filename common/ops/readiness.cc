#include "common/ops/readiness.h"

#include <boost/json.hpp>

#include "common/kafka/stats.h"
#include "common/redis/redis.h"

namespace hookpipe::ops {

void Readiness::add(Probe probe) {
  std::lock_guard lock(mu_);
  probes_.push_back(std::move(probe));
  evaluated_ = false;
}

Readiness::Verdict Readiness::evaluate() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (evaluated_ && now - evaluated_at_ < kCacheFor) return last_;
  std::vector<Check> checks;
  for (const auto& probe : probes_)
    for (auto& c : probe()) checks.push_back(std::move(c));
  Verdict v;
  v.ready = true;
  boost::json::array list;
  for (const auto& c : checks) {
    v.ready = v.ready && c.ok;
    list.push_back(boost::json::object{{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
  }
  v.json = boost::json::serialize(
      boost::json::object{{"status", v.ready ? "ready" : "not_ready"}, {"checks", list}});
  last_ = v;
  evaluated_at_ = now;
  evaluated_ = true;
  return v;
}

namespace {

std::string seconds(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

}  // namespace

Probe kafkaProbe() {
  return [] {
    const auto now = std::chrono::steady_clock::now();
    const auto clients = kafka::clientStatuses();
    Check kafka{"kafka", true, ""};
    Check partitions{"partitions", true, ""};
    int consumers = 0;
    int64_t assigned = 0;
    std::vector<std::string> pending;
    auto fail_kafka = [&kafka](std::string why) {
      if (kafka.ok) kafka.detail.clear();
      kafka.ok = false;
      if (!kafka.detail.empty()) kafka.detail += "; ";
      kafka.detail += why;
    };
    for (const auto& c : clients) {
      // Statistics come from the client's poll: none for three intervals means the broker
      // is away for long or the thread that polls it is stuck.
      const auto grace = 3 * c.interval + std::chrono::seconds(2);
      const std::string who = c.group_consumer ? "consumer" : "producer";
      if (!c.reported) {
        fail_kafka(now - c.created > grace
                       ? who + " sent no statistics for " + seconds(now - c.created)
                       : who + " is starting");
      } else if (now - c.reported_at > grace) {
        fail_kafka(who + " " + c.last.name + " sent no statistics for " +
                   seconds(now - c.reported_at));
      } else if (c.last.brokers_up == 0) {
        fail_kafka(who + " " + c.last.name + " has no broker connection up (" +
                   std::to_string(c.last.brokers) + " known)");
      }
      if (!c.group_consumer) continue;
      ++consumers;
      assigned += c.last.assignment_size;
      if (!c.joined) {
        partitions.ok = false;
        pending.push_back("waiting for the first assignment (group state " +
                          (c.last.group_state.empty() ? "unknown" : c.last.group_state) +
                          ", join state " +
                          (c.last.join_state.empty() ? "unknown" : c.last.join_state) + ")");
      } else if (c.last.join_state != "steady") {
        pending.push_back("rebalance pending (join state " + c.last.join_state + ")");
      }
    }
    if (clients.empty()) fail_kafka("no Kafka client yet");
    if (kafka.ok)
      kafka.detail = std::to_string(clients.size()) + " client(s) with a broker connection up";
    std::vector<Check> out{kafka};
    if (consumers > 0) {
      partitions.detail = std::to_string(consumers) + " consumer(s), " + std::to_string(assigned) +
                          " partition(s) assigned";
      for (const auto& p : pending) partitions.detail += "; " + p;
      out.push_back(partitions);
    }
    return out;
  };
}

Probe redisProbe(const Config& config) {
  auto client = std::make_shared<redis::Client>(config.redis_host, config.redis_port,
                                                std::chrono::milliseconds(250));
  const std::string where = config.redis_host + ":" + std::to_string(config.redis_port);
  return [client, where] {
    auto r = client->pipeline({{"PING"}});
    if (!r)
      return std::vector<Check>{
          {"redis", false, "cannot reach " + where + ": " + r.error().message}};
    const redisReply* reply = r->front().get();
    if (reply == nullptr || reply->type == REDIS_REPLY_ERROR)
      return std::vector<Check>{
          {"redis", false,
           "PING to " + where + " failed: " +
               (reply != nullptr ? std::string(reply->str, reply->len) : "no reply")}};
    return std::vector<Check>{{"redis", true, where + " answers"}};
  };
}

}  // namespace hookpipe::ops
