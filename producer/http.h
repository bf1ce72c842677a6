#pragma once

#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <string>

namespace hookpipe::producer {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
// The status and headers of a streamed response (its body comes as chunks).
using ResponseHead = http::response<http::empty_body>;

// The body of one streamed response, sent with chunked transfer encoding as the handler
// produces it. Thread-safe: write() and end() may be called from any thread; the chunks go
// out in order on the connection's strand. The stream ends when the handler calls end(),
// when the client goes away, when a write fails, or when the client reads too slowly
// (more than kMaxQueuedBytes waiting); the connection then closes (a streamed response
// always says Connection: close). Holding a stream does not keep its connection alive.
class ResponseStream {
 public:
  static constexpr std::size_t kMaxQueuedBytes = 1 << 20;

  virtual ~ResponseStream() = default;
  // Queues a chunk (an empty one is skipped: it would end the body). False once the stream
  // has ended: stop producing.
  virtual bool write(std::string chunk) = 0;
  // Sends what is queued, then the last chunk, then closes the connection.
  virtual void end() = 0;
  virtual bool closed() const = 0;
  // Bytes written but not yet sent: a producer of a long stream waits while this is high,
  // so a slow client slows it down instead of ending the stream.
  virtual std::size_t queuedBytes() const { return 0; }
  // `f` runs once when the stream ends, however it ends: on the connection's strand, on
  // the thread that finds the connection gone, or at once on the caller's thread when the
  // stream has already ended. One callback per stream (a second replaces the first).
  virtual void onClose(std::function<void()> f) = 0;
};

// The connection a request came on, as its handler sees it; implemented by the server.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void respond(Response res) = 0;
  virtual std::shared_ptr<ResponseStream> stream(ResponseHead head) = 0;
};

// How a handler answers one request, exactly once: a whole response (respond(), from any
// thread, now or later), or a stream (stream(): the head is written at once, the body as
// the handler writes it). Copyable; the copies share the connection, which a Responder
// keeps alive until it is answered — a streaming handler keeps the ResponseStream and
// drops its Responder.
class Responder {
 public:
  explicit Responder(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {}
  void respond(Response res) const { connection_->respond(std::move(res)); }
  std::shared_ptr<ResponseStream> stream(ResponseHead head) const {
    return connection_->stream(std::move(head));
  }

 private:
  std::shared_ptr<Connection> connection_;
};

// What the server calls for each request, on an HTTP thread.
using Handler = std::function<void(const Request&, Responder)>;

}  // namespace hookpipe::producer
