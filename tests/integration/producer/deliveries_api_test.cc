// /v1/subscriptions/{id}/deliveries, /v1/deliveries/{id} and the exports against a real
// `hookpipe producer`, real Redis and the real broker. The index is written the way
// common/attempts/keys.h lays it out (support/attempt_index.h), as the recorder would.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>
#include <sstream>

#include "common/attempts/query.h"
#include "support/attempt_index.h"
#include "support/harness.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;
namespace bj = boost::json;
using attempts::Record;

constexpr int64_t kBase = 1'764'500'000'000;  // 2025-11-30T10:53:20Z

class DeliveriesApiTest : public PipelineFixture {
 protected:
  void SetUp() override {
    PipelineFixture::SetUp();
    auto [host, port] = testRedisHostPort();
    redis_ = std::make_unique<redis::Client>(host, port, std::chrono::seconds(5));
  }
  void TearDown() override {
    if (redis_) wipeAttemptIndex(*redis_, pipeline_->config().topics.prefix);
    PipelineFixture::TearDown();
  }
  void index(const std::vector<Record>& records) {
    writeAttemptIndex(*redis_, pipeline_->config().topics.prefix, records);
  }
  HttpResult get(const std::string& path) {
    return httpRequest("GET", pipeline_->apiUrl(path), "");
  }
  static bj::value json(const HttpResult& r) {
    boost::system::error_code ec;
    auto v = bj::parse(r.body, ec);
    return ec ? bj::value() : v;
  }
  std::vector<std::string> ids(const std::string& path) {
    auto r = get(path);
    EXPECT_EQ(r.status, 200) << path << " " << r.body;
    std::vector<std::string> out;
    auto v = json(r);
    if (!v.is_object()) return out;
    for (const auto& e : v.at("data").as_array()) out.emplace_back(e.at("id").as_string());
    return out;
  }
  std::string subscription() {
    return subscribe(R"({"url":"http://127.0.0.1:9/hook","events":["*"]})").id;
  }
  // A log of five deliveries of `sub`: d1 delivered, d2 retried then delivered, d3 pending a
  // retry, d4 dead-lettered on its third attempt, d5 an order.paid delivered (newest).
  void fiveDeliveries(const std::string& sub) {
    auto d4c = attemptRecord("d4", sub, 3, "dead_lettered", kBase + 4'600, 500);
    d4c.error_message = "HTTP 500, \"busy\"\nagain";
    index({attemptRecord("d1", sub, 1, "delivered", kBase + 1'000),
           attemptRecord("d2", sub, 1, "retried", kBase + 2'000, 503),
           attemptRecord("d2", sub, 2, "delivered", kBase + 2'500),
           attemptRecord("d3", sub, 1, "retried", kBase + 3'000, 0),
           attemptRecord("d4", sub, 1, "retried", kBase + 4'000, 500),
           attemptRecord("d4", sub, 2, "retried", kBase + 4'300, 500), d4c,
           attemptRecord("d5", sub, 1, "delivered", kBase + 5'000, 200, "order.paid")});
  }
  std::unique_ptr<redis::Client> redis_;
};

TEST_F(DeliveriesApiTest, ListsNewestFirstWithStatusesFiltersAndASummary) {
  ASSERT_NO_FATAL_FAILURE(startApi());
  const auto sub = subscription();
  fiveDeliveries(sub);
  const std::string base = "/v1/subscriptions/" + sub + "/deliveries";
  auto r = get(base);
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json(r);
  const auto& data = v.at("data").as_array();
  ASSERT_EQ(data.size(), 5u) << r.body;
  EXPECT_EQ(ids(base), (std::vector<std::string>{"d5", "d4", "d3", "d2", "d1"}));
  const auto& d2 = data[3].as_object();
  EXPECT_EQ(d2.at("status").as_string(), "delivered");
  EXPECT_EQ(d2.at("attempts").as_int64(), 2);
  EXPECT_EQ(d2.at("event_id").as_string(), "evt_d2");
  EXPECT_EQ(d2.at("response_status").as_int64(), 200);
  EXPECT_EQ(d2.at("first_attempt_at").as_string(), "2025-11-30T10:53:21.980Z");
  EXPECT_EQ(d2.at("last_attempt_at").as_string(), "2025-11-30T10:53:22.500Z");
  const auto& d3 = data[2].as_object();
  EXPECT_EQ(d3.at("status").as_string(), "pending_retry");
  EXPECT_TRUE(d3.at("response_status").is_null());
  EXPECT_EQ(d3.at("error_class").as_string(), "timeout");
  EXPECT_EQ(d3.at("next_attempt_at").as_string(), "2025-11-30T10:53:28.000Z");
  const auto& d4 = data[1].as_object();
  EXPECT_EQ(d4.at("status").as_string(), "dead_lettered");
  EXPECT_EQ(d4.at("attempts").as_int64(), 3);
  EXPECT_EQ(d4.at("error_class").as_string(), "http_5xx");
  EXPECT_TRUE(d4.at("next_attempt_at").is_null());
  const auto& summary = v.at("summary").as_object();
  EXPECT_EQ(summary.at("delivered").to_number<uint64_t>(), 3u);
  EXPECT_EQ(summary.at("failed").to_number<uint64_t>(), 2u);
  EXPECT_EQ(summary.at("pending_retry").to_number<uint64_t>(), 1u);
  EXPECT_EQ(summary.at("dead_lettered").to_number<uint64_t>(), 1u);
  EXPECT_FALSE(v.at("has_more").as_bool());

  EXPECT_EQ(ids(base + "?status=failed"), (std::vector<std::string>{"d4", "d3"}));
  EXPECT_EQ(ids(base + "?status=pending_retry"), (std::vector<std::string>{"d3"}));
  EXPECT_EQ(ids(base + "?status=dead_lettered"), (std::vector<std::string>{"d4"}));
  EXPECT_EQ(ids(base + "?status=delivered"), (std::vector<std::string>{"d5", "d2", "d1"}));
  EXPECT_EQ(ids(base + "?event_type=order.paid"), (std::vector<std::string>{"d5"}));
  EXPECT_EQ(ids(base + "?event_type=order.created&status=delivered"),
            (std::vector<std::string>{"d2", "d1"}));
  // since/until on the latest attempt, inclusive, RFC 3339 or epoch ms.
  EXPECT_EQ(
      ids(base + "?since=" + std::to_string(kBase + 2'500) + "&until=2025-11-30T10:53:24.600Z"),
      (std::vector<std::string>{"d4", "d3", "d2"}));
  auto ranged = json(get(base + "?since=" + std::to_string(kBase + 3'000)));
  EXPECT_EQ(ranged.at("summary").at("delivered").to_number<uint64_t>(), 1u);
  EXPECT_EQ(ranged.at("summary").at("failed").to_number<uint64_t>(), 2u);
  EXPECT_TRUE(ids(base + "?until=" + std::to_string(kBase)).empty());
}

TEST_F(DeliveriesApiTest, PagesFollowTheCursorWithoutDuplicatesOrGapsAsAttemptsArrive) {
  ASSERT_NO_FATAL_FAILURE(startApi());
  const auto sub = subscription();
  std::vector<Record> records;
  std::set<std::string> all;
  for (int i = 0; i < 60; ++i) {
    std::string id = "p";
    id += std::to_string(100 + i);
    // Pairs share a millisecond: the cursor must order by id within a score.
    records.push_back(attemptRecord(id, sub, 1, i % 3 == 0 ? "retried" : "delivered",
                                    kBase + (i / 2) * 10, i % 3 == 0 ? 503 : 200));
    all.insert(id);
  }
  index(records);
  const std::string base = "/v1/subscriptions/" + sub + "/deliveries?limit=7";
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  for (; pages < 20; ++pages) {
    auto v = json(get(base + (cursor.empty() ? "" : "&cursor=" + cursor)));
    ASSERT_TRUE(v.is_object());
    EXPECT_EQ(v.at("summary").is_null(), pages > 0);
    for (const auto& e : v.at("data").as_array()) seen.emplace_back(e.at("id").as_string());
    if (pages == 1) {
      // New attempts meanwhile: a new delivery, and a retry of one already listed (both
      // move to the top, ahead of the cursor).
      index({attemptRecord("p999", sub, 1, "delivered", kBase + 100'000),
             attemptRecord(seen.front(), sub, 2, "delivered", kBase + 100'001)});
    }
    if (!v.at("has_more").as_bool()) break;
    cursor = std::string(v.at("next_cursor").as_string());
  }
  EXPECT_EQ(pages, 8);  // 60 = 8 pages of 7 + 4
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), all);
  EXPECT_EQ(seen.size(), all.size());  // no duplicates

  // A filtered walk: every failed one once.
  std::vector<std::string> failed;
  cursor.clear();
  for (int i = 0; i < 20; ++i) {
    auto v = json(get(base + "&status=failed" + (cursor.empty() ? "" : "&cursor=" + cursor)));
    for (const auto& e : v.at("data").as_array()) failed.emplace_back(e.at("id").as_string());
    if (!v.at("has_more").as_bool()) break;
    cursor = std::string(v.at("next_cursor").as_string());
  }
  std::set<std::string> expected_failed;
  for (const auto& r : records)
    if (r.outcome == "retried" && r.delivery_id != seen.front())
      expected_failed.insert(r.delivery_id);
  EXPECT_EQ(std::set<std::string>(failed.begin(), failed.end()), expected_failed);
  EXPECT_EQ(failed.size(), expected_failed.size());
}

TEST_F(DeliveriesApiTest, AnUnknownSubscriptionIs404ButADeletedOnesLogStillAnswers) {
  ASSERT_NO_FATAL_FAILURE(startApi());
  EXPECT_EQ(get("/v1/subscriptions/sub_nope/deliveries").status, 404);
  EXPECT_EQ(get("/v1/subscriptions/sub_nope/deliveries/export?format=csv").status, 404);
  index({attemptRecord("g1", "sub_gone", 1, "delivered", kBase)});
  EXPECT_EQ(ids("/v1/subscriptions/sub_gone/deliveries"), (std::vector<std::string>{"g1"}));
  // A subscription with no log yet has an empty one.
  const auto sub = subscription();
  auto v = json(get("/v1/subscriptions/" + sub + "/deliveries"));
  ASSERT_TRUE(v.is_object());
  EXPECT_TRUE(v.at("data").as_array().empty());
  EXPECT_EQ(v.at("summary").at("delivered").to_number<uint64_t>(), 0u);
}

TEST_F(DeliveriesApiTest, EveryBadParameterIsA400NamingIt) {
  ASSERT_NO_FATAL_FAILURE(startApi());
  const auto sub = subscription();
  fiveDeliveries(sub);
  const std::string base = "/v1/subscriptions/" + sub + "/deliveries";
  for (const auto& [query, parameter] :
       std::vector<std::pair<std::string, std::string>>{{"status=lost", "status"},
                                                        {"since=yesterday", "since"},
                                                        {"until=2025-13-01T00:00:00Z", "until"},
                                                        {"since=2000&until=1000", "since"},
                                                        {"limit=0", "limit"},
                                                        {"limit=251", "limit"},
                                                        {"limit=x", "limit"},
                                                        {"cursor=bm9wZQ", "cursor"},
                                                        {"cursor=***", "cursor"},
                                                        {"event_type=", "event_type"},
                                                        {"colour=red", "colour"}}) {
    auto r = get(base + "?" + query);
    EXPECT_EQ(r.status, 400) << query << " " << r.body;
    auto v = json(r);
    ASSERT_TRUE(v.is_object()) << r.body;
    EXPECT_EQ(v.at("errors").as_array()[0].at("pointer").as_string(), parameter) << r.body;
  }
  for (const auto& [query, parameter] :
       std::vector<std::pair<std::string, std::string>>{{"", "format"},
                                                        {"format=xml", "format"},
                                                        {"format=csv&limit=5", "limit"},
                                                        {"format=csv&status=gone", "status"},
                                                        {"format=ndjson&since=x", "since"}}) {
    for (const std::string& path :
         {base + "/export?" + query, std::string("/v1/deliveries/export?") + query}) {
      auto r = get(path);
      EXPECT_EQ(r.status, 400) << path << " " << r.body;
      auto v = json(r);
      ASSERT_TRUE(v.is_object()) << r.body;
      EXPECT_EQ(v.at("errors").as_array()[0].at("pointer").as_string(), parameter);
    }
  }
  EXPECT_EQ(get(base + "?limit=250").status, 200);
}

TEST_F(DeliveriesApiTest, ShowsEveryAttemptAndThePayloadReadBackFromKafka) {
  ASSERT_NO_FATAL_FAILURE(startApi());
  const auto& config = pipeline_->config();
  auto producer = kafka::Producer::create(config);
  ASSERT_TRUE(producer.has_value());
  const std::string body = R"({"id":"evt_show","type":"order.created","data":{"n":42}})";
  ASSERT_TRUE(
      (*producer)->produceBlocking(config.topics.deliveries(), "sub_show", body, {}, nullptr));
  ASSERT_TRUE((*producer)->flush(10s));
  auto messages = readTopic(config, config.topics.deliveries());
  ASSERT_EQ(messages.size(), 1u);

  std::vector<Record> attempts;
  for (int n = 1; n <= 3; ++n) {
    auto r = attemptRecord("dshow", "sub_show", n, n < 3 ? "retried" : "delivered",
                           kBase + n * 1000, n < 3 ? 503 : 200);
    r.payload_topic = config.topics.deliveries();
    r.payload_partition = messages[0].partition;
    r.payload_offset = messages[0].offset;
    attempts.push_back(r);
  }
  auto gone = attemptRecord("dgone", "sub_show", 1, "delivered", kBase);
  gone.payload_topic = config.topics.deliveries();
  gone.payload_partition = messages[0].partition;
  gone.payload_offset = messages[0].offset + 100;
  attempts.push_back(gone);
  index(attempts);

  auto r = get("/v1/deliveries/dshow");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json(r);
  EXPECT_EQ(v.at("id").as_string(), "dshow");
  EXPECT_EQ(v.at("subscription_id").as_string(), "sub_show");
  EXPECT_EQ(v.at("status").as_string(), "delivered");
  const auto& list = v.at("attempts").as_array();
  ASSERT_EQ(list.size(), 3u);
  for (int n = 0; n < 3; ++n) EXPECT_EQ(list[n].at("attempt").as_int64(), n + 1);
  EXPECT_EQ(list[0].at("status").as_string(), "pending_retry");
  EXPECT_EQ(list[0].at("response_status").as_int64(), 503);
  EXPECT_EQ(list[0].at("error_class").as_string(), "http_5xx");
  EXPECT_EQ(list[0].at("response_body").as_string(), "ok 503");
  EXPECT_EQ(list[0].at("next_attempt_at").as_string(), "2025-11-30T10:53:26.000Z");
  EXPECT_EQ(list[2].at("status").as_string(), "delivered");
  EXPECT_DOUBLE_EQ(list[2].at("response_time_ms").as_double(), 20.0);
  EXPECT_EQ(list[2].at("payload_location").at("offset").as_int64(), messages[0].offset);
  EXPECT_EQ(v.at("payload"), bj::parse(body));
  EXPECT_TRUE(v.at("payload_error").is_null());

  auto g = json(get("/v1/deliveries/dgone"));
  ASSERT_TRUE(g.is_object());
  EXPECT_TRUE(g.at("payload").is_null());
  EXPECT_NE(g.at("payload_error").as_string().find("no record"), std::string::npos)
      << g.at("payload_error");

  EXPECT_EQ(get("/v1/deliveries/d_unknown").status, 404);
}

TEST_F(DeliveriesApiTest, AFilteredPageStopsAfterExaminingFiveThousandAndGoesOnFromItsCursor) {
  ASSERT_NO_FATAL_FAILURE(startApi());
  const auto sub = subscription();
  std::vector<Record> records;
  records.push_back(attemptRecord("old_failed", sub, 1, "dead_lettered", kBase, 404));
  for (int i = 0; i < 5200; ++i) {
    std::string id = "ok";
    id += std::to_string(i);
    records.push_back(attemptRecord(id, sub, 1, "delivered", kBase + 1 + i));
  }
  index(records);
  const std::string base = "/v1/subscriptions/" + sub + "/deliveries?status=failed";
  auto first = json(get(base));
  ASSERT_TRUE(first.is_object());
  EXPECT_TRUE(first.at("data").as_array().empty());
  EXPECT_EQ(first.at("examined").to_number<uint64_t>(), attempts::kMaxExaminedPerPage);
  ASSERT_TRUE(first.at("has_more").as_bool());
  EXPECT_EQ(first.at("summary").at("dead_lettered").to_number<uint64_t>(), 1u);
  EXPECT_EQ(first.at("summary").at("delivered").to_number<uint64_t>(), 5200u);
  auto second = json(get(base + "&cursor=" + std::string(first.at("next_cursor").as_string())));
  ASSERT_TRUE(second.is_object());
  ASSERT_EQ(second.at("data").as_array().size(), 1u);
  EXPECT_EQ(second.at("data").as_array()[0].at("id").as_string(), "old_failed");
  EXPECT_FALSE(second.at("has_more").as_bool());
}

TEST_F(DeliveriesApiTest, RedisUnreachableIsA503) {
  pipeline_->start("producer", "1",
                   {{"HOOKPIPE_REDIS", "127.0.0.1:" + std::to_string(freePort())}});
  ASSERT_TRUE(eventually([&] { return get("/healthz").status == 200; }, std::chrono::seconds(60)))
      << pipeline_->logs();
  for (const std::string& path :
       {std::string("/v1/subscriptions/sub_x/deliveries"), std::string("/v1/deliveries/d1"),
        std::string("/v1/stats"),
        std::string("/v1/subscriptions/sub_x/deliveries/export?format=csv")}) {
    auto r = get(path);
    EXPECT_EQ(r.status, 503) << path << " " << r.body;
    EXPECT_EQ(r.headers["retry-after"], "5") << path;
  }
  // Bad parameters are still a 400, before Redis is asked.
  EXPECT_EQ(get("/v1/stats?group_by=year").status, 400);
}

// Reads `url` at most `bytes_per_s`; the body.
std::string readSlowly(const std::string& url, curl_off_t bytes_per_s) {
  std::string body;
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_MAX_RECV_SPEED_LARGE, bytes_per_s);
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 16384L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(
      c, CURLOPT_WRITEFUNCTION, +[](char* p, size_t, size_t n, void* out) {
        static_cast<std::string*>(out)->append(p, n);
        return n;
      });
  curl_easy_perform(c);
  curl_easy_cleanup(c);
  return body;
}

TEST_F(DeliveriesApiTest, AnExportToASlowClientWaitsForItInsteadOfEndingShort) {
  ASSERT_NO_FATAL_FAILURE(startApi());
  // ~8 MB of NDJSON, read at 4 MB/s: far more than the 1 MiB a stream may queue.
  std::vector<Record> records;
  for (int i = 0; i < 20'000; ++i) {
    std::string id = "slow";
    id += std::to_string(i);
    auto r = attemptRecord(id, "sub_slow", 1, "retried", kBase + i, 503);
    r.error_message = std::string(200, 'x');
    records.push_back(std::move(r));
  }
  index(records);
  const auto body = readSlowly(
      pipeline_->apiUrl("/v1/subscriptions/sub_slow/deliveries/export?format=ndjson"), 4 << 20);
  EXPECT_GT(body.size(), std::size_t{4} << 20);
  std::size_t lines = 0;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line); ++lines)
    ASSERT_TRUE(bj::parse(line).is_object()) << "line " << lines;
  EXPECT_EQ(lines, 20'000u);
}

// Splits RFC 4180 CSV into rows of fields.
std::vector<std::vector<std::string>> parseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false;
  bool any = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(field);
      field.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      rows.back().push_back(field);
      field.clear();
      rows.emplace_back();
      ++i;
    } else {
      field += c;
    }
    any = true;
  }
  if (any && rows.back().empty()) rows.pop_back();
  return rows;
}

TEST_F(DeliveriesApiTest, ExportsCsvAndNdjsonPageByPageForOneOrEverySubscription) {
  ASSERT_NO_FATAL_FAILURE(startApi());
  const auto sub = subscription();
  fiveDeliveries(sub);
  // Enough for several of the export's pages (250 each).
  std::vector<Record> many;
  for (int i = 0; i < 600; ++i) {
    std::string id = "m";
    id += std::to_string(i);
    many.push_back(attemptRecord(id, "sub_many", 1, "delivered", kBase + 10'000 + i));
  }
  index(many);

  auto csv = get("/v1/subscriptions/" + sub + "/deliveries/export?format=csv");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.headers["content-type"], "text/csv; charset=utf-8");
  auto rows = parseCsv(csv.body);
  ASSERT_EQ(rows.size(), 6u) << csv.body;
  EXPECT_EQ(rows[0][0], "delivery_id");
  for (const auto& row : rows) EXPECT_EQ(row.size(), 14u);
  EXPECT_EQ(rows[1][0], "d5");
  EXPECT_EQ(rows[2][0], "d4");
  EXPECT_EQ(rows[2][4], "dead_lettered");
  EXPECT_EQ(rows[2][11], "HTTP 500, \"busy\"\nagain");  // quoted, quotes doubled

  auto failed = get("/v1/subscriptions/" + sub + "/deliveries/export?format=ndjson&status=failed");
  ASSERT_EQ(failed.status, 200);
  EXPECT_EQ(failed.headers["content-type"], "application/x-ndjson");
  std::vector<std::string> lines;
  std::istringstream in(failed.body);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u) << failed.body;
  EXPECT_EQ(bj::parse(lines[0]).at("id").as_string(), "d4");
  EXPECT_EQ(bj::parse(lines[1]).at("status").as_string(), "pending_retry");

  auto all = get("/v1/deliveries/export?format=ndjson");
  ASSERT_EQ(all.status, 200);
  std::set<std::string> ids;
  std::size_t count = 0;
  std::istringstream all_in(all.body);
  for (std::string line; std::getline(all_in, line); ++count)
    ids.insert(std::string(bj::parse(line).at("id").as_string()));
  EXPECT_EQ(count, 605u);
  EXPECT_EQ(ids.size(), 605u);
  EXPECT_TRUE(ids.contains("m0") && ids.contains("m599") && ids.contains("d1"));

  auto ranged = get("/v1/deliveries/export?format=csv&since=" + std::to_string(kBase + 10'100) +
                    "&until=" + std::to_string(kBase + 10'199));
  EXPECT_EQ(parseCsv(ranged.body).size(), 101u);  // header + 100
}

}  // namespace
}  // namespace hookpipe::testing
