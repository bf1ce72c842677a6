#include "producer/server.h"

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>

#include "producer/reply.h"

namespace hookpipe::producer {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// After an answer to a request that was not read to its end (headers or body over the
// limit), the rest is read and dropped for this long at most, this much at most, before
// the socket closes: closing with unread bytes makes the kernel send a reset, which can
// destroy the answer before the client reads it (nginx's lingering close).
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 1 << 20;

// What a session and the ResponseStream it handed out share: the stream may outlive the
// session (a handler holding it after the client went).
struct StreamState {
  std::atomic<bool> closed{false};
  std::atomic<std::size_t> queued_bytes{0};
  std::mutex mu;
  std::function<void()> on_close;  // guarded by mu
  bool ended = false;              // guarded by mu: on_close ran or will never be set

  void finish() {
    closed = true;
    std::function<void()> f;
    {
      std::lock_guard lock(mu);
      if (ended) return;
      ended = true;
      f = std::move(on_close);
    }
    if (f) f();
  }
};

class Session : public Connection, public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, const Handler& handler, std::size_t body_limit,
          std::shared_ptr<std::atomic<int>> sessions)
      : stream_(std::move(socket)),
        handler_(handler),
        body_limit_(body_limit),
        sessions_(std::move(sessions)) {
    ++*sessions_;
  }
  ~Session() override {
    if (stream_state_) stream_state_->finish();
    --*sessions_;
  }

  void start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::read, shared_from_this()));
  }

  // May run on another thread: hop back onto this session's strand.
  void respond(Response res) override {
    net::post(stream_.get_executor(), [self = shared_from_this(), res = std::move(res)]() mutable {
      self->write(std::move(res));
    });
  }

  std::shared_ptr<ResponseStream> stream(ResponseHead head) override;

  // The streaming side, on the strand (ResponseStream posts here).
  void queueChunk(std::string chunk) {
    if (stream_state_->closed) return;
    chunks_.push_back(std::move(chunk));
    pump();
  }
  void endStream() {
    ending_ = true;
    pump();
  }
  void abortStream() { finishStream(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));
    parser_->body_limit(body_limit_);
    stream_.expires_after(std::chrono::seconds(60));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::onRead, shared_from_this()));
  }

  void onRead(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return close();
    if (ec == http::error::body_limit || ec == http::error::header_limit) {
      Request req;
      req.version(11);
      req.keep_alive(false);
      linger_ = true;
      if (ec == http::error::header_limit)
        return write(errorResponse(req, http::status::request_header_fields_too_large,
                                   "request line and headers are over the limit of " +
                                       std::to_string(kMaxHeaderBytes) + " bytes"));
      return write(
          errorResponse(req, http::status::payload_too_large,
                        "body is over the limit of " + std::to_string(body_limit_) + " bytes"));
    }
    if (ec) return;
    request_ = parser_->release();
    handler_(request_, Responder(shared_from_this()));
  }

  void write(Response res) {
    response_ = std::move(res);
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::onWrite, shared_from_this()));
  }

  void onWrite(beast::error_code ec, std::size_t) {
    if (ec) return;
    if (!response_.keep_alive()) return close();
    read();
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (!linger_) return;
    stream_.expires_after(kLingerTime);
    drain();
  }

  // Reads and drops what the client still sends, until it closes, kLingerTime or
  // kLingerBytes; the session (and the socket) goes when the last read ends.
  void drain() {
    if (!discard_) discard_ = std::make_unique<std::array<char, 16 * 1024>>();
    stream_.async_read_some(net::buffer(*discard_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (!ec && self->drained_ < kLingerBytes) self->drain();
                            });
  }

  void startStream(ResponseHead head) {
    head_ = std::move(head);
    head_.version(request_.version());
    head_.chunked(true);
    head_.keep_alive(false);
    // A stream lasts as long as its handler wants: no idle timeout. A client that stops
    // reading is caught by kMaxQueuedBytes instead, one that goes by the watch below.
    stream_.expires_never();
    head_serializer_.emplace(head_);
    writing_ = true;
    http::async_write_header(stream_, *head_serializer_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               self->writing_ = false;
                               if (ec) return self->finishStream();
                               self->pump();
                             });
    watch();
  }

  // A read outstanding for the whole stream, so that a client closing its end is seen at
  // once and not only at the next write; what it sends meanwhile is dropped.
  void watch() {
    if (!discard_) discard_ = std::make_unique<std::array<char, 16 * 1024>>();
    stream_.async_read_some(net::buffer(*discard_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->finishStream();
                              self->watch();
                            });
  }

  void pump() {
    if (writing_ || stream_state_->closed) return;
    if (!chunks_.empty()) {
      writing_ = true;
      chunk_ = std::move(chunks_.front());
      chunks_.pop_front();
      net::async_write(stream_, http::make_chunk(net::buffer(chunk_)),
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         self->writing_ = false;
                         self->stream_state_->queued_bytes -= self->chunk_.size();
                         if (ec) return self->finishStream();
                         self->pump();
                       });
    } else if (ending_) {
      writing_ = true;
      net::async_write(stream_, http::make_chunk_last(),
                       [self = shared_from_this()](beast::error_code, std::size_t) {
                         self->writing_ = false;
                         self->finishStream();
                       });
    }
  }

  // Ends the stream and the connection; the pending watch read completes (aborted) and
  // the session goes with its last handler.
  void finishStream() {
    if (stream_finished_) return;
    stream_finished_ = true;
    stream_state_->finish();
    chunks_.clear();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  const Handler& handler_;
  std::size_t body_limit_;
  std::shared_ptr<std::atomic<int>> sessions_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Request request_;
  Response response_;
  bool linger_ = false;  // the request was not read to its end: drain before closing
  std::size_t drained_ = 0;
  std::unique_ptr<std::array<char, 16 * 1024>> discard_;  // only while lingering or streaming
  // Streaming (all null / empty until stream() is called).
  std::shared_ptr<StreamState> stream_state_;
  ResponseHead head_;
  std::optional<http::response_serializer<http::empty_body>> head_serializer_;
  std::deque<std::string> chunks_;
  std::string chunk_;  // the one being written
  bool writing_ = false;
  bool ending_ = false;
  bool stream_finished_ = false;

  friend class Stream;
};

