// The "template" format: the Mustache subset (common/format/template.h) rendered over
// events — paths, escaping, sections — its compile errors as problems at
// /format_options/template, and the bounds on hostile templates.
#include "common/format/template.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/format/formatter.h"
#include "common/format/template_formatter.h"
#include "common/json/escape.h"
#include "common/json/event.h"
#include "common/subscriptions/subscription.h"

namespace hookpipe::format {
namespace {

constexpr std::string_view kEvent =
    R"({"id":"evt_1","type":"order.created","timestamp":"2026-01-09T15:30:00Z",)"
    R"("data":{"order":{"id":"ord_42","total":19.5,"tags":["vip","eu"]},"amount":1999,)"
    R"("paid":true,"refunded":false,"note":null,"empty":"","zero":0,"none":[],)"
    R"("items":[{"sku":"a","qty":2},{"sku":"b","qty":1}],"words":["x","y","z"],)"
    R"("tricky":"say \"hi\" \\ back\n\ttab \u0001 \u001f é 東京 🚀 </script>"}})";

// Renders `text` over `event` (compiling must succeed).
std::string render(std::string_view text, std::string_view event = kEvent,
                   const tmpl::Limits& limits = {}, tmpl::Outcome* outcome = nullptr) {
  std::string error;
  auto t = tmpl::Template::compile(text, error);
  EXPECT_NE(t, nullptr) << error;
  if (!t) return {};
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  const auto parsed = parser.parse(event).get(root);
  EXPECT_EQ(parsed, simdjson::SUCCESS) << event;
  if (parsed != simdjson::SUCCESS) return {};
  return t->render(root, limits, outcome);
}

// The compile error of `text` ("" when it compiles).
std::string errorOf(std::string_view text) {
  std::string error;
  auto t = tmpl::Template::compile(text, error);
  EXPECT_EQ(t == nullptr, !error.empty());
  return error;
}

TEST(Template, DottedPathsReachIntoTheEvent) {
  EXPECT_EQ(render("{{id}} {{type}} {{timestamp}} {{data.order.id}} {{data.amount}}"),
            "evt_1 order.created 2026-01-09T15:30:00Z ord_42 1999");
  EXPECT_EQ(render("{{data.order.total}}|{{data.paid}}|{{data.refunded}}|{{data.zero}}"),
            "19.5|true|false|0");
  EXPECT_EQ(render("{{data.items.1.sku}}{{data.order.tags.0}}"), "bvip");
  EXPECT_EQ(render("{{ data.order.id }}"), "ord_42");  // spaces in a tag are trimmed
}

TEST(Template, AMissingPathRendersNothingOrNull) {
  EXPECT_EQ(render("[{{nope}}|{{data.nope}}|{{data.order.nope.deeper}}|{{data.items.9.sku}}]"),
            "[|||]");
  EXPECT_EQ(render("[{{data.note}}]"), "[]");  // null as text is nothing
  EXPECT_EQ(render("{{{nope}}},{{&data.note}}"), "null,null");
  // A path whose first key resolves goes on from there, not from outer contexts.
  EXPECT_EQ(render("{{#data.order}}[{{id}}|{{data.amount}}|{{amount}}]{{/data.order}}"),
            "[ord_42|1999|]");
  EXPECT_EQ(render("{{#items}}{{data.x}}|{{data.y}}{{/items}}",
                   R"({"data":{"x":1},"items":[{"data":{"y":2}}]})"),
            "|2");
}

TEST(Template, EscapedValuesAreSafeInsideAJsonString) {
  const std::string body = render(R"({"note":"{{data.tricky}}","order":"{{data.order}}"})");
  EXPECT_EQ(body, R"({"note":"say \"hi\" \\ back\n\ttab \u0001 \u001f é 東京 🚀 </script>",)"
                  R"("order":"{\"id\":\"ord_42\",\"total\":19.5,\"tags\":[\"vip\",\"eu\"]}"})");
  // Parsed back, each value is exactly the event's.
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  ASSERT_EQ(p.parse(body).get(doc), simdjson::SUCCESS) << body;
  EXPECT_EQ(std::string_view(doc["note"].get_string().value()),
            "say \"hi\" \\ back\n\ttab \x01 \x1f é 東京 🚀 </script>");
  EXPECT_EQ(std::string_view(doc["order"].get_string().value()),
            R"({"id":"ord_42","total":19.5,"tags":["vip","eu"]})");
}

TEST(Template, TripleMustacheInsertsTheValueAsJson) {
  EXPECT_EQ(render(R"({"order":{{{data.order}}},"id":{{{id}}},"n":{{&data.amount}},)"
                   R"("t":{{{data.paid}}},"s":{{{data.tricky}}}})"),
            R"({"order":{"id":"ord_42","total":19.5,"tags":["vip","eu"]},"id":"evt_1","n":1999,)"
            R"("t":true,"s":"say \"hi\" \\ back\n\ttab \u0001 \u001f é 東京 🚀 </script>"})");
}

