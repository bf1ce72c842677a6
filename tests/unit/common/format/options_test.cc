// format_options: parsed, stored and echoed with the subscription, and judged by the
// subscription's format when a client writes it (Formatter::validate): each problem at its
// pointer, nothing accepted.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/format/formatter.h"
#include "common/json/event.h"
#include "common/subscriptions/subscription.h"

namespace hookpipe {
namespace {

// The problems of a client's subscription, by pointer ("" when it is accepted).
std::map<std::string, std::string> problemsOf(
    const std::string& format, const std::string& options_json,
    SubscriptionSource source = SubscriptionSource::kCreate) {
  std::string json =
      R"({"url":"https://hooks.example.com/x","events":["*"],"format":")" + format + '"';
  if (!options_json.empty()) json += R"(,"format_options":)" + options_json;
  json += '}';
  auto s = checkSubscription(json, source);
  std::map<std::string, std::string> out;
  if (!s)
    for (const auto& p : s.error()) out[p.pointer] = p.message;
  return out;
}

bool mentions(const std::map<std::string, std::string>& problems, const std::string& pointer,
              const std::string& word) {
  auto it = problems.find(pointer);
  return it != problems.end() && it->second.find(word) != std::string::npos;
}

TEST(FormatOptions, TelegramNeedsAValidChatId) {
  auto missing = problemsOf("telegram", "");
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_TRUE(mentions(missing, "/format_options/chat_id", "required"));
  EXPECT_TRUE(mentions(problemsOf("telegram", R"({"chat_id":"general"})"),
                       "/format_options/chat_id", "@channelusername"));
  EXPECT_TRUE(mentions(problemsOf("telegram", R"({"chat_id":true})"), "/format_options/chat_id",
                       "integer"));
  EXPECT_TRUE(
      mentions(problemsOf("telegram", R"({"chat_id":1.5})"), "/format_options/chat_id", "integer"));
  EXPECT_TRUE(problemsOf("telegram", R"({"chat_id":-1001234567890})").empty());
  EXPECT_TRUE(problemsOf("telegram", R"({"chat_id":"-1001234567890"})").empty());
  EXPECT_TRUE(problemsOf("telegram", R"({"chat_id":"@hookpipe_alerts"})").empty());
  EXPECT_TRUE(mentions(problemsOf("telegram", R"({"chat_id":"@abc"})"), "/format_options/chat_id",
                       "5..32"));
}

TEST(FormatOptions, EveryProblemIsReportedAtOnceEachAtItsPointer) {
  auto problems = problemsOf(
      "telegram", R"({"chat_id":"x","message_thread_id":-3,"disable_notification":"yes",)"
                  R"("severity_field":"data..level","colour":"red"})");
  EXPECT_EQ(problems.size(), 5u);
  EXPECT_TRUE(problems.contains("/format_options/chat_id"));
  EXPECT_TRUE(mentions(problems, "/format_options/message_thread_id", "positive"));
  EXPECT_TRUE(mentions(problems, "/format_options/disable_notification", "boolean"));
  EXPECT_TRUE(mentions(problems, "/format_options/severity_field", "dotted path"));
  EXPECT_TRUE(mentions(problems, "/format_options/colour", "unknown option colour"));
  EXPECT_TRUE(mentions(problems, "/format_options/colour", "chat_id"));  // lists what it takes
}

TEST(FormatOptions, SlackChecksChannelAndThreadTs) {
  EXPECT_TRUE(problemsOf("slack", R"({"channel":"#alerts","thread_ts":"1700000000.123456",)"
                                  R"("severity_field":"data.level"})")
                  .empty());
  EXPECT_TRUE(mentions(problemsOf("slack", R"({"channel":"two words"})"), "/format_options/channel",
                       "no spaces"));
  EXPECT_TRUE(mentions(problemsOf("slack", R"({"thread_ts":1700000000.5})"),
                       "/format_options/thread_ts", "as a string"));
  EXPECT_TRUE(mentions(problemsOf("slack", R"({"thread_ts":"tomorrow"})"),
                       "/format_options/thread_ts", "ts"));
  EXPECT_TRUE(mentions(problemsOf("slack", R"({"chat_id":1})"), "/format_options/chat_id",
                       "unknown option chat_id for format slack"));
}

TEST(FormatOptions, FormatsWithoutOptionsRefuseAny) {
  EXPECT_TRUE(mentions(problemsOf("json", R"({"channel":"#x"})"), "/format_options/channel",
                       "takes no options"));
  EXPECT_TRUE(problemsOf("json", "{}").empty());
  // zapier takes one: sign, a boolean.
  EXPECT_TRUE(problemsOf("zapier", "{}").empty());
  EXPECT_TRUE(problemsOf("zapier", R"({"sign":true})").empty());
  EXPECT_TRUE(mentions(problemsOf("zapier", R"({"channel":"#x"})"), "/format_options/channel",
                       "unknown option"));
  EXPECT_TRUE(
      mentions(problemsOf("zapier", R"({"sign":"yes"})"), "/format_options/sign", "true or false"));
  EXPECT_TRUE(problemsOf("teams", R"({"severity_field":"data.sev"})").empty());
  EXPECT_TRUE(mentions(problemsOf("discord", R"({"username":"bot"})"), "/format_options/username",
                       "unknown option"));
}

TEST(FormatOptions, ShapeProblemsComeFromTheSubscriptionItself) {
  EXPECT_TRUE(mentions(problemsOf("slack", "[1]"), "/format_options", "must be an object"));
  EXPECT_TRUE(mentions(problemsOf("slack", R"({"channel":{"name":"x"}})"),
                       "/format_options/channel", "string, a number or a boolean"));
  EXPECT_TRUE(mentions(problemsOf("slack", R"({"channel":null})"), "/format_options/channel",
                       "string, a number or a boolean"));
  EXPECT_TRUE(mentions(problemsOf("slack", R"({"channel":")" + std::string(1025, 'c') + R"("})"),
                       "/format_options/channel", "1024"));
  // A name that needs escaping in its pointer (RFC 6901).
  EXPECT_TRUE(problemsOf("slack", R"({"a/b":"x"})").contains("/format_options/a~1b"));
  // null for the whole object means none.
  EXPECT_TRUE(problemsOf("slack", "null").empty());
  // An unknown format is the one problem: its options are not judged.
  auto unknown = problemsOf("carrier-pigeon", R"({"chat_id":"x"})");
  EXPECT_EQ(unknown.size(), 1u);
  EXPECT_TRUE(unknown.contains("/format"));
  EXPECT_TRUE(mentions(unknown, "/format", "telegram"));  // the list names the new formats
}

TEST(FormatOptions, StoredRecordsLoadWithOptionsANewerRuleWouldRefuse) {
  EXPECT_TRUE(problemsOf("telegram", "", SubscriptionSource::kStored).empty());
  EXPECT_TRUE(problemsOf("slack", R"({"future_option":"x"})", SubscriptionSource::kStored).empty());
}

TEST(FormatOptions, AreStoredAndEchoedAsGivenAndBindTheFormatter) {
  auto s = checkSubscription(
      R"({"id":"sub_t","url":"https://api.telegram.org/bot1:x/sendMessage","events":["*"],)"
      R"("format":"telegram","format_options":{"chat_id":-42,"disable_notification":true}})",
      SubscriptionSource::kCreate);
  ASSERT_TRUE(s) << s.error().front().message;
  EXPECT_EQ(s->format_options_json, R"({"chat_id":-42,"disable_notification":true})");
  ASSERT_EQ(s->format_options.size(), 2u);
  EXPECT_EQ(s->format_options.at("chat_id"),
            (format::Option{format::Option::Kind::kNumber, "-42"}));
  EXPECT_EQ(s->format_options.at("disable_notification"),
            (format::Option{format::Option::Kind::kBool, "true"}));
  // Bound to the options: not the registry's shared instance.
  ASSERT_NE(s->formatter, nullptr);
  EXPECT_NE(s->formatter, format::Registry::global().find("telegram"));
  EXPECT_NE(
      apiJson(*s, false).find(R"("format_options":{"chat_id":-42,"disable_notification":true})"),
      std::string::npos);
  auto stored = parseSubscription(toJson(*s));
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->format_options, s->format_options);
  const json::Event ev{"evt_1", "a.b", R"({"id":"evt_1","type":"a.b"})"};
  EXPECT_EQ(stored->formatter->format(ev, *stored), s->formatter->format(ev, *s));
  EXPECT_NE(s->formatter->format(ev, *s).find(R"("chat_id":-42)"), std::string::npos);
  // Without options nothing is written.
  auto plain =
      checkSubscription(R"({"url":"https://hooks.example.com/x","events":["*"],"format":"slack"})",
                        SubscriptionSource::kCreate);
  ASSERT_TRUE(plain);
  EXPECT_EQ(toJson(*plain).find("format_options"), std::string::npos);
  EXPECT_EQ(plain->formatter, format::Registry::global().find("slack"));
}

}  // namespace
}  // namespace hookpipe
