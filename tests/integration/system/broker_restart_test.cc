// Every role rides out a broker restart (issue 14 §2): a private single-node broker
// (script/kafka, on ports of its own: the shared test broker is never restarted) is
// killed with SIGKILL under traffic and started again. With static membership a consumer
// may find itself fenced after the broker came back ("Static consumer fenced by other
// consumer with same group.instance.id": a commit under the member id it had before it
// rejoined); that used to end the process with status 1, now the consumer is recreated.
// Every process must still run afterwards and every event be delivered.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "common/kafka/kafka.h"
#include "support/harness.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;

bool portOpen(int port) {
  return std::system(
             ("(exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port) + ") 2>/dev/null").c_str()) ==
         0;
}

// A broker of this test's own, started with script/kafka (the jars script/test fetched;
// HOOKPIPE_LOCAL, as for script/kafka, says where they are).
class PrivateBroker {
 public:
  PrivateBroker() {
    do port_ = freePort();
    while (port_ > 64000 || portOpen(port_ + 1000));  // script/kafka: controller at +1000
  }
  ~PrivateBroker() { run("stop --wipe"); }
  bool start() { return run("start") == 0; }
  void kill() {
    std::ifstream pidfile(local() + "/kafka/" + std::to_string(port_) + "/broker.pid");
    pid_t pid = 0;
    pidfile >> pid;
    if (pid > 0) ::kill(pid, SIGKILL);
    eventually([&] { return !portOpen(port_); }, 10s);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return local() + "/kafka/" + std::to_string(port_) + "/broker.log"; }

 private:
  static std::string local() {
    const char* v = std::getenv("HOOKPIPE_LOCAL");
    return v != nullptr && *v != '\0' ? v : HOOKPIPE_SOURCE_DIR "/.local";
  }
  int run(const std::string& command) const {
    return std::system(("HOOKPIPE_LOCAL='" + local() + "' KAFKA_PORT=" + std::to_string(port_) +
                        " " HOOKPIPE_SOURCE_DIR "/script/kafka " + command + " >&2")
                           .c_str());
  }
  int port_ = 0;
};

TEST(BrokerRestart, EveryRoleRidesOutABrokerKilledAndRestarted) {
  PrivateBroker broker;
  ASSERT_TRUE(broker.start());
  Pipeline pipeline("BrokerRestart");
  pipeline.useBrokers(broker.address());
  const Config& config = pipeline.config();
  ASSERT_TRUE(kafka::ensureTopics(config).has_value());
  Receiver receiver;
  auto& api = pipeline.start("producer");
  ASSERT_TRUE(eventually(
      [&] { return httpRequest("GET", pipeline.apiUrl("/healthz"), "").status == 200; }, 60s))
      << pipeline.logs();
  ASSERT_EQ(httpRequest("POST", pipeline.apiUrl("/v1/subscriptions"),
                        R"({"url":")" + receiver.url("/r") + R"(","events":["*"]})")
                .status,
            201);
  std::vector<RoleProcess*> roles = {&api};
  for (const char* role : {"router", "deliverer", "retry"})
    for (const char* instance : {"1", "2"}) roles.push_back(&pipeline.start(role, instance));

  // 100 events/s from before the kill until well after the restart; librdkafka holds
  // them while the broker is down (no message timeout).
  auto producer = kafka::Producer::create(config, {{"message.timeout.ms", "0"}});
  ASSERT_TRUE(producer.has_value());
  std::atomic<int> published{0};
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; !stop; ++i) {
      std::this_thread::sleep_until(start + i * 10ms);  // pacing
      const std::string id = "evt_b" + std::to_string(i);
      if ((*producer)
              ->produce(config.topics.events(), id,
                        R"({"id":")" + id + R"(","type":"restart.test","data":{}})", {}, nullptr)
              .has_value())
        ++published;
      (*producer)->poll(0);
    }
  });
  auto delivered = [&] {
    std::set<std::string> ids;
    for (const auto& r : receiver.requests()) {
      const auto at = r.body.find("\"evt_b");
      if (at == std::string::npos) continue;
      ids.insert(r.body.substr(at + 1, r.body.find('"', at + 1) - at - 1));
    }
    return ids.size();
  };
  const bool flowing = eventually([&] { return delivered() >= 100; }, 60s);
  if (flowing) {
    broker.kill();
    std::this_thread::sleep_for(2s);  // the fault: the broker stays down a while
    EXPECT_TRUE(broker.start()) << broker.log();
    const std::size_t at_restart = delivered();
    EXPECT_TRUE(eventually([&] { return delivered() >= at_restart + 500; }, 90s))
        << "delivery did not resume after the restart";
  }
  stop = true;
  publisher.join();
  ASSERT_TRUE(flowing) << pipeline.logs();
  ASSERT_TRUE((*producer)->flush(30s));
  const auto total = static_cast<std::size_t>(published.load());
  EXPECT_TRUE(eventually([&] { return delivered() >= total; }, 60s))
      << "delivered " << delivered() << " of " << total << "\n"
      << pipeline.logs();
  for (RoleProcess* role : roles)
    EXPECT_EQ(role->wait(50ms), -1) << role->logPath() << " exited\n" << pipeline.logs();
}

}  // namespace
}  // namespace hookpipe::testing
