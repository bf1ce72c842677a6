#pragma once

// Shared by the end-to-end benchmarks: start a `hookpipe <role>` process with the bench's
// HOOKPIPE_* settings, and read a process's CPU time (both through hookpipe_testkit).
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>

#include "common/config/config.h"
#include "support/process.h"

namespace hookpipe::bench {

using testkit::processCpuSeconds;

// The pid of the first process whose command line holds `part`, or -1.
inline pid_t pidWithCommandLine(const std::string& part) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find(part) != std::string::npos) return std::stoi(name);
  }
  return -1;
}

// The pid of a local Kafka broker (a java process running kafka.Kafka), or -1: its CPU is
// part of what a delivery costs this machine.
inline pid_t brokerPid() { return pidWithCommandLine("kafka.Kafka"); }

// CPU seconds of this process (all threads): the benchmark's own sink and producer.
inline double selfCpuSeconds() { return processCpuSeconds(::getpid()); }

// A `hookpipe <role>` child process (testkit::ChildProcess), logging to `log_path`;
// stopped on destruction. A role that cannot start is reported and leaves pid() at -1.
class RoleChild {
 public:
  RoleChild(const std::string& binary, const std::string& role, const Config& config,
            const std::map<std::string, std::string>& extra, const std::string& log_path) {
    std::map<std::string, std::string> vars = {
        {"HOOKPIPE_BROKERS", config.brokers},
        {"HOOKPIPE_TOPIC_PREFIX", config.topics.prefix},
        {"HOOKPIPE_GROUP_PREFIX", config.topics.prefix},
        {"HOOKPIPE_EVENTS_PARTITIONS", std::to_string(config.events_partitions)},
        {"HOOKPIPE_DELIVERIES_PARTITIONS", std::to_string(config.deliveries_partitions)},
        {"HOOKPIPE_RETRY_PARTITIONS", std::to_string(config.retry_partitions)},
        {"HOOKPIPE_ATTEMPTS_PARTITIONS", std::to_string(config.attempts_partitions)},
        {"HOOKPIPE_REDIS", config.redis_host + ":" + std::to_string(config.redis_port)},
        {"HOOKPIPE_ALLOW_PRIVATE_TARGETS", "true"},
        {"HOOKPIPE_LOG_LEVEL", "warn"},
    };
    for (const auto& [k, v] : extra) vars[k] = v;
    testkit::SpawnOptions spawn;
    spawn.program = binary;
    spawn.args = {role};
    spawn.env = testkit::environmentWith(vars, "HOOKPIPE_");
    spawn.output_path = log_path;
    spawn.stop_grace = std::chrono::seconds(10);
    try {
      child_ = std::make_unique<testkit::ChildProcess>(spawn);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s %s\n", e.what(), role.c_str());
    }
  }
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  double cpuSeconds() const { return processCpuSeconds(pid()); }

 private:
  std::unique_ptr<testkit::ChildProcess> child_;
};

}  // namespace hookpipe::bench
