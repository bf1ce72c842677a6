#include <gtest/gtest.h>

#include <cstdlib>

#include "common/config/config.h"

namespace hookpipe {
namespace {

class ApiConfig : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const char* v : {"HOOKPIPE_API_TOKENS", "HOOKPIPE_IDEMPOTENCY_WINDOW_S",
                          "HOOKPIPE_MAX_BATCH_BYTES", "HOOKPIPE_MAX_BATCH_EVENTS"})
      unsetenv(v);
  }
};

TEST_F(ApiConfig, DefaultsAreAuthOffAndADayOfIdempotency) {
  auto c = Config::fromEnv();
  EXPECT_TRUE(c.api_tokens.empty());
  EXPECT_EQ(c.idempotency_window, std::chrono::hours(24));
  EXPECT_EQ(c.max_batch_events, 1000u);
  EXPECT_TRUE(c.validate().empty());
}

TEST_F(ApiConfig, TokensAreCommaSeparatedAndEmptyEntriesDropped) {
  setenv("HOOKPIPE_API_TOKENS", "one,,two", 1);
  auto c = Config::fromEnv();
  EXPECT_EQ(c.api_tokens, (std::vector<std::string>{"one", "two"}));
}

TEST_F(ApiConfig, BadWindowAndBatchLimitsAreReported) {
  setenv("HOOKPIPE_IDEMPOTENCY_WINDOW_S", "soon", 1);
  setenv("HOOKPIPE_MAX_BATCH_EVENTS", "0", 1);
  auto problems = Config::fromEnv().validate();
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("HOOKPIPE_IDEMPOTENCY_WINDOW_S"), std::string::npos);
  EXPECT_NE(problems[1].find("HOOKPIPE_MAX_BATCH"), std::string::npos);
}

TEST_F(ApiConfig, WindowIsSeconds) {
  setenv("HOOKPIPE_IDEMPOTENCY_WINDOW_S", "90", 1);
  EXPECT_EQ(Config::fromEnv().idempotency_window, std::chrono::seconds(90));
}

}  // namespace
}  // namespace hookpipe
