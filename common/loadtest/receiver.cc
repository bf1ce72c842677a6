#include "common/loadtest/receiver.h"

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include "common/loadtest/event.h"

namespace hookpipe::loadtest {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

AnswerPolicy::AnswerPolicy(std::chrono::microseconds latency_min,
                           std::chrono::microseconds latency_max, double fail_rate, int fail_status,
                           uint64_t seed)
    : rng_(seed),
      delay_(latency_min.count(), std::max(latency_min, latency_max).count()),
      fail_(fail_rate),
      fail_status_(fail_status) {}

AnswerPolicy::Answer AnswerPolicy::next() {
  Answer a;
  a.delay = std::chrono::microseconds(delay_(rng_));
  if (fail_(rng_)) a.status = fail_status_;
  return a;
}

struct LoadReceiver::Impl {
  Impl(const std::string& host_in, unsigned short port_in, std::string run_in,
       AnswerPolicy policy_in, Tally& tally_in, Tally& warmup_in)
      : host(host_in),
        run(std::move(run_in)),
        policy(policy_in),
        tally(tally_in),
        warmup(warmup_in),
        acceptor(io, {asio::ip::make_address(host_in), port_in}) {
    port = acceptor.local_endpoint().port();
  }

  asio::awaitable<void> accept() {
    for (;;) {
      auto socket = co_await acceptor.async_accept(asio::use_awaitable);
      socket.set_option(asio::ip::tcp::no_delay(true));
      asio::co_spawn(io, session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> session(asio::ip::tcp::socket socket) {
    beast::flat_buffer buffer;
    asio::steady_timer timer(io);
    try {
      for (;;) {
        http::request<http::string_body> req;
        co_await http::async_read(socket, buffer, req, asio::use_awaitable);
        const int64_t now = wallMicros();
        const auto marker = findMarker(req.body(), run);
        int status = 200;
        if (marker && marker->seq >= kWarmupSeq) {
          warmup.attempt(std::string_view(req.target().data(), req.target().size()),
                         now - marker->sent_us, true);
        } else if (marker) {
          const AnswerPolicy::Answer answer = policy.next();
          if (answer.delay.count() > 0) {
            timer.expires_after(answer.delay);
            co_await timer.async_wait(asio::use_awaitable);
          }
          status = answer.status;
          // Without a webhook-id (a sender other than hookpipe) the event's sequence number
          // stands in for it.
          const auto id = req.find("webhook-id");
          const std::string key =
              id != req.end() ? std::string(id->value()) : "seq:" + std::to_string(marker->seq);
          // Latency to when the request arrived: the answer's own delay is the receiver's.
          tally.attempt(key, now - marker->sent_us, status >= 200 && status < 300);
        } else {
          tally.foreign();
        }
        http::response<http::empty_body> res{static_cast<http::status>(status), req.version()};
        res.keep_alive(req.keep_alive());
        res.content_length(0);
        co_await http::async_write(socket, res, asio::use_awaitable);
        if (!req.keep_alive()) break;
      }
    } catch (const std::exception&) {
      // the peer closed, or the receiver is stopping
    }
  }

  std::string host;
  std::string run;
  AnswerPolicy policy;  // used on the io thread only
  Tally& tally;
  Tally& warmup;
  asio::io_context io{1};
  asio::ip::tcp::acceptor acceptor;
  unsigned short port = 0;
  std::thread thread;
};

LoadReceiver::LoadReceiver(const std::string& host, unsigned short port, std::string run,
                           AnswerPolicy policy, Tally& tally, Tally& warmup)
    : impl_(std::make_unique<Impl>(host, port, std::move(run), policy, tally, warmup)) {
  asio::co_spawn(impl_->io, impl_->accept(), asio::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

LoadReceiver::~LoadReceiver() {
  impl_->io.stop();
  impl_->thread.join();
}

unsigned short LoadReceiver::port() const { return impl_->port; }

std::string LoadReceiver::url(const std::string& path) const {
  const bool v6 = impl_->host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + impl_->host + "]" : impl_->host) + ":" +
         std::to_string(impl_->port) + path;
}

}  // namespace hookpipe::loadtest
