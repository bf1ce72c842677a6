// The ops server on a real socket (port 0): /metrics renders the registry in the text
// format, /healthz, /readyz with the checks' verdict (cached for a second), 404/405, keep-alive.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "common/ops/server.h"

namespace hookpipe::ops {
namespace {

// One HTTP/1.1 exchange per request on one connection (keep-alive), answers read whole by
// Content-Length.
class Client {
 public:
  explicit Client(unsigned short port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { close(fd_); }
  bool connected() const { return connected_; }
  // The status line's code, the headers and body in `head` and `body`.
  int request(const std::string& method, const std::string& path, std::string& head,
              std::string& body) {
    const std::string req = method + " " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
    if (::send(fd_, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size())) return -1;
    std::string in;
    char buf[4096];
    std::size_t header_end = std::string::npos;
    std::size_t length = 0;
    while (true) {
      if (header_end == std::string::npos &&
          (header_end = in.find("\r\n\r\n")) != std::string::npos) {
        const auto at = in.find("Content-Length: ");
        length = at < header_end ? std::stoul(in.substr(at + 16)) : 0;
      }
      if (header_end != std::string::npos && in.size() >= header_end + 4 + length) break;
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return -1;
      in.append(buf, static_cast<std::size_t>(n));
    }
    head = in.substr(0, header_end);
    body = in.substr(header_end + 4, length);
    return std::stoi(in.substr(9, 3));
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

TEST(OpsServer, ServesMetricsHealthAndReadiness) {
  metrics::Registry registry;
  auto& delivered = registry.counter("hookpipe_test_delivered_total", "Delivered.");
  Readiness readiness;
  std::atomic<bool> redis_up{false};
  std::atomic<int> probes{0};
  readiness.add([&] {
    ++probes;
    return std::vector<Check>{{"kafka", true, "fine"},
                              {"redis", redis_up.load(), redis_up ? "up" : "cannot reach x:1"}};
  });
  Server server("127.0.0.1", 0, registry, readiness);
  ASSERT_TRUE(server.start());
  ASSERT_NE(server.port(), 0);
  Client client(server.port());
  ASSERT_TRUE(client.connected());
  std::string head, body;

  delivered.inc(3);
  ASSERT_EQ(client.request("GET", "/metrics", head, body), 200);
  EXPECT_NE(head.find("Content-Type: text/plain; version=0.0.4; charset=utf-8"), std::string::npos)
      << head;
  EXPECT_NE(
      body.find("# TYPE hookpipe_test_delivered_total counter\nhookpipe_test_delivered_total 3\n"),
      std::string::npos)
      << body;

  EXPECT_EQ(client.request("GET", "/healthz", head, body), 200);
  EXPECT_EQ(body, R"({"status":"ok"})");

  EXPECT_EQ(client.request("GET", "/readyz", head, body), 503);
  EXPECT_EQ(body, R"({"status":"not_ready","checks":[{"name":"kafka","ok":true,"detail":"fine"},)"
                  R"({"name":"redis","ok":false,"detail":"cannot reach x:1"}]})");
  // Within a second the verdict comes from the cache: the probe is not run again.
  redis_up = true;
  EXPECT_EQ(client.request("GET", "/readyz?verbose", head, body), 503);
  EXPECT_EQ(probes.load(), 1);

  EXPECT_EQ(client.request("GET", "/other", head, body), 404);
  EXPECT_EQ(client.request("POST", "/metrics", head, body), 405);
  EXPECT_NE(head.find("Allow: GET, HEAD"), std::string::npos) << head;
  server.stop();
}

TEST(OpsServer, APortInUseIsAClearStartUpError) {
  metrics::Registry registry;
  Readiness readiness;
  Server first("127.0.0.1", 0, registry, readiness);
  ASSERT_TRUE(first.start());
  Server second("127.0.0.1", first.port(), registry, readiness);
  auto r = second.start();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("metrics server: cannot bind 127.0.0.1:" +
                                   std::to_string(first.port())),
            std::string::npos)
      << r.error().message;
  Server bad("not-an-address", 0, registry, readiness);
  EXPECT_FALSE(bad.start());
}

TEST(OpsServer, ServeRoleIsOffWithoutAPort) {
  Config config;
  config.metrics_port = 0;
  metrics::Registry registry;
  EXPECT_EQ(serveRole(config, "test", registry, false), nullptr);
  EXPECT_EQ(registry.render(), "");  // nothing declared
}

}  // namespace
}  // namespace hookpipe::ops
