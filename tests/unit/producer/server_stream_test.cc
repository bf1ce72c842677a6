// The HTTP server's two ways of answering, with a real client over a loopback socket: a
// whole response (keep-alive), and a streamed one whose chunks reach the client as the
// handler writes them, ended by the handler or by the client going away.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "producer/server.h"

namespace hookpipe::producer {
namespace {

using namespace std::chrono_literals;

bool eventually(const std::function<bool()>& check, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return check();
}

// A blocking loopback client that reads with a deadline.
class Client {
 public:
  explicit Client(unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { close(); }
  bool connected() const { return connected_; }
  void send(const std::string& text) {
    ASSERT_EQ(::send(fd_, text.data(), text.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(text.size()));
  }
  // Reads until what was received contains `needle` (true) or the deadline passes.
  bool readUntil(const std::string& needle, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !readSome(static_cast<int>(left.count()))) return false;
    }
    return true;
  }
  // True when the server closed the connection before the deadline.
  bool readUntilClosed(std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !readSome(static_cast<int>(left.count()))) break;
    }
    return eof_;
  }
  const std::string& received() const { return received_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  bool readSome(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    received_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string received_;
};

constexpr const char* kStreamRequest = "GET /stream HTTP/1.1\r\nHost: test\r\n\r\n";

class ServerStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Config config;
    config.http_address = "127.0.0.1";
    config.http_port = 0;
    config.http_threads = 2;
    server_ = std::make_unique<Server>(config, [this](const Request& req, Responder responder) {
      if (req.target() != "/stream") {
        Response res{http::status::ok, req.version()};
        res.set(http::field::content_type, "text/plain");
        res.keep_alive(req.keep_alive());
        res.body() = "whole " + std::string(req.target());
        res.prepare_payload();
        return responder.respond(std::move(res));
      }
      ResponseHead head{http::status::ok, req.version()};
      head.set(http::field::content_type, "text/event-stream");
      auto stream = responder.stream(std::move(head));
      stream->onClose([this] { ++closes_; });
      stream->write("one\n");
      std::lock_guard lock(mu_);
      stream_ = std::move(stream);
    });
    ASSERT_TRUE(server_->start().has_value());
  }
  void TearDown() override { server_->stop(); }

  std::shared_ptr<ResponseStream> stream() {
    std::lock_guard lock(mu_);
    return stream_;
  }
  // Waits for the handler to have started the stream.
  std::shared_ptr<ResponseStream> awaitStream() {
    std::shared_ptr<ResponseStream> s;
    eventually([&] { return (s = stream()) != nullptr; });
    return s;
  }

  std::unique_ptr<Server> server_;
  std::mutex mu_;
  std::shared_ptr<ResponseStream> stream_;  // guarded by mu_
  std::atomic<int> closes_{0};
};

TEST_F(ServerStreamTest, WholeResponsesKeepTheConnectionForTheNextRequest) {
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  c.send("GET /a HTTP/1.1\r\nHost: test\r\n\r\n");
  ASSERT_TRUE(c.readUntil("whole /a")) << c.received();
  c.send("GET /b HTTP/1.1\r\nHost: test\r\n\r\n");
  ASSERT_TRUE(c.readUntil("whole /b")) << c.received();
  EXPECT_EQ(server_->sessions(), 1);
  c.close();
  EXPECT_TRUE(eventually([&] { return server_->sessions() == 0; }));
}

TEST_F(ServerStreamTest, ChunksReachTheClientAsTheHandlerWritesThem) {
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  c.send(kStreamRequest);
  // The head and the first chunk arrive while the handler has written nothing more.
  ASSERT_TRUE(c.readUntil("4\r\none\n\r\n")) << c.received();
  EXPECT_NE(c.received().find("Transfer-Encoding: chunked"), std::string::npos) << c.received();
  EXPECT_NE(c.received().find("Content-Type: text/event-stream"), std::string::npos);
  auto s = awaitStream();
  ASSERT_TRUE(s);
  EXPECT_EQ(c.received().find("two"), std::string::npos);

  ASSERT_TRUE(s->write("two\n"));
  ASSERT_TRUE(c.readUntil("4\r\ntwo\n\r\n")) << c.received();
  ASSERT_TRUE(s->write("three\n"));
  ASSERT_TRUE(c.readUntil("6\r\nthree\n\r\n")) << c.received();

  // The handler ends it: the last chunk, then the connection closes.
  s->end();
  EXPECT_TRUE(c.readUntil("\r\n0\r\n\r\n")) << c.received();
  EXPECT_TRUE(c.readUntilClosed());
  EXPECT_TRUE(eventually([&] { return closes_ == 1 && s->closed(); }));
  EXPECT_FALSE(s->write("late\n"));
  EXPECT_TRUE(eventually([&] { return server_->sessions() == 0; }));
  EXPECT_EQ(closes_, 1);
}

TEST_F(ServerStreamTest, ClientGoingAwayEndsTheStreamAndFreesTheSession) {
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  c.send(kStreamRequest);
  ASSERT_TRUE(c.readUntil("one\n")) << c.received();
  auto s = awaitStream();
  ASSERT_TRUE(s);
  EXPECT_EQ(server_->sessions(), 1);

  c.close();
  // Seen without a write from the handler (the session watches the socket), and the
  // session goes although the handler still holds its stream.
  EXPECT_TRUE(eventually([&] { return closes_ == 1; }));
  EXPECT_TRUE(s->closed());
  EXPECT_TRUE(eventually([&] { return server_->sessions() == 0; }));
  EXPECT_FALSE(s->write("nobody\n"));
  EXPECT_EQ(closes_, 1);
}

TEST_F(ServerStreamTest, AClientThatStopsReadingEndsTheStreamInsteadOfQueueingWithoutBound) {
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  c.send(kStreamRequest);
  ASSERT_TRUE(c.readUntil("one\n"));
  auto s = awaitStream();
  ASSERT_TRUE(s);
  // The client reads nothing more: once the socket buffers are full, the queue grows
  // past its bound and the stream ends.
  const std::string chunk(64 * 1024, 'x');
  std::size_t written = 0;
  while (s->write(chunk) && written < (256u << 20)) written += chunk.size();
  EXPECT_LT(written, 256u << 20);
  EXPECT_TRUE(eventually([&] { return closes_ == 1 && s->closed(); }));
  EXPECT_TRUE(eventually([&] { return server_->sessions() == 0; }));
}

TEST_F(ServerStreamTest, OnCloseAfterTheEndRunsAtOnce) {
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  c.send(kStreamRequest);
  ASSERT_TRUE(c.readUntil("one\n"));
  auto s = awaitStream();
  ASSERT_TRUE(s);
  c.close();
  ASSERT_TRUE(eventually([&] { return s->closed(); }));
  ASSERT_TRUE(eventually([&] { return server_->sessions() == 0; }));
  bool ran = false;
  s->onClose([&] { ran = true; });
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace hookpipe::producer
