// The recorder on the real broker and Redis: the index holds exactly what the attempts
// topic says — after a clean run, across SIGKILL and rebalances, after a rebuild — and
// bad records are skipped and counted.
#include <gtest/gtest.h>
#include <signal.h>

#include "common/attempts/query.h"
#include "recorder_support.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kPartitions = 3;

class RecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    pipeline_ = std::make_unique<Pipeline>(std::string("Rec") + info->name());
    config_ = pipeline_->config();
    config_.attempts_partitions = kPartitions;
    config_.log_max_per_subscription = 1'000'000;
    keys_ = std::make_unique<attempts::Keys>(config_.topics.prefix);
    createTopic(config_, config_.topics.attempts(), kPartitions);
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << pipeline_->logs();
    // Leave no index behind on the shared Redis.
    for (const auto& k : scanKeys(redis_, keys_->pattern())) (void)redis_.pipeline({{"UNLINK", k}});
  }
  std::map<std::string, std::string> env() const {
    return {{"HOOKPIPE_ATTEMPTS_PARTITIONS", std::to_string(kPartitions)},
            {"HOOKPIPE_LOG_MAX_PER_SUBSCRIPTION", "1000000"}};
  }
  bool caughtUp(int64_t total, std::chrono::milliseconds timeout) {
    return eventually([&] { return appliedTotal(redis_, *keys_, kPartitions) == total; }, timeout);
  }
  std::unique_ptr<Pipeline> pipeline_;
  Config config_;
  std::unique_ptr<attempts::Keys> keys_;
  redis::Client redis_ = redisClient();
};

TEST_F(RecorderTest, IndexHoldsExactlyTheCountsLogsAndLatenciesOfTheRecords) {
  const auto records = sampleRecords(600, 2, kafka::nowMs());
  produce(config_, records);
  InProcessRecorder recorder(config_);
  ASSERT_TRUE(caughtUp(600, 60s));

  EXPECT_EQ(actualStats(redis_, *keys_), expectedStats(*keys_, records));
  // The delivery log: every delivery's hash with its subscription and each attempt's
  // record as produced, each subscription's deliveries by latest attempt.
  std::map<std::string, std::map<std::string, int64_t>> latest;  // sub -> delivery -> ms
  for (const auto& r : records) {
    auto& t = latest[r.subscription_id][r.delivery_id];
    t = std::max(t, r.finished_ms);
  }
  for (const auto& r : records) {
    const Hash h = hgetall(redis_, keys_->delivery(r.delivery_id));
    ASSERT_EQ(h.at("s"), r.subscription_id);
    std::string json;
    attempts::encode(r, json);
    EXPECT_EQ(h.at(attempts::Keys::attemptField(r.attempt)), json);
  }
  for (const auto& [sub, deliveries] : latest) {
    auto z = redis_.pipeline({{"ZRANGE", keys_->subscriptionLog(sub), "0", "-1", "WITHSCORES"}});
    ASSERT_TRUE(z.has_value());
    std::map<std::string, int64_t> got;
    for (std::size_t i = 0; i + 1 < (*z)[0]->elements; i += 2)
      got[(*z)[0]->element[i]->str] = std::atoll((*z)[0]->element[i + 1]->str);
    EXPECT_EQ(got, deliveries) << sub;
  }
  auto subs = redis_.pipeline({{"ZCARD", keys_->subscriptions()}});
  EXPECT_EQ((*subs)[0]->integer, 2);
  // A delivery expires log_retention after its latest attempt.
  auto ttl = redis_.pipeline({{"PEXPIRETIME", keys_->delivery(records[0].delivery_id)}});
  EXPECT_EQ((*ttl)[0]->integer, latest[records[0].subscription_id][records[0].delivery_id] +
                                    config_.log_retention.count());
  EXPECT_EQ(recorder.metrics().records.value(), 600u);
  EXPECT_EQ(recorder.metrics().bad_records.value(), 0u);
}

