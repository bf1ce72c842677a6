#pragma once

// Shared by the dlq and tier benchmarks: broker from HOOKPIPE_BENCH_BROKERS, a fresh topic
// prefix per run, a reachability check, and process CPU time.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "common/config/config.h"
#include "common/kafka/kafka.h"

namespace hookpipe::bench {

inline Config benchConfig(const std::string& name) {
  Config config;
  const char* brokers = std::getenv("HOOKPIPE_BENCH_BROKERS");
  config.brokers = brokers != nullptr && *brokers != '\0' ? brokers : "127.0.0.1:19092";
  std::random_device rd;
  config.topics.prefix = name + std::to_string(rd() % 1000000) + ".";
  config.events_partitions = 1;
  config.deliveries_partitions = 3;
  config.retry_partitions = 3;
  return config;
}

// Prints a clear message and returns false when no broker answers within 5 s.
inline bool brokerReachable(const Config& config) {
  std::string error;
  kafka::ConfPtr conf = kafka::baseConf(config, {}, error);
  char errstr[512];
  kafka::HandlePtr rk(conf ? rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr)
                           : nullptr);
  if (rk) conf.release();
  const rd_kafka_metadata_t* md = nullptr;
  if (!rk || rd_kafka_metadata(rk.get(), 0, nullptr, &md, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::fprintf(stderr, "no Kafka broker reachable at %s (set HOOKPIPE_BENCH_BROKERS=host:port)\n",
                 config.brokers.c_str());
    return false;
  }
  rd_kafka_metadata_destroy(md);
  return true;
}

inline double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace hookpipe::bench
