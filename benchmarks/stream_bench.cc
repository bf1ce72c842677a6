// The live stream's fan-out (GET /v1/stream): one `hookpipe producer` process, N SSE
// clients on plain sockets, events produced straight to the events topic at a fixed rate.
// Prints frames/s received across the clients, the producer's CPU per event and per
// frame, and whether every client got every event.
//
//   HOOKPIPE_BENCH_BROKERS=127.0.0.1:19092 hookpipe-stream-bench build/release/hookpipe
//   knobs: HOOKPIPE_BENCH_CLIENTS (200), HOOKPIPE_BENCH_RATE (events/s, 2000),
//          HOOKPIPE_BENCH_SECONDS (10)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "benchmarks/bench_process.h"
#include "common/kafka/kafka.h"

namespace {

using namespace hookpipe;
using Clock = std::chrono::steady_clock;

int envInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

unsigned short freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

int connectTo(unsigned short port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// One client: counts "event: event" lines in what it reads (a line split across reads is
// found through the kept tail).
struct Client {
  int fd = -1;
  std::string tail;
  long frames = 0;
  bool connected = false;
  void read() {
    char buf[65536];
    while (true) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      std::string text = tail + std::string(buf, static_cast<std::size_t>(n));
      static const std::string kLine = "\nevent: event\n";
      for (auto at = text.find(kLine); at != std::string::npos; at = text.find(kLine, at + 1))
        ++frames;
      if (!connected && text.find(": connected") != std::string::npos) connected = true;
      tail = text.size() > kLine.size() ? text.substr(text.size() - kLine.size() + 1) : text;
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <hookpipe binary>\n", argv[0]);
    return 2;
  }
  const int clients_n = envInt("HOOKPIPE_BENCH_CLIENTS", 200);
  const int rate = envInt("HOOKPIPE_BENCH_RATE", 2000);
  const int seconds = envInt("HOOKPIPE_BENCH_SECONDS", 10);
  Config config;
  const char* brokers = std::getenv("HOOKPIPE_BENCH_BROKERS");
  config.brokers = brokers != nullptr ? brokers : "127.0.0.1:9092";
  config.topics.prefix = "sbench" + std::to_string(std::random_device{}() % 1000000) + ".";
  config.events_partitions = 6;
  if (auto t = kafka::ensureTopics(config); !t) {
    std::fprintf(stderr, "topics: %s\n", t.error().message.c_str());
    return 1;
  }
  const unsigned short port = freePort();
  bench::RoleChild producer(
      argv[1], "producer", config,
      {{"HOOKPIPE_HTTP_PORT", std::to_string(port)}, {"HOOKPIPE_HTTP_ADDRESS", "127.0.0.1"}},
      "/tmp/stream-bench-producer.log");
  std::vector<Client> clients(static_cast<std::size_t>(clients_n));
  const auto start_deadline = Clock::now() + std::chrono::seconds(60);
  for (auto& c : clients) {
    while ((c.fd = connectTo(port)) < 0 && Clock::now() < start_deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::string req = "GET /v1/stream?kinds=events HTTP/1.1\r\nHost: x\r\n\r\n";
    ::send(c.fd, req.data(), req.size(), MSG_NOSIGNAL);
  }
  while (Clock::now() < start_deadline) {
    bool all = true;
    for (auto& c : clients) {
      c.read();
      all = all && c.connected;
    }
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto kp = kafka::Producer::create(config, {{"linger.ms", "5"}});
  if (!kp) return 1;
  const std::string topic = config.topics.events();
  const std::string body =
      R"({"id":"evt_bench","type":"bench.tick","timestamp":"2026-01-01T00:00:00Z","data":{"pad":")" +
      std::string(400, 'x') + "\"}}";
  const double cpu0 = producer.cpuSeconds();
  const auto t0 = Clock::now();
  long produced = 0;
  std::jthread publisher([&] {
    const long total = static_cast<long>(rate) * seconds;
    while (produced < total) {
      const auto due = t0 + std::chrono::microseconds(produced * 1'000'000 / rate);
      while (Clock::now() < due)
        (*kp)->poll(0), std::this_thread::sleep_for(std::chrono::microseconds(200));
      if ((*kp)->produce(topic, "", body, {}, nullptr))
        ++produced;
      else
        (*kp)->poll(10);
    }
    (*kp)->flush(std::chrono::seconds(10));
  });
  const long expected = static_cast<long>(rate) * seconds;
  const auto drain_deadline = t0 + std::chrono::seconds(seconds + 30);
  long total = 0;
  long min_frames = 0;
  while (Clock::now() < drain_deadline) {
    std::vector<pollfd> fds;
    for (auto& c : clients) fds.push_back({c.fd, POLLIN, 0});
    ::poll(fds.data(), fds.size(), 50);
    total = 0;
    min_frames = expected;
    for (auto& c : clients) {
      c.read();
      total += c.frames;
      min_frames = std::min(min_frames, c.frames);
    }
    if (min_frames >= expected) break;
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = producer.cpuSeconds() - cpu0;
  publisher.join();
  std::printf("live stream: %d clients, %d events/s for %d s (%ld events of %zu B)\n", clients_n,
              rate, seconds, expected, body.size());
  std::printf(
      "  frames received   %ld of %ld (slowest client %ld of %ld) in %.1f s: %.0f frames/s\n",
      total, expected * clients_n, min_frames, expected, elapsed, total / elapsed);
  std::printf(
      "  producer CPU      %.2f s = %.1f%% of a core; %.1f us per event, %.2f us per frame\n", cpu,
      100 * cpu / elapsed, 1e6 * cpu / static_cast<double>(expected),
      1e6 * cpu / static_cast<double>(std::max(total, 1L)));
  for (auto& c : clients) ::close(c.fd);
  return min_frames >= expected ? 0 : 1;
}
