// Unit tests for router/metrics.h: the router's metrics and the invalid-reason labels.
#include "router/metrics.h"

#include <gtest/gtest.h>

#include <string>

#include "common/json/event.h"

namespace hookpipe::router {
namespace {

// Each label against what EventParser really says, so a reworded message shows up here.
TEST(RouterMetrics, InvalidReasonsOfTheEventParserGetTheirLabel) {
  json::EventParser parser(64);
  const std::pair<std::string, std::string_view> cases[] = {
      {std::string(100, ' '), "too_large"},
      {"{", "not_json"},
      {"[1]", "not_object"},
      {R"({"id":"e"})", "bad_type"},
      {R"({"type":""})", "bad_type"},
      {R"({"type":"a\nb"})", "bad_type"},
      {R"({"type":"a","id":7})", "bad_id"},
      {R"({"type":"a","timestamp":1})", "bad_timestamp"},
      {R"({"type":"a","x":1,"x":2})", "duplicate_key"},
  };
  for (const auto& [event, label] : cases) {
    SCOPED_TRACE(event);
    auto parsed = parser.parse(event, 0, "evt_1");
    ASSERT_FALSE(parsed);
    EXPECT_EQ(invalidReasonLabel(parsed.error().message), label) << parsed.error().message;
  }
  EXPECT_EQ(invalidReasonLabel("something new"), "other");
}

TEST(RouterMetrics, AreDeclaredWithPrometheusNamesAndEveryReasonAtZero) {
  metrics::Registry registry;
  RouterMetrics m(registry);
  m.events.inc(3);
  m.invalid("not valid JSON: TAPE_ERROR").inc();
  m.invalid("field x appears twice (duplicate keys are refused)").inc();
  m.match_seconds.observe(2e-6);
  EXPECT_EQ(registry.value("hookpipe_router_events_total"), 3);
  EXPECT_EQ(registry.value("hookpipe_router_invalid_events_total", {{"reason", "not_json"}}), 1);
  EXPECT_EQ(registry.value("hookpipe_router_invalid_events_total", {{"reason", "duplicate_key"}}),
            1);
  EXPECT_EQ(registry.value("hookpipe_router_invalid_events_total", {{"reason", "too_large"}}), 0);
  EXPECT_EQ(registry.value("hookpipe_router_match_duration_seconds_count"), 1);
  EXPECT_EQ(m.invalidTotal(), 2u);
}

}  // namespace
}  // namespace hookpipe::router
