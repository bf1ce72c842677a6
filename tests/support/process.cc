#include "support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace hookpipe::testkit {

std::vector<std::string> environmentWith(const std::map<std::string, std::string>& set,
                                         const std::string& drop_prefix,
                                         const std::vector<std::string>& keep) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    if (set.contains(name)) continue;
    if (!drop_prefix.empty() && name.starts_with(drop_prefix) &&
        std::find(keep.begin(), keep.end(), name) == keep.end())
      continue;
    out.push_back(entry);
  }
  for (const auto& [name, value] : set) out.push_back(name + "=" + value);
  return out;
}

ChildProcess::ChildProcess(const SpawnOptions& options) : stop_grace_(options.stop_grace) {
  std::vector<std::string> argv_strings = {options.program};
  argv_strings.insert(argv_strings.end(), options.args.begin(), options.args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = options.env;
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!options.output_path.empty()) {
    const int flags = O_WRONLY | O_CREAT | (options.append_output ? O_APPEND : O_TRUNC);
    posix_spawn_file_actions_addopen(&actions, 1, options.output_path.c_str(), flags, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  const auto spawn = options.search_path ? posix_spawnp : posix_spawn;
  const int rc = spawn(&pid_, options.program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("cannot start " + options.program);
  }
}

ChildProcess::~ChildProcess() { stop(); }

void ChildProcess::signal(int signal) {
  if (pid_ > 0) ::kill(pid_, signal);
}

int ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int ChildProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  if (const int status = wait(stop_grace_); status != -1) return status;
  ::kill(pid_, SIGKILL);
  return wait(std::chrono::seconds(5));
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

double ChildProcess::cpuSeconds() const { return processCpuSeconds(pid_); }

double processCpuSeconds(pid_t pid) {
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

}  // namespace hookpipe::testkit
