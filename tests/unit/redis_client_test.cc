// Unit tests for common/redis/redis.h's Client against a server that never answers (no
// Redis needed): after a failure it backs off instead of dialling again on every call.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "common/redis/redis.h"

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

}  // namespace
}  // namespace hookpipe::redis
