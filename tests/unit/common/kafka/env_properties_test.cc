// HOOKPIPE_KAFKA_<PROPERTY> sets librdkafka properties on every client (no broker needed:
// creating a client does not connect), and an unknown property is a clear error.
#include <gtest/gtest.h>

#include <cstdlib>

#include "common/kafka/kafka.h"

namespace hookpipe::kafka {
namespace {

std::string property(rd_kafka_t* rk, const char* name) {
  char value[256];
  size_t size = sizeof value;
  if (rd_kafka_conf_get(rd_kafka_conf(rk), name, value, &size) != RD_KAFKA_CONF_OK) return "?";
  return value;
}

TEST(KafkaEnvProperties, SetAnyPropertyAndWinOverHookpipesOwn) {
  ::setenv("HOOKPIPE_KAFKA_CLIENT_ID", "from-env", 1);
  ::setenv("HOOKPIPE_KAFKA_LINGER_MS", "42", 1);
  Config config;
  auto producer = Producer::create(config);
  ::unsetenv("HOOKPIPE_KAFKA_CLIENT_ID");
  ::unsetenv("HOOKPIPE_KAFKA_LINGER_MS");
  ASSERT_TRUE(producer.has_value()) << producer.error().message;
  EXPECT_EQ(property((*producer)->handle(), "client.id"), "from-env");
  EXPECT_EQ(property((*producer)->handle(), "linger.ms"), "42");  // hookpipe's default is 5
}

TEST(KafkaEnvProperties, AnUnknownPropertyIsAClearError) {
  ::setenv("HOOKPIPE_KAFKA_NO_SUCH_THING", "1", 1);
  Config config;
  auto producer = Producer::create(config);
  ::unsetenv("HOOKPIPE_KAFKA_NO_SUCH_THING");
  ASSERT_FALSE(producer.has_value());
  EXPECT_NE(producer.error().message.find("no.such.thing"), std::string::npos)
      << producer.error().message;
}

TEST(KafkaHotFetch, TheHotConsumersFetchByTimeOnlyWhenAWaitIsSet) {
  Config config;
  EXPECT_TRUE(hotFetchProperties(config).empty());
  auto plain = Consumer::create(config, "g-plain", nullptr, hotFetchProperties(config));
  ASSERT_TRUE(plain.has_value()) << plain.error().message;
  EXPECT_EQ(property((*plain)->handle(), "fetch.min.bytes"), "1");
  EXPECT_EQ(property((*plain)->handle(), "fetch.wait.max.ms"), "50");

  config.hot_fetch_wait_ms = 5;
  auto hot = Consumer::create(config, "g-hot", nullptr, hotFetchProperties(config));
  ASSERT_TRUE(hot.has_value()) << hot.error().message;
  EXPECT_EQ(property((*hot)->handle(), "fetch.min.bytes"), std::to_string(kHotFetchMinBytes));
  EXPECT_EQ(property((*hot)->handle(), "fetch.wait.max.ms"), "5");
}

}  // namespace
}  // namespace hookpipe::kafka
