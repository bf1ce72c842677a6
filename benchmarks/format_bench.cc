// Cost of making one delivery's body per format (Google Benchmark): what the router pays
// per matched subscription (Router::route calls Formatter::format). A typical event of
// 344 bytes with eight data fields and a severity; then a big one (600 fields).
// "json" and "zapier" pass the event through: the router copies nothing for them, so
// their figure here (a string copy) is an upper bound.
#include <benchmark/benchmark.h>

#include <string>

#include "common/format/formatter.h"
#include "common/format/template.h"
#include "common/json/escape.h"
#include "common/json/event.h"
#include "common/subscriptions/subscription.h"

namespace {

using hookpipe::Subscription;

const hookpipe::json::Event kTypical{
    "evt_2YxJbq3KqK8tR9VbS6mFhJ1a", "order.payment_failed",
    R"({"id":"evt_2YxJbq3KqK8tR9VbS6mFhJ1a","type":"order.payment_failed",)"
    R"("timestamp":"2026-01-09T15:30:00Z","tenant":"acme","data":{"order_id":"ord_8842",)"
    R"("customer":"cus_1234","amount":1999,"currency":"EUR","attempt":3,)"
    R"("reason":"card_declined: insufficient funds <issuer 51>","severity":"error",)"
    R"("items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}]}})"};

hookpipe::json::Event bigEvent() {
  std::string body =
      R"({"id":"evt_big","type":"metrics.snapshot","timestamp":"2026-01-09T15:30:00Z","data":{)";
  for (int i = 0; i < 600; ++i) {
    if (i > 0) body += ',';
    body += "\"metric_" + std::to_string(i) + "\":" + std::to_string(i * 7);
  }
  body += "}}";
  return {"evt_big", "metrics.snapshot", body};
}

// A typical user template: a handful of paths, one section, raw JSON values.
constexpr std::string_view kTemplate =
    R"t({"text":"Payment failed for {{data.order_id}} ({{data.customer}})",)t"
    R"("amount":{{{data.amount}}},"currency":"{{data.currency}}","reason":"{{data.reason}}",)"
    R"("items":"{{#data.items}}{{sku}} x{{qty}}; {{/data.items}}","event":{{{id}}},)"
    R"("at":{{{timestamp}}},"severity":"{{#data.severity}}{{data.severity}}{{/data.severity}}"})";
// Over the 600-field event: all of data as JSON, and the last field looked up by name.
constexpr std::string_view kBigTemplate =
    R"({"type":{{{type}}},"data":{{{data}}},"last":{{{data.metric_599}}}})";

Subscription subscription(const std::string& format) {
  std::string json = R"({"url":")";
  json += format == "email" ? "smtp://mail.example.com:587" : "https://hooks.example.com/x";
  json += R"(","events":["*"],"format":")";
  json += format;
  json += '"';
  if (format == "email")
    json += R"(,"format_options":{"from":"alerts@example.com","to":"ops@example.com, )"
            R"(oncall@example.org","subject":"[{{type}}] {{data.order_id}}"})";
  if (format == "telegram") json += R"(,"format_options":{"chat_id":-1001234567890})";
  if (format == "template" || format == "template_big") {
    json = R"({"url":"https://hooks.example.com/x","events":["*"],"format":"template")";
    json += R"(,"format_options":{"template":")";
    hookpipe::json::appendEscaped(json, format == "template" ? kTemplate : kBigTemplate);
    json += "\"}";
  }
  json += '}';
  auto s = hookpipe::checkSubscription(json, hookpipe::SubscriptionSource::kCreate);
  if (!s) std::abort();
  return *s;
}

void run(benchmark::State& state, const std::string& format, const hookpipe::json::Event& event) {
  const Subscription sub = subscription(format);
  auto formatter =
      sub.formatter ? sub.formatter : hookpipe::format::Registry::global().find(sub.format);
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string body = formatter->format(event, sub);
    bytes = body.size();
    benchmark::DoNotOptimize(body);
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
}

void BM_Format(benchmark::State& state, const char* format) { run(state, format, kTypical); }
void BM_FormatBig(benchmark::State& state, const char* format) {
  static const auto big = bigEvent();
  run(state, format, big);
}

BENCHMARK_CAPTURE(BM_Format, json, "json");
BENCHMARK_CAPTURE(BM_Format, zapier, "zapier");
BENCHMARK_CAPTURE(BM_Format, slack, "slack");
BENCHMARK_CAPTURE(BM_Format, teams, "teams");
BENCHMARK_CAPTURE(BM_Format, discord, "discord");
BENCHMARK_CAPTURE(BM_Format, telegram, "telegram");
BENCHMARK_CAPTURE(BM_Format, template, "template");
BENCHMARK_CAPTURE(BM_Format, email, "email");
BENCHMARK_CAPTURE(BM_FormatBig, slack, "slack");
BENCHMARK_CAPTURE(BM_FormatBig, teams, "teams");
BENCHMARK_CAPTURE(BM_FormatBig, discord, "discord");
BENCHMARK_CAPTURE(BM_FormatBig, telegram, "telegram");
BENCHMARK_CAPTURE(BM_FormatBig, template, "template_big");
BENCHMARK_CAPTURE(BM_FormatBig, email, "email");

}  // namespace

BENCHMARK_MAIN();
