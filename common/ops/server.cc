#include "common/ops/server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <stdexcept>

#include "common/kafka/stats.h"
#include "common/log/log.h"

namespace hookpipe::ops {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr auto kStatsInterval = std::chrono::seconds(5);

http::response<http::string_body> answer(const http::request<http::string_body>& req,
                                         const metrics::Registry& registry, Readiness& readiness) {
  http::response<http::string_body> res;
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  const std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  auto json = [&res](http::status status, std::string body) {
    res.result(status);
    res.set(http::field::content_type, "application/json");
    res.body() = std::move(body);
  };
  const bool known = path == "/metrics" || path == "/healthz" || path == "/readyz";
  if (!known) {
    json(http::status::not_found, R"({"error":"no route; try /metrics, /healthz, /readyz"})");
  } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
    json(http::status::method_not_allowed, R"({"error":"use GET"})");
    res.set(http::field::allow, "GET, HEAD");
  } else if (path == "/metrics") {
    res.result(http::status::ok);
    res.set(http::field::content_type, kMetricsContentType);
    res.body() = registry.render();
  } else if (path == "/healthz") {
    json(http::status::ok, R"({"status":"ok"})");
  } else {
    auto verdict = readiness.evaluate();
    json(verdict.ready ? http::status::ok : http::status::service_unavailable,
         std::move(verdict.json));
  }
  res.prepare_payload();
  if (req.method() == http::verb::head) res.body().clear();
  return res;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const metrics::Registry& registry, Readiness& readiness)
      : stream_(std::move(socket)), registry_(registry), readiness_(readiness) {}
  void read() {
    req_ = {};
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(
        stream_, buffer_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) return;
          self->res_ = answer(self->req_, self->registry_, self->readiness_);
          http::async_write(self->stream_, self->res_, [self](beast::error_code ec, std::size_t) {
            if (ec || !self->res_.keep_alive()) {
              beast::error_code ignored;
              self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
              return;
            }
            self->read();
          });
        });
  }

 private:
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  const metrics::Registry& registry_;
  Readiness& readiness_;
};

}  // namespace

struct Server::Impl {
  Impl(std::string address, int port, const metrics::Registry& registry, Readiness& readiness)
      : address(std::move(address)), port(port), registry(registry), readiness(readiness) {}
  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == net::error::operation_aborted) return;
      } else {
        std::make_shared<Session>(std::move(socket), registry, readiness)->read();
      }
      accept();
    });
  }
  std::string address;
  int port;
  const metrics::Registry& registry;
  Readiness& readiness;
  net::io_context io{1};
  tcp::acceptor acceptor{io};
};

Server::Server(std::string address, int port, const metrics::Registry& registry,
               Readiness& readiness)
    : impl_(std::make_unique<Impl>(std::move(address), port, registry, readiness)) {}

Server::~Server() { stop(); }

Result<void> Server::start() {
  const std::string where = impl_->address + ":" + std::to_string(impl_->port);
  beast::error_code ec;
  const auto address = net::ip::make_address(impl_->address, ec);
  if (ec) return fail("metrics server: bad address " + impl_->address + ": " + ec.message());
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(impl_->port));
  auto& acceptor = impl_->acceptor;
  if (acceptor.open(endpoint.protocol(), ec); ec)
    return fail("metrics server: cannot open a socket for " + where + ": " + ec.message());
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (acceptor.bind(endpoint, ec); ec)
    return fail("metrics server: cannot bind " + where + ": " + ec.message() +
                " (HOOKPIPE_METRICS_PORT)");
  if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec)
    return fail("metrics server: cannot listen on " + where + ": " + ec.message());
  port_ = acceptor.local_endpoint().port();
  impl_->accept();
  thread_ = std::thread([this] { impl_->io.run(); });
  return {};
}

void Server::stop() {
  if (!thread_.joinable()) return;
  impl_->io.stop();
  thread_.join();
}

void declareKafkaMetrics(std::string_view role, metrics::Registry& registry) {
  if (kafka::statsInterval().count() == 0)
    kafka::enableStats(std::chrono::duration_cast<std::chrono::milliseconds>(kStatsInterval));
  const std::string prefix = "hookpipe_" + std::string(role) + "_";
  registry.gaugeFamilyFn(
      prefix + "consumer_lag_messages",
      "Records behind the high watermark (committed offset to end), per assigned partition, "
      "from librdkafka's statistics",
      {"topic", "partition"}, [] {
        // Summed per partition over the process's consumers: each reports only what it was
        // assigned, so a partition appears once unless a rebalance is moving it.
        std::map<std::pair<std::string, int32_t>, double> lag;
        for (const auto& c : kafka::clientStatuses())
          if (c.group_consumer)
            for (const auto& p : c.last.lags) lag[{p.topic, p.partition}] += double(p.lag);
        metrics::Registry::FnSamples out;
        out.reserve(lag.size());
        for (const auto& [tp, v] : lag) out.push_back({{tp.first, std::to_string(tp.second)}, v});
        return out;
      });
  registry.gaugeFn(prefix + "consumer_assigned_partitions",
                   "Partitions assigned to the group consumers of this process", {}, [] {
                     double n = 0;
                     for (const auto& c : kafka::clientStatuses())
                       if (c.group_consumer) n += double(c.last.assignment_size);
                     return n;
                   });
  registry.counterFamilyFn(
      prefix + "kafka_requests_total",
      "Requests this process's Kafka clients sent to the brokers, per client.id and request "
      "type, from librdkafka's statistics",
      {"client", "request"}, [] {
        metrics::Registry::FnSamples out;
        for (const auto& [key, n] : kafka::requestsSent())
          out.push_back({{key.first, key.second}, double(n)});
        return out;
      });
  registry.counterFn(prefix + "kafka_produce_errors_total",
                     "Records the broker failed or the producer refused (other than a full queue)",
                     {}, [] { return double(kafka::produceErrors()); });
  registry.gaugeFn(prefix + "kafka_queue_messages",
                   "Records in the producers' queues, not yet acknowledged by the broker", {},
                   [] { return double(kafka::producerQueueDepth()); });
}

std::unique_ptr<RoleOps> serveRole(const Config& config, std::string_view role,
                                   metrics::Registry& registry, bool uses_redis) {
  if (config.metrics_port == 0) return nullptr;
  declareKafkaMetrics(role, registry);
  auto ops = std::make_unique<RoleOps>();
  ops->readiness.add(kafkaProbe());
  if (uses_redis) ops->readiness.add(redisProbe(config));
  ops->server =
      std::make_unique<Server>(config.http_address, config.metrics_port, registry, ops->readiness);
  if (auto r = ops->server->start(); !r) throw std::runtime_error(r.error().message);
  logger(std::string(role))
      ->info("ops endpoints address={} port={} paths=/metrics,/healthz,/readyz",
             config.http_address, ops->server->port());
  return ops;
}

}  // namespace hookpipe::ops
