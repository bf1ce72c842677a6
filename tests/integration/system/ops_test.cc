// The ops endpoints of every role on the real broker and Redis: /metrics in a format
// Prometheus's own promtool accepts, /healthz, /readyz (and what it says when Redis is
// away), a counter that moves after a delivery, consumer lag per partition, a bind failure
// at start-up, and the real Prometheus server scraping the roles and answering a query.
// Every role runs as its own `hookpipe` process. Needs Debian's `prometheus` package
// (promtool, prometheus); skipped with a message when its binaries are missing.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <string>

#include "common/kafka/kafka.h"
#include "common/records/delivery.h"
#include "support/harness.h"
#include "support/poll.h"
#include "support/process.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;

bool haveProgram(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

std::string url(unsigned short port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

// `promtool check metrics` on `text`: its exit status and what it printed (nothing when
// the exposition is clean).
std::pair<int, std::string> promtoolCheck(const std::string& text, const std::string& dir) {
  const std::string in = dir + "/metrics.txt";
  std::ofstream(in) << text;
  FILE* p = popen(("promtool check metrics < '" + in + "' 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  while (p != nullptr && std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int status = p != nullptr ? pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// The value of one sample in a /metrics body ("name{labels}" exactly as rendered); -1
// when absent.
double sample(const std::string& body, const std::string& series) {
  const auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + series.size() + 2));
}

class OpsTest : public PipelineFixture {
 protected:
  void SetUp() override {
    if (!haveProgram("promtool") || !haveProgram("prometheus"))
      GTEST_SKIP() << "promtool/prometheus not installed (apt-get install prometheus; "
                      "script/deps installs it)";
    PipelineFixture::SetUp();
    dir_ = std::string(std::getenv("HOOKPIPE_TEST_LOGS") ? std::getenv("HOOKPIPE_TEST_LOGS")
                                                         : "/tmp") +
           "/ops-" + pipeline_->config().topics.prefix;
    std::filesystem::create_directories(dir_);
  }
  // Starts `role` with its ops endpoints on a free port (statistics every second, so
  // readiness and lag come quickly); returns the port.
  unsigned short startWithOps(const std::string& role,
                              std::map<std::string, std::string> env = {}) {
    const unsigned short port = freePort();
    env["HOOKPIPE_METRICS_PORT"] = std::to_string(port);
    env["HOOKPIPE_KAFKA_STATISTICS_INTERVAL_MS"] = "1000";
    pipeline_->start(role, "1", env);
    return port;
  }
  void startApiWithStats() {
    pipeline_->start("producer", "1", {{"HOOKPIPE_KAFKA_STATISTICS_INTERVAL_MS", "1000"}});
    ASSERT_TRUE(eventually(
        [&] { return httpRequest("GET", pipeline_->apiUrl("/healthz"), "").status == 200; }, 60s))
        << pipeline_->logs();
  }
  void expectReady(unsigned short port, const std::string& role) {
    HttpResult last;
    EXPECT_TRUE(eventually(
        [&] {
          last = httpRequest("GET", url(port, "/readyz"), "");
          return last.status == 200;
        },
        60s))
        << role << " /readyz " << last.status << " " << last.body << "\n"
        << pipeline_->logs();
    EXPECT_NE(last.body.find(R"("status":"ready")"), std::string::npos) << last.body;
  }
  void expectCleanMetrics(unsigned short port, const std::string& role,
                          const std::string& path = "/metrics") {
    const auto res = httpRequest("GET", url(port, path), "");
    ASSERT_EQ(res.status, 200) << role;
    EXPECT_EQ(res.headers.at("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_NE(res.body.find("# TYPE hookpipe_" + role + "_"), std::string::npos) << res.body;
    const auto [status, out] = promtoolCheck(res.body, dir_);
    EXPECT_EQ(status, 0) << role << ": " << out;
    EXPECT_EQ(out, "") << role;
  }
  std::string metricsOf(unsigned short port) {
    return httpRequest("GET", url(port, "/metrics"), "").body;
  }
  std::string dir_;
};

TEST_F(OpsTest, EveryRoleServesCleanMetricsHealthAndReadiness) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startApiWithStats());
  subscribe(R"({"url":")" + receiver.url("/ops") + R"(","events":["ops.*"]})");
  const auto router = startWithOps("router");
  const auto deliverer = startWithOps("deliverer");
  const auto retry = startWithOps("retry");
  const std::map<std::string, unsigned short> roles = {
      {"router", router}, {"deliverer", deliverer}, {"retry", retry}};
  for (const auto& [role, port] : roles) {
    // Up as soon as the process has bound its port (before it reaches the broker).
    EXPECT_TRUE(eventually(
        [&] { return httpRequest("GET", url(port, "/healthz"), "").status == 200; }, 30s))
        << role;
    expectReady(port, role);
    EXPECT_EQ(httpRequest("GET", url(port, "/nothing"), "").status, 404) << role;
    EXPECT_EQ(httpRequest("POST", url(port, "/metrics"), "").status, 405) << role;
  }
  expectReady(pipeline_->apiPort(), "producer");

  EXPECT_EQ(
      sample(metricsOf(deliverer), R"(hookpipe_deliverer_attempts_total{outcome="delivered"})"), 0);
  publish(R"({"id":"evt_ops_1","type":"ops.created","data":{"n":1}})");
  ASSERT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= 1; }, 60s)) << pipeline_->logs();
  EXPECT_TRUE(eventually(
      [&] {
        return sample(metricsOf(deliverer),
                      R"(hookpipe_deliverer_attempts_total{outcome="delivered"})") == 1;
      },
      10s))
      << metricsOf(deliverer);
  EXPECT_EQ(sample(metricsOf(router), "hookpipe_router_deliveries_total"), 1);
  // Lag per partition of the deliverer's consumer, from librdkafka's statistics: every
  // deliveries partition, at 0 once the delivery's offset is committed.
  const std::string deliveries = pipeline_->config().topics.deliveries();
  EXPECT_TRUE(eventually(
      [&] {
        const auto body = metricsOf(deliverer);
        for (int p = 0; p < pipeline_->config().deliveries_partitions; ++p)
          if (sample(body, "hookpipe_deliverer_consumer_lag_messages{topic=\"" + deliveries +
                               "\",partition=\"" + std::to_string(p) + "\"}") != 0)
            return false;
        return true;
      },
      20s))
      << metricsOf(deliverer);
  EXPECT_EQ(sample(metricsOf(deliverer), "hookpipe_deliverer_consumer_assigned_partitions"),
            pipeline_->config().deliveries_partitions);
  // Requests to the broker per client (client.id: the group's id, a producer's own), from
  // the same statistics: the router fetched the event and produced the delivery, the
  // deliverer fetched it and the attempt log wrote its attempt.
  const Config& config = pipeline_->config();
  const auto requests = [](const std::string& role, const std::string& client,
                           const std::string& type) {
    return "hookpipe_" + role + "_kafka_requests_total{client=\"" + client + "\",request=\"" +
           type + "\"}";
  };
  EXPECT_TRUE(eventually(
      [&] {
        const auto r = metricsOf(router);
        const auto d = metricsOf(deliverer);
        return sample(r, requests("router", config.groupId("router"), "Fetch")) > 0 &&
               sample(r, requests("router", config.groupId("router") + "-producer", "Produce")) >=
                   1 &&
               sample(d, requests("deliverer", config.groupId("deliverer"), "Fetch")) > 0 &&
               sample(d, requests("deliverer", config.groupId("attempt-log"), "Produce")) >= 1;
      },
      20s))
      << metricsOf(router) << metricsOf(deliverer);
  // The producer counts the request by route and code, and its ingest time.
  const auto api = httpRequest("GET", pipeline_->apiUrl("/metrics"), "").body;
  EXPECT_EQ(
      sample(
          api,
          R"(hookpipe_producer_http_requests_total{method="POST",route="/v1/events",code="202"})"),
      1)
      << api;
  EXPECT_EQ(sample(api, "hookpipe_producer_ingest_duration_seconds_count"), 1) << api;
  // The event's own id was claimed in Redis (the idempotency store) before it was produced,
  // and its answer recorded before it was sent.
  EXPECT_EQ(sample(api, "hookpipe_producer_redis_round_trips_total"), 2) << api;
  EXPECT_EQ(sample(api, "hookpipe_producer_redis_errors_total"), 0) << api;

  for (const auto& [role, port] : roles) expectCleanMetrics(port, role);
  expectCleanMetrics(pipeline_->apiPort(), "producer");
}

