// How the deliverer's requests share connections (common/webhook/request.cc) against real
// receivers: a hanging endpoint holds back no other subscription on its host:port and gets
// as many requests at once as its concurrency cap allows (issue 13 §6: CURLOPT_PIPEWAIT on
// http:// queued everything behind its first request), and a receiver that answered 2xx is
// a delivery even when the rest of its response never came.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "common/kafka/kafka.h"
#include "common/redis/redis.h"
#include "support/harness.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Holds every request to a hanging path until opened (or `most` has passed).
class Gate {
 public:
  void wait(std::chrono::milliseconds most) {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.wait_for(lock, most, [&] { return open_; });
  }
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  int arrived() const {
    std::lock_guard lock(mu_);
    return waiting_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

// Opens the gate on the way out, before the receiver (declared earlier) joins its threads.
struct OpenOnExit {
  Gate& gate;
  ~OpenOnExit() { gate.open(); }
};

// A raw HTTP server that answers every request with a 200 status line and headers
// promising a body it never sends (a receiver that accepted the delivery and then stalled).
class StallAfterStatusServer {
 public:
  StallAfterStatusServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) != 0 || ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
      return;
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~StallAfterStatusServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (int c : clients_) ::close(c);
    ::close(fd_);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // The webhook-id of every request received, in order.
  std::vector<std::string> ids() const {
    std::lock_guard lock(mu_);
    return ids_;
  }

 private:
  void run() {
    std::map<int, std::string> pending;  // what each connection has sent so far
    while (!stop_) {
      std::vector<pollfd> fds{{fd_, POLLIN, 0}};
      for (const auto& [c, text] : pending) fds.push_back({c, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c >= 0) {
          clients_.push_back(c);
          pending[c];
        }
      }
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        char buf[4096];
        const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          pending.erase(fds[i].fd);
          continue;
        }
        std::string& text = pending[fds[i].fd];
        text.append(buf, static_cast<std::size_t>(n));
        if (text.find("\r\n\r\n") == std::string::npos) continue;
        static const std::regex kId(R"(webhook-id: ([^\r]+)\r\n)", std::regex::icase);
        std::smatch m;
        {
          std::lock_guard lock(mu_);
          ids_.push_back(std::regex_search(text, m, kId) ? m[1].str() : "");
        }
        // The body is small and arrives with the headers; the answer is not waited for.
        const std::string head =
            "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nthe rest never comes";
        (void)!::write(fds[i].fd, head.data(), head.size());
        text.clear();
      }
    }
  }
  int fd_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<int> clients_;
  mutable std::mutex mu_;
  std::vector<std::string> ids_;
};

class DelivererSendingTest : public PipelineFixture {
 protected:
  // Produces `n` events of `type` to the events topic; returns when each was produced.
  std::vector<Clock::time_point> produceEvents(const std::string& type, int n) {
    auto producer = kafka::Producer::create(pipeline_->config());
    EXPECT_TRUE(producer.has_value());
    std::vector<Clock::time_point> at;
    for (int i = 0; i < n; ++i) {
      const std::string id = "evt_" + type + "_" + std::to_string(i);
      at.push_back(Clock::now());
      EXPECT_TRUE((*producer)->produceBlocking(pipeline_->config().topics.events(), id,
                                               R"({"id":")" + id + R"(","type":")" + type +
                                                   R"(","data":{"seq":)" + std::to_string(i) + "}}",
                                               {}, nullptr));
    }
    EXPECT_TRUE((*producer)->flush(10s));
    return at;
  }
};

