#pragma once

// A fast webhook sink for the load benchmarks: Boost.Beast on one asio thread with
// coroutines, HTTP/1.1 keep-alive. Paths decide the answer:
//   /slow...  waits 30 s, then 200 (an endpoint that hangs)
//   /fail...  500
//   anything else 200 at once.
// It counts requests per first path segment and, for bodies carrying "t":<steady µs>,
// records publish-to-receipt latency (CLOCK_MONOTONIC is shared by every process here).
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/net/status_server.h"

namespace hookpipe::bench {

namespace asio = boost::asio;

inline int64_t steadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class FastSink {
 public:
  FastSink() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_,
                   net::serveStatuses(
                       acceptor_, [this](const net::StatusRequest& req) { return answer(req); }),
                   asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FastSink() {
    io_.stop();
    thread_.join();
  }
  unsigned short port() const { return port_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // Requests answered so far whose path begins with `/<segment>`.
  uint64_t count(const std::string& segment) const {
    std::lock_guard lock(mu_);
    auto it = counts_.find(segment);
    return it == counts_.end() ? 0 : it->second;
  }
  uint64_t total() const { return total_.load(); }
  // Latencies (µs) recorded since the last call; recording is on while `record` is set.
  std::vector<int64_t> takeLatencies() {
    std::lock_guard lock(mu_);
    return std::exchange(latencies_, {});
  }
  std::atomic<bool> record{false};

 private:
  asio::awaitable<int> answer(const net::StatusRequest& req) {
    const std::string_view target = req.target();
    int status = 200;
    if (target.starts_with("/slow")) {
      asio::steady_timer timer(io_, std::chrono::seconds(30));
      co_await timer.async_wait(asio::use_awaitable);
    } else if (target.starts_with("/fail")) {
      status = 500;
    }
    note(target, req.body());
    co_return status;
  }

  void note(std::string_view target, const std::string& body) {
    const auto slash = target.find('/', 1);
    const std::string segment(
        target.substr(1, slash == std::string_view::npos ? target.npos : slash - 1));
    int64_t latency = -1;
    if (record) {
      if (auto at = body.find("\"t\":"); at != std::string::npos)
        latency = steadyMicros() - std::strtoll(body.c_str() + at + 4, nullptr, 10);
    }
    ++total_;
    std::lock_guard lock(mu_);
    ++counts_[segment];
    if (latency >= 0) latencies_.push_back(latency);
  }

  asio::io_context io_{1};
  asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> counts_;
  std::vector<int64_t> latencies_;
  std::atomic<uint64_t> total_{0};
};

}  // namespace hookpipe::bench
