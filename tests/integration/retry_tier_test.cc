// Tier accuracy across a crash: the retry role is killed with SIGKILL while it holds
// not-yet-due records; after a restart every record still reaches `deliveries`, and none
// before its hp-due-ms.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>

#include "common/kafka/kafka.h"
#include "common/records/delivery.h"
#include "support/harness.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;

TEST(RetryTier, KilledWhileHoldingRecordsLosesNothingAndSendsNothingEarly) {
  Pipeline pipeline("RetryTierKill");
  const Config& config = pipeline.config();  // tiers 1s and 5s
  ASSERT_TRUE(kafka::ensureTopics(config).has_value());
  auto producer = kafka::Producer::create(config);
  ASSERT_TRUE(producer.has_value());

  auto* retry = &pipeline.start("retry");
  constexpr int kRecords = 30;
  std::map<std::string, int64_t> due_of;  // delivery id -> due
  const int64_t start = kafka::nowMs();
  for (int i = 0; i < kRecords; ++i) {
    records::DeliveryMeta meta;
    meta.event_id = "evt_tier_" + std::to_string(i);
    meta.subscription_id = "sub_tier";
    meta.delivery_id = records::deliveryIdFor(meta.event_id, meta.subscription_id);
    meta.attempt = 2;
    // Due 2.5 s .. 9.75 s from now: spread over both tiers, some hop through retry.1s.
    meta.due_ms = start + 2500 + i * 250;
    kafka::HeaderList headers;
    meta.writeTo(headers);
    const auto tier = i % 3 == 0 ? config.retry_tiers[0] : config.retry_tiers[1];
    ASSERT_TRUE((*producer)
                    ->produceBlocking(config.topics.retryTier(tier), meta.subscription_id, "{}",
                                      headers, nullptr)
                    .has_value());
    due_of[meta.delivery_id] = meta.due_ms;
  }
  ASSERT_TRUE((*producer)->flush(10s));

  // Kill once a few records went through, so the rest are being held or not yet read.
  ASSERT_TRUE(
      eventually([&] { return readTopic(config, config.topics.deliveries()).size() >= 3; }, 30s))
      << pipeline.logs();
  retry->kill(SIGKILL);
  retry->wait(10s);
  pipeline.stop(*retry);
  const std::size_t before_restart = readTopic(config, config.topics.deliveries()).size();
  EXPECT_LT(before_restart, static_cast<std::size_t>(kRecords)) << "killed too late";
  pipeline.start("retry");

  std::map<std::string, int64_t> arrived;  // delivery id -> earliest timestamp in deliveries
  ASSERT_TRUE(eventually(
      [&] {
        arrived.clear();
        for (const auto& m : readTopic(config, config.topics.deliveries())) {
          const auto id = records::DeliveryMeta::fromHeaders(m.headers).delivery_id;
          auto [it, fresh] = arrived.emplace(id, m.timestamp_ms);
          if (!fresh) it->second = std::min(it->second, m.timestamp_ms);
        }
        return arrived.size() >= static_cast<std::size_t>(kRecords);
      },
      60s))
      << "arrived " << arrived.size() << " of " << kRecords << "\n"
      << pipeline.logs();
  for (const auto& [id, due] : due_of) {
    ASSERT_TRUE(arrived.contains(id)) << id;
    EXPECT_GE(arrived[id], due) << id << " was sent " << due - arrived[id] << " ms early";
  }
}

}  // namespace
}  // namespace hookpipe::testing
