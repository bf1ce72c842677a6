#pragma once

// The chaos harness's webhook receiver: Boost.Beast on one asio thread (like
// benchmarks/fast_sink.h), HTTP/1.1 keep-alive. Each subscription posts to /s/<index>;
// the event id comes from the body ("id":"evt_<seq>" or "warm_<n>"), and the request's
// webhook-id must be the delivery id hookpipe derives from that event and subscription —
// anything else is counted as an unknown request. The Ledger decides the answer.
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <charconv>
#include <string>
#include <thread>

#include "benchmarks/chaos_ledger.h"
#include "common/net/status_server.h"
#include "common/records/delivery.h"

namespace hookpipe::chaos {

namespace asio = boost::asio;

class Receiver {
 public:
  Receiver(Ledger& ledger, unsigned short port)
      : ledger_(ledger), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), port}) {
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(
        io_,
        net::serveStatuses(acceptor_,
                           [this](const net::StatusRequest& req) -> asio::awaitable<int> {
                             co_return answer(req);
                           }),
        asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Receiver() { stop(); }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // Stops answering (connections are dropped); the ledger is complete afterwards.
  void stop() {
    if (!thread_.joinable()) return;
    io_.stop();
    thread_.join();
  }
  unsigned short port() const { return port_; }
  std::string url(std::size_t sub) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/s/" + std::to_string(sub);
  }

 private:
  int answer(const net::StatusRequest& req) {
    const int64_t now = wallMicros();
    const std::string_view target = req.target();
    std::size_t sub = 0;
    constexpr std::string_view kPrefix = "/s/";
    if (!target.starts_with(kPrefix) ||
        std::from_chars(target.data() + kPrefix.size(), target.data() + target.size(), sub).ec !=
            std::errc() ||
        sub >= ledger_.subs().size())
      return unknown();
    const std::string& body = req.body();
    constexpr std::string_view kId = "\"id\":\"";
    const auto at = body.find(kId);
    const auto end = at == std::string::npos ? at : body.find('"', at + kId.size());
    if (end == std::string::npos) return unknown();
    const std::string event_id = body.substr(at + kId.size(), end - at - kId.size());
    const auto header = req.find("webhook-id");
    const std::string webhook_id =
        header == req.end() ? std::string() : std::string(header->value());
    if (webhook_id != records::deliveryIdFor(event_id, ledger_.subs()[sub].id)) return unknown();
    long seq = -1;
    if (event_id.starts_with("evt_")) {
      if (std::from_chars(event_id.data() + 4, event_id.data() + event_id.size(), seq).ec !=
              std::errc() ||
          seq < 0 || seq >= ledger_.events())
        return unknown();
    } else if (!event_id.starts_with("warm_")) {
      return unknown();
    }
    return ledger_.answer(seq, sub, now, webhook_id);
  }

  int unknown() {
    ledger_.unknownRequest();
    return 200;
  }

  Ledger& ledger_;
  asio::io_context io_{1};
  asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
};

}  // namespace hookpipe::chaos
