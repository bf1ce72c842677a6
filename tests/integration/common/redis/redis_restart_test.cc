// common/redis across a Redis restart, against a redis-server of the test's own (on a free
// port, no persistence; never the shared one): the first call after the restart succeeds
// on a fresh connection, delivered-id marks that could not be written during the outage
// reach Redis once it is back (bounded, oldest dropped first), and the deliverer's marks
// of deliveries made while Redis was down are written when it returns (issue 14 §3).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "common/kafka/kafka.h"
#include "common/redis/redis.h"
#include "support/harness.h"
#include "support/process.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A redis-server on its own port that the test stops (SIGKILL, as a crash) and starts
// again on the same port.
class OwnRedis {
 public:
  OwnRedis() : port_(freePort()) { start(); }
  ~OwnRedis() { stop(); }
  int port() const { return port_; }
  void start() {
    const std::string port = std::to_string(port_);
    std::vector<std::string> argv_s = {"redis-server", "--port",      port, "--bind",
                                       "127.0.0.1",    "--save",      "",   "--appendonly",
                                       "no",           "--daemonize", "no"};
    argv_s.erase(argv_s.begin());
    try {
      server_ = std::make_unique<testkit::ChildProcess>(
          testkit::SpawnOptions{.program = "redis-server",
                                .search_path = true,
                                .args = argv_s,
                                .env = testkit::environmentWith({}),
                                .output_path = "/dev/null"});
    } catch (const std::exception&) {
      server_.reset();
    }
    ready_ = eventually(
        [&] {
          redis::Client probe("127.0.0.1", port_, 200ms);
          auto r = probe.pipeline({{"PING"}});
          return r && (*r)[0]->type == REDIS_REPLY_STATUS;
        },
        10s);
  }
  void stop() {
    if (!server_) return;
    server_->signal(SIGKILL);  // a crash, not a shutdown
    server_->wait(10s);
    server_.reset();
  }
  bool ready() const { return server_ && ready_; }

 private:
  int port_;
  std::unique_ptr<testkit::ChildProcess> server_;
  bool ready_ = false;
};

bool allTrue(const Result<std::vector<bool>>& found) {
  return found && std::all_of(found->begin(), found->end(), [](bool b) { return b; });
}

TEST(RedisRestart, TheFirstCallAfterARestartSucceedsOnAFreshConnection) {
  OwnRedis server;
  ASSERT_TRUE(server.ready()) << "redis-server is needed";
  redis::Client client("127.0.0.1", server.port());
  ASSERT_TRUE(client.pipeline({{"SET", "k", "1"}}).has_value());
  server.stop();
  server.start();
  ASSERT_TRUE(server.ready());
  // The old connection was closed by the first server's death: the client notices before
  // sending and dials the new one, so the call works (before: "Server closed the
  // connection", then 250 ms of refusals without a dial).
  auto r = client.pipeline({{"GET", "k"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)[0]->type, REDIS_REPLY_NIL);  // no persistence: a fresh Redis
  EXPECT_EQ(client.dials(), 2u);
  EXPECT_TRUE(client.pipeline({{"PING"}}).has_value());
  EXPECT_EQ(client.dials(), 2u);
}

TEST(RedisRestart, MarksWrittenDuringAnOutageReachRedisAfterItReturns) {
  OwnRedis server;
  ASSERT_TRUE(server.ready()) << "redis-server is needed";
  redis::Client client("127.0.0.1", server.port(), 200ms);
  redis::DeliveredStore store(client, "restart.", std::chrono::hours(1));
  const int64_t t0 = kafka::nowMs();
  ASSERT_TRUE(store.markDelivered(std::vector<std::string>{"msg_before"}, t0).has_value());
  server.stop();
  const std::vector<std::string> during = {"msg_1", "msg_2", "msg_3"};
  EXPECT_FALSE(store.markDelivered(during, t0 + 10).has_value());
  EXPECT_FALSE(store.markDelivered(std::vector<std::string>{"msg_4"}, t0 + 20).has_value());
  EXPECT_EQ(store.unwritten(), 4u);
  server.start();
  ASSERT_TRUE(server.ready());
  const auto back = Clock::now();
  // Retried as the deliverer does (every loop); written within the client's backoff,
  // which is at most a second while Redis refuses connections.
  ASSERT_TRUE(eventually([&] { return store.writeUnwritten(kafka::nowMs()).has_value(); }, 5s));
  const auto took = Clock::now() - back;
  std::cout << "kept marks written " << std::chrono::duration<double>(took).count()
            << " s after Redis came back\n";
  EXPECT_LT(took, 1500ms);
  EXPECT_EQ(store.unwritten(), 0u);
  EXPECT_EQ(store.dropped(), 0u);
  redis::Client reader("127.0.0.1", server.port());
  redis::DeliveredStore check(reader, "restart.", std::chrono::hours(1));
  EXPECT_TRUE(allTrue(check.wereDelivered(
      std::vector<std::string>{"msg_1", "msg_2", "msg_3", "msg_4"}, kafka::nowMs())));
}

TEST(RedisRestart, KeptMarksAreBoundedAndTheOldestAreDroppedFirst) {
  OwnRedis server;
  ASSERT_TRUE(server.ready()) << "redis-server is needed";
  server.stop();
  redis::Client client("127.0.0.1", server.port(), 200ms);
  redis::DeliveredStore store(client, "bound.", std::chrono::hours(1), /*max_unwritten=*/3);
  const int64_t t0 = kafka::nowMs();
  EXPECT_FALSE(store.markDelivered(std::vector<std::string>{"a", "b"}, t0).has_value());
  EXPECT_FALSE(store.markDelivered(std::vector<std::string>{"c", "d", "e"}, t0).has_value());
  EXPECT_EQ(store.unwritten(), 3u);
  EXPECT_EQ(store.dropped(), 2u);
  server.start();
  ASSERT_TRUE(server.ready());
  ASSERT_TRUE(eventually([&] { return store.writeUnwritten(kafka::nowMs()).has_value(); }, 5s));
  redis::Client reader("127.0.0.1", server.port());
  redis::DeliveredStore check(reader, "bound.", std::chrono::hours(1));
  auto found =
      check.wereDelivered(std::vector<std::string>{"a", "b", "c", "d", "e"}, kafka::nowMs());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, (std::vector<bool>{false, false, true, true, true}));
}

