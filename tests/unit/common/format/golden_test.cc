// Golden-file tests of every format over the event set of format_test_support.cc: the body
// each format makes must equal golden/<format>/<case>.json byte for byte (plus the file's
// final newline). After a deliberate change, rewrite them with
//   HOOKPIPE_UPDATE_GOLDEN=1 build/release/tests/hookpipe_unit_tests --gtest_filter='FormatGolden*'
// and review the diff.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "format_test_support.h"

namespace hookpipe::format::testing {
namespace {

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FormatGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(FormatGolden, EachEventRendersExactlyAsItsGoldenFile) {
  const std::string format = GetParam();
  const Subscription sub = subscriptionFor(format);
  const bool update = std::getenv("HOOKPIPE_UPDATE_GOLDEN") != nullptr;
  const std::filesystem::path dir = std::filesystem::path(HOOKPIPE_FORMAT_GOLDEN) / format;
  if (update) std::filesystem::create_directories(dir);
  simdjson::dom::parser parser;
  for (const auto& c : goldenCases()) {
    SCOPED_TRACE(format + "/" + c.name);
    const std::string body = render(sub, c.event);
    simdjson::dom::element parsed;
    EXPECT_EQ(parser.parse(body).get(parsed), simdjson::SUCCESS) << "not JSON: " << body;
    const auto path = dir / (c.name + ".json");
    if (update) {
      std::ofstream(path, std::ios::binary) << body << '\n';
      continue;
    }
    ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing (HOOKPIPE_UPDATE_GOLDEN=1)";
    EXPECT_EQ(readFile(path), body + "\n") << path;
  }
}

INSTANTIATE_TEST_SUITE_P(AllFormats, FormatGolden,
                         ::testing::Values("json", "slack", "teams", "discord", "telegram",
                                           "zapier", "template"));

}  // namespace
}  // namespace hookpipe::format::testing
