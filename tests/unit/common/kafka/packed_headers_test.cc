// The deliverer keeps each consumed record's headers packed (kafka::PackedHeaders) and
// reads its DeliveryMeta straight from the message (DeliveryMeta::fromMessage). Both must
// give exactly what the HeaderList path gives, for headers as librdkafka hands them over:
// records round-trip through librdkafka's mock cluster (a unit test's broker; the real
// one runs the deliverer's integration tests).
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <string>
#include <vector>

#include "common/kafka/kafka.h"
#include "common/kafka/reader.h"
#include "common/records/delivery.h"
#include "support/delivery_meta_sample.h"

namespace hookpipe {
namespace {

struct Header {
  std::string name;
  std::string value;
  bool null = false;  // a header with no value at all
};

// Produces one record per header set to a mock cluster and consumes them back into
// `messages` (destroyed before the handles, as librdkafka requires).
struct RoundTrip {
  void run(const std::vector<std::vector<Header>>& records);
  ~RoundTrip() {
    messages.clear();
    consumer.reset();
  }
  kafka::HandlePtr producer;
  std::unique_ptr<kafka::Reader> consumer;
  std::vector<kafka::MessagePtr> messages;
};

void RoundTrip::run(const std::vector<std::vector<Header>>& records) {
  char err[256];
  rd_kafka_conf_t* pconf = rd_kafka_conf_new();
  rd_kafka_conf_set(pconf, "test.mock.num.brokers", "1", err, sizeof err);
  producer.reset(rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof err));
  ASSERT_TRUE(producer) << err;
  rd_kafka_mock_cluster_t* cluster = rd_kafka_handle_mock_cluster(producer.get());
  ASSERT_EQ(rd_kafka_mock_topic_create(cluster, "t", 1, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  for (const auto& headers : records) {
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& h : headers)
      rd_kafka_header_add(hdrs, h.name.data(), static_cast<ssize_t>(h.name.size()),
                          h.null ? nullptr : h.value.data(),
                          h.null ? 0 : static_cast<ssize_t>(h.value.size()));
    const auto e = rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC("t"),
                                     RD_KAFKA_V_VALUE(const_cast<char*>("{}"), 2),
                                     RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) rd_kafka_headers_destroy(hdrs);
    ASSERT_EQ(e, RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(rd_kafka_flush(producer.get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);

  Config config;
  config.brokers = rd_kafka_mock_cluster_bootstraps(cluster);
  auto reader = kafka::Reader::open(config, "packed-headers-test");
  ASSERT_TRUE(reader) << reader.error().message;
  consumer = std::move(*reader);
  ASSERT_TRUE(consumer->assign("t", {{0, RD_KAFKA_OFFSET_BEGINNING}}));
  for (int i = 0; i < 300 && messages.size() < records.size(); ++i) {
    kafka::MessagePtr m = consumer->poll(100);
    if (m && m->err == RD_KAFKA_RESP_ERR_NO_ERROR) messages.push_back(std::move(m));
  }
  ASSERT_EQ(messages.size(), records.size());
}

TEST(PackedHeaders, UnpackGivesWhatReadHeadersGives) {
  const std::vector<std::vector<Header>> records = {
      {},
      {{"hp-delivery-id", "msg_1"}, {"x-tenant", "acme"}},
      {{"hp-attempt", "2"},
       {"empty", ""},
       {"no-value", "", true},
       {"hp-attempt", "3"},
       {"binary", std::string("a\0b\xff", 4)},
       {"long", std::string(5000, 'v')}},
  };
  RoundTrip trip;
  ASSERT_NO_FATAL_FAILURE(trip.run(records));
  const auto& messages = trip.messages;
  ASSERT_EQ(messages.size(), records.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    SCOPED_TRACE(i);
    const auto expected = kafka::readHeaders(messages[i].get());
    ASSERT_EQ(expected.size(), records[i].size());
    const auto packed = kafka::PackedHeaders::of(messages[i].get());
    EXPECT_EQ(packed.empty(), records[i].empty());
    EXPECT_EQ(packed.unpack(), expected);
  }
}

TEST(DeliveryMeta, FromMessageMatchesFromHeaders) {
  records::DeliveryMeta meta = records::fullMeta();
  meta.parked_since_ms = 42;
  kafka::HeaderList written = {{"x-tenant", "acme"}, {"hp-attempt", "9"}};
  meta.writeTo(written);
  std::vector<Header> headers;
  for (const auto& [name, value] : written) headers.push_back({name, value});
  headers.push_back({"hp-due-ms", "", true});  // a null value reads as "" (a bad number)
  RoundTrip trip;
  ASSERT_NO_FATAL_FAILURE(trip.run({headers}));
  const auto& messages = trip.messages;
  ASSERT_EQ(messages.size(), 1u);
  const auto direct = records::DeliveryMeta::fromMessage(messages[0].get());
  const auto listed = records::DeliveryMeta::fromHeaders(kafka::readHeaders(messages[0].get()));
  for (const auto* m : {&direct, &listed}) {
    EXPECT_EQ(m->delivery_id, meta.delivery_id);
    EXPECT_EQ(m->event_id, meta.event_id);
    EXPECT_EQ(m->event_type, meta.event_type);
    EXPECT_EQ(m->subscription_id, meta.subscription_id);
    EXPECT_EQ(m->attempt, 4);
    EXPECT_EQ(m->first_attempt_ms, meta.first_attempt_ms);
    EXPECT_EQ(m->due_ms, 0);
    EXPECT_EQ(m->last_status, 503);
    EXPECT_EQ(m->error_class, meta.error_class);
    EXPECT_EQ(m->error_message, meta.error_message);
    EXPECT_EQ(m->replay_id, meta.replay_id);
    EXPECT_EQ(m->parked_since_ms, 42);
  }
}

}  // namespace
}  // namespace hookpipe
