// `hookpipe produce FILE`: NDJSON straight to the events topic, validated line by line.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "support/harness.h"

namespace hookpipe::testing {
namespace {

std::string writeFile(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::multiset<std::string> eventKeys(const Pipeline& pipeline) {
  std::multiset<std::string> keys;
  for (const auto& m : readTopic(pipeline.config(), pipeline.config().topics.events()))
    keys.insert(m.key);
  return keys;
}

TEST(ProduceCommandTest, SendsEveryValidLineAndReportsTheBadOnesWithTheirLineNumbers) {
  Pipeline pipeline("ProduceCommandBadLines");
  const auto path = writeFile("produce-mixed.ndjson",
                              "{\"type\":\"order.created\",\"id\":\"evt_cmd_1\"}\n"
                              "\n"
                              "{\"type\":\"order.paid\",\"id\":\"evt_cmd_2\"}\r\n"
                              "not json\n"
                              "{\"data\":{}}\n"
                              "{\"type\":\"order.shipped\"}\n");
  auto [status, output] = pipeline.runCommand({"produce", path});
  EXPECT_EQ(status, 1) << output;
  EXPECT_NE(output.find("produced 3 events, 2 invalid"), std::string::npos) << output;
  EXPECT_NE(output.find(path + ":4:"), std::string::npos) << output;
  EXPECT_NE(output.find(path + ":5:"), std::string::npos) << output;
  const auto keys = eventKeys(pipeline);
  EXPECT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys.count("evt_cmd_1"), 1u);
  EXPECT_EQ(keys.count("evt_cmd_2"), 1u);
}

TEST(ProduceCommandTest, AllLinesStoredExitsZero) {
  Pipeline pipeline("ProduceCommandAllGood");
  std::string text;
  for (int i = 0; i < 500; ++i)
    text += "{\"type\":\"bulk\",\"id\":\"evt_bulk_" + std::to_string(i) + "\",\"data\":{}}\n";
  auto [status, output] = pipeline.runCommand({"produce", writeFile("produce-good.ndjson", text)});
  EXPECT_EQ(status, 0) << output;
  EXPECT_NE(output.find("produced 500 events, 0 invalid"), std::string::npos) << output;
  const auto keys = eventKeys(pipeline);
  EXPECT_EQ(keys.size(), 500u);
  EXPECT_EQ(keys.count("evt_bulk_499"), 1u);
}

TEST(ProduceCommandTest, MissingFileFails) {
  Pipeline pipeline("ProduceCommandMissing");
  auto [status, output] = pipeline.runCommand({"produce", ::testing::TempDir() + "/nope.ndjson"});
  EXPECT_EQ(status, 1) << output;
  EXPECT_NE(output.find("cannot open"), std::string::npos) << output;
}

}  // namespace
}  // namespace hookpipe::testing
