// Unit tests for common/redis/redis.h's Client against fake servers (no Redis needed):
// after a failure it backs off instead of dialling again on every call; a connection
// closed under a call is dialled again at once and the call sent once more.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/redis/redis.h"
#include "support/poll.h"

namespace hookpipe::redis {
namespace {

using namespace std::chrono_literals;

// Listens on 127.0.0.1 and never accepts: the kernel completes each TCP handshake into
// the backlog, so a client connects and then hears nothing (a hung or blackholed Redis).
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);  // accept() below never blocks
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) != 0 || ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
      return;
    port_ = ntohs(sa.sin_port);
  }
  ~SilentServer() {
    for (int c : accepted_) ::close(c);
    ::close(fd_);
  }
  int port() const { return port_; }
  // How many connections were made so far (takes them out of the backlog).
  int connections() {
    while (true) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) break;
      accepted_.push_back(c);
    }
    return static_cast<int>(accepted_.size());
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::vector<int> accepted_;
};

TEST(RedisClient, ASilentRedisIsNotDialledAgainOnEveryCall) {
  SilentServer server;
  ASSERT_GT(server.port(), 0);
  Client client("127.0.0.1", server.port(), 100ms);
  auto first = client.pipeline({{"PING"}});
  ASSERT_FALSE(first.has_value());
  EXPECT_TRUE(first.error().retryable);
  EXPECT_EQ(server.connections(), 1);
  // Within the backoff: an error at once, no new connection.
  for (int i = 0; i < 5; ++i) {
    auto again = client.pipeline({{"PING"}});
    ASSERT_FALSE(again.has_value());
    EXPECT_NE(again.error().message.find("not dialled again"), std::string::npos)
        << again.error().message;
  }
  EXPECT_EQ(server.connections(), 1);
  // Past it (250 ms the first time), one more try.
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(client.pipeline({{"PING"}}).has_value());
  EXPECT_EQ(server.connections(), 2);
  // The backoff doubled: 300 ms later it is still running.
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(client.pipeline({{"PING"}}).has_value());
  EXPECT_EQ(server.connections(), 2);
}

TEST(RedisClient, NothingListeningBacksOffToo) {
  int port = 0;
  {
    SilentServer closed;  // a port that was free a moment ago
    port = closed.port();
  }
  Client client("127.0.0.1", port, 100ms);
  auto first = client.pipeline({{"PING"}});
  ASSERT_FALSE(first.has_value());
  EXPECT_EQ(first.error().message.find("not dialled again"), std::string::npos);
  auto second = client.pipeline({{"PING"}});
  ASSERT_FALSE(second.has_value());
  EXPECT_NE(second.error().message.find("not dialled again"), std::string::npos);
}

// Answers "+PONG" to every command, except that its first connection is closed, without an
// answer, when its `answered_before_close`+1th command arrives (a server that went away
// while a command was on its way).
class ClosingServer {
 public:
  explicit ClosingServer(int answered_before_close, bool close_after_answer = false)
      : answer_first_(answered_before_close), close_after_answer_(close_after_answer) {
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
  ~ClosingServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  int connections() const { return connections_; }
  int commands() const { return commands_; }
  int closed() const { return closed_; }

 private:
  void run() {
    std::vector<std::thread> served;
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) break;
      const int n = ++connections_;
      served.emplace_back([this, c, n] { serve(c, n == 1); });
    }
    for (auto& t : served) t.join();
  }
  void serve(int c, bool first) {
    timeval tv{0, 100'000};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int answered = 0;
    char buf[512];
    while (!stop_) {
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n == 0) break;
      if (n < 0) continue;  // the receive timeout: look at stop_ again
      ++commands_;
      if (first && answered == answer_first_) break;  // closed with the command unanswered
      (void)!::write(c, "+PONG\r\n", 7);
      ++answered;
      if (first && close_after_answer_ && answered == answer_first_) break;
    }
    ::close(c);
    ++closed_;
  }
  int fd_ = -1;
  int port_ = 0;
  int answer_first_;
  bool close_after_answer_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0}, commands_{0}, closed_{0};
  std::thread thread_;
};

// Polls (up to 5 s) until the server has closed a connection.
bool waitUntilClosed(const ClosingServer& server) {
  return testkit::pollUntil([&] { return server.closed() >= 1; }, 5s, 5ms);
}

TEST(RedisClient, ACallOnAConnectionClosedUnderItIsSentOnceMoreOnAFreshOne) {
  ClosingServer server(1);
  ASSERT_GT(server.port(), 0);
  Client client("127.0.0.1", server.port(), 500ms);
  ASSERT_TRUE(client.pipeline({{"PING"}}).has_value());
  // The second command finds the connection closed: a new one at once, and it succeeds.
  auto second = client.pipeline({{"PING"}});
  ASSERT_TRUE(second.has_value()) << second.error().message;
  EXPECT_EQ(std::string((*second)[0]->str), "PONG");
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(client.dials(), 2u);
  EXPECT_TRUE(client.pipeline({{"PING"}}).has_value());
  EXPECT_EQ(client.dials(), 2u);
}

TEST(RedisClient, WithRepeatNeverTheCallFailsButTheNextDialsAtOnce) {
  ClosingServer server(1);
  ASSERT_GT(server.port(), 0);
  Client client("127.0.0.1", server.port(), 500ms, Client::Repeat::kNever);
  ASSERT_TRUE(client.pipeline({{"PING"}}).has_value());
  EXPECT_FALSE(client.pipeline({{"PING"}}).has_value());
  EXPECT_EQ(server.commands(), 2);  // not sent again
  // No backoff after a closed connection: the next call dials and succeeds.
  auto third = client.pipeline({{"PING"}});
  ASSERT_TRUE(third.has_value()) << third.error().message;
  EXPECT_EQ(client.dials(), 2u);
}

TEST(RedisClient, AConnectionClosedWhileIdleIsNotUsedForTheNextCall) {
  // The server closes the connection after its answer, before the next call (a restart, an
  // idle timeout): the client sees it closed and sends the call on a new connection —
  // with Repeat::kNever too, since nothing was sent on the old one.
  ClosingServer server(1, /*close_after_answer=*/true);
  ASSERT_GT(server.port(), 0);
  Client client("127.0.0.1", server.port(), 500ms, Client::Repeat::kNever);
  ASSERT_TRUE(client.pipeline({{"PING"}}).has_value());
  ASSERT_TRUE(waitUntilClosed(server));
  auto second = client.pipeline({{"PING"}});
  ASSERT_TRUE(second.has_value()) << second.error().message;
  EXPECT_EQ(server.commands(), 2);
  EXPECT_EQ(client.dials(), 2u);
}

}  // namespace
}  // namespace hookpipe::redis