TEST(RedisRestart, ALargeBacklogOfMarksIsWrittenInOneGo) {
  // More ids than one SADD carries (4096): all of them arrive.
  OwnRedis server;
  ASSERT_TRUE(server.ready()) << "redis-server is needed";
  server.stop();
  redis::Client client("127.0.0.1", server.port(), 200ms);
  redis::DeliveredStore store(client, "big.", std::chrono::hours(1));
  std::vector<std::string> ids;
  for (int i = 0; i < 10'000; ++i) ids.push_back("msg_big_" + std::to_string(i));
  EXPECT_FALSE(store.markDelivered(ids, kafka::nowMs()).has_value());
  server.start();
  ASSERT_TRUE(server.ready());
  ASSERT_TRUE(eventually([&] { return store.writeUnwritten(kafka::nowMs()).has_value(); }, 5s));
  redis::Client reader("127.0.0.1", server.port());
  redis::DeliveredStore check(reader, "big.", std::chrono::hours(1));
  EXPECT_TRUE(allTrue(check.wereDelivered(ids, kafka::nowMs())));
}

class DelivererRedisOutageTest : public PipelineFixture {};

TEST_F(DelivererRedisOutageTest, MarksOfDeliveriesMadeWhileRedisWasDownAreWrittenWhenItIsBack) {
  // The deliverer's Redis is the test's own; it dies, 20 deliveries go out meanwhile, and
  // once it is back their ids are in it (before: "delivered-id marks lost", all 20).
  OwnRedis own;
  ASSERT_TRUE(own.ready()) << "redis-server is needed";
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startApi());
  subscribe(R"({"url":")" + receiver.url("/outage") + R"(","events":["ro.*"]})");
  pipeline_->start("router");
  pipeline_->start("deliverer", "1",
                   {{"HOOKPIPE_DELIVERER_THREADS", "1"},
                    {"HOOKPIPE_REDIS", "127.0.0.1:" + std::to_string(own.port())}});
  auto producer = kafka::Producer::create(pipeline_->config());
  ASSERT_TRUE(producer.has_value());
  auto produce = [&](const std::string& prefix, int n) {
    for (int i = 0; i < n; ++i) {
      const std::string id = "evt_" + prefix + std::to_string(i);
      ASSERT_TRUE((*producer)->produceBlocking(pipeline_->config().topics.events(), id,
                                               R"({"id":")" + id + R"(","type":"ro.event"})", {},
                                               nullptr));
    }
    ASSERT_TRUE((*producer)->flush(10s));
  };
  produce("before_", 1);
  ASSERT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= 1; }, 60s));
  own.stop();
  produce("during_", 20);
  ASSERT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= 21; }, 60s));
  std::vector<std::string> ids;
  for (const auto& r : receiver.requests()) ids.push_back(r.headers.at("webhook-id"));
  ids.erase(ids.begin());  // the one delivered before: its mark died with the first Redis
  own.start();
  ASSERT_TRUE(own.ready());
  redis::Client reader("127.0.0.1", own.port());
  redis::DeliveredStore check(
      reader, pipeline_->config().topics.prefix,
      std::chrono::duration_cast<std::chrono::seconds>(pipeline_->config().delivered_ttl));
  EXPECT_TRUE(eventually([&] { return allTrue(check.wereDelivered(ids, kafka::nowMs())); }, 10s))
      << "marks of deliveries made while Redis was down never reached it";
  EXPECT_EQ(receiver.requests().size(), 21u);
}

}  // namespace
}  // namespace hookpipe::testing