TEST_F(OpsTest, ConsumerLagShowsABacklogUntilItIsWorkedOff) {
  const Config& config = pipeline_->config();  // tiers 1s and 5s, one partition each
  const auto port = startWithOps("retry");
  expectReady(port, "retry");
  // Four records in the 5 s tier: the retry role holds the first until it is released (5 s
  // after it was produced) and commits nothing before, so all four are behind.
  auto producer = kafka::Producer::create(config);
  ASSERT_TRUE(producer.has_value());
  const int64_t now = kafka::nowMs();
  for (int i = 0; i < 4; ++i) {
    records::DeliveryMeta meta;
    meta.event_id = "evt_lag_" + std::to_string(i);
    meta.subscription_id = "sub_lag";
    meta.delivery_id = records::deliveryIdFor(meta.event_id, meta.subscription_id);
    meta.attempt = 2;
    meta.due_ms = now + 5000;
    kafka::HeaderList headers;
    meta.writeTo(headers);
    ASSERT_TRUE((*producer)
                    ->produceBlocking(config.topics.retryTier(5s), meta.subscription_id, "{}",
                                      headers, nullptr)
                    .has_value());
  }
  ASSERT_TRUE((*producer)->flush(10s));
  const std::string series = "hookpipe_retry_consumer_lag_messages{topic=\"" +
                             config.topics.retryTier(5s) + "\",partition=\"0\"}";
  EXPECT_TRUE(eventually([&] { return sample(metricsOf(port), series) == 4; }, 5s))
      << metricsOf(port);
  // Released, forwarded, committed: the lag is gone.
  EXPECT_TRUE(eventually(
      [&] {
        const auto body = metricsOf(port);
        return sample(body, "hookpipe_retry_forwarded_total") == 4 && sample(body, series) == 0;
      },
      30s))
      << metricsOf(port);
}

