// subscriptions::Writer, the one write path of subscriptions (the API's writes and the
// deliverer's disable after a 410), against the real broker: what it refuses before
// producing, what lands on the compacted topic, the table updated on the ack, and a
// failed write leaving the table and its pins as they were.
#include "common/subscriptions/writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "common/kafka/kafka.h"
#include "support/harness.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;
using subscriptions::Refusal;
using subscriptions::Writer;
using Stored = Result<std::shared_ptr<const Subscription>>;

// A producer with a thread of its own polling it (where the Writer's callbacks run).
class PolledProducer {
 public:
  explicit PolledProducer(const Config& config, const kafka::Properties& extra = {}) {
    auto p = kafka::Producer::create(config, extra);
    if (!p) throw std::runtime_error(p.error().message);
    producer_ = std::move(*p);
    thread_ = std::thread([this] {
      while (!stop_) producer_->poll(20);
    });
  }
  ~PolledProducer() {
    producer_->flush(5s);
    stop_ = true;
    thread_.join();
  }
  kafka::Producer& operator*() { return *producer_; }

 private:
  std::unique_ptr<kafka::Producer> producer_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The Done of one write, and a way to wait for it.
struct Awaited {
  std::shared_ptr<std::promise<Stored>> promise = std::make_shared<std::promise<Stored>>();
  std::future<Stored> future = promise->get_future();
  Writer::Done done() {
    return [p = promise](Stored r) { p->set_value(std::move(r)); };
  }
  Stored get() {
    if (future.wait_for(20s) != std::future_status::ready) return fail("no answer in 20 s");
    return future.get();
  }
};

// The last record of `key` on the subscriptions topic ("" for a tombstone, nullopt for none).
std::optional<std::string> lastRecord(const Config& config, const std::string& key) {
  std::optional<std::string> out;
  for (const auto& m : readTopic(config, config.topics.subscriptions()))
    if (m.key == key) out = m.value;
  return out;
}

class SubscriptionWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pipeline_ =
        std::make_unique<Pipeline>(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(kafka::ensureTopics(pipeline_->config()).has_value());
    producer_ = std::make_unique<PolledProducer>(pipeline_->config());
    writer_ =
        std::make_unique<Writer>(**producer_, table_, pipeline_->config().topics.subscriptions());
  }
  void TearDown() override {
    writer_.reset();
    producer_.reset();
  }
  const Config& config() const { return pipeline_->config(); }

  std::unique_ptr<Pipeline> pipeline_;
  SubscriptionTable table_;
  std::unique_ptr<PolledProducer> producer_;
  std::unique_ptr<Writer> writer_;
};