TEST_F(DelivererSendingTest, AHangingEndpointGetsItsCapAndHoldsUpNoOtherSubscriptionOnItsPort) {
  // H1 -> /hang and H2 -> /ok on one receiver (one host:port), H3 on another, one worker.
  // Before: H2's requests waited for H1's connection to answer (PIPEWAIT on http://) until
  // H1's request timed out, and H1 itself had one request out at a time.
  Gate gate;
  Receiver receiver([&](const ReceivedRequest& r) {
    if (r.target == "/hang") gate.wait(25s);
    return 200;
  });
  OpenOnExit open_on_exit{gate};
  Receiver other;
  ASSERT_NO_FATAL_FAILURE(startApi());
  subscribe(R"({"url":")" + receiver.url("/hang") +
            R"(","events":["sh.*"],"timeout_ms":10000,"retry_config":{"strategy":"none"}})");
  subscribe(R"({"url":")" + receiver.url("/ok") + R"(","events":["sh.all"],"timeout_ms":10000})");
  subscribe(R"({"url":")" + other.url("/other") + R"(","events":["sh.all"]})");
  pipeline_->start("router");
  pipeline_->start("deliverer", "1", {{"HOOKPIPE_DELIVERER_THREADS", "1"}});
  // H1's first request hangs before anything else goes to that port.
  produceEvents("sh.lead", 1);
  ASSERT_TRUE(eventually([&] { return gate.arrived() >= 1; }, 60s)) << "H1 never reached";
  constexpr int kEvents = 50;
  const auto published = produceEvents("sh.all", kEvents);
  // Every H2 delivery arrives (well before H1's 10 s timeout), and each once.
  const bool all = receiver.waitFor(
      [&](const auto& reqs) {
        return std::count_if(reqs.begin(), reqs.end(),
                             [](const auto& r) { return r.target == "/ok"; }) >= kEvents;
      },
      30s);
  const auto ok = receiver.requestsTo("/ok");
  std::vector<double> latency_s;
  std::map<std::string, int> times_received;
  static const std::regex kSeq(R"("seq":(\d+))");
  for (const auto& r : ok) {
    ++times_received[r.headers.at("webhook-id")];
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.body, m, kSeq)) << r.body;
    latency_s.push_back(
        std::chrono::duration<double>(r.at - published.at(std::stoul(m[1].str()))).count());
  }
  std::sort(latency_s.begin(), latency_s.end());
  ASSERT_TRUE(all) << "H2 got " << ok.size() << " of " << kEvents << " while H1 hung with "
                   << gate.arrived() << " requests out";
  std::cout << "H2 publish-to-receipt with H1 hanging: p50 " << latency_s[latency_s.size() / 2]
            << " s, max " << latency_s.back() << " s\n";
  EXPECT_LT(latency_s.back(), 5.0) << "H2 waited behind H1";
  EXPECT_EQ(times_received.size(), static_cast<std::size_t>(kEvents));
  for (const auto& [id, n] : times_received) EXPECT_EQ(n, 1) << id << " received twice";
  ASSERT_TRUE(other.waitFor([&](auto& r) { return r.size() >= std::size_t(kEvents); }, 30s));
  // H1 has as many requests out as its cap (HOOKPIPE_ENDPOINT_CONCURRENCY, 32), not one,
  // and no more: none of them has ended yet.
  EXPECT_TRUE(eventually([&] { return gate.arrived() >= 32; }, 10s))
      << "H1 requests out at once: " << gate.arrived();
  EXPECT_EQ(gate.arrived(), 32);
}

TEST_F(DelivererSendingTest, AReceiverThatAnswered200IsADeliveryEvenIfItsBodyNeverCame) {
  // The status line and headers arrive, the promised body does not, and the attempt times
  // out: the receiver took the delivery, so it is marked delivered and not sent again.
  // Before, it was retried as a timeout (a duplicate per attempt).
  StallAfterStatusServer server;
  ASSERT_NO_FATAL_FAILURE(startApi());
  subscribe(R"({"url":")" + server.url("/stall") +
            R"(","events":["st.*"],"timeout_ms":500,)"
            R"("retry_config":{"strategy":"fixed","retry_delay":100,"max_retries":3}})");
  pipeline_->start("router");
  pipeline_->start("retry");
  pipeline_->start("deliverer", "1", {{"HOOKPIPE_DELIVERER_THREADS", "1"}});
  produceEvents("st.event", 3);
  ASSERT_TRUE(eventually([&] { return server.ids().size() >= 3; }, 60s));
  auto [host, port] = testRedisHostPort();
  redis::Client client(host, port);
  redis::DeliveredStore store(
      client, pipeline_->config().topics.prefix,
      std::chrono::duration_cast<std::chrono::seconds>(pipeline_->config().delivered_ttl));
  std::vector<std::string> ids = server.ids();
  ids.resize(3);
  // Marked delivered in Redis (flushed within 20 ms of the attempt's end).
  EXPECT_TRUE(eventually(
      [&] {
        auto found = store.wereDelivered(ids, kafka::nowMs());
        return found && std::all_of(found->begin(), found->end(), [](bool b) { return b; });
      },
      15s))
      << "not marked delivered";
  // Never sent again, and nothing went to a retry tier or the dead-letter topic.
  const auto received = server.ids();
  EXPECT_EQ(received.size(), 3u);
  EXPECT_EQ(std::set<std::string>(received.begin(), received.end()).size(), 3u);
  for (const auto& tier : pipeline_->config().retry_tiers)
    EXPECT_TRUE(readTopic(pipeline_->config(), pipeline_->config().topics.retryTier(tier)).empty());
  EXPECT_TRUE(readTopic(pipeline_->config(), pipeline_->config().topics.dlq()).empty());
}

}  // namespace
}  // namespace hookpipe::testing
