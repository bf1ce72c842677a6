#pragma once

// Shared by the end-to-end benchmarks: start a `hookpipe <role>` process with the bench's
// HOOKPIPE_* settings, and read a process's CPU time.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/config/config.h"

extern char** environ;

namespace hookpipe::bench {

// utime + stime of `pid` in seconds (fields 14 and 15 of /proc/<pid>/stat).
inline double processCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stoull(f);
    if (i == 15) stime = std::stoull(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The pid of a local Kafka broker (a java process running kafka.Kafka), or -1: its CPU is
// part of what a delivery costs this machine.
inline pid_t brokerPid() {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find("kafka.Kafka") != std::string::npos) return std::stoi(name);
  }
  return -1;
}

// CPU seconds of this process (all threads): the benchmark's own sink and producer.
inline double selfCpuSeconds() { return processCpuSeconds(::getpid()); }

// A `hookpipe <role>` child process, logging to `log_path`; SIGTERM on destruction.
class RoleChild {
 public:
  RoleChild(const std::string& binary, const std::string& role, const Config& config,
            const std::map<std::string, std::string>& extra, const std::string& log_path) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e)
      if (!std::string(*e).starts_with("HOOKPIPE_")) env.emplace_back(*e);
    std::map<std::string, std::string> vars = {
        {"HOOKPIPE_BROKERS", config.brokers},
        {"HOOKPIPE_TOPIC_PREFIX", config.topics.prefix},
        {"HOOKPIPE_GROUP_PREFIX", config.topics.prefix},
        {"HOOKPIPE_EVENTS_PARTITIONS", std::to_string(config.events_partitions)},
        {"HOOKPIPE_DELIVERIES_PARTITIONS", std::to_string(config.deliveries_partitions)},
        {"HOOKPIPE_RETRY_PARTITIONS", std::to_string(config.retry_partitions)},
        {"HOOKPIPE_REDIS", config.redis_host + ":" + std::to_string(config.redis_port)},
        {"HOOKPIPE_ALLOW_PRIVATE_TARGETS", "true"},
        {"HOOKPIPE_LOG_LEVEL", "warn"},
    };
    for (const auto& [k, v] : extra) vars[k] = v;
    for (const auto& [k, v] : vars) env.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string role_arg = role;
    std::vector<char*> args = {const_cast<char*>(binary.c_str()), role_arg.data(), nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, args.data(), envp.data()) != 0) {
      std::fprintf(stderr, "cannot start %s %s\n", binary.c_str(), role.c_str());
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  RoleChild(const RoleChild&) = delete;
  RoleChild& operator=(const RoleChild&) = delete;
  ~RoleChild() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }
  double cpuSeconds() const { return processCpuSeconds(pid_); }

 private:
  pid_t pid_ = -1;
};

}  // namespace hookpipe::bench
