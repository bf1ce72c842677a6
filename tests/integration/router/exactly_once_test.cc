// Exactly-once routing across a crash: the router (HOOKPIPE_EXACTLY_ONCE_ROUTING=true) is
// killed with SIGKILL while a transaction is open, restarted, and a read_committed read of
// `deliveries` and `events.invalid` then holds every expected record exactly once.
//
// Why this fails without transactions: at-least-once routing acknowledges deliveries
// before their event's offset is stored and auto-commits stored offsets once a second, so
// a SIGKILL leaves up to a second of routed events whose offsets were never committed; the
// restarted router routes them again and their deliveries appear twice in `deliveries`
// (the test asserts a count of exactly one per delivery id). Run with the variable set to
// false, the test fails: the kill condition (records of an open transaction in the log)
// never holds; a version that killed at a fixed count failed with thousands of duplicates
// (checked by hand, router/README.md).
// With transactions the killed router's open transaction is aborted by the restarted
// one's init_transactions (same transactional.id), so its records stay invisible to
// read_committed readers; the test also checks that they exist (a read_uncommitted read
// sees more records), i.e. that the kill really hit an open transaction.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

#include "common/kafka/reader.h"
#include "common/records/delivery.h"
#include "common/subscriptions/subscription.h"
#include "support/harness.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kEvents = 60'000;
constexpr int kInvalidEvery = 1'000;  // events 0, 1000, 2000, ... are not JSON
constexpr int kFanOut = 2;            // "*" and "eo.*"

// Every record of `topic`, from the start to the end (for read_committed: to the last
// stable offset), read with `isolation`. Stops at each partition's EOF event, which also
// comes after trailing transaction markers that are never handed out.
std::vector<kafka::OwnedMessage> readAll(const Config& config, const std::string& topic,
                                         const std::string& isolation) {
  std::vector<kafka::OwnedMessage> out;
  auto reader = kafka::Reader::open(config, "eo-test-reader", {{"isolation.level", isolation}});
  if (!reader) return out;
  auto partitions = (*reader)->partitionCount(topic, 10s);
  if (!partitions) return out;
  kafka::Reader::Ranges ranges;
  for (int32_t p = 0; p < *partitions; ++p)
    ranges[p] = {RD_KAFKA_OFFSET_BEGINNING, INT64_MAX};  // up to each EOF
  (void)(*reader)->read(
      topic, std::move(ranges),
      [&](const rd_kafka_message_t* msg) {
        out.push_back(kafka::OwnedMessage::copyOf(msg));
        return true;
      },
      {.deadline = std::chrono::steady_clock::now() + 60s, .stop_on_error = false});
  return out;
}

// A reader for offset queries with `isolation`.
std::unique_ptr<kafka::Reader> queryReader(const Config& config, const std::string& isolation) {
  auto reader = kafka::Reader::open(config, "eo-test-query", {{"isolation.level", isolation}});
  return reader ? std::move(*reader) : nullptr;
}

// Sum over partitions of the end offset `reader` sees: the high watermark for
// read_uncommitted, the last stable offset (before any open transaction) for
// read_committed.
long endOffsets(kafka::Reader& reader, const std::string& topic, int partitions) {
  long sum = 0;
  for (int p = 0; p < partitions; ++p)
    if (auto marks = reader.watermarks(topic, p, 5s)) sum += marks->second;
  return sum;
}

// Sum of the router group's committed offsets on the events topic.
long routedAndCommitted(const Config& config) {
  auto reader = kafka::Reader::open(config, config.groupId("router"));
  if (!reader) return -1;
  auto committed = (*reader)->committed(config.topics.events(), config.events_partitions);
  if (!committed) return -1;
  long sum = 0;
  for (const auto& [_, offset] : *committed) sum += offset;
  return sum;
}

