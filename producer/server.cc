#include "producer/server.h"

#include <array>
#include <memory>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>

#include <cstdint>

#include "common/log/log.h"

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

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Api& api, std::size_t body_limit)
      : stream_(std::move(socket)), api_(api), body_limit_(body_limit) {}

  void start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::read, shared_from_this()));
  }

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
    auto self = shared_from_this();
    api_.handle(request_, [self](Response res) {
      // May run on another thread: hop back onto this session's strand.
      net::post(self->stream_.get_executor(),
                [self, res = std::move(res)]() mutable { self->write(std::move(res)); });
    });
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

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  Api& api_;
  std::size_t body_limit_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Request request_;
  Response response_;
  bool linger_ = false;  // the request was not read to its end: drain before closing
  std::size_t drained_ = 0;
  std::unique_ptr<std::array<char, 16 * 1024>> discard_;  // only while lingering
};

}  // namespace

struct Server::Listener : std::enable_shared_from_this<Server::Listener> {
  Listener(net::io_context& io, Api& api, std::size_t body_limit)
      : io(io), acceptor(net::make_strand(io)), api(api), body_limit(body_limit) {}
  void accept() {
    acceptor.async_accept(net::make_strand(io), [self = shared_from_this()](beast::error_code ec,
                                                                            tcp::socket socket) {
      if (ec == net::error::operation_aborted) return;
      if (!ec) std::make_shared<Session>(std::move(socket), self->api, self->body_limit)->start();
      self->accept();
    });
  }
  net::io_context& io;
  tcp::acceptor acceptor;
  Api& api;
  std::size_t body_limit;
};

Server::Server(const Config& config, Api& api) : config_(config), api_(api) {}

Server::~Server() { stop(); }

Result<void> Server::start() {
  // Bodies up to the batch limit are read; per-route limits are the API's to enforce.
  listener_ = std::make_shared<Listener>(
      io_, api_, std::max(config_.max_batch_bytes, config_.max_event_bytes));
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