// A dead letter replayed keeps its delivery id and starts again at attempt 1: the index
// keeps both runs' attempts apart and the log shows the latest run (it was refiled as
// dead_lettered, the replay's first attempt overwriting the original's, before).
TEST_F(RecorderTest, AReplayedDeadLetterShowsItsLatestRunAndKeepsEveryAttempt) {
  const int64_t now = kafka::nowMs();
  std::vector<attempts::Record> records;
  auto add = [&](int replay, int attempt, const char* outcome, long status, int64_t at) {
    attempts::Record r;
    r.delivery_id = "dlv_replayed";
    r.event_id = "evt_1";
    r.event_type = "order.created";
    r.subscription_id = "sub_r";
    r.attempt = attempt;
    r.replay = replay;
    r.outcome = outcome;
    r.attempted = true;
    r.status = status;
    r.error_class = status == 200 ? "" : "http_5xx";
    r.reason = std::string(outcome) == "dead_lettered" ? "retries_exhausted" : "";
    r.duration_us = 1000 * attempt;
    r.finished_ms = at;
    r.started_ms = at - 1;
    records.push_back(r);
  };
  add(0, 1, "retried", 503, now - 40'000);
  add(0, 2, "dead_lettered", 503, now - 30'000);
  add(1, 1, "retried", 502, now - 20'000);
  add(1, 2, "delivered", 200, now - 10'000);
  produce(config_, records);
  InProcessRecorder recorder(config_);
  ASSERT_TRUE(caughtUp(4, 60s));

  const Hash h = hgetall(redis_, keys_->delivery("dlv_replayed"));
  for (const auto& r : records) {
    std::string json;
    attempts::encode(r, json);
    EXPECT_EQ(h.at(attempts::Keys::attemptField(r.attempt, r.replay)), json);
  }
  EXPECT_EQ(h.at(std::string(attempts::Keys::kLatestField)), "r1a2");

  attempts::Query query(redis_, config_.topics.prefix);
  auto page = query.listDeliveries("sub_r", {}, std::nullopt, 10);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->entries.size(), 1u);
  const attempts::LogEntry& e = page->entries[0];
  EXPECT_EQ(e.status, attempts::Status::kDelivered);
  EXPECT_EQ(e.response_status, 200);
  EXPECT_EQ(e.attempts, 2);
  EXPECT_EQ(e.replays, 1);
  EXPECT_EQ(e.first_attempt_ms, now - 40'001);  // the first run's first attempt
  ASSERT_TRUE(page->summary);
  EXPECT_EQ(page->summary->delivered, 1u);
  EXPECT_EQ(page->summary->dead_lettered, 0u);

  // An index written before hashes named their latest attempt: the log reads them all.
  ASSERT_TRUE(redis_.pipeline({{"HDEL", keys_->delivery("dlv_replayed"), "l"}}));
  auto legacy = query.listDeliveries("sub_r", {}, std::nullopt, 10);
  ASSERT_TRUE(legacy) << legacy.error().message;
  ASSERT_EQ(legacy->entries.size(), 1u);
  EXPECT_EQ(legacy->entries[0].status, attempts::Status::kDelivered);
  EXPECT_EQ(legacy->entries[0].replays, 1);

  auto d = query.delivery("dlv_replayed");
  ASSERT_TRUE(d && *d);
  ASSERT_EQ((*d)->attempts.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*d)->attempts[i].replay, records[i].replay) << i;
    EXPECT_EQ((*d)->attempts[i].attempt, records[i].attempt) << i;
  }
}

TEST_F(RecorderTest, GarbageRecordsAreSkippedAndCounted) {
  const auto records = sampleRecords(30, 2, kafka::nowMs());
  produce(config_, records, {"not json", "{\"delivery_id\":\"x\"}", ""});
  InProcessRecorder recorder(config_);
  ASSERT_TRUE(caughtUp(33, 60s));
  EXPECT_EQ(recorder.metrics().bad_records.value(), 3u);
  EXPECT_EQ(recorder.metrics().records.value(), 30u);
  EXPECT_EQ(actualStats(redis_, *keys_), expectedStats(*keys_, records));
}

TEST_F(RecorderTest, RecordsWhoseFinishTimeIsADayOffTheirMessageAreSkippedAndCounted) {
  const int64_t now = kafka::nowMs();
  const auto records = sampleRecords(30, 2, now);
  // Valid records, but one finished "in 3 days" and one finished 3 days before the broker
  // took it (the message timestamp is the produce time here).
  auto odd = sampleRecords(2, 2, now);
  odd[0].delivery_id = "dlv_future";
  odd[0].finished_ms = now + 3LL * 86400'000;
  odd[1].delivery_id = "dlv_past";
  odd[1].finished_ms = now - 3LL * 86400'000;
  std::vector<std::string> raw;
  for (const auto& r : odd) attempts::encode(r, raw.emplace_back());
  produce(config_, records, raw);
  InProcessRecorder recorder(config_);
  ASSERT_TRUE(caughtUp(32, 60s));
  EXPECT_EQ(recorder.metrics().bad_times.value(), 2u);
  EXPECT_EQ(recorder.metrics().bad_records.value(), 2u);
  EXPECT_EQ(recorder.metrics().records.value(), 30u);
  EXPECT_EQ(actualStats(redis_, *keys_), expectedStats(*keys_, records));
  auto e =
      redis_.pipeline({{"EXISTS", keys_->delivery("dlv_future"), keys_->delivery("dlv_past")}});
  EXPECT_EQ((*e)[0]->integer, 0);
}

TEST_F(RecorderTest, TrimsEachSubscriptionToTheCapAndTheRetention) {
  const int64_t now = kafka::nowMs();
  std::vector<attempts::Record> records = sampleRecords(60, 1, now);  // 20 deliveries, sub_0
  for (auto& r : records) r.finished_ms = now - 1000 + std::stoll(r.delivery_id.substr(4));
  // Two deliveries whose latest attempt is older than the retention (2 h here).
  auto old = sampleRecords(2, 1, now);
  for (std::size_t i = 0; i < old.size(); ++i) {
    old[i].delivery_id = "dlv_old" + std::to_string(i);
    old[i].attempt = 1;
    old[i].finished_ms = now - 3 * 3600 * 1000;
  }
  records.insert(records.begin(), old.begin(), old.end());
  config_.log_max_per_subscription = 15;
  config_.log_retention = 2h;
  produce(config_, records);
  InProcessRecorder recorder(config_);
  ASSERT_TRUE(caughtUp(static_cast<int64_t>(records.size()), 60s));

  auto z = redis_.pipeline({{"ZRANGE", keys_->subscriptionLog("sub_0"), "0", "-1"}});
  ASSERT_TRUE(z.has_value());
  std::vector<std::string> kept;
  for (std::size_t i = 0; i < (*z)[0]->elements; ++i) kept.emplace_back((*z)[0]->element[i]->str);
  // The newest 15 of the 20 recent deliveries; the old ones never entered the log.
  ASSERT_EQ(kept.size(), 15u);
  EXPECT_EQ(kept.front(), "dlv_5");
  EXPECT_EQ(kept.back(), "dlv_19");
  for (int d = 0; d < 20; ++d) {
    auto e = redis_.pipeline({{"EXISTS", keys_->delivery("dlv_" + std::to_string(d))}});
    EXPECT_EQ((*e)[0]->integer, d >= 5 ? 1 : 0) << "dlv_" << d;
  }
  auto e = redis_.pipeline({{"EXISTS", keys_->delivery("dlv_old0")}});
  EXPECT_EQ((*e)[0]->integer, 0);
  // The statistics count them all: trimming is the log's, not the counts'.
  EXPECT_EQ(actualStats(redis_, *keys_), expectedStats(*keys_, records));
}

TEST_F(RecorderTest, WithRedisUnreachableWaitsPausedAndLosesNothing) {
  const auto records = sampleRecords(300, 2, kafka::nowMs());
  produce(config_, records);
  {
    Config down = config_;
    down.redis_port = freePort();  // nothing listens there
    InProcessRecorder recorder(down);
    // Every partition stays paused: its offset cannot be read, so nothing is taken in.
    ASSERT_TRUE(eventually(
        [&] { return recorder.metrics().paused_partitions.value() == kPartitions; }, 30s));
    EXPECT_TRUE(testkit::holdsFor(
        [&] {
          return recorder.metrics().records.value() == 0 &&
                 recorder.metrics().unflushed.value() == 0;
        },
        1s));
  }
  InProcessRecorder recorder(config_);
  ASSERT_TRUE(caughtUp(300, 60s));
  EXPECT_EQ(actualStats(redis_, *keys_), expectedStats(*keys_, records));
}

TEST_F(RecorderTest, KilledAndRebalancedMidLoadCountsEveryRecordExactlyOnce) {
  constexpr int kRecords = 150'000;
  const auto records = sampleRecords(kRecords, 50, kafka::nowMs());
  produce(config_, records);
  auto* first = &pipeline_->start("recorder", "1", env());
  ASSERT_TRUE(eventually([&] { return appliedTotal(redis_, *keys_, kPartitions) > 0; }, 60s));
  first->kill(SIGKILL);
  first->wait(10s);
  const int64_t at_kill = appliedTotal(redis_, *keys_, kPartitions);
  EXPECT_LT(at_kill, kRecords) << "killed too late to test anything";
  pipeline_->stop(*first);
  // The same instance again (static membership: its partitions at once) and a second
  // one, so the partitions are rebalanced between them while they catch up.
  pipeline_->start("recorder", "1", env());
  pipeline_->start("recorder", "2", env());
  ASSERT_TRUE(caughtUp(kRecords, 120s));
  EXPECT_EQ(actualStats(redis_, *keys_), expectedStats(*keys_, records));
  // And it stays so (nothing applied a second time after catching up).
  EXPECT_TRUE(
      testkit::holdsFor([&] { return appliedTotal(redis_, *keys_, kPartitions) == kRecords; }, 2s));
  EXPECT_EQ(
      actualStats(redis_, *keys_)[keys_->stats("all", attempts::Granularity::kDay,
                                               attempts::bucketStart(attempts::Granularity::kDay,
                                                                     records[0].finished_ms))]
          .at("n"),
      std::to_string(kRecords));
}

TEST_F(RecorderTest, RebuildAfterTheIndexWasLostGivesTheSameIndex) {
  const auto records = sampleRecords(3000, 5, kafka::nowMs());
  produce(config_, records, {"garbage"});
  {
    InProcessRecorder recorder(config_);
    ASSERT_TRUE(caughtUp(3001, 60s));
  }
  const Index before = actualStats(redis_, *keys_);
  ASSERT_EQ(before, expectedStats(*keys_, records));
  // Lose the index (the stats and a delivery log), keep nothing but stale offsets.
  for (const auto& k : scanKeys(redis_, keys_->pattern()))
    if (k.find("idx:off:") == std::string::npos) (void)redis_.pipeline({{"UNLINK", k}});
  // A stale key the rebuild must wipe.
  (void)redis_.pipeline({{"HSET", keys_->stats("all", attempts::Granularity::kDay, 0), "n", "7"}});
  auto [status, output] = pipeline_->runCommand({"recorder", "--rebuild"});
  ASSERT_EQ(status, 0) << output;
  EXPECT_NE(output.find("rebuild: 3000 records (1 bad"), std::string::npos) << output;
  EXPECT_EQ(actualStats(redis_, *keys_), before);
  EXPECT_EQ(appliedTotal(redis_, *keys_, kPartitions), 3001);
  const Hash h = hgetall(redis_, keys_->delivery(records[0].delivery_id));
  EXPECT_EQ(h.at("s"), records[0].subscription_id);
}

TEST_F(RecorderTest, RebuildWhileARecorderRunsCountsEachRecordOnce) {
  const auto records = sampleRecords(60'000, 20, kafka::nowMs());
  produce(config_, records);
  pipeline_->start("recorder", "1", env());
  ASSERT_TRUE(eventually([&] { return appliedTotal(redis_, *keys_, kPartitions) > 0; }, 60s));
  auto [status, output] = pipeline_->runCommand({"recorder", "--rebuild"});
  ASSERT_EQ(status, 0) << output;
  ASSERT_TRUE(caughtUp(60'000, 120s));
  EXPECT_EQ(actualStats(redis_, *keys_), expectedStats(*keys_, records));
}

}  // namespace
}  // namespace hookpipe::testing