TEST_F(SubscriptionWriterTest, CreateRefusesBadInputAndTakenIdsBeforeProducing) {
  Awaited never;
  auto bad = writer_->create(R"({"id":"s1","url":"ftp://x","events":[],"colour":1})", never.done());
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().reason, Refusal::kInvalid);
  std::set<std::string> pointers;
  for (const auto& p : bad.error().error.problems) pointers.insert(p.pointer);
  EXPECT_EQ(pointers, (std::set<std::string>{"/url", "/events", "/colour"}));

  Awaited first;
  ASSERT_TRUE(
      writer_->create(R"({"id":"s1","url":"https://a.example/h","events":["*"]})", first.done())
          .has_value());
  // Taken while in flight, and after.
  auto again =
      writer_->create(R"({"id":"s1","url":"https://b.example/h","events":["*"]})", never.done());
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().reason, Refusal::kConflict);
  auto stored = first.get();
  ASSERT_TRUE(stored.has_value()) << stored.error().message;
  EXPECT_EQ((*stored)->url, "https://a.example/h");
  EXPECT_TRUE((*stored)->secret.starts_with("whsec_"));
  EXPECT_EQ(
      writer_->create(R"({"id":"s1","url":"https://b.example/h","events":["*"]})", never.done())
          .error()
          .reason,
      Refusal::kConflict);
  EXPECT_EQ(writer_->setActive("nope", false, never.done()).error().reason, Refusal::kNotFound);
  EXPECT_EQ(never.future.wait_for(0s), std::future_status::timeout);
}

TEST_F(SubscriptionWriterTest, WritesLandOnTheTopicAndInTheTableOnTheAck) {
  Awaited created;
  ASSERT_TRUE(writer_
                  ->create(R"({"id":"s2","url":"https://a.example/h","events":["order.*"]})",
                           created.done())
                  .has_value());
  ASSERT_TRUE(created.get().has_value());
  // Read-your-writes: in the table as soon as the broker acknowledged it.
  ASSERT_TRUE(table_.find("s2"));

  Awaited patched;
  auto secret =
      writer_->update("s2", R"({"description":"orders","secret":"x"})", true, patched.done());
  ASSERT_FALSE(secret.has_value());
  ASSERT_EQ(secret.error().error.problems.size(), 1u);
  EXPECT_EQ(secret.error().error.problems[0].pointer, "/secret");
  ASSERT_TRUE(writer_->update("s2", R"({"description":"orders"})", true, patched.done()));
  ASSERT_TRUE(patched.get().has_value());
  EXPECT_EQ(table_.find("s2")->description, "orders");
  EXPECT_EQ(table_.find("s2")->events, std::vector<std::string>{"order.*"});

  // The deliverer's disable after a 410: the caller's version, made inactive with a reason.
  const auto current = table_.find("s2");
  Awaited disabled;
  writer_->disable(*current, "the endpoint answered 410 Gone", disabled.done());
  auto d = disabled.get();
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_FALSE(table_.find("s2")->is_active);
  EXPECT_TRUE(table_.find("s2")->disabled_reason.starts_with("the endpoint answered 410 Gone at "))
      << table_.find("s2")->disabled_reason;
  EXPECT_EQ(table_.find("s2")->secret, current->secret);
  auto record = lastRecord(config(), "s2");
  ASSERT_TRUE(record.has_value());
  auto parsed = parseSubscription(*record);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_FALSE(parsed->is_active);
  EXPECT_EQ(parsed->disabled_reason, table_.find("s2")->disabled_reason);
  EXPECT_EQ(parsed->description, "orders");
  // The topic's record of this write was pinned: reading it releases the pin.
  EXPECT_TRUE(table_.acceptFromLog("s2", *record));
  EXPECT_TRUE(table_.acceptFromLog("s2", "an older record"));

  // Resuming clears hookpipe's reason.
  Awaited resumed;
  ASSERT_TRUE(writer_->setActive("s2", true, resumed.done()));
  ASSERT_TRUE(resumed.get().has_value());
  EXPECT_TRUE(table_.find("s2")->is_active);
  EXPECT_EQ(table_.find("s2")->disabled_reason, "");

  std::promise<std::optional<Error>> removed;
  ASSERT_TRUE(writer_->remove("s2", [&](std::optional<Error> e) { removed.set_value(e); }));
  auto f = removed.get_future();
  ASSERT_EQ(f.wait_for(20s), std::future_status::ready);
  EXPECT_FALSE(f.get().has_value());
  EXPECT_FALSE(table_.find("s2"));
  EXPECT_EQ(lastRecord(config(), "s2"), std::optional<std::string>(""));
}

TEST_F(SubscriptionWriterTest, AWriteTheBrokerDoesNotTakeLeavesTheTableAsItWas) {
  Awaited created;
  ASSERT_TRUE(
      writer_->create(R"({"id":"s3","url":"https://a.example/h","events":["*"]})", created.done())
          .has_value());
  ASSERT_TRUE(created.get().has_value());
  const auto before = table_.find("s3");
  // As the topic reader would: reading the create's record releases its pin.
  auto record = lastRecord(config(), "s3");
  ASSERT_TRUE(record.has_value());
  ASSERT_TRUE(table_.acceptFromLog("s3", *record));

  // The same table, written through a producer whose broker is not there.
  Config away = config();
  away.brokers = "127.0.0.1:" + std::to_string(freePort());
  PolledProducer dead(away, {{"message.timeout.ms", "1000"}});
  Writer writer(*dead, table_, config().topics.subscriptions());
  Awaited failed;
  writer.disable(*before, "the endpoint answered 410 Gone", failed.done());
  auto r = failed.get();
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().retryable) << r.error().message;
  EXPECT_EQ(table_.find("s3"), before);
  EXPECT_TRUE(table_.find("s3")->is_active);
  // Unpinned: what the topic reader brings is applied again.
  EXPECT_TRUE(table_.acceptFromLog("s3", "any record"));
}

}  // namespace
}  // namespace hookpipe::testing
