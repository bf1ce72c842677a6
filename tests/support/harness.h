#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/kafka/kafka.h"
#include "support/process.h"

namespace hookpipe::testing {

// Where the real broker and Redis started by script/test are: HOOKPIPE_TEST_BROKERS
// (default 127.0.0.1:19092) and HOOKPIPE_TEST_REDIS (default 127.0.0.1:6379).
std::string testBrokers();
std::string testRedis();
// testRedis() split into host and port.
std::pair<std::string, int> testRedisHostPort();
// A key prefix no other test run uses: `<what><random>.`.
std::string uniqueRedisPrefix(const std::string& what);

// A hookpipe role running as its own process (the real binary), with its output in a
// log file. Stopped with SIGTERM on destruction.
class RoleProcess {
 public:
  RoleProcess(std::string role, std::map<std::string, std::string> env, std::string log_path,
              std::vector<std::string> args = {});
  ~RoleProcess();
  void kill(int signal) { child_.signal(signal); }
  // Waits for exit; returns the exit status or -1 on timeout.
  int wait(std::chrono::milliseconds timeout) { return child_.wait(timeout); }
  const std::string& logPath() const { return log_path_; }
  pid_t pid() const { return child_.pid(); }

 private:
  std::string log_path_;
  testkit::ChildProcess child_;
};

// One isolated hookpipe installation per test: its own topic prefix and consumer
// groups on the shared broker, its own Redis key prefix.
class Pipeline {
 public:
  explicit Pipeline(const std::string& test_name);
  ~Pipeline();
  const Config& config() const { return config_; }
  // Points this installation at other brokers (before any role starts).
  void useBrokers(const std::string& brokers) { config_.brokers = brokers; }
  std::map<std::string, std::string> env() const;
  // Starts a role; `instance` picks its group.instance.id (empty: no static membership);
  // `overrides` replace env().
  RoleProcess& start(const std::string& role, const std::string& instance = "1",
                     const std::map<std::string, std::string>& overrides = {});
  void stop(RoleProcess& role);
  unsigned short apiPort() const { return api_port_; }
  std::string apiUrl(const std::string& path) const;
  // Runs `hookpipe <args...>` to completion and returns its exit status and output.
  std::pair<int, std::string> runCommand(const std::vector<std::string>& args);
  // Appends every role's log to a string, for failure messages.
  std::string logs() const;

 private:
  Config config_;
  std::string dir_;
  unsigned short api_port_;
  std::vector<std::unique_ptr<RoleProcess>> roles_;
  int counter_ = 0;
};

struct HttpResult {
  long status = 0;  // 0: no answer
  std::string body;
  std::map<std::string, std::string> headers;  // lower-cased names
};
// `headers` are extra request header lines ("Authorization: Bearer x").
HttpResult httpRequest(const std::string& method, const std::string& url, const std::string& body,
                       const std::string& content_type = "application/json",
                       const std::vector<std::string>& headers = {});

// Reads a topic from its start up to its end as of now.
std::vector<kafka::OwnedMessage> readTopic(const Config& config, const std::string& topic);

// A dead letter as the deliverer writes it (3 attempts, reason retries_exhausted).
struct DeadLetterSpec {
  std::string subscription;
  std::string event_type;
  std::string error_class;
  int replay_count = 0;  // hp-replay-count when > 0
};
// Produces dead letters straight to the config's dlq topic and waits for the broker;
// returns their event ids ("evt_<n>", numbered on from `counter`).
std::vector<std::string> produceDeadLetters(const Config& config, kafka::Producer& producer,
                                            const std::vector<DeadLetterSpec>& dead, int& counter);

// Polls `check` every 50 ms until it holds or the deadline passes (testkit::pollUntil).
bool eventually(const std::function<bool()>& check, std::chrono::milliseconds timeout);

unsigned short freePort();

// Extracts a string field from a flat JSON object (test helper, simdjson).
std::string jsonField(const std::string& json, const std::string& field);

// Base fixture of the integration tests: a Pipeline named after the test, every role's
// log printed when the test failed, and helpers for the producer API (no auth).
class PipelineFixture : public ::testing::Test {
 protected:
  struct Created {
    std::string id;
    std::string secret;
  };
  void SetUp() override;
  void TearDown() override;
  // Starts the producer role and waits until /healthz answers.
  void startApi();
  Created subscribe(const std::string& json);    // expects 201
  std::string publish(const std::string& json);  // expects 202; the event id
  // The dead letters once there are at least `n`; fewer (maybe none) after `timeout`.
  std::vector<kafka::OwnedMessage> waitForDeadLetters(
      std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(60));
  std::unique_ptr<Pipeline> pipeline_;
};

}  // namespace hookpipe::testing
