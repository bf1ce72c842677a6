#include "format_test_support.h"

#include <gtest/gtest.h>

#include "common/format/formatter.h"
#include "common/format/template.h"
#include "common/json/escape.h"

namespace hookpipe::format::testing {
namespace {

json::Event event(std::string id, std::string type, std::string body) {
  return {std::move(id), std::move(type), std::move(body)};
}

std::string manyFields(int n) {
  std::string out =
      R"({"id":"evt_many","type":"metrics.snapshot","timestamp":"2026-01-09T15:30:00Z","data":{)";
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    out += "\"metric_" + std::to_string(i) + "\":" + std::to_string(i * 7);
  }
  out += "}}";
  return out;
}

}  // namespace

std::vector<Case> goldenCases() {
  std::string long_text;
  for (int i = 0; i < 700; ++i) long_text += "line " + std::to_string(i) + " of a long log; ";
  return {
      {"basic",
       event("evt_basic", "order.created",
             R"({"id":"evt_basic","type":"order.created","timestamp":"2026-01-09T15:30:00Z",)"
             R"("data":{"order_id":"ord_42","amount":1999,"currency":"EUR","paid":true,)"
             R"("severity":"error"}})")},
      {"unicode",
       event("evt_unicode", "commande.créée",
             R"({"id":"evt_unicode","type":"commande.créée","timestamp":"2026-01-09T15:30:00Z",)"
             R"("data":{"名前":"東京 🚀 タワー","note":"<b>bold</b> & \"quoted\" \\ <@everyone>",)"
             R"("emoji":"👩‍👩‍👧‍👦🇫🇷","level":"warning"}})")},
      {"long_text",
       event("evt_long", "log.line",
             R"({"id":"evt_long","type":"log.line","timestamp":"2026-01-09T15:30:00Z",)"
             R"("data":{"message":")" +
                 long_text + R"(","tail":"end"}})")},
      {"many_fields", event("evt_many", "metrics.snapshot", manyFields(600))},
      {"nested",
       event(
           "evt_nested", "invoice.paid",
           R"({"id":"evt_nested","type":"invoice.paid","timestamp":"2026-01-09T15:30:00.123+02:00",)"
           R"("data":{"invoice":{"id":"in_1","lines":[{"sku":"a","qty":2},{"sku":"b","qty":1}]},)"
           R"("tags":["vip","eu"],"empty":"","none":null,"alert":{"level":"critical"}}})")},
      {"missing_fields",
       event("evt_missing", "user.signed_up",
             R"({"id":"evt_missing","type":"user.signed_up","data":{"user":"u_1"}})")},
      {"no_data", event("evt_nodata", "ping",
                        R"({"id":"evt_nodata","type":"ping","timestamp":"2026-01-09T15:30:00Z"})")},
      {"scalar_data",
       event(
           "evt_scalar", "counter.tick",
           R"({"id":"evt_scalar","type":"counter.tick","timestamp":"2026-01-09T15:30:00Z","data":42,"severity":"ok"})")},
  };
}

std::string goldenTemplate() {
  return "{\n"
         "  \"title\": \"{{type}} ({{#data.severity}}{{data.severity}}{{/data.severity}}"
         "{{^data.severity}}no severity{{/data.severity}})\",\n"
         "  \"event\": {\"id\": {{{id}}}, \"type\": {{{type}}}, \"at\": {{{timestamp}}}},\n"
         "  \"note\": \"{{data.note}}\",\n"
         "  \"message\": \"{{data.message}}\",\n"
         "  \"lines\": \"{{#data.invoice.lines}}{{sku}} x{{qty}}; {{/data.invoice.lines}}\",\n"
         "  \"first_tag\": \"{{data.tags.0}}\",\n"
         "  \"data\": {{{data}}},\n"
         "  \"data_text\": \"{{data}}\"\n"
         "}";
}

Subscription subscriptionFor(const std::string& format) {
  std::string json = R"({"id":"sub_golden","url":")";
  json += format == "email" ? "smtp://mail.example.com:587" : "https://hooks.example.com/x";
  json += R"(","events":["*"],"format":")";
  json += format;
  json += '"';
  if (format == "email")
    json += R"(,"format_options":{"from":"alerts@example.com","to":"ops@example.com, )"
            R"(oncall@example.org","subject":"[{{type}}] {{data.order_id}} {{severity}}"})";
  if (format == "telegram") json += R"(,"format_options":{"chat_id":-1001234567890})";
  if (format == "template") {
    json += R"(,"format_options":{"template":")";
    json::appendEscaped(json, goldenTemplate());
    json += "\"}";
  }
  json += '}';
  auto s = checkSubscription(json, SubscriptionSource::kCreate);
  EXPECT_TRUE(s) << (s ? "" : s.error().front().pointer + ": " + s.error().front().message);
  return s ? *s : Subscription{};
}

std::string render(const Subscription& sub, const json::Event& event) {
  auto formatter = sub.formatter ? sub.formatter : Registry::global().find(sub.format);
  EXPECT_NE(formatter, nullptr) << sub.format;
  return formatter ? formatter->format(event, sub) : std::string();
}

}  // namespace hookpipe::format::testing