TEST_F(OpsTest, ReadyzSaysWhatIsMissingWhenRedisIsAway) {
  // Nothing listens on this port: Redis is unreachable, the broker is not.
  const unsigned short closed = freePort();
  const auto port =
      startWithOps("deliverer", {{"HOOKPIPE_REDIS", "127.0.0.1:" + std::to_string(closed)}});
  ASSERT_TRUE(
      eventually([&] { return httpRequest("GET", url(port, "/healthz"), "").status == 200; }, 30s))
      << pipeline_->logs();
  // Kafka becomes fine (assigned), Redis stays the reason.
  HttpResult res;
  EXPECT_TRUE(eventually(
      [&] {
        res = httpRequest("GET", url(port, "/readyz"), "");
        return res.status == 503 &&
               res.body.find(R"({"name":"kafka","ok":true)") != std::string::npos &&
               res.body.find(R"({"name":"partitions","ok":true)") != std::string::npos;
      },
      60s))
      << res.status << " " << res.body;
  EXPECT_NE(res.body.find(R"({"name":"redis","ok":false,"detail":"cannot reach 127.0.0.1:)" +
                          std::to_string(closed)),
            std::string::npos)
      << res.body;
  EXPECT_NE(res.body.find(R"("status":"not_ready")"), std::string::npos) << res.body;
}

TEST_F(OpsTest, AMetricsPortInUseFailsAtStartUp) {
  ASSERT_NO_FATAL_FAILURE(startApiWithStats());
  // The producer's API port is taken: the router cannot serve its metrics there.
  auto& router = pipeline_->start(
      "router", "1", {{"HOOKPIPE_METRICS_PORT", std::to_string(pipeline_->apiPort())}});
  const int status = router.wait(30s);
  EXPECT_NE(status, 0);
  EXPECT_NE(status, -1) << "still running";
  std::ifstream in(router.logPath());
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(
      log.find("metrics server: cannot bind 127.0.0.1:" + std::to_string(pipeline_->apiPort())),
      std::string::npos)
      << log;
}

