#include "common/format/teams_formatter.h"

#include <boost/json.hpp>

#include "common/format/chat.h"
#include "common/json/event.h"

namespace hookpipe::format {
namespace {

// Adaptive Card container styles (1.4: default, emphasis, good, attention, warning, accent).
std::string_view style(chat::Severity s) {
  switch (s) {
    case chat::Severity::kError:
      return "attention";
    case chat::Severity::kWarning:
      return "warning";
    case chat::Severity::kInfo:
      return "accent";
    case chat::Severity::kOk:
      return "good";
    case chat::Severity::kNone:
      break;
  }
  return "emphasis";
}

boost::json::object textBlock(std::string text) {
  return {{"type", "TextBlock"}, {"text", std::move(text)}, {"wrap", true}};
}

}  // namespace

std::string TeamsFormatter::format(const json::Event& event, const Subscription&) const {
  const chat::View view = chat::read(event, options_);
  boost::json::array heading;
  auto title = textBlock(chat::clip(view.type, kMaxTitle));
  title["weight"] = "Bolder";
  title["size"] = "Large";
  heading.push_back(std::move(title));
  if (!view.severity_text.empty()) {
    auto severity = textBlock(chat::clip(view.severity_text, kMaxTitle));
    severity["spacing"] = "None";
    severity["isSubtle"] = true;
    heading.push_back(std::move(severity));
  }
  boost::json::array body;
  body.push_back({{"type", "Container"},
                  {"style", style(view.severity)},
                  {"bleed", true},
                  {"items", std::move(heading)}});

  std::string footer = view.id;
  if (!view.timestamp.empty()) {
    footer += " \u00b7 ";
    footer += view.timestamp;
  }
  auto context = textBlock(chat::clip(footer, 1000));
  context["isSubtle"] = true;
  context["size"] = "Small";

  boost::json::object card{{"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
                           {"type", "AdaptiveCard"},
                           {"version", "1.4"}};
  card["msteams"] = {{"width", "Full"}};
  boost::json::object envelope{{"type", "message"}};
  // The card without facts, to know what the facts may take.
  const std::size_t base = boost::json::serialize(card).size() +
                           boost::json::serialize(body).size() +
                           boost::json::serialize(context).size() + 200;
  boost::json::array facts;
  std::size_t used = base;
  std::size_t shown = 0;
  constexpr std::size_t kOverflowBytes = 80;  // the last fact counting what is left out
  for (const auto& field : view.fields) {
    if (shown == kMaxFacts - 1 && view.fields.size() > kMaxFacts) break;
    boost::json::object fact{
        {"title", chat::clip(field.name, kMaxFactTitle)},
        {"value",
         field.value.empty() ? std::string("(empty)") : chat::clip(field.value, kMaxFactValue)}};
    const std::size_t size = boost::json::serialize(fact).size() + 1;
    if (used + size + kOverflowBytes > kMaxBytes) break;
    used += size;
    facts.push_back(std::move(fact));
    ++shown;
  }
  if (shown < view.fields.size())
    facts.push_back({{"title", "\u2026"}, {"value", chat::moreFields(view.fields.size() - shown)}});
  if (!facts.empty()) {
    body.push_back({{"type", "FactSet"}, {"facts", std::move(facts)}});
  } else if (!view.has_data) {
    auto none = textBlock("no data");
    none["isSubtle"] = true;
    body.push_back(std::move(none));
  }
  body.push_back(std::move(context));
  card["body"] = std::move(body);
  envelope["attachments"] = boost::json::array{
      {{"contentType", "application/vnd.microsoft.card.adaptive"}, {"content", std::move(card)}}};
  return boost::json::serialize(envelope);
}

std::vector<Problem> TeamsFormatter::validate(const Options& options) const {
  return chat::checkOptions(options, "teams", {chat::kSeverityField});
}

}  // namespace hookpipe::format
