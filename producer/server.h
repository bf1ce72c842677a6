#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>
#include <vector>

#include "common/config/config.h"
#include "common/error.h"
#include "producer/http.h"

namespace hookpipe::producer {

// The request line and headers of one request together (Beast's default, as nginx's
// large_client_header_buffers); over it the answer is 431 and the connection closes.
inline constexpr std::size_t kMaxHeaderBytes = 8 * 1024;

// Boost.Beast HTTP/1.1 server with keep-alive. `threads` threads run one io_context;
// each connection is a session whose reads and writes run on its own strand, so an
// answer produced later on another thread (the Kafka callback thread) is posted back to
// that strand. Each request goes to `handler`, which answers it whole (the connection
// then reads the next one) or streams it (the connection closes when the stream ends).
class Server {
 public:
  Server(const Config& config, Handler handler);
  ~Server();
  // Binds (port 0 picks a free port) and starts the threads.
  Result<void> start();
  unsigned short port() const { return port_; }
  void stop();
  // Connections open now (a session lives as long as its connection).
  int sessions() const { return sessions_->load(); }

 private:
  Config config_;
  Handler handler_;
  boost::asio::io_context io_;
  std::vector<std::thread> threads_;
  unsigned short port_ = 0;
  std::shared_ptr<std::atomic<int>> sessions_ = std::make_shared<std::atomic<int>>(0);
  struct Listener;
  std::shared_ptr<Listener> listener_;
};

}  // namespace hookpipe::producer
