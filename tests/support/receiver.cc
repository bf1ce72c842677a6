#include "support/receiver.h"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/signing/signer.h"

namespace hookpipe::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct Receiver::Impl {
  net::io_context io;
  tcp::acceptor acceptor{io};
  std::thread accept_thread;
  std::vector<std::thread> connections;
  std::atomic<bool> stopping{false};
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::vector<ReceivedRequest> requests;
  Respond respond;
  Receiver::ReplyHeaders reply_headers;
  Receiver::ReplyBody reply_body;
  int active = 0;
  int max_active = 0;
  std::vector<std::shared_ptr<tcp::socket>> sockets;

  void serve(std::shared_ptr<tcp::socket> socket) {
    beast::flat_buffer buffer;
    beast::error_code ec;
    while (!stopping) {
      http::request<http::string_body> req;
      http::read(*socket, buffer, req, ec);
      if (ec) break;
      ReceivedRequest r;
      r.at = std::chrono::steady_clock::now();
      r.target = std::string(req.target());
      for (const auto& f : req) {
        std::string name(f.name_string());
        std::transform(name.begin(), name.end(), name.begin(), ::tolower);
        r.headers[name] = std::string(f.value());
      }
      r.body = req.body();
      Respond fn;
      Receiver::ReplyHeaders extra;
      Receiver::ReplyBody body_of;
      {
        std::lock_guard lock(mu);
        fn = respond;
        extra = reply_headers;
        body_of = reply_body;
        max_active = std::max(max_active, ++active);
      }
      const int status = fn ? fn(r) : 200;
      std::optional<std::string> body;
      if (body_of) body = body_of(r, status);
      {
        std::lock_guard lock(mu);
        --active;
        requests.push_back(std::move(r));
      }
      cv.notify_all();
      http::response<http::string_body> res{static_cast<http::status>(status), req.version()};
      res.body() = body ? std::move(*body) : "status " + std::to_string(status);
      if (extra)
        for (const auto& [name, value] : extra(status)) res.set(name, value);
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(*socket, res, ec);
      if (ec || !req.keep_alive()) break;
    }
    socket->shutdown(tcp::socket::shutdown_both, ec);
  }
};

Receiver::Receiver(Respond respond) : impl_(std::make_unique<Impl>()) {
  impl_->respond = std::move(respond);
  tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(net::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept_thread = std::thread([impl = impl_.get()] {
    while (!impl->stopping) {
      auto socket = std::make_shared<tcp::socket>(impl->io);
      beast::error_code ec;
      impl->acceptor.accept(*socket, ec);
      if (ec || impl->stopping) break;
      std::lock_guard lock(impl->mu);
      impl->sockets.push_back(socket);
      impl->connections.emplace_back([impl, socket] { impl->serve(socket); });
    }
  });
}

Receiver::~Receiver() {
  impl_->stopping = true;
  beast::error_code ec;
  {
    // A blocking accept() is not woken by close(): connect once to let it return.
    tcp::socket poke(impl_->io);
    poke.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
  }
  impl_->accept_thread.join();
  impl_->acceptor.close(ec);
  {
    std::lock_guard lock(impl_->mu);
    for (auto& s : impl_->sockets) s->shutdown(tcp::socket::shutdown_both, ec);
  }
  for (auto& t : impl_->connections) t.join();
}

void Receiver::closeConnections() {
  beast::error_code ec;
  std::lock_guard lock(impl_->mu);
  for (auto& s : impl_->sockets) s->shutdown(tcp::socket::shutdown_both, ec);
}

std::string Receiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<ReceivedRequest> Receiver::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

std::vector<ReceivedRequest> Receiver::requestsTo(const std::string& path) const {
  std::vector<ReceivedRequest> out;
  for (auto& r : requests())
    if (r.target == path) out.push_back(r);
  return out;
}

bool Receiver::waitFor(const std::function<bool(const std::vector<ReceivedRequest>&)>& done,
                       std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return done(impl_->requests); });
}

void Receiver::setReplyHeaders(ReplyHeaders headers) {
  std::lock_guard lock(impl_->mu);
  impl_->reply_headers = std::move(headers);
}

void Receiver::setReplyBody(ReplyBody body) {
  std::lock_guard lock(impl_->mu);
  impl_->reply_body = std::move(body);
}

int Receiver::maxConcurrent() const {
  std::lock_guard lock(impl_->mu);
  return impl_->max_active;
}

void Receiver::setRespond(Respond respond) {
  std::lock_guard lock(impl_->mu);
  impl_->respond = std::move(respond);
}

bool validSignature(const ReceivedRequest& r, const std::string& secret) {
  auto key = signing::secretKey(secret);
  if (!key) return false;
  signing::Signer signer;
  const std::string expected = signer.standardWebhooks(
      {*key}, r.headers.at("webhook-id"), std::stoll(r.headers.at("webhook-timestamp")), r.body);
  return r.headers.at("webhook-signature") == expected;
}

}  // namespace hookpipe::testing