// Two subscriptions ("*" and "eo.*") and kEvents events, every kInvalidEvery-th not JSON;
// fills the delivery ids the router must produce and the number of invalid events.
// `pause` after every 1 000 events paces the stream (0: as fast as possible).
void seed(const Config& config, kafka::Producer& producer, std::set<std::string>& expected_ids,
          int& invalid, std::chrono::milliseconds pause = 0ms) {
  for (auto [id, pattern] : {std::pair{"sub_eo_all", "*"}, {"sub_eo_prefix", "eo.*"}}) {
    Subscription s;
    s.id = id;
    s.events = {pattern};
    s.url = "https://example.com/hooks/" + s.id;
    s.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    ASSERT_TRUE(
        producer.produceBlocking(config.topics.subscriptions(), s.id, toJson(s, true), {}, nullptr)
            .has_value());
  }
  invalid = 0;
  for (int i = 0; i < kEvents; ++i) {
    const std::string event_id = "evt_eo_" + std::to_string(i);
    std::string body;
    if (i % kInvalidEvery == 0) {
      body = "not json " + std::to_string(i);
      ++invalid;
    } else {
      body = R"({"id":")" + event_id + R"(","type":"eo.created","data":{"n":)" + std::to_string(i) +
             "}}";
      for (const char* sub : {"sub_eo_all", "sub_eo_prefix"})
        expected_ids.insert(records::deliveryIdFor(event_id, sub));
    }
    ASSERT_TRUE(
        producer.produceBlocking(config.topics.events(), event_id, body, {}, nullptr).has_value());
    if (pause > 0ms && i % 1000 == 999) {
      producer.flush(30s);
      std::this_thread::sleep_for(pause);
    }
  }
  ASSERT_TRUE(producer.flush(30s));
  ASSERT_EQ(expected_ids.size(), static_cast<std::size_t>((kEvents - invalid) * kFanOut));
}

// Checks that a read_committed read of `deliveries` and `events.invalid` holds every
// expected record exactly once.
void expectExactlyOnce(const Config& config, const std::set<std::string>& expected_ids,
                       int invalid) {
  // A transaction's records become visible to read_committed readers when its commit
  // marker is written, which can trail the committed offsets a little on a loaded machine.
  std::vector<kafka::OwnedMessage> records;
  eventually(
      [&] {
        records = readAll(config, config.topics.deliveries(), "read_committed");
        return records.size() >= expected_ids.size();
      },
      60s);
  std::map<std::string, int> seen;
  for (const auto& m : records) ++seen[records::DeliveryMeta::fromHeaders(m.headers).delivery_id];
  int duplicates = 0;
  for (const auto& [id, n] : seen) {
    EXPECT_TRUE(expected_ids.contains(id)) << id;
    if (n > 1) ++duplicates;
  }
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(seen.size(), expected_ids.size());
  EXPECT_EQ(records.size(), expected_ids.size());

  const auto invalid_records = readAll(config, config.topics.invalid(), "read_committed");
  std::map<std::string, int> invalid_seen;
  for (const auto& m : invalid_records) ++invalid_seen[m.key];
  EXPECT_EQ(invalid_records.size(), static_cast<std::size_t>(invalid));
  EXPECT_EQ(invalid_seen.size(), static_cast<std::size_t>(invalid));
}

