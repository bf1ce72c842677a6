// Replays the fuzz seed corpus through the fuzz targets' bodies, so every build (g++
// included, which has no libFuzzer) exercises them; clang builds also get the fuzzers.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/fuzz/targets.h"

namespace hookpipe::fuzz {
namespace {

std::size_t replay(const std::string& target, int (*one)(const uint8_t*, std::size_t)) {
  std::size_t files = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(HOOKPIPE_FUZZ_CORPUS) + "/" + target)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SCOPED_TRACE(entry.path().string());
    EXPECT_EQ(one(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
    ++files;
  }
  return files;
}

TEST(FuzzCorpus, FilterSeedsRunCleanly) { EXPECT_GE(replay("filter", filterOne), 5u); }

TEST(FuzzCorpus, EventSeedsRunCleanly) { EXPECT_GE(replay("event", eventOne), 5u); }

TEST(FuzzCorpus, EmptyAndTruncatedInputsRunCleanly) {
  const std::string inputs[] = {"", "{", "\"", "{\"type\":", "\xff\xfe"};
  for (const auto& s : inputs) {
    EXPECT_EQ(filterOne(reinterpret_cast<const uint8_t*>(s.data()), s.size()), 0);
    EXPECT_EQ(eventOne(reinterpret_cast<const uint8_t*>(s.data()), s.size()), 0);
  }
}

}  // namespace
}  // namespace hookpipe::fuzz
