// hookpipe-sink: a local webhook receiver for the demo and benchmarks. Answers 200,
// except paths beginning with /fail, which answer 500 until POST /control/heal.
// Prints one line per request: "<status> <path> <webhook-id>".
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include "support/receiver.h"

namespace {
std::atomic<bool> g_stop{false};
extern "C" void onSignal(int) { g_stop = true; }
}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGTERM, onSignal);
  std::signal(SIGINT, onSignal);
  std::atomic<bool> healed{false};
  std::mutex out;
  hookpipe::testing::Receiver receiver([&](const hookpipe::testing::ReceivedRequest& r) {
    int status = 200;
    if (r.target == "/control/heal")
      healed = true;
    else if (r.target.starts_with("/fail") && !healed)
      status = 500;
    auto id = r.headers.find("webhook-id");
    std::lock_guard lock(out);
    std::printf("%d %s %s\n", status, r.target.c_str(),
                id == r.headers.end() ? "-" : id->second.c_str());
    std::fflush(stdout);
    return status;
  });
  // The port is chosen by the kernel; scripts read it from the first line.
  std::printf("listening %u\n", receiver.port());
  std::fflush(stdout);
  (void)argc;
  (void)argv;
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return 0;
}