TEST(RouterExactlyOnce, KilledRouterProducesEveryDeliveryExactlyOnceForReadCommitted) {
  Pipeline pipeline("RouterExactlyOnce");
  const Config& config = pipeline.config();
  ASSERT_TRUE(kafka::ensureTopics(config).has_value());
  auto created = kafka::Producer::create(config);
  ASSERT_TRUE(created.has_value());
  kafka::Producer& producer = **created;
  std::set<std::string> expected_ids;
  int invalid = 0;
  ASSERT_NO_FATAL_FAILURE(seed(config, producer, expected_ids, invalid));

  // A commit interval long enough that most of the time a transaction's records are in
  // the log but not committed.
  const std::map<std::string, std::string> eo = {{"HOOKPIPE_EXACTLY_ONCE_ROUTING", "true"},
                                                 {"HOOKPIPE_EXACTLY_ONCE_COMMIT_MS", "300"}};
  auto* router = &pipeline.start("router", "1", eo);
  // Kill once some transactions committed, at a moment when the log holds records of an
  // open one (the high watermark is past the last stable offset).
  const std::string deliveries = config.topics.deliveries();
  const int partitions = config.deliveries_partitions;
  auto uncommitted = queryReader(config, "read_uncommitted");
  auto committed = queryReader(config, "read_committed");
  ASSERT_TRUE(uncommitted && committed);
  const long threshold = static_cast<long>(expected_ids.size()) / 4;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  bool open_transaction = false;
  while (!open_transaction && std::chrono::steady_clock::now() < deadline) {
    const long stable = endOffsets(*committed, deliveries, partitions);
    open_transaction =
        stable >= threshold && endOffsets(*uncommitted, deliveries, partitions) > stable;
  }
  ASSERT_TRUE(open_transaction) << "no open transaction seen\n" << pipeline.logs();
  router->kill(SIGKILL);
  router->wait(10s);
  pipeline.stop(*router);
  const auto committed_at_kill = readAll(config, deliveries, "read_committed").size();
  const auto uncommitted_at_kill = readAll(config, deliveries, "read_uncommitted").size();
  EXPECT_LT(committed_at_kill, expected_ids.size()) << "killed too late";
  std::printf("at the kill: %zu deliveries committed, %zu in the log\n", committed_at_kill,
              uncommitted_at_kill);

  pipeline.start("router", "1", eo);
  // Done when the router has committed the offset of every event: from then on nothing
  // can be added to `deliveries`, so one read shows every duplicate there is.
  ASSERT_TRUE(eventually([&] { return routedAndCommitted(config) >= kEvents; }, 120s))
      << "committed offsets " << routedAndCommitted(config) << " of " << kEvents << "\n"
      << pipeline.logs();
  expectExactlyOnce(config, expected_ids, invalid);

  // The kill hit records of an open transaction: they are in the log (a read_uncommitted
  // reader sees them, and so would a consumer without read_committed) but were aborted.
  const auto all_written = readAll(config, deliveries, "read_uncommitted").size();
  EXPECT_GT(all_written, expected_ids.size())
      << "the kill left no aborted records behind; the crash did not test anything";
}

// A second router joining mid-stream revokes the first one's partitions (eager assignor):
// the first commits its open transaction in the revoke callback, both go on with their
// own transactional ids, and every delivery is still there exactly once. The events
// arrive paced (about 10 000/s for 6 s) so that the rebalance happens while they flow.
TEST(RouterExactlyOnce, SecondRouterJoiningMidStreamKeepsEveryDeliveryExactlyOnce) {
  Pipeline pipeline("RouterExactlyOnceJoin");
  const Config& config = pipeline.config();
  ASSERT_TRUE(kafka::ensureTopics(config).has_value());
  auto created = kafka::Producer::create(config);
  ASSERT_TRUE(created.has_value());
  std::set<std::string> expected_ids;
  int invalid = 0;
  std::thread publisher([&] { seed(config, **created, expected_ids, invalid, 100ms); });

  const std::map<std::string, std::string> eo = {{"HOOKPIPE_EXACTLY_ONCE_ROUTING", "true"}};
  auto& first = pipeline.start("router", "1", eo);
  auto committed = queryReader(config, "read_committed");
  ASSERT_TRUE(committed);
  EXPECT_TRUE(eventually(
      [&] {
        return endOffsets(*committed, config.topics.deliveries(), config.deliveries_partitions) > 0;
      },
      60s))
      << pipeline.logs();
  auto& second = pipeline.start("router", "2", eo);
  publisher.join();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  ASSERT_TRUE(eventually([&] { return routedAndCommitted(config) >= kEvents; }, 120s))
      << "committed offsets " << routedAndCommitted(config) << " of " << kEvents << "\n"
      << pipeline.logs();
  EXPECT_EQ(first.wait(0ms), -1) << "the first router stopped\n" << pipeline.logs();
  EXPECT_EQ(second.wait(0ms), -1) << "the second router stopped\n" << pipeline.logs();
  expectExactlyOnce(config, expected_ids, invalid);
}

}  // namespace
}  // namespace hookpipe::testing