TEST_F(OpsTest, PrometheusScrapesEveryRoleAndAnswersAQuery) {
  Receiver receiver;
  ASSERT_NO_FATAL_FAILURE(startApiWithStats());
  subscribe(R"({"url":")" + receiver.url("/prom") + R"(","events":["prom.*"]})");
  const auto router = startWithOps("router");
  const auto deliverer = startWithOps("deliverer");
  const auto retry = startWithOps("retry");
  const unsigned short prom_port = freePort();
  const std::string config = dir_ + "/prometheus.yml";
  std::ofstream(config) << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                        << "scrape_configs:\n"
                        << "  - job_name: hookpipe\n    static_configs:\n      - targets: ['"
                        << "127.0.0.1:" << pipeline_->apiPort() << "', '127.0.0.1:" << router
                        << "', '127.0.0.1:" << deliverer << "', '127.0.0.1:" << retry << "']\n";
  testkit::SpawnOptions spawn;
  spawn.program = "prometheus";
  spawn.search_path = true;
  spawn.args = {"--config.file=" + config, "--storage.tsdb.path=" + dir_ + "/tsdb",
                "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)};
  spawn.env = testkit::environmentWith({});
  spawn.output_path = dir_ + "/prometheus.log";
  spawn.stop_grace = 5s;
  testkit::ChildProcess prometheus(spawn);

  for (int i = 0; i < 3; ++i) publish(R"({"type":"prom.created","data":{"n":1}})");
  ASSERT_TRUE(receiver.waitFor([](auto& r) { return r.size() >= 3; }, 60s)) << pipeline_->logs();

  // Every target up, then the delivered attempts as Prometheus stored them.
  auto query = [&](const std::string& promql) {
    std::string q;
    for (char c : promql) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
        q += c;
      } else {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
        q += hex;
      }
    }
    return httpRequest("GET", url(prom_port, "/api/v1/query?query=" + q), "");
  };
  HttpResult res;
  EXPECT_TRUE(eventually(
      [&] {
        res = query("count(up == 1)");
        return res.status == 200 && res.body.find(R"(,"4"]})") != std::string::npos;
      },
      30s))
      << res.status << " " << res.body;
  EXPECT_TRUE(eventually(
      [&] {
        res = query(R"(sum(hookpipe_deliverer_attempts_total{outcome="delivered"}))");
        return res.status == 200 && res.body.find(R"(,"3"]})") != std::string::npos;
      },
      30s))
      << res.status << " " << res.body;
  res = query("sum(hookpipe_router_deliveries_total)");
  EXPECT_NE(res.body.find(R"(,"3"]})"), std::string::npos) << res.body;
  res = query(R"(hookpipe_producer_http_requests_total{route="/v1/events",code="202"})");
  EXPECT_NE(res.body.find(R"(,"3"]})"), std::string::npos) << res.body;
  // Every query of the Grafana dashboard is valid PromQL on these metrics: Prometheus
  // answers it (a typo'd function or a bad matcher is a 400).
  std::ifstream in(std::string(HOOKPIPE_SOURCE_DIR) + "/compose/grafana-dashboard.json");
  const std::string dashboard((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(dashboard).get(root), simdjson::SUCCESS);
  int queries = 0;
  for (auto panel : root["panels"].get_array())
    for (auto target : panel["targets"].get_array()) {
      const std::string expr(std::string_view(target["expr"].get_string()));
      res = query(expr);
      EXPECT_EQ(res.status, 200) << expr << ": " << res.body;
      EXPECT_NE(res.body.find(R"("status":"success")"), std::string::npos) << expr;
      ++queries;
    }
  EXPECT_GE(queries, 12);
}

}  // namespace
}  // namespace hookpipe::testing
