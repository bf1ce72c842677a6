#include "common/loadtest/receiver.h"

#include <boost/asio.hpp>

#include "common/loadtest/event.h"
#include "common/net/status_server.h"

namespace hookpipe::loadtest {

namespace asio = boost::asio;

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

  // The answer to one request: the policy's (after its delay) for the run's events, 200 for
  // warm-up events and anything else.
  asio::awaitable<int> answer(const net::StatusRequest& req) {
    const int64_t now = wallMicros();
    const auto marker = findMarker(req.body(), run);
    if (!marker) {
      tally.foreign();
      co_return 200;
    }
    if (marker->seq >= kWarmupSeq) {
      warmup.attempt(std::string_view(req.target().data(), req.target().size()),
                     now - marker->sent_us, true);
      co_return 200;
    }
    const AnswerPolicy::Answer answer = policy.next();
    if (answer.delay.count() > 0) {
      asio::steady_timer timer(io, answer.delay);
      co_await timer.async_wait(asio::use_awaitable);
    }
    // Without a webhook-id (a sender other than hookpipe) the event's sequence number
    // stands in for it.
    const auto id = req.find("webhook-id");
    const std::string key =
        id != req.end() ? std::string(id->value()) : "seq:" + std::to_string(marker->seq);
    // Latency to when the request arrived: the answer's own delay is the receiver's.
    tally.attempt(key, now - marker->sent_us, answer.status >= 200 && answer.status < 300);
    co_return answer.status;
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
  Impl* impl = impl_.get();
  asio::co_spawn(
      impl->io,
      net::serveStatuses(impl->acceptor,
                         [impl](const net::StatusRequest& req) { return impl->answer(req); }),
      asio::detached);
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
