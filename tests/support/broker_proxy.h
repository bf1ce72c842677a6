#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace hookpipe::testing {

// A TCP proxy in front of the real broker that can be cut and restored, so that one
// process loses the broker (for a while) while the others keep it. Kafka clients connect to the
// address the broker advertises, so the port in the broker's answers (Metadata, FindCoordinator:
// the host string followed by the port as int32) is rewritten to the proxy's own.
class BrokerProxy {
 public:
  explicit BrokerProxy(const std::string& broker) {
    const auto colon = broker.rfind(':');
    host_ = broker.substr(0, colon);
    upstream_port_ = static_cast<uint16_t>(std::stoi(broker.substr(colon + 1)));
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 64) != 0)
      throw std::runtime_error("proxy: cannot listen");
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~BrokerProxy() {
    stop_ = true;
    cut();
    acceptor_.join();
    for (auto& t : pipes_) t.join();
    for (int fd : fds_) ::close(fd);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Closes every connection and refuses new ones (each is accepted and closed at once,
  // as a broker that is down would refuse it) until restore().
  void cut() {
    std::lock_guard lock(mu_);
    if (cut_.exchange(true)) return;
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }
  // Takes new connections to the broker again.
  void restore() { cut_ = false; }

 private:
  void acceptLoop() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) continue;
      const int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(upstream_port_);
      ::inet_pton(AF_INET, host_.c_str(), &addr.sin_addr);
      std::lock_guard lock(mu_);
      fds_.push_back(client);
      fds_.push_back(upstream);
      if (cut_ || ::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::shutdown(client, SHUT_RDWR);
        continue;
      }
      pipes_.emplace_back([client, upstream] { copyRaw(client, upstream); });
      pipes_.emplace_back([this, client, upstream] { copyFrames(upstream, client); });
    }
    ::close(listener_);
  }

  static bool readAll(int fd, char* data, std::size_t n) {
    while (n > 0) {
      const auto r = ::recv(fd, data, n, 0);
      if (r <= 0) return false;
      data += r;
      n -= static_cast<std::size_t>(r);
    }
    return true;
  }
  static bool writeAll(int fd, const char* data, std::size_t n) {
    while (n > 0) {
      const auto w = ::send(fd, data, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      data += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }
  static void copyRaw(int from, int to) {
    char buf[65536];
    for (;;) {
      const auto r = ::recv(from, buf, sizeof buf, 0);
      if (r <= 0 || !writeAll(to, buf, static_cast<std::size_t>(r))) break;
    }
    ::shutdown(to, SHUT_RDWR);
    ::shutdown(from, SHUT_RDWR);
  }
  // Broker -> client, one size-prefixed response at a time, with the port rewritten.
  void copyFrames(int from, int to) {
    std::string frame;
    for (;;) {
      char size_bytes[4];
      if (!readAll(from, size_bytes, 4)) break;
      uint32_t size = 0;
      std::memcpy(&size, size_bytes, 4);
      frame.resize(ntohl(size));
      if (!readAll(from, frame.data(), frame.size())) break;
      const uint32_t old_port = htonl(upstream_port_);
      const uint32_t new_port = htonl(port_);
      for (auto at = frame.find(host_); at != std::string::npos; at = frame.find(host_, at + 1)) {
        const auto p = at + host_.size();
        if (p + 4 <= frame.size() && std::memcmp(frame.data() + p, &old_port, 4) == 0)
          std::memcpy(frame.data() + p, &new_port, 4);
      }
      if (!writeAll(to, size_bytes, 4) || !writeAll(to, frame.data(), frame.size())) break;
    }
    ::shutdown(to, SHUT_RDWR);
    ::shutdown(from, SHUT_RDWR);
  }

  std::string host_;
  uint16_t upstream_port_ = 0;
  uint16_t port_ = 0;
  int listener_ = -1;
  std::atomic<bool> cut_{false};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> pipes_;
  std::thread acceptor_;
};

}  // namespace hookpipe::testing
