#include "common/format/discord_formatter.h"

#include <boost/json.hpp>

#include "common/format/chat.h"
#include "common/json/event.h"

namespace hookpipe::format {
namespace {

// Discord's palette.
int64_t colour(chat::Severity s) {
  switch (s) {
    case chat::Severity::kError:
      return 0xED4245;
    case chat::Severity::kWarning:
      return 0xFAA61A;
    case chat::Severity::kInfo:
      return 0x5865F2;
    case chat::Severity::kOk:
      return 0x57F287;
    case chat::Severity::kNone:
      break;
  }
  return 0x99AAB5;
}

// Discord refuses an embed whose timestamp is not ISO 8601: only pass one that has the
// shape of RFC 3339 ("2026-01-09T15:30:00Z", fractions and offsets allowed).
bool iso8601(std::string_view t) {
  if (t.size() < 20 || t.size() > 40) return false;
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    if (kShape[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != kShape[i]) return false;
  }
  return t.back() == 'Z' || t[t.size() - 6] == '+' || t[t.size() - 6] == '-';
}

}  // namespace

std::string DiscordFormatter::format(const json::Event& event, const Subscription&) const {
  const chat::View view = chat::read(event, options_);
  boost::json::object embed;
  std::string title = chat::clip(view.type, kMaxTitle);
  std::string footer = chat::clip(view.id, kMaxFooter);
  std::size_t total = chat::units(title) + chat::units(footer);
  embed["title"] = title;
  std::string description;
  if (!view.has_data) description = "*no data*";
  if (!view.severity_text.empty()) {
    description = "**severity** ";
    description += chat::clip(view.severity_text, 256);
  }
  if (!description.empty()) {
    description = chat::clip(description, kMaxDescription);
    total += chat::units(description);
    embed["description"] = description;
  }
  embed["color"] = colour(view.severity);
  if (iso8601(view.timestamp)) embed["timestamp"] = view.timestamp;

  // Fields while the embed stays within its total, keeping room for a last one that
  // counts what is left out ("…" / "N more fields", at most 20 units).
  constexpr std::size_t kOverflowUnits = 20;
  boost::json::array fields;
  std::size_t shown = 0;
  for (const auto& field : view.fields) {
    if (shown == kMaxFields - 1 && view.fields.size() > kMaxFields) break;
    std::string name =
        field.name.empty() ? std::string("(empty)") : chat::clip(field.name, kMaxFieldName);
    std::string value =
        field.value.empty() ? std::string("(empty)") : chat::clip(field.value, kMaxFieldValue);
    const std::size_t n = chat::units(name) + chat::units(value);
    const bool last = shown + 1 == view.fields.size();
    if (total + n + (last ? 0 : kOverflowUnits) > kMaxEmbedTotal) break;
    total += n;
    const bool inline_field = !field.nested && chat::units(value) <= 40;
    fields.push_back({{"name", name}, {"value", value}, {"inline", inline_field}});
    ++shown;
  }
  if (shown < view.fields.size())
    fields.push_back({{"name", "\u2026"},
                      {"value", chat::moreFields(view.fields.size() - shown)},
                      {"inline", false}});
  if (!fields.empty()) embed["fields"] = std::move(fields);
  embed["footer"] = {{"text", footer}};

  boost::json::object message;
  std::string content = "**";
  content += chat::clip(view.type, 256);
  content += "**";
  if (!view.severity_text.empty()) {
    content += " (";
    content += chat::clip(view.severity_text, 64);
    content += ")";
  }
  message["content"] = chat::clip(content, kMaxContent);
  message["embeds"] = boost::json::array{std::move(embed)};
  message["allowed_mentions"] = {{"parse", boost::json::array()}};
  return boost::json::serialize(message);
}

std::vector<Problem> DiscordFormatter::validate(const Options& options) const {
  return chat::checkOptions(options, "discord", {chat::kSeverityField});
}

}  // namespace hookpipe::format
