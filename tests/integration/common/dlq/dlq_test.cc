// `hookpipe dlq list|show|stats|replay|purge` against the real broker: dead letters are
// produced straight to the test's own dlq topic, the real binary runs the commands.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "common/dlq/replay.h"
#include "common/kafka/kafka.h"
#include "common/records/delivery.h"
#include "support/harness.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;

using Dead = DeadLetterSpec;

class DlqTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pipeline_ =
        std::make_unique<Pipeline>(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(kafka::ensureTopics(pipeline_->config()).has_value());
    auto producer = kafka::Producer::create(pipeline_->config());
    ASSERT_TRUE(producer.has_value());
    producer_ = std::move(*producer);
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << pipeline_->logs();
  }

  // Produces dead letters and waits for the broker; returns their event ids.
  std::vector<std::string> deadLetters(const std::vector<Dead>& dead) {
    return produceDeadLetters(pipeline_->config(), *producer_, dead, counter_);
  }

  // A time strictly after every record produced so far and before any produced later.
  int64_t boundary() {
    const int64_t t = kafka::nowMs();
    EXPECT_TRUE(eventually([&] { return kafka::nowMs() > t + 1; }, 1s));
    return t;
  }

  std::pair<int, std::string> dlq(std::vector<std::string> args) {
    args.insert(args.begin(), "dlq");
    return pipeline_->runCommand(args);
  }

  std::vector<kafka::OwnedMessage> deliveries() {
    return readTopic(pipeline_->config(), pipeline_->config().topics.deliveries());
  }
  // The deliveries once there are at least `n` (fewer after 30 s).
  std::vector<kafka::OwnedMessage> waitForDeliveries(std::size_t n) {
    std::vector<kafka::OwnedMessage> sent;
    eventually(
        [&] {
          sent = deliveries();
          return sent.size() >= n;
        },
        30s);
    return sent;
  }

  static std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && line[0] == '{') out.push_back(line);
    return out;
  }

  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<kafka::Producer> producer_;
  int counter_ = 0;
};