class Stream : public ResponseStream {
 public:
  Stream(std::weak_ptr<Session> session, std::shared_ptr<StreamState> state)
      : session_(std::move(session)), state_(std::move(state)) {}
  ~Stream() override = default;

  bool write(std::string chunk) override {
    if (state_->closed) return false;
    if (chunk.empty()) return true;
    auto s = session_.lock();
    if (!s) {
      state_->finish();
      return false;
    }
    const auto queued = state_->queued_bytes += chunk.size();
    if (queued > kMaxQueuedBytes) {
      net::post(s->stream_.get_executor(), [s] { s->abortStream(); });
      return false;
    }
    net::post(s->stream_.get_executor(),
              [s, chunk = std::move(chunk)]() mutable { s->queueChunk(std::move(chunk)); });
    return true;
  }

  void end() override {
    if (auto s = session_.lock()) net::post(s->stream_.get_executor(), [s] { s->endStream(); });
  }

  bool closed() const override { return state_->closed; }
  std::size_t queuedBytes() const override { return state_->queued_bytes; }

  void onClose(std::function<void()> f) override {
    {
      std::lock_guard lock(state_->mu);
      if (!state_->ended) {
        state_->on_close = std::move(f);
        return;
      }
    }
    f();
  }

 private:
  std::weak_ptr<Session> session_;
  std::shared_ptr<StreamState> state_;
};

std::shared_ptr<ResponseStream> Session::stream(ResponseHead head) {
  auto state = std::make_shared<StreamState>();
  auto self = shared_from_this();
  net::post(stream_.get_executor(), [self, state, head = std::move(head)]() mutable {
    self->stream_state_ = state;
    self->startStream(std::move(head));
  });
  return std::make_shared<Stream>(self, state);
}

}  // namespace

struct Server::Listener : std::enable_shared_from_this<Server::Listener> {
  Listener(net::io_context& io, const Handler& handler, std::size_t body_limit,
           std::shared_ptr<std::atomic<int>> sessions)
      : io(io),
        acceptor(net::make_strand(io)),
        handler(handler),
        body_limit(body_limit),
        sessions(std::move(sessions)) {}
  void accept() {
    acceptor.async_accept(net::make_strand(io),
                          [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                            if (ec == net::error::operation_aborted) return;
                            if (!ec)
                              std::make_shared<Session>(std::move(socket), self->handler,
                                                        self->body_limit, self->sessions)
                                  ->start();
                            self->accept();
                          });
  }
  net::io_context& io;
  tcp::acceptor acceptor;
  const Handler& handler;
  std::size_t body_limit;
  std::shared_ptr<std::atomic<int>> sessions;
};

Server::Server(const Config& config, Handler handler)
    : config_(config), handler_(std::move(handler)) {}

Server::~Server() { stop(); }

Result<void> Server::start() {
  // Bodies up to the batch limit are read; per-route limits are the API's to enforce.
  listener_ = std::make_shared<Listener>(
      io_, handler_, std::max(config_.max_batch_bytes, config_.max_event_bytes), sessions_);
  beast::error_code ec;
  const tcp::endpoint endpoint(net::ip::make_address(config_.http_address, ec),
                               static_cast<unsigned short>(config_.http_port));
  if (ec) return fail("HOOKPIPE_HTTP_ADDRESS: " + ec.message());
  auto& acc = listener_->acceptor;
  acc.open(endpoint.protocol(), ec);
  if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(endpoint, ec);
  if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return fail("listen on " + config_.http_address + ":" + std::to_string(config_.http_port) +
                ": " + ec.message());
  port_ = acc.local_endpoint().port();
  listener_->accept();
  for (int i = 0; i < config_.http_threads; ++i) threads_.emplace_back([this] { io_.run(); });
  return {};
}

void Server::stop() {
  io_.stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace hookpipe::producer