TEST(Template, SectionsIterateArraysAndTestTruthiness) {
  EXPECT_EQ(render("{{#data.items}}{{sku}}x{{qty}};{{/data.items}}"), "ax2;bx1;");
  EXPECT_EQ(render("{{#data.words}}<{{.}}>{{/data.words}}"), "<x><y><z>");
  // Inside a section the outer contexts are still visible.
  EXPECT_EQ(render("{{#data.items}}{{id}}/{{sku}} {{/data.items}}"), "evt_1/a evt_1/b ");
  // An object is a context once; a truthy scalar once, as "."
  EXPECT_EQ(render("{{#data.order}}{{id}}:{{total}}{{/data.order}}"), "ord_42:19.5");
  EXPECT_EQ(render("{{#data.amount}}[{{.}}]{{/data.amount}}{{#data.zero}}zero{{/data.zero}}"),
            "[1999]zero");
  // Falsy: missing, null, false, "" and [].
  for (const char* path : {"nope", "data.note", "data.refunded", "data.empty", "data.none"}) {
    const std::string p = path;
    EXPECT_EQ(render("{{#" + p + "}}on{{/" + p + "}}{{^" + p + "}}off{{/" + p + "}}"), "off") << p;
  }
  EXPECT_EQ(render("{{^data.paid}}unpaid{{/data.paid}}{{^data.items}}none{{/data.items}}"), "");
  // Nested sections and comments.
  EXPECT_EQ(render("{{! hi }}{{#data.items}}{{#qty}}{{sku}}{{/qty}}{{/data.items}}"), "ab");
}

TEST(Template, WhitespaceAndLiteralTextAreKept) {
  EXPECT_EQ(
      render("{\n  \"a\": \"{{id}}\",\n  {{#data.paid}}\n  \"paid\": true\n  {{/data.paid}}\n}"),
      "{\n  \"a\": \"evt_1\",\n  \n  \"paid\": true\n  \n}");
  EXPECT_EQ(render("no tags } }} {"), "no tags } }} {");
  EXPECT_EQ(render(""), "");
}

TEST(Template, TheExampleOfTheDocsRendersAsShown) {
  // docs/integrations.md, "Template".
  EXPECT_EQ(
      render(R"({"order": "{{data.order_id}}", "amount": {{{data.amount}}}, "paid": )"
             R"({{#data.paid}}true{{/data.paid}}{{^data.paid}}false{{/data.paid}}, "skus": )"
             R"("{{#data.items}}{{sku}} {{/data.items}}", "note": "{{data.note}}", "event": )"
             R"({{{id}}}, "at": {{{timestamp}}}})",
             R"({"id":"evt_1","type":"order.created","timestamp":"2026-01-09T15:30:00Z","data":)"
             R"({"order_id":"ord_42","amount":1999,"paid":true,"items":[{"sku":"A-1"},)"
             R"({"sku":"B-7"}],"note":"say \"hi\"\n"}})"),
      R"({"order": "ord_42", "amount": 1999, "paid": true, "skus": "A-1 B-7 ", "note": )"
      R"("say \"hi\"\n", "event": "evt_1", "at": "2026-01-09T15:30:00Z"})");
}

TEST(Template, BadTemplatesNameTheProblemAndWhere) {
  EXPECT_EQ(errorOf("{{#data.items}}x"),
            "line 1, column 1: unclosed section 'data.items': no {{/data.items}}");
  EXPECT_EQ(errorOf("ab\ncd {{#a}}{{/b}}"),
            "line 2, column 10: {{/b}} does not close section 'a' (opened at line 2, column 4)");
  EXPECT_EQ(errorOf("x{{/a}}"), "line 1, column 2: {{/a}} closes no open section");
  EXPECT_EQ(errorOf("{\"a\":\"{{data.id\"}"), "line 1, column 7: unclosed tag: '{{' without '}}'");
  EXPECT_EQ(errorOf("{{{data}}"), "line 1, column 1: unclosed tag: '{{{' without '}}}'");
  EXPECT_NE(errorOf("{{>header}}").find("partials"), std::string::npos);
  EXPECT_NE(errorOf("{{=<% %>=}}").find("set-delimiter"), std::string::npos);
  EXPECT_NE(errorOf("{{}}").find("empty tag"), std::string::npos);
  EXPECT_NE(errorOf("{{#}}{{/}}").find("empty tag"), std::string::npos);
  EXPECT_NE(errorOf("{{data..id}}").find("bad name 'data..id'"), std::string::npos);
  EXPECT_NE(errorOf("{{a b}}").find("bad name"), std::string::npos);
  EXPECT_NE(errorOf("{{.data}}").find("bad name"), std::string::npos);
  EXPECT_NE(errorOf("{{..}}").find("bad name"), std::string::npos);
  EXPECT_NE(errorOf("{{#a.}}{{/a.}}").find("bad name"), std::string::npos);
  std::string deep, deeper;
  for (std::size_t i = 0; i < tmpl::kMaxDepth; ++i) deep = "{{#a}}" + deep + "{{/a}}";
  EXPECT_EQ(errorOf(deep), "");
  deeper = "{{#a}}" + deep + "{{/a}}";
  EXPECT_EQ(errorOf(deeper), "line 1, column 97: sections nest at most 16 deep");
  EXPECT_EQ(errorOf(std::string(tmpl::kMaxTemplateBytes, 'x')), "");
  EXPECT_EQ(errorOf(std::string(tmpl::kMaxTemplateBytes + 1, 'x')),
            "template is 65537 bytes; at most 65536");
}

