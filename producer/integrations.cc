#include "producer/integrations.h"

#include <simdjson.h>

#include <algorithm>
#include <boost/json.hpp>

#include "common/format/formatter.h"
#include "common/json/body.h"

namespace hookpipe::producer {
namespace {

constexpr IntegrationField kSeverityField{
    "severity_field", "string", false, false,
    "a dotted path to the event's severity (colours the message); default data.severity, "
    "data.level, severity, level"};

IntegrationField webhookUrl(std::string_view description) {
  return {"webhook_url", "string", true, true, description};
}

const std::vector<Integration>& catalog() {
  static const std::vector<Integration> list = {
      {"slack",
       "slack",
       "Slack",
       "a message with Block Kit blocks to a Slack incoming webhook",
       {webhookUrl("the incoming webhook URL (https://hooks.slack.com/services/…)"),
        {"channel", "string", false, false, "a channel to post to instead of the webhook's own"},
        {"thread_ts", "string", false, false, "post as replies in the thread of this message"},
        kSeverityField}},
      {"teams",
       "teams",
       "Microsoft Teams",
       "an Adaptive Card to a Teams workflow webhook",
       {webhookUrl("the workflow's webhook URL (When a Teams webhook request is received)"),
        kSeverityField}},
      {"discord",
       "discord",
       "Discord",
       "a message with an embed to a Discord webhook",
       {webhookUrl("the webhook URL (https://discord.com/api/webhooks/…)"), kSeverityField}},
      {"telegram",
       "telegram",
       "Telegram",
       "a message from a bot to a chat (Bot API sendMessage)",
       {{"bot_token", "string", true, true, "the bot's token, from @BotFather"},
        {"chat_id", "string", true, false,
         "the chat's integer id (-1001234567890) or a public channel's @username"},
        {"message_thread_id", "integer", false, false, "a forum topic to post in"},
        {"disable_notification", "boolean", false, false, "send silently"},
        kSeverityField}},
      {"zapier",
       "zapier",
       "Zapier, Make, n8n",
       "the event JSON as it is to a catch hook",
       {webhookUrl("the catch hook's URL"),
        {"sign", "boolean", false, false,
         "send Standard Webhooks signature headers (default false: a catch hook verifies "
         "nothing)"}}},
      {"email",
       "email",
       "E-mail",
       "an e-mail with text and HTML parts, over SMTP (STARTTLS or implicit TLS)",
       {{"smtp_url", "string", true, false,
         "the SMTP server: smtp://host:587 (STARTTLS) or smtps://host:465"},
        {"from", "string", true, false, "the sender's address"},
        {"to", "string", true, false, "1 to 50 addresses, comma-separated"},
        {"subject", "string", false, false,
         "default [{{type}}] {{id}}; {{type}}, {{id}}, {{timestamp}}, {{severity}}, "
         "{{data.<path>}}"},
        {"username", "string", false, false, "SMTP AUTH user"},
        {"password", "string", false, true, "SMTP AUTH password"},
        {"require_tls", "boolean", false, false, "default true: STARTTLS or nothing"},
        kSeverityField}},
      {"template",
       "template",
       "Your own body",
       "a body of your own, rendered from a template over the event, to any endpoint",
       {{"url", "string", true, false, "the endpoint (http:// or https://)"},
        {"template", "string", true, false,
         "the body's template: {{data.order.id}} JSON-escaped, {{{data.order}}} as JSON, "
         "{{#data.items}}…{{/data.items}} sections (docs/integrations.md, Template)"}}},
  };
  return list;
}

// The Bot API endpoint of a token (the token is the credential in the path).
std::string telegramUrl(std::string_view token) {
  std::string url = "https://api.telegram.org/bot";
  url += token;
  url += "/sendMessage";
  return url;
}

// The field the subscription's url is made from.
std::string_view urlField(const Integration& integration) {
  if (integration.name == "telegram") return "bot_token";
  if (integration.name == "template") return "url";
  if (integration.name == "email") return "smtp_url";
  return "webhook_url";
}

bool isSet(const boost::json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v != nullptr && !v->is_null() && !(v->is_string() && v->as_string().empty());
}

std::string pointer(std::string_view name) {
  std::string p = "/";
  p += name;
  return p;
}

}  // namespace

std::vector<const Integration*> integrations() {
  std::vector<const Integration*> out;
  for (const auto& i : catalog())
    if (format::Registry::global().find(i.format)) out.push_back(&i);
  return out;
}

const Integration* findIntegration(std::string_view name) {
  for (const auto* i : integrations())
    if (i->name == name) return i;
  return nullptr;
}

const std::vector<IntegrationField>& commonIntegrationFields() {
  static const std::vector<IntegrationField> fields = {
      {"event_types", "array", true, false,
       "the event types to send, as for a subscription (\"order.*\", \"*\")"},
      {"name", "string", false, false, "a name for people"},
      {"description", "string", false, false, "what it is for"},
      {"tenant", "string", false, false, "send only this tenant's events"},
      {"filters", "object", false, false, "a payload filter, as for a subscription"},
      {"rate_limit", "object", false, false,
       "a rate limit below the platform's preset, as for a subscription"},
  };
  return fields;
}

Result<std::string> integrationSubscription(const Integration& integration, std::string_view body) {
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(body, ec);
  if (ec) return failWith({{"", "the body is not JSON: " + ec.message()}});
  if (!parsed.is_object()) return failWith({{"", "the body must be a JSON object"}});
  // Boost.JSON's parse keeps the last copy of a name given twice: refused before it counts.
  if (auto repeated = json::repeatedNamesIn(body); !repeated.empty())
    return failWith(std::move(repeated));
  const boost::json::object& in = parsed.as_object();
  std::vector<Problem> problems;
  auto known = [&](std::string_view key) {
    auto named = [&](const IntegrationField& f) { return f.name == key; };
    return std::ranges::any_of(integration.fields, named) ||
           std::ranges::any_of(commonIntegrationFields(), named);
  };
  for (const auto& [key, _] : in)
    if (!known(key)) {
      std::string list;
      for (const auto& f : integration.fields) {
        if (!list.empty()) list += ", ";
        list += f.name;
      }
      for (const auto& f : commonIntegrationFields()) {
        list += ", ";
        list += f.name;
      }
      problems.push_back({pointer(key), "unknown field " + std::string(key) + " for " +
                                            std::string(integration.name) + " (it takes " + list +
                                            ")"});
    }
  for (const auto* fields : {&integration.fields, &commonIntegrationFields()})
    for (const auto& f : *fields)
      if (f.required && !isSet(in, f.name))
        problems.push_back({pointer(f.name), std::string(f.name) + " is required for " +
                                                 std::string(integration.name) + ": " +
                                                 std::string(f.description)});
  const std::string_view url_field = urlField(integration);
  if (isSet(in, url_field) && !in.at(url_field).is_string())
    problems.push_back({pointer(url_field), std::string(url_field) + " must be a string"});
  if (!problems.empty()) return failWith(std::move(problems));

  // The subscription: the common fields as they are, the URL, the format and its options.
  boost::json::object sub;
  for (const auto& f : commonIntegrationFields())
    if (const auto* v = in.if_contains(f.name))
      sub[f.name == "event_types" ? "events" : f.name] = *v;
  const std::string_view given_url = in.at(url_field).as_string();
  sub["url"] = integration.name == "telegram" ? telegramUrl(given_url) : std::string(given_url);
  sub["format"] = integration.format;
  boost::json::object options;
  for (const auto& f : integration.fields)
    if (f.name != url_field)
      if (const auto* v = in.if_contains(f.name)) options[f.name] = *v;
  if (!options.empty()) sub["format_options"] = std::move(options);
  boost::json::object metadata;
  metadata["integration"] = integration.name;
  sub["metadata"] = std::move(metadata);
  return boost::json::serialize(sub);
}

std::string integrationPointer(const Integration& integration,
                               std::string_view subscription_pointer) {
  constexpr std::string_view kOptions = "/format_options/";
  if (subscription_pointer.starts_with(kOptions))
    return pointer(subscription_pointer.substr(kOptions.size()));
  if (subscription_pointer == "/url") return pointer(urlField(integration));
  if (subscription_pointer == "/events" || subscription_pointer.starts_with("/events/")) {
    std::string p = "/event_types";
    p += subscription_pointer.substr(7);
    return p;
  }
  return std::string(subscription_pointer);
}

const Integration* integrationOf(const Subscription& subscription) {
  for (const auto* i : integrations())
    if (i->format == subscription.format) return i;
  return nullptr;
}

std::string integrationJson(const Integration& integration, const Subscription& s) {
  boost::json::object o;
  o["id"] = s.id;
  o["integration"] = integration.name;
  o["name"] = s.name;
  o["description"] = s.description;
  boost::json::array types;
  for (const auto& e : s.events) types.emplace_back(e);
  o["event_types"] = std::move(types);
  if (!s.tenant.empty()) o["tenant"] = s.tenant;
  o["active"] = s.is_active;
  boost::json::object config;
  boost::json::array secrets;
  for (const auto& f : integration.fields) {
    if (f.secret) {
      // The URL (or token) is always set; an option when it is there.
      if (f.name == urlField(integration) || s.format_options.contains(f.name))
        secrets.emplace_back(f.name);
      continue;
    }
    auto it = s.format_options.find(f.name);
    if (it == s.format_options.end()) continue;
    switch (it->second.kind) {
      case format::Option::Kind::kString:
        config[f.name] = it->second.text;
        break;
      case format::Option::Kind::kBool:
        config[f.name] = it->second.text == "true";
        break;
      case format::Option::Kind::kNumber: {
        boost::system::error_code ec;
        auto v = boost::json::parse(it->second.text, ec);
        config[f.name] = ec ? boost::json::value(it->second.text) : v;
        break;
      }
    }
  }
  o["config"] = std::move(config);
  o["secrets_set"] = std::move(secrets);
  o["destination"] = shownUrl(s);
  o["created_at"] = s.created_at;
  return boost::json::serialize(o);
}

}  // namespace hookpipe::producer
