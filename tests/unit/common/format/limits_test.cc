// Structural checks of each chat format against its platform's documented shape and
// limits: the bodies are parsed back and measured (lengths in UTF-16 units, as the
// platforms count characters).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "common/format/chat.h"
#include "common/format/discord_formatter.h"
#include "common/format/slack_formatter.h"
#include "common/format/teams_formatter.h"
#include "common/format/telegram_formatter.h"
#include "format_test_support.h"

namespace hookpipe::format::testing {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

std::size_t units(element e) { return chat::units(std::string_view(e.get_string().value())); }
std::string str(element e) { return std::string(std::string_view(e.get_string().value())); }

json::Event caseNamed(const std::string& name) {
  for (auto& c : goldenCases())
    if (c.name == name) return c.event;
  ADD_FAILURE() << "no case " << name;
  return {};
}

// Telegram's count: the text after entity parsing (tags gone, entities one character).
std::string visible(std::string_view html) {
  std::string out;
  for (std::size_t i = 0; i < html.size(); ++i) {
    if (html[i] == '<') {
      i = html.find('>', i);
      if (i == std::string_view::npos) break;
    } else if (html[i] == '&') {
      const auto end = html.find(';', i);
      const std::string_view entity = html.substr(i, end - i + 1);
      out += entity == "&amp;" ? "&" : entity == "&lt;" ? "<" : entity == "&gt;" ? ">" : "?";
      i = end;
    } else {
      out += html[i];
    }
  }
  return out;
}

TEST(ChatText, ClipCountsUtf16UnitsAndEndsWithAnEllipsis) {
  EXPECT_EQ(chat::units("abc"), 3u);
  EXPECT_EQ(chat::units("é"), 1u);
  EXPECT_EQ(chat::units("🚀"), 2u);  // outside the BMP: a surrogate pair
  EXPECT_EQ(chat::clip("abcdef", 6), "abcdef");
  EXPECT_EQ(chat::clip("abcdef", 4), "abc\u2026");
  // Never splits a code point: a rocket needs 2 units, only 1 is left before the ellipsis.
  EXPECT_EQ(chat::clip("a🚀b", 3), "a\u2026");
  EXPECT_EQ(chat::clip("日本語テキスト", 3), "日本\u2026");
  EXPECT_EQ(chat::clip("abc", 0), "");
  // Invalid UTF-8 counts a unit a byte and is not read past the end.
  EXPECT_EQ(chat::units("\xe6\x97"), 2u);
}

TEST(ChatText, EscapingNeverSplitsAnEntity) {
  EXPECT_EQ(chat::escapeHtml("a<b>&c"), "a&lt;b&gt;&amp;c");
  EXPECT_EQ(chat::clipEscaped("<<<<", 100), "&lt;&lt;&lt;&lt;");
  // 9 units: two entities (8) and the ellipsis.
  EXPECT_EQ(chat::clipEscaped("<<<<", 9), "&lt;&lt;\u2026");
  EXPECT_LE(chat::units(chat::clipEscaped(std::string(5000, '&'), 2000)), 2000u);
}

TEST(ChatSeverity, WordsMapToClassesCaseInsensitively) {
  EXPECT_EQ(chat::classify("CRITICAL"), chat::Severity::kError);
  EXPECT_EQ(chat::classify("error"), chat::Severity::kError);
  EXPECT_EQ(chat::classify("Warning"), chat::Severity::kWarning);
  EXPECT_EQ(chat::classify("info"), chat::Severity::kInfo);
  EXPECT_EQ(chat::classify("resolved"), chat::Severity::kOk);
  EXPECT_EQ(chat::classify("purple"), chat::Severity::kNone);
  EXPECT_EQ(chat::classify(""), chat::Severity::kNone);
}

TEST(ChatSeverity, ASeverityFieldOptionPointsAnywhereInTheEvent) {
  const auto ev = caseNamed("nested");  // data.alert.level = critical
  EXPECT_EQ(chat::read(ev, {}).severity, chat::Severity::kNone);
  const Options options{{"severity_field", {Option::Kind::kString, "data.alert.level"}}};
  const auto view = chat::read(ev, options);
  EXPECT_EQ(view.severity_text, "critical");
  EXPECT_EQ(view.severity, chat::Severity::kError);
  // A path that leads nowhere is no severity, not an error.
  const Options nowhere{{"severity_field", {Option::Kind::kString, "data.nope.level"}}};
  EXPECT_EQ(chat::read(ev, nowhere).severity_text, "");
}

void checkSlack(const std::string& body, const std::string& name) {
  SCOPED_TRACE("slack/" + name);
  simdjson::dom::parser parser;
  element root = parser.parse(body).value();
  EXPECT_LE(units(root["text"]), SlackFormatter::kMaxSectionText);
  array attachments = root["attachments"].get_array().value();
  ASSERT_EQ(attachments.size(), 1u);
  EXPECT_TRUE(attachments.at(0)["color"].is_string());
  array blocks = attachments.at(0)["blocks"].get_array().value();
  EXPECT_LE(blocks.size(), SlackFormatter::kMaxBlocks);
  EXPECT_EQ(str(blocks.at(0)["type"]), "header");
  EXPECT_EQ(str(blocks.at(0)["text"]["type"]), "plain_text");
  EXPECT_LE(units(blocks.at(0)["text"]["text"]), SlackFormatter::kMaxHeader);
  EXPECT_EQ(str(blocks.at(blocks.size() - 1)["type"]), "context");
  for (element block : blocks) {
    const std::string type = str(block["type"]);
    EXPECT_TRUE(type == "header" || type == "section" || type == "context") << type;
    if (type != "section") continue;
    array fields;
    if (!block["fields"].get_array().get(fields)) {
      EXPECT_GE(fields.size(), 1u);
      EXPECT_LE(fields.size(), SlackFormatter::kMaxFieldsPerSection);
      for (element f : fields) {
        EXPECT_EQ(str(f["type"]), "mrkdwn");
        EXPECT_LE(units(f["text"]), SlackFormatter::kMaxFieldText);
      }
    } else {
      EXPECT_LE(units(block["text"]["text"]), SlackFormatter::kMaxSectionText);
    }
  }
}

TEST(SlackFormat, EveryCaseKeepsBlockKitsShapeAndLimits) {
  const auto sub = subscriptionFor("slack");
  for (const auto& c : goldenCases()) checkSlack(render(sub, c.event), c.name);
}

TEST(SlackFormat, ManyFieldsFillFiftyBlocksAndCountWhatIsLeftOut) {
  const auto sub = subscriptionFor("slack");
  simdjson::dom::parser parser;
  element root = parser.parse(render(sub, caseNamed("many_fields"))).value();
  array blocks = root["attachments"].at(0)["blocks"].get_array().value();
  EXPECT_EQ(blocks.size(), 50u);
  array last = blocks.at(48)["fields"].get_array().value();
  EXPECT_EQ(str(last.at(last.size() - 1)["text"]), "_\u2026 and 121 more fields_");  // 600 - 479
}

TEST(SlackFormat, LongTextIsCutVisiblyAndColourFollowsSeverity) {
  const auto sub = subscriptionFor("slack");
  simdjson::dom::parser parser;
  element root = parser.parse(render(sub, caseNamed("long_text"))).value();
  element field = root["attachments"].at(0)["blocks"].at(1)["fields"].at(0);
  EXPECT_EQ(units(field["text"]), SlackFormatter::kMaxFieldText);
  EXPECT_TRUE(str(field["text"]).ends_with("\u2026"));
  EXPECT_EQ(str(root["attachments"].at(0)["color"]), "#9E9E9E");  // no severity
  element basic = parser.parse(render(sub, caseNamed("basic"))).value();
  EXPECT_EQ(str(basic["attachments"].at(0)["color"]), "#E01E5A");
}

TEST(SlackFormat, MarkupInEventTextIsEscaped) {
  const auto sub = subscriptionFor("slack");
  const std::string body = render(sub, caseNamed("unicode"));
  EXPECT_NE(body.find("&lt;b&gt;bold&lt;/b&gt; &amp;"), std::string::npos) << body;
  EXPECT_EQ(body.find("<@everyone>"), std::string::npos);
}

TEST(SlackFormat, ChannelAndThreadOptionsAreSent) {
  auto sub = checkSubscription(
      R"({"url":"https://hooks.slack.com/services/T/B/x","events":["*"],"format":"slack",)"
      R"("format_options":{"channel":"#alerts","thread_ts":"1700000000.123456"}})",
      SubscriptionSource::kCreate);
  ASSERT_TRUE(sub) << sub.error().front().message;
  simdjson::dom::parser parser;
  element root = parser.parse(render(*sub, caseNamed("basic"))).value();
  EXPECT_EQ(str(root["channel"]), "#alerts");
  EXPECT_EQ(str(root["thread_ts"]), "1700000000.123456");
}

TEST(TeamsFormat, EveryCaseIsAnAdaptiveCardInTheMessageEnvelope) {
  const auto sub = subscriptionFor("teams");
  simdjson::dom::parser parser;
  for (const auto& c : goldenCases()) {
    SCOPED_TRACE("teams/" + c.name);
    const std::string body = render(sub, c.event);
    EXPECT_LE(body.size(), TeamsFormatter::kMaxBytes);
    element root = parser.parse(body).value();
    EXPECT_EQ(str(root["type"]), "message");
    array attachments = root["attachments"].get_array().value();
    ASSERT_EQ(attachments.size(), 1u);
    EXPECT_EQ(str(attachments.at(0)["contentType"]), "application/vnd.microsoft.card.adaptive");
    element card = attachments.at(0)["content"];
    EXPECT_EQ(str(card["type"]), "AdaptiveCard");
    EXPECT_EQ(str(card["version"]), "1.4");
    array body_items = card["body"].get_array().value();
    ASSERT_GE(body_items.size(), 2u);
    EXPECT_EQ(str(body_items.at(0)["type"]), "Container");
    for (element item : body_items) {
      const std::string type = str(item["type"]);
      EXPECT_TRUE(type == "Container" || type == "FactSet" || type == "TextBlock") << type;
      if (type != "FactSet") continue;
      array facts = item["facts"].get_array().value();
      EXPECT_LE(facts.size(), TeamsFormatter::kMaxFacts);
      for (element f : facts) {
        EXPECT_LE(units(f["title"]), TeamsFormatter::kMaxFactTitle);
        EXPECT_LE(units(f["value"]), TeamsFormatter::kMaxFactValue);
        EXPECT_GE(units(f["value"]), 1u);
      }
    }
  }
}

TEST(TeamsFormat, ManyFieldsStopAtTheFactCapWithACount) {
  const auto sub = subscriptionFor("teams");
  simdjson::dom::parser parser;
  element root = parser.parse(render(sub, caseNamed("many_fields"))).value();
  array facts = root["attachments"].at(0)["content"]["body"].at(1)["facts"].get_array().value();
  EXPECT_EQ(facts.size(), TeamsFormatter::kMaxFacts);
  EXPECT_EQ(str(facts.at(facts.size() - 1)["value"]), "501 more fields");
  // The container's style is the severity's.
  element basic = parser.parse(render(sub, caseNamed("basic"))).value();
  EXPECT_EQ(str(basic["attachments"].at(0)["content"]["body"].at(0)["style"]), "attention");
}

TEST(DiscordFormat, EveryCaseKeepsEmbedLimits) {
  const auto sub = subscriptionFor("discord");
  simdjson::dom::parser parser;
  for (const auto& c : goldenCases()) {
    SCOPED_TRACE("discord/" + c.name);
    element root = parser.parse(render(sub, c.event)).value();
    EXPECT_LE(units(root["content"]), DiscordFormatter::kMaxContent);
    EXPECT_EQ(root["allowed_mentions"]["parse"].get_array().value().size(), 0u);
    array embeds = root["embeds"].get_array().value();
    ASSERT_EQ(embeds.size(), 1u);
    element embed = embeds.at(0);
    std::size_t total = units(embed["title"]) + units(embed["footer"]["text"]);
    EXPECT_LE(units(embed["title"]), DiscordFormatter::kMaxTitle);
    EXPECT_TRUE(embed["color"].is_int64());
    if (embed["description"].error() == simdjson::SUCCESS) {
      EXPECT_LE(units(embed["description"]), DiscordFormatter::kMaxDescription);
      total += units(embed["description"]);
    }
    array fields;
    if (!embed["fields"].get_array().get(fields)) {
      EXPECT_LE(fields.size(), DiscordFormatter::kMaxFields);
      for (element f : fields) {
        EXPECT_GE(units(f["name"]), 1u);
        EXPECT_GE(units(f["value"]), 1u);
        EXPECT_LE(units(f["name"]), DiscordFormatter::kMaxFieldName);
        EXPECT_LE(units(f["value"]), DiscordFormatter::kMaxFieldValue);
        total += units(f["name"]) + units(f["value"]);
      }
    }
    EXPECT_LE(total, DiscordFormatter::kMaxEmbedTotal);
  }
}

TEST(DiscordFormat, TimestampIsPassedOnlyWhenItIsIso8601) {
  const auto sub = subscriptionFor("discord");
  simdjson::dom::parser parser;
  element nested = parser.parse(render(sub, caseNamed("nested"))).value();
  EXPECT_EQ(str(nested["embeds"].at(0)["timestamp"]), "2026-01-09T15:30:00.123+02:00");
  element missing = parser.parse(render(sub, caseNamed("missing_fields"))).value();
  EXPECT_EQ(missing["embeds"].at(0)["timestamp"].error(), simdjson::NO_SUCH_FIELD);
  const json::Event odd{"evt_odd", "x", R"({"id":"evt_odd","type":"x","timestamp":"yesterday"})"};
  element bad = parser.parse(render(sub, odd)).value();
  EXPECT_EQ(bad["embeds"].at(0)["timestamp"].error(), simdjson::NO_SUCH_FIELD);
}

TEST(DiscordFormat, ManyFieldsStopAtTwentyFiveWithACount) {
  const auto sub = subscriptionFor("discord");
  simdjson::dom::parser parser;
  element root = parser.parse(render(sub, caseNamed("many_fields"))).value();
  array fields = root["embeds"].at(0)["fields"].get_array().value();
  EXPECT_EQ(fields.size(), 25u);
  EXPECT_EQ(str(fields.at(24)["value"]), "576 more fields");
  EXPECT_EQ(root["embeds"].at(0)["color"].get_int64().value(), 0x99AAB5);
}

TEST(TelegramFormat, EveryCaseIsASendMessageWithin4096VisibleCharacters) {
  const auto sub = subscriptionFor("telegram");
  simdjson::dom::parser parser;
  for (const auto& c : goldenCases()) {
    SCOPED_TRACE("telegram/" + c.name);
    element root = parser.parse(render(sub, c.event)).value();
    EXPECT_EQ(root["chat_id"].get_int64().value(), -1001234567890);
    EXPECT_EQ(str(root["parse_mode"]), "HTML");
    const std::string text = str(root["text"]);
    EXPECT_LE(chat::units(visible(text)), TelegramFormatter::kMaxText);
    EXPECT_GE(chat::units(visible(text)), 1u);
  }
}

TEST(TelegramFormat, TextIsEscapedForHtmlAndLongTextCutVisibly) {
  const auto sub = subscriptionFor("telegram");
  simdjson::dom::parser parser;
  const std::string unicode = str(parser.parse(render(sub, caseNamed("unicode"))).value()["text"]);
  EXPECT_NE(unicode.find("&lt;b&gt;bold&lt;/b&gt; &amp; \"quoted\""), std::string::npos) << unicode;
  EXPECT_EQ(unicode.find("<@everyone>"), std::string::npos);
  EXPECT_TRUE(unicode.starts_with("\U0001F7E0 <b>commande.créée</b>")) << unicode;  // warning
  const std::string long_text =
      str(parser.parse(render(sub, caseNamed("long_text"))).value()["text"]);
  // The long value is cut at kMaxValue, so the field after it still shows.
  const auto cut = long_text.find("\u2026\n<b>tail</b>: end");
  ASSERT_NE(cut, std::string::npos) << long_text;
  const auto value = long_text.find("<b>message</b>: ") + 16;
  EXPECT_EQ(chat::units(long_text.substr(value, cut - value)) + 1, TelegramFormatter::kMaxValue);
  EXPECT_TRUE(long_text.ends_with("<i>evt_long \u00b7 2026-01-09T15:30:00Z</i>")) << long_text;
  // Many fields fill the text up to about its limit and count what is left out.
  const std::string many = str(parser.parse(render(sub, caseNamed("many_fields"))).value()["text"]);
  EXPECT_GE(chat::units(visible(many)), TelegramFormatter::kMaxText - 60);
  EXPECT_NE(many.find("\n<i>\u2026 and 349 more fields</i>\n\n<i>evt_many"), std::string::npos)
      << many;
}

TEST(TelegramFormat, ChatIdAsUsernameAndTheOtherOptions) {
  auto sub = checkSubscription(
      R"({"url":"https://api.telegram.org/bot1:x/sendMessage","events":["*"],"format":"telegram",)"
      R"("format_options":{"chat_id":"@hookpipe_alerts","message_thread_id":7,)"
      R"("disable_notification":true}})",
      SubscriptionSource::kCreate);
  ASSERT_TRUE(sub) << sub.error().front().message;
  simdjson::dom::parser parser;
  element root = parser.parse(render(*sub, caseNamed("basic"))).value();
  EXPECT_EQ(str(root["chat_id"]), "@hookpipe_alerts");
  EXPECT_EQ(root["message_thread_id"].get_int64().value(), 7);
  EXPECT_EQ(root["disable_notification"].get_bool().value(), true);
}

TEST(ZapierFormat, IsTheEventAsItIs) {
  const auto sub = subscriptionFor("zapier");
  EXPECT_EQ(sub.formatter, nullptr);  // passes the event through: nothing called per delivery
  for (const auto& c : goldenCases()) EXPECT_EQ(render(sub, c.event), c.event.body);
}

TEST(ChatFormats, AnEmptyFieldNameShowsAsEmptyNotAsMarkup) {
  const json::Event ev{"evt_e", "x.y", R"({"id":"evt_e","type":"x.y","data":{"":"v"}})"};
  simdjson::dom::parser parser;
  const auto slack = render(subscriptionFor("slack"), ev);
  EXPECT_NE(slack.find(R"x(*(empty)*\nv)x"), std::string::npos) << slack;
  const auto telegram = render(subscriptionFor("telegram"), ev);
  EXPECT_EQ(telegram.find("<b></b>"), std::string::npos) << telegram;
  const auto discord = render(subscriptionFor("discord"), ev);
  EXPECT_NE(discord.find(R"x({"name":"(empty)","value":"v")x"), std::string::npos) << discord;
}

TEST(ChatFormats, AnEventThatDoesNotParseStillRenders) {
  const json::Event broken{"evt_x", "weird.type", "not json at all"};
  simdjson::dom::parser parser;
  for (const std::string format : {"slack", "teams", "discord", "telegram"}) {
    SCOPED_TRACE(format);
    const std::string body = render(subscriptionFor(format), broken);
    element root;
    EXPECT_EQ(parser.parse(body).get(root), simdjson::SUCCESS) << body;
    EXPECT_NE(body.find("weird.type"), std::string::npos);
  }
}

}  // namespace
}  // namespace hookpipe::format::testing