TEST_F(DlqTest, ListShowAndStatsDescribeDeadLettersWithFilters) {
  auto ids = deadLetters({{"sub_a", "order.created", "http_5xx"},
                          {"sub_a", "order.paid", "http_4xx"},
                          {"sub_b", "order.created", "timeout"}});

  auto [status, table] = dlq({"list"});
  ASSERT_EQ(status, 0) << table;
  EXPECT_NE(table.find("POSITION"), std::string::npos) << table;
  EXPECT_NE(table.find("3 dead letters"), std::string::npos) << table;
  for (const auto& id : ids) EXPECT_NE(table.find(id), std::string::npos) << table;

  auto [s2, json] = dlq({"list", "--json", "--subscription", "sub_a"});
  ASSERT_EQ(s2, 0) << json;
  auto rows = lines(json);
  ASSERT_EQ(rows.size(), 2u) << json;
  EXPECT_EQ(jsonField(rows[0], "event_id"), ids[0]);
  EXPECT_EQ(jsonField(rows[0], "error_class"), "http_5xx");
  EXPECT_EQ(jsonField(rows[0], "reason"), "retries_exhausted");
  EXPECT_EQ(jsonField(rows[1], "event_type"), "order.paid");

  auto [s3, filtered] =
      dlq({"list", "--json", "--event-type", "order.created", "--error-class", "timeout"});
  ASSERT_EQ(s3, 0) << filtered;
  ASSERT_EQ(lines(filtered).size(), 1u) << filtered;
  EXPECT_EQ(jsonField(lines(filtered)[0], "event_id"), ids[2]);

  auto [s4, shown] = dlq({"show", "0:1"});
  ASSERT_EQ(s4, 0) << shown;
  EXPECT_NE(shown.find("hp-event-id: " + ids[1]), std::string::npos) << shown;
  EXPECT_NE(shown.find(R"({"id":")" + ids[1]), std::string::npos) << shown;
  auto [s5, missing] = dlq({"show", "0:99"});
  EXPECT_EQ(s5, 1) << missing;

  auto [s6, stats] = dlq({"stats", "--json"});
  ASSERT_EQ(s6, 0) << stats;
  EXPECT_NE(stats.find(R"("total":3)"), std::string::npos) << stats;
  EXPECT_NE(stats.find(R"("by_subscription":{"sub_a":2,"sub_b":1})"), std::string::npos) << stats;
  EXPECT_NE(stats.find(R"("order.created":2)"), std::string::npos) << stats;
  EXPECT_NE(stats.find(R"("by_error_class":{"http_4xx":1,"http_5xx":1,"timeout":1})"),
            std::string::npos)
      << stats;
}

TEST_F(DlqTest, BadArgumentsAreRefusedWithUsage) {
  EXPECT_EQ(dlq({"list", "--since", "yesterday"}).first, 2);
  EXPECT_EQ(dlq({"replay", "--rate", "fast"}).first, 2);
  EXPECT_EQ(dlq({"stats", "--dry-run"}).first, 2);
  EXPECT_EQ(dlq({"purge"}).first, 2);
  EXPECT_EQ(dlq({"show", "nowhere"}).first, 2);
  EXPECT_EQ(dlq({"explode"}).first, 2);
}

TEST_F(DlqTest, SameReplayRunTwiceSendsEachDeadLetterOnceAndResumesAfterMax) {
  deadLetters({{"sub_a", "t", "http_5xx"},
               {"sub_b", "t", "http_5xx"},
               {"sub_a", "t", "http_5xx"},
               {"sub_a", "t", "http_5xx"},
               {"sub_a", "t", "timeout"}});

  auto [s0, dry] = dlq({"replay", "--subscription", "sub_a", "--dry-run"});
  ASSERT_EQ(s0, 0) << dry;
  EXPECT_NE(dry.find("would replay 4 of 5"), std::string::npos) << dry;

  auto [s1, first] = dlq({"replay", "--subscription", "sub_a", "--max", "2"});
  ASSERT_EQ(s1, 0) << first;
  EXPECT_NE(first.find("replayed 2 of"), std::string::npos) << first;
  auto [s2, second] = dlq({"replay", "--subscription", "sub_a"});
  ASSERT_EQ(s2, 0) << second;
  EXPECT_NE(second.find("replayed 2 of"), std::string::npos) << second;
  EXPECT_NE(second.find("(resumed)"), std::string::npos) << second;
  auto [s3, third] = dlq({"replay", "--subscription", "sub_a"});
  ASSERT_EQ(s3, 0) << third;
  EXPECT_NE(third.find("replayed 0 of 0"), std::string::npos) << third;

  const auto sent = waitForDeliveries(4);
  ASSERT_GE(sent.size(), 4u);
  std::multiset<std::string> delivery_ids;
  for (const auto& m : sent) {
    auto meta = records::DeliveryMeta::fromHeaders(m.headers);
    delivery_ids.insert(meta.delivery_id);
    EXPECT_EQ(meta.subscription_id, "sub_a");
    EXPECT_EQ(meta.attempt, 1);
    EXPECT_TRUE(meta.replay_id.starts_with("rpl_"));
    EXPECT_EQ(kafka::findHeader(m.headers, records::kReplayCount).value_or(""), "1");
  }
  EXPECT_EQ(sent.size(), 4u);
  EXPECT_EQ(std::set<std::string>(delivery_ids.begin(), delivery_ids.end()).size(), 4u);

  // An explicit replay id is a different replay: it starts from the beginning.
  auto [s4, other] = dlq({"replay", "--replay-id", "again", "--error-class", "timeout"});
  ASSERT_EQ(s4, 0) << other;
  EXPECT_NE(other.find("replayed 1 of 5 dead letters replay_id=again"), std::string::npos) << other;
}

TEST_F(DlqTest, ReplayByTimeRangeToAnotherSubscriptionRewritesAddressAndId) {
  auto early = deadLetters({{"sub_a", "t", "http_5xx"}, {"sub_a", "t", "http_5xx"}});
  const int64_t middle = boundary();
  auto late = deadLetters({{"sub_a", "t", "http_5xx"}});
  const int64_t end = boundary();
  deadLetters({{"sub_a", "t", "http_5xx"}});

  auto [s1, listed] = dlq(
      {"list", "--json", "--since", std::to_string(middle + 1), "--until", std::to_string(end)});
  ASSERT_EQ(s1, 0) << listed;
  ASSERT_EQ(lines(listed).size(), 1u) << listed;
  EXPECT_EQ(jsonField(lines(listed)[0], "event_id"), late[0]);

  auto [s2, out] = dlq({"replay", "--since", std::to_string(middle + 1), "--until",
                        std::to_string(end), "--to-subscription", "sub_z", "--rate", "50/s"});
  ASSERT_EQ(s2, 0) << out;
  EXPECT_NE(out.find("replayed 1 of 1"), std::string::npos) << out;
  const auto sent = waitForDeliveries(1);
  ASSERT_GE(sent.size(), 1u);
  ASSERT_EQ(sent.size(), 1u);
  auto meta = records::DeliveryMeta::fromHeaders(sent[0].headers);
  EXPECT_EQ(sent[0].key, "sub_z");
  EXPECT_EQ(meta.subscription_id, "sub_z");
  EXPECT_EQ(meta.event_id, late[0]);
  EXPECT_EQ(meta.delivery_id,
            dlq::redirectedDeliveryId(records::deliveryIdFor(late[0], "sub_a"), "sub_z"));
}

TEST_F(DlqTest, ReplayCountCapRefusesDeadLettersThatKeepComingBack) {
  deadLetters({{"sub_a", "t", "http_5xx", 5}, {"sub_a", "t", "http_5xx", 2}});
  auto [status, out] = dlq({"replay"});
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("replayed 1 of 2"), std::string::npos) << out;
  EXPECT_NE(out.find("refused=1"), std::string::npos) << out;
  const auto sent = waitForDeliveries(1);
  ASSERT_GE(sent.size(), 1u);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(kafka::findHeader(sent[0].headers, records::kReplayCount).value_or(""), "3");

  auto [s2, raised] = dlq({"replay", "--replay-id", "raised", "--max-replay-count", "6"});
  ASSERT_EQ(s2, 0) << raised;
  EXPECT_NE(raised.find("replayed 2 of 2"), std::string::npos) << raised;
}

