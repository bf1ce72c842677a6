#pragma once

// The one child-process spawner of the tests and benchmarks (hookpipe_testkit): hookpipe
// roles, redis-server, nghttpd. A ChildProcess owns its pid: the destructor stops it
// (SIGTERM, then SIGKILL after a grace period) and reaps it, on every path out of a test.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace hookpipe::testkit {

struct SpawnOptions {
  // A path, or with search_path a name looked up in PATH.
  std::string program;
  bool search_path = false;
  // argv[1..]; argv[0] is `program`.
  std::vector<std::string> args;
  // The child's whole environment as NAME=value entries (see environmentWith).
  std::vector<std::string> env;
  // Where stdout and stderr go; empty: inherited.
  std::string output_path;
  bool append_output = false;
  // How long the destructor waits after SIGTERM before it sends SIGKILL.
  std::chrono::milliseconds stop_grace{std::chrono::seconds(20)};
};

// This process's environment minus every variable whose name starts with `drop_prefix`
// (except those named in `keep`), plus `set`.
std::vector<std::string> environmentWith(const std::map<std::string, std::string>& set,
                                         const std::string& drop_prefix = "",
                                         const std::vector<std::string>& keep = {});

class ChildProcess {
 public:
  // Throws std::runtime_error when the program cannot be started.
  explicit ChildProcess(const SpawnOptions& options);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  void signal(int signal);
  // Waits for exit; the exit status (128 + signal when killed) or -1 on timeout.
  int wait(std::chrono::milliseconds timeout);
  // SIGTERM, the grace period, then SIGKILL; the exit status. A no-op once reaped.
  int stop();
  // Not yet exited (reaps it when it has).
  bool running();
  pid_t pid() const { return pid_; }
  double cpuSeconds() const;

 private:
  pid_t pid_ = -1;
  std::chrono::milliseconds stop_grace_;
};

// utime + stime of `pid` in seconds (fields 14 and 15 of /proc/<pid>/stat); -1 if unknown.
double processCpuSeconds(pid_t pid);

}  // namespace hookpipe::testkit
