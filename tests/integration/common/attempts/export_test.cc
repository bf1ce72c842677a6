// `hookpipe attempts export` (common/attempts/export_command.h) on the real broker: attempt
// records written to `<prefix>attempts` with chosen times, read back by time range and
// filters, as NDJSON and CSV; in process (exportAttempts) and as the binary.
#include <gtest/gtest.h>

#include <sstream>

#include "common/attempts/export_command.h"
#include "common/attempts/record.h"
#include "common/kafka/kafka.h"
#include "support/harness.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kT0 = 1'767'972'600'000;  // 2026-01-09T15:30:00Z
constexpr int64_t kMinute = 60'000;

class AttemptsExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pipeline_ =
        std::make_unique<Pipeline>(::testing::UnitTest::GetInstance()->current_test_info()->name());
    config_ = pipeline_->config();
    config_.attempts_partitions = 2;
    ASSERT_TRUE(kafka::ensureTopics(config_).has_value());
    auto producer = kafka::Producer::create(config_);
    ASSERT_TRUE(producer.has_value());
    producer_ = std::move(*producer);
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << pipeline_->logs();
  }

  // One record at minute `minute` after kT0; the Kafka timestamp is its finished_ms, as the
  // deliverer's records have (within a moment).
  attempts::Record add(const std::string& sub, const std::string& outcome, int minute,
                       const std::string& type = "order.created", int attempt = 1) {
    attempts::Record r;
    r.delivery_id = "dlv_" + std::to_string(++counter_);
    r.event_id = "evt_" + std::to_string(counter_);
    r.event_type = type;
    r.subscription_id = sub;
    r.attempt = attempt;
    r.outcome = outcome;
    r.reason = outcome == "dead_lettered" ? "http_4xx" : "";
    r.attempted = true;
    r.finished_ms = kT0 + minute * kMinute;
    r.started_ms = r.finished_ms - 20;
    r.duration_us = 20'000;
    r.status = outcome == "delivered" ? 200 : (outcome == "retried" ? 503 : 404);
    r.error_class = outcome == "delivered" ? "" : (outcome == "retried" ? "http_5xx" : "http_4xx");
    r.payload_topic = config_.topics.deliveries();
    r.payload_partition = 0;
    r.payload_offset = counter_;
    produce(sub, r);
    return r;
  }
  void produce(const std::string& key, const attempts::Record& r) {
    std::string json;
    attempts::encode(r, json);
    produceRaw(key, json, r.finished_ms);
  }
  void produceRaw(const std::string& key, const std::string& value, int64_t timestamp_ms) {
    const std::string topic = config_.topics.attempts();
    ASSERT_EQ(rd_kafka_producev(producer_->handle(), RD_KAFKA_V_TOPIC(topic.c_str()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_KEY(key.data(), key.size()),
                                RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  void flush() { ASSERT_TRUE(producer_->flush(10s)); }

  // Runs the export in process; the delivery ids of the NDJSON lines, sorted.
  std::vector<std::string> exportIds(const std::vector<std::string>& args) {
    auto options = attempts::parseExportArgs(args);
    EXPECT_TRUE(options) << (options ? "" : options.error().message);
    if (!options) return {};
    std::ostringstream out;
    auto stats = attempts::exportAttempts(config_, *options, out, nullptr);
    if (!stats) ADD_FAILURE() << stats.error().message;
    std::vector<std::string> ids;
    std::istringstream lines(out.str());
    for (std::string line; std::getline(lines, line);) {
      auto r = attempts::parse(line);
      if (!r) ADD_FAILURE() << line;
      if (r) ids.push_back(r->delivery_id);
    }
    std::sort(ids.begin(), ids.end());
    if (stats) {
      EXPECT_EQ(stats->exported, ids.size());
    }
    return ids;
  }
  static std::vector<std::string> idsOf(std::vector<attempts::Record> records) {
    std::vector<std::string> ids;
    for (const auto& r : records) ids.push_back(r.delivery_id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  std::unique_ptr<Pipeline> pipeline_;
  Config config_;
  std::unique_ptr<kafka::Producer> producer_;
  int counter_ = 0;
};

TEST_F(AttemptsExportTest, SelectsByTimeRangeSubscriptionTypeAndStatus) {
  const auto a0 = add("sub_a", "delivered", 0);
  const auto a1 = add("sub_a", "retried", 10, "order.paid");
  const auto a2 = add("sub_a", "dead_lettered", 20);
  const auto b0 = add("sub_b", "delivered", 5);
  const auto b1 = add("sub_b", "retried", 15);
  const auto b2 = add("sub_b", "delivered", 30, "order.paid", 2);
  flush();

  EXPECT_EQ(exportIds({}), idsOf({a0, a1, a2, b0, b1, b2}));
  // Both bounds inclusive, on finished_ms; RFC 3339 or epoch ms.
  EXPECT_EQ(
      exportIds({"--since", "2026-01-09T15:35:00Z", "--until", std::to_string(kT0 + 20 * kMinute)}),
      idsOf({a1, a2, b0, b1}));
  EXPECT_EQ(exportIds({"--since", std::to_string(kT0 + 20 * kMinute + 1)}), idsOf({b2}));
  EXPECT_EQ(exportIds({"--until", "2026-01-09T15:29:59.999Z"}), std::vector<std::string>{});
  EXPECT_EQ(exportIds({"--subscription", "sub_a"}), idsOf({a0, a1, a2}));
  EXPECT_EQ(exportIds({"--event-type", "order.paid"}), idsOf({a1, b2}));
  EXPECT_EQ(exportIds({"--status", "delivered"}), idsOf({a0, b0, b2}));
  EXPECT_EQ(exportIds({"--status", "pending_retry"}), idsOf({a1, b1}));
  EXPECT_EQ(exportIds({"--status", "dead_lettered"}), idsOf({a2}));
  EXPECT_EQ(exportIds({"--status", "failed"}), idsOf({a1, a2, b1}));
  EXPECT_EQ(exportIds({"--status", "failed", "--subscription", "sub_b", "--since",
                       "2026-01-09T15:31:00+00:00"}),
            idsOf({b1}));
}

TEST_F(AttemptsExportTest, NdjsonLinesAreTheRecordsAsWritten) {
  const auto r = add("sub_a", "retried", 1);
  // A newer writer's field is kept.
  std::string json;
  attempts::encode(r, json);
  json.insert(json.size() - 1, R"(,"added_later":"x")");
  produceRaw("sub_a", json, r.finished_ms);
  flush();
  auto options = attempts::parseExportArgs({});
  ASSERT_TRUE(options);
  std::ostringstream out;
  auto stats = attempts::exportAttempts(config_, *options, out, nullptr);
  ASSERT_TRUE(stats) << stats.error().message;
  std::string first;
  attempts::encode(r, first);
  EXPECT_EQ(out.str(), first + "\n" + json + "\n");
}

TEST_F(AttemptsExportTest, CsvQuotesFieldsAsRfc4180Says) {
  attempts::Record r = add("sub_a", "retried", 1);
  r.delivery_id = "dlv_csv";
  r.error_message = "bad \"gateway\", again\r\nline two";
  r.response_body = "a,b";
  produce("sub_a", r);
  flush();
  auto options = attempts::parseExportArgs({"--format", "csv", "--subscription", "sub_a"});
  ASSERT_TRUE(options);
  std::ostringstream out;
  ASSERT_TRUE(attempts::exportAttempts(config_, *options, out, nullptr));
  const std::string csv = out.str();
  const std::string header = csv.substr(0, csv.find("\r\n"));
  EXPECT_EQ(header.substr(0, 36), "finished_at,finished_ms,delivery_id,");
  std::size_t commas = 0;
  for (char c : header) commas += c == ',';
  EXPECT_EQ(commas + 1, attempts::csvColumns().size());
  EXPECT_NE(csv.find(",dlv_csv,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(R"(,"bad ""gateway"", again)"
                     "\r\n"
                     R"(line two",)"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find(",\"a,b\",0\r\n"), std::string::npos) << csv;  // then replay 0
  EXPECT_NE(csv.find("2026-01-09T15:31:00.000Z,1767972660000,"), std::string::npos) << csv;
  // Header and two rows, each ending in CRLF (one more CRLF inside the quoted field).
  std::size_t crlf = 0;
  for (std::size_t at = csv.find("\r\n"); at != std::string::npos; at = csv.find("\r\n", at + 2))
    ++crlf;
  EXPECT_EQ(crlf, 4u);
}

TEST_F(AttemptsExportTest, RecordsThatAreNotAttemptsAreSkippedAndCounted) {
  const auto r = add("sub_a", "delivered", 1);
  produceRaw("sub_a", "not json", r.finished_ms);
  produceRaw("sub_a", R"({"delivery_id":"x"})", r.finished_ms);
  flush();
  auto options = attempts::parseExportArgs({});
  ASSERT_TRUE(options);
  std::ostringstream out;
  auto stats = attempts::exportAttempts(config_, *options, out, nullptr);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->read, 3u);
  EXPECT_EQ(stats->exported, 1u);
  EXPECT_EQ(stats->invalid, 2u);
}

TEST_F(AttemptsExportTest, TheBinaryExportsAndRejectsBadFlags) {
  add("sub_a", "delivered", 1);
  add("sub_a", "retried", 2);
  flush();
  auto [status, output] = pipeline_->runCommand(
      {"attempts", "export", "--status", "pending_retry", "--format", "ndjson"});
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("\"outcome\":\"retried\""), std::string::npos) << output;
  EXPECT_EQ(output.find("\"outcome\":\"delivered\""), std::string::npos) << output;

  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"attempts", "export", "--status", "late"},
        {"attempts", "export", "--format", "xml"},
        {"attempts", "export", "--since", "yesterday"},
        {"attempts", "export", "--since", "2026-01-09T16:00:00Z", "--until", "2026-01-09"},
        {"attempts", "export", "--until"},
        {"attempts", "export", "--bogus", "1"},
        {"attempts", "import"},
        {"attempts"}}) {
    auto [code, text] = pipeline_->runCommand(bad);
    EXPECT_EQ(code, 2) << bad.back() << ": " << text;
    EXPECT_NE(text.find("usage: hookpipe attempts export"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace hookpipe::testing
