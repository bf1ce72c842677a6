// The built-in formats: one line per format.
#include "common/format/discord_formatter.h"
#include "common/format/email_formatter.h"
#include "common/format/formatter.h"
#include "common/format/json_formatter.h"
#include "common/format/slack_formatter.h"
#include "common/format/teams_formatter.h"
#include "common/format/telegram_formatter.h"
#include "common/format/template_formatter.h"
#include "common/format/zapier_formatter.h"

namespace hookpipe::format {

void registerBuiltins(Registry& registry) {
  registry.add(std::string(kJson), std::make_shared<JsonFormatter>());
  registry.add("slack", std::make_shared<SlackFormatter>());
  registry.add("teams", std::make_shared<TeamsFormatter>());
  registry.add("discord", std::make_shared<DiscordFormatter>());
  registry.add("telegram", std::make_shared<TelegramFormatter>());
  registry.add("zapier", std::make_shared<ZapierFormatter>());
  registry.add("template", std::make_shared<TemplateFormatter>());
  registry.add("email", std::make_shared<EmailFormatter>());
}

}  // namespace hookpipe::format
