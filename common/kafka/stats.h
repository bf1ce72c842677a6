#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

// What the process's Kafka clients report about themselves, for /metrics and /readyz
// (common/ops): librdkafka's statistics (statistics.interval.ms) of every Producer and
// group Consumer, parsed when they arrive, and the totals of the producers.
//
// Threads: librdkafka runs the statistics callback on the thread that polls the client
// (a role's consumer thread, a producer's poll thread); it parses the JSON (a few KB,
// microseconds, every interval) and stores the result under a mutex that the readers
// (the ops server's thread) take briefly. Nothing here blocks a client's thread on I/O.
namespace hookpipe::kafka {

struct PartitionLag {
  std::string topic;
  int32_t partition = 0;
  int64_t lag = 0;  // messages between the committed offset and the high watermark
};

// One statistics report, the parts hookpipe uses.
struct ClientStats {
  std::string name;             // the client's instance name (rdkafka#consumer-3)
  std::string client_id;        // its client.id (hookpipe.router, hookpipe.attempt-log, ...)
  std::string type;             // "producer" or "consumer"
  int brokers_up = 0;           // broker connections in state UP (bootstrap ones included)
  int brokers = 0;              // broker connections known
  int64_t queued_messages = 0;  // msg_cnt: in the producer's queue, not yet acknowledged
  // A group consumer's group (cgrp): its state ("up" once the coordinator is known), its
  // join state ("steady" once assigned), and how many partitions it was assigned.
  bool has_group = false;
  std::string group_state;
  std::string join_state;
  int64_t assignment_size = 0;
  int64_t rebalances = 0;
  // Assigned partitions (desired by the application) with a known lag.
  std::vector<PartitionLag> lags;
  // Requests sent since the client started, per type (Produce, Fetch, OffsetCommit, ...),
  // summed over its broker connections; types never sent are left out.
  std::map<std::string, int64_t, std::less<>> requests;
};

// Parses librdkafka's statistics JSON (STATISTICS.md of librdkafka 2.0.2).
Result<ClientStats> parseStats(std::string_view json);

// Turns statistics on for every Producer and Consumer created from now on (0: off, the
// default). HOOKPIPE_KAFKA_STATISTICS_INTERVAL_MS overrides the interval per client.
void enableStats(std::chrono::milliseconds interval);
std::chrono::milliseconds statsInterval();

// The latest report of one client and when it came.
struct ClientStatus {
  bool group_consumer = false;            // a Consumer (else a Producer)
  std::chrono::milliseconds interval{0};  // its statistics interval
  std::chrono::steady_clock::time_point created;
  bool reported = false;  // a report came
  std::chrono::steady_clock::time_point reported_at;
  bool joined = false;  // its group reached join state "steady" at least once
  ClientStats last;
};
// Every live client that has statistics on.
std::vector<ClientStatus> clientStatuses();

// Totals over the process's producers, live or gone: records the broker refused or that
// failed (delivery reports with an error, and produce calls refused other than for a full
// queue), and records queued now in the live producers (rd_kafka_outq_len).
uint64_t produceErrors();
int64_t producerQueueDepth();

// Requests sent to the brokers per client.id and request type, over the process's clients
// live or gone (a gone client's last report stays counted): what this process costs the
// broker, and which of its clients does.
using RequestCounts = std::map<std::pair<std::string, std::string>, int64_t>;
RequestCounts requestsSent();

// Used by Producer and Consumer (kafka.cc): `key` is the object whose lifetime the entry
// follows; the callback's opaque is that object.
namespace detail {
void trackClient(const void* key, bool group_consumer, std::chrono::milliseconds interval);
void untrackClient(const void* key);
void trackProducer(rd_kafka_t* rk);
void untrackProducer(rd_kafka_t* rk);
void countProduceError();
// The statistics callback for rd_kafka_conf_set_stats_cb; the opaque is the tracked key.
int onStats(rd_kafka_t* rk, char* json, size_t len, void* opaque) noexcept;
// With statistics on in `conf` (as set in the end: HOOKPIPE_KAFKA_STATISTICS_INTERVAL_MS may
// have changed them), `client` reports here: onStats as the callback, trackClient.
void trackStats(rd_kafka_conf_t* conf, const void* client, bool group_consumer);
}  // namespace detail

}  // namespace hookpipe::kafka