TEST_F(DlqTest, PurgeSkipsPastARangeForListStatsAndReplay) {
  deadLetters({{"sub_a", "t", "http_5xx"}, {"sub_a", "t", "http_5xx"}});
  const int64_t middle = boundary();
  auto kept = deadLetters({{"sub_a", "t", "http_5xx"}, {"sub_a", "t", "http_5xx"}});

  auto [s0, dry] = dlq({"purge", "--until", std::to_string(middle), "--dry-run"});
  ASSERT_EQ(s0, 0) << dry;
  EXPECT_NE(dry.find("would purge 2 "), std::string::npos) << dry;
  auto [s1, purged] = dlq({"purge", "--until", std::to_string(middle)});
  ASSERT_EQ(s1, 0) << purged;
  EXPECT_NE(purged.find("purged 2 dead letters; floor 0:2"), std::string::npos) << purged;
  auto [s2, again] = dlq({"purge", "--until", std::to_string(middle)});
  EXPECT_NE(again.find("purged 0 "), std::string::npos) << again;

  auto [s3, listed] = dlq({"list", "--json"});
  ASSERT_EQ(lines(listed).size(), 2u) << listed;
  EXPECT_EQ(jsonField(lines(listed)[0], "event_id"), kept[0]);
  auto [s4, all] = dlq({"list", "--json", "--include-purged"});
  EXPECT_EQ(lines(all).size(), 4u) << all;
  auto [s5, stats] = dlq({"stats", "--json"});
  EXPECT_NE(stats.find(R"("total":2)"), std::string::npos) << stats;

  // By position: everything up to and including 0:2.
  auto [s6, by_position] = dlq({"purge", "--until", "0:2"});
  ASSERT_EQ(s6, 0) << by_position;
  EXPECT_NE(by_position.find("purged 1 dead letters; floor 0:3"), std::string::npos) << by_position;
  auto [s7, replayed] = dlq({"replay"});
  ASSERT_EQ(s7, 0) << replayed;
  EXPECT_NE(replayed.find("replayed 1 of 1"), std::string::npos) << replayed;
}

}  // namespace
}  // namespace hookpipe::testing
