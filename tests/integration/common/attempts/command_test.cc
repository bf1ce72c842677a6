// `hookpipe deliveries list|show` and `hookpipe stats`, the real binary against real Redis:
// tables by default, the API's JSON with --json, exit code 2 for bad usage.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/attempt_index.h"
#include "support/harness.h"

namespace hookpipe::testing {
namespace {

namespace bj = boost::json;

constexpr int64_t kBase = 1'764'500'000'000;  // 2025-11-30T10:53:20Z

class DeliveriesCommandTest : public PipelineFixture {
 protected:
  void SetUp() override {
    PipelineFixture::SetUp();
    auto [host, port] = testRedisHostPort();
    redis_ = std::make_unique<redis::Client>(host, port, std::chrono::seconds(5));
    auto failed = attemptRecord("c2", "sub_cli", 1, "retried", kBase + 2000, 503);
    writeAttemptIndex(*redis_, pipeline_->config().topics.prefix,
                      {attemptRecord("c1", "sub_cli", 1, "delivered", kBase + 1000), failed,
                       attemptRecord("c2", "sub_cli", 2, "dead_lettered", kBase + 3000, 410)});
  }
  void TearDown() override {
    if (redis_) wipeAttemptIndex(*redis_, pipeline_->config().topics.prefix);
    PipelineFixture::TearDown();
  }
  // The output's first line that is a JSON object.
  static bj::value jsonLine(const std::string& out) {
    std::size_t start = 0;
    while (start < out.size()) {
      const auto end = out.find('\n', start);
      const std::string line = out.substr(start, end - start);
      if (line.starts_with("{")) return bj::parse(line);
      if (end == std::string::npos) break;
      start = end + 1;
    }
    return nullptr;
  }
  std::unique_ptr<redis::Client> redis_;
};

TEST_F(DeliveriesCommandTest, ListsShowsAndCountsAsTablesOrTheApisJson) {
  auto [status, out] = pipeline_->runCommand({"deliveries", "list", "--subscription", "sub_cli"});
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("DELIVERY"), std::string::npos) << out;
  EXPECT_NE(out.find("dead_lettered"), std::string::npos) << out;
  EXPECT_NE(out.find("2 deliveries (in range: 1 delivered, 1 failed"), std::string::npos) << out;

  std::tie(status, out) = pipeline_->runCommand(
      {"deliveries", "list", "--subscription", "sub_cli", "--status", "failed", "--json"});
  EXPECT_EQ(status, 0) << out;
  auto page = jsonLine(out);
  ASSERT_TRUE(page.is_object()) << out;
  ASSERT_EQ(page.at("data").as_array().size(), 1u);
  EXPECT_EQ(page.at("data").as_array()[0].at("id").as_string(), "c2");
  EXPECT_EQ(page.at("data").as_array()[0].at("attempts").as_int64(), 2);

  std::tie(status, out) = pipeline_->runCommand({"deliveries", "show", "c2", "--json"});
  EXPECT_EQ(status, 0) << out;
  auto d = jsonLine(out);
  ASSERT_TRUE(d.is_object()) << out;
  EXPECT_EQ(d.at("attempts").as_array().size(), 2u);
  EXPECT_EQ(d.at("status").as_string(), "dead_lettered");
  std::tie(status, out) = pipeline_->runCommand({"deliveries", "show", "c2"});
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("dead_lettered"), std::string::npos) << out;
  EXPECT_EQ(pipeline_->runCommand({"deliveries", "show", "c_missing"}).first, 1);

  std::tie(status, out) = pipeline_->runCommand(
      {"stats", "--subscription", "sub_cli", "--since", std::to_string(kBase - 86'400'000),
       "--until", std::to_string(kBase + 86'400'000), "--group-by", "day", "--json"});
  EXPECT_EQ(status, 0) << out;
  auto s = jsonLine(out);
  ASSERT_TRUE(s.is_object()) << out;
  EXPECT_EQ(s.at("summary").at("attempts").to_number<uint64_t>(), 3u);
  EXPECT_EQ(s.at("summary").at("dead_lettered").to_number<uint64_t>(), 1u);
  EXPECT_EQ(s.at("series").as_array().size(), 3u);
  std::tie(status, out) =
      pipeline_->runCommand({"stats", "--since", std::to_string(kBase - 3'600'000), "--until",
                             std::to_string(kBase + 3'600'000)});
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("attempts 3  delivered 1"), std::string::npos) << out;
}

TEST_F(DeliveriesCommandTest, BadUsageExitsWithTwo) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"deliveries"},
           {"deliveries", "list"},
           {"deliveries", "list", "--subscription", "s", "--status", "lost"},
           {"deliveries", "list", "--subscription", "s", "--limit", "0"},
           {"deliveries", "list", "--subscription", "s", "--since", "later"},
           {"deliveries", "list", "--subscription", "s", "--cursor", "***"},
           {"deliveries", "show"},
           {"deliveries", "drop"},
           {"stats", "--group-by", "year"},
           {"stats", "--subscription", "a", "--tenant", "b"},
           {"stats", "--since", "2000", "--until", "1000"},
           {"stats", "--group-by", "minute", "--since", "0", "--until", "172800000"}}) {
    auto [status, out] = pipeline_->runCommand(args);
    EXPECT_EQ(status, 2) << args[0] << " " << (args.size() > 1 ? args[1] : "") << ": " << out;
    EXPECT_NE(out.find("usage"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace hookpipe::testing