// The problems of a client's subscription with format template, by pointer.
std::map<std::string, std::string> problemsOf(
    const std::string& options_json, SubscriptionSource source = SubscriptionSource::kCreate) {
  std::string json = R"({"url":"https://hooks.example.com/x","events":["*"],"format":"template")";
  if (!options_json.empty()) {
    json += R"(,"format_options":)";
    json += options_json;
  }
  json += '}';
  auto s = checkSubscription(json, source);
  std::map<std::string, std::string> out;
  if (!s)
    for (const auto& p : s.error()) out[p.pointer] = p.message;
  return out;
}

std::string optionsWith(std::string_view text) {
  std::string out = R"({"template":")";
  json::appendEscaped(out, text);
  out += "\"}";
  return out;
}

TEST(TemplateFormat, AClientsTemplateIsValidatedWhenWritten) {
  EXPECT_TRUE(problemsOf(optionsWith(R"({"order":"{{data.order.id}}"})")).empty());
  auto bad = problemsOf(optionsWith("{\n  \"items\": [{{#data.items}}\"{{sku}}\"]\n}"));
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad["/format_options/template"],
            "template does not compile: line 2, column 13: unclosed section 'data.items': no "
            "{{/data.items}}");
  auto missing = problemsOf("");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_NE(missing["/format_options/template"].find("required"), std::string::npos);
  EXPECT_NE(problemsOf(R"({"template":42})")["/format_options/template"].find("must be a string"),
            std::string::npos);
  auto unknown = problemsOf(R"({"template":"x","content_type":"text/plain"})");
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_NE(unknown["/format_options/content_type"].find("unknown option"), std::string::npos);
  // Up to 64 KiB (more than the 1024 characters of other options), not a byte more.
  EXPECT_TRUE(problemsOf(optionsWith(std::string(tmpl::kMaxTemplateBytes, 'x'))).empty());
  auto big = problemsOf(optionsWith(std::string(tmpl::kMaxTemplateBytes + 1, 'x')));
  ASSERT_EQ(big.size(), 1u);
  EXPECT_EQ(big["/format_options/template"],
            "template does not compile: template is 65537 bytes; at most 65536");
  // Another option keeps its 1024.
  EXPECT_FALSE(problemsOf(R"({"template":"x","other":")" + std::string(1025, 'y') +
                          "\"}")["/format_options/other"]
                   .empty());
}

json::Event eventOf(std::string_view body) { return {"evt_1", "order.created", std::string(body)}; }

