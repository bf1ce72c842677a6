// The chat formats across real processes: the API stores format and format_options, the
// router makes each subscription's body, the deliverer posts it; a local receiver checks
// each platform's documented shape (and a template subscription its own body).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/harness.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;
namespace bj = boost::json;

class ChatFormatTest : public PipelineFixture {
 protected:
  void SetUp() override {
    PipelineFixture::SetUp();
    ASSERT_NO_FATAL_FAILURE(startApi());
  }
};

TEST_F(ChatFormatTest, EachSubscriptionReceivesItsPlatformsMessage) {
  Receiver receiver;
  auto sub = [&](const std::string& path, const std::string& extra) {
    subscribe(R"({"url":")" + receiver.url(path) + R"(","events":["alert.*"])" + extra + "}");
  };
  sub("/slack", R"(,"format":"slack","format_options":{"channel":"#ops"})");
  sub("/teams", R"(,"format":"teams")");
  sub("/discord", R"(,"format":"discord")");
  sub("/telegram", R"(,"format":"telegram","format_options":{"chat_id":-100777})");
  sub("/zapier", R"(,"format":"zapier")");
  sub("/template",
      R"(,"format":"template","format_options":{"template":)"
      R"("{\"host\":\"{{data.host}}\",\"note\":\"{{data.note}}\",\"id\":{{{id}}},)"
      R"(\"sev\":\"{{#data.severity}}{{data.severity}}{{/data.severity}}{{^data.severity}}none{{/data.severity}}\"}"})");
  pipeline_->start("router");
  pipeline_->start("deliverer");

  const std::string event =
      R"({"type":"alert.fired","data":{"host":"db-1","note":"<disk> & more","severity":"critical"}})";
  const std::string id = publish(event);
  ASSERT_TRUE(receiver.waitFor([](auto& reqs) { return reqs.size() >= 6; }, 60s));
  auto only = [&](const std::string& path) {
    auto got = receiver.requestsTo(path);
    EXPECT_EQ(got.size(), 1u) << path;
    return got.empty() ? bj::object() : bj::parse(got[0].body).as_object();
  };

  const auto slack = only("/slack");
  EXPECT_EQ(slack.at("channel").as_string(), "#ops");
  const auto& attachment = slack.at("attachments").at(0).as_object();
  EXPECT_EQ(attachment.at("color").as_string(), "#E01E5A");
  const auto& blocks = attachment.at("blocks").as_array();
  EXPECT_EQ(blocks.at(0).at("text").at("text").as_string(), "alert.fired");
  EXPECT_EQ(blocks.at(1).at("fields").at(1).at("text").as_string(),
            "*note*\n&lt;disk&gt; &amp; more");
  EXPECT_NE(bj::serialize(blocks.at(2)).find(id), std::string::npos);

  const auto teams = only("/teams");
  EXPECT_EQ(teams.at("type").as_string(), "message");
  const auto& card = teams.at("attachments").at(0).at("content");
  EXPECT_EQ(card.at("type").as_string(), "AdaptiveCard");
  EXPECT_EQ(card.at("body").at(0).at("style").as_string(), "attention");

  const auto discord = only("/discord");
  const auto& embed = discord.at("embeds").at(0);
  EXPECT_EQ(embed.at("title").as_string(), "alert.fired");
  EXPECT_EQ(embed.at("fields").as_array().size(), 3u);
  EXPECT_EQ(embed.at("footer").at("text").as_string(), id);
  EXPECT_TRUE(embed.at("timestamp").is_string());  // the router filled it in

  const auto telegram = only("/telegram");
  EXPECT_EQ(telegram.at("chat_id").as_int64(), -100777);
  EXPECT_EQ(telegram.at("parse_mode").as_string(), "HTML");
  EXPECT_NE(telegram.at("text").as_string().find("&lt;disk&gt; &amp; more"), bj::string::npos);

  const auto zapier = only("/zapier");
  EXPECT_EQ(zapier.at("id").as_string(), id);
  EXPECT_EQ(zapier.at("data").at("host").as_string(), "db-1");

  // The user's own body, rendered from the template compiled when it was subscribed.
  auto got = receiver.requestsTo("/template");
  ASSERT_EQ(got.size(), 1u);
  std::string want = R"({"host":"db-1","note":"<disk> & more","id":")";
  want += id;
  want += R"(","sev":"critical"})";
  EXPECT_EQ(got[0].body, want);
}

}  // namespace
}  // namespace hookpipe::testing