TEST(TemplateFormat, TheSubscriptionKeepsItsCompiledTemplate) {
  auto s = checkSubscription(
      R"({"url":"https://h.example.com/x","events":["*"],"format":"template",)"
      R"("format_options":{"template":"{\"o\":\"{{data.order.id}}\",\"d\":{{{data.items}}}}"}})",
      SubscriptionSource::kCreate);
  ASSERT_TRUE(s);
  ASSERT_NE(s->formatter, nullptr);
  EXPECT_EQ(s->formatter->format(eventOf(kEvent), *s),
            R"({"o":"ord_42","d":[{"sku":"a","qty":2},{"sku":"b","qty":1}]})");
  // Rendering shares nothing between calls: threads render the same formatter at once.
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i)
        if (s->formatter->format(eventOf(kEvent), *s) !=
            R"({"o":"ord_42","d":[{"sku":"a","qty":2},{"sku":"b","qty":1}]})")
          ++wrong;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(TemplateFormat, AStoredRecordWhoseTemplateDoesNotCompileStillLoadsAndSendsTheEvent) {
  auto s = checkSubscription(R"({"id":"sub_1","url":"https://h.example.com/x","events":["*"],)"
                             R"("format":"template","format_options":{"template":"{{#a}}"}})",
                             SubscriptionSource::kStored);
  ASSERT_TRUE(s);
  auto formatter = s->formatter ? s->formatter : Registry::global().find("template");
  ASSERT_NE(formatter, nullptr);
  EXPECT_EQ(formatter->format(eventOf(kEvent), *s), kEvent);
}

TEST(TemplateFormat, AnEventTheDomCannotHoldRendersItsIdAndType) {
  std::string error;
  TemplateFormatter f(tmpl::Template::compile("{{id}}/{{type}}/{{data.n}}", error));
  const Subscription sub;
  EXPECT_EQ(
      f.format({"evt_big", "n.big", R"({"id":"evt_big","type":"n.big","data":{"n":1e999}})"}, sub),
      "evt_big/n.big/");
}

// An event with `n` items and a string of `big` bytes.
std::string bigEvent(int n, std::size_t big) {
  std::string out =
      R"({"id":"evt_big","type":"t","data":{"big":")" + std::string(big, 'b') + R"(","items":[)";
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    out += std::to_string(i);
  }
  out += "]}}";
  return out;
}

TEST(TemplateBounds, OutputIsCutAtTheCap) {
  tmpl::Outcome outcome;
  const std::string body =
      render("{{#data.items}}{{{data.big}}}{{/data.items}}", bigEvent(1000, 10000), {}, &outcome);
  EXPECT_TRUE(outcome.cut);
  EXPECT_EQ(body.size(), tmpl::Limits{}.max_output);
  // A cut never splits a UTF-8 sequence.
  tmpl::Limits small{.max_output = 10, .max_work = 1000};
  const std::string cut = render("{{data.s}}", R"({"data":{"s":"aaaaaaaaa€"}})", small, &outcome);
  EXPECT_TRUE(outcome.cut);
  EXPECT_EQ(cut, "aaaaaaaaa");
  EXPECT_EQ(render("{{data.s}}", R"({"data":{"s":"aaaaaaa€"}})", small, &outcome), "aaaaaaa€");
  EXPECT_FALSE(outcome.cut);
}

TEST(TemplateBounds, NestedSectionsOverABigArrayStopAtTheWorkCap) {
  // 16 sections deep over 1000 items: 1000^16 passes if nothing stopped it.
  std::string deep = "x";
  for (std::size_t i = 0; i < tmpl::kMaxDepth; ++i)
    deep = "{{#data.items}}" + deep + "{{/data.items}}";
  tmpl::Outcome outcome;
  const auto start = std::chrono::steady_clock::now();
  const std::string body = render(deep, bigEvent(1000, 1), {}, &outcome);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  EXPECT_TRUE(outcome.cut);
  EXPECT_LE(outcome.work, tmpl::Limits{}.max_work + 1);
  EXPECT_LE(body.size(), tmpl::Limits{}.max_output);
  EXPECT_LT(ms, 2000) << "a bounded render took " << ms << " ms";
}

TEST(TemplateBounds, LookupsInAHugeObjectCountAsWork) {
  // Each lookup of the last of 20000 keys steps over the others.
  std::string event = R"({"data":{"obj":{)";
  for (int i = 0; i < 20000; ++i) {
    if (i > 0) event += ',';
    event += "\"k" + std::to_string(i) + "\":" + std::to_string(i);
  }
  event += R"(},"items":[)";
  for (int i = 0; i < 5000; ++i) event += i > 0 ? ",1" : "1";
  event += "]}}";
  tmpl::Outcome outcome;
  const auto start = std::chrono::steady_clock::now();
  const std::string body =
      render("{{#data.items}}{{data.obj.k19999}}{{/data.items}}", event, {}, &outcome);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  EXPECT_TRUE(outcome.cut);
  EXPECT_LE(outcome.work, tmpl::Limits{}.max_work + 1);
  EXPECT_EQ(body.substr(0, 10), "1999919999");
  EXPECT_LT(body.size(), 5000u * 5);  // stopped well before every item
  EXPECT_LT(ms, 2000);
}

TEST(TemplateBounds, TheFormatterAppliesTheCaps) {
  std::string error;
  TemplateFormatter f(tmpl::Template::compile(
      "{{#data.items}}{{#data.items}}{{{data.big}}}{{/data.items}}{{/data.items}}", error));
  const Subscription sub;
  const std::string body = f.format({"evt_big", "t", bigEvent(2000, 50000)}, sub);
  EXPECT_EQ(body.size(), tmpl::Limits{}.max_output);
}

}  // namespace
}  // namespace hookpipe::format
