#include "common/format/slack_formatter.h"

#include <boost/json.hpp>

#include "common/format/chat.h"
#include "common/json/event.h"

namespace hookpipe::format {
namespace {

// Slack's brand colours for the attachment bar.
std::string_view colour(chat::Severity s) {
  switch (s) {
    case chat::Severity::kError:
      return "#E01E5A";
    case chat::Severity::kWarning:
      return "#ECB22E";
    case chat::Severity::kInfo:
      return "#36C5F0";
    case chat::Severity::kOk:
      return "#2EB67D";
    case chat::Severity::kNone:
      break;
  }
  return "#9E9E9E";
}

boost::json::object mrkdwn(std::string text) {
  return {{"type", "mrkdwn"}, {"text", std::move(text)}};
}

// "*name*\nvalue", escaped, at most kMaxFieldText.
std::string fieldText(const chat::Field& field) {
  std::string out = "*";
  out += field.name.empty() ? std::string("(empty)") : chat::clipEscaped(field.name, 200);
  out += "*\n";
  const std::size_t left = SlackFormatter::kMaxFieldText - chat::units(out);
  if (field.nested) {
    // A code span would end at a backtick in the value: show JSON as plain text.
    out += chat::clipEscaped(field.value, left);
  } else if (field.value.empty()) {
    out += "_(empty)_";
  } else {
    out += chat::clipEscaped(field.value, left);
  }
  return out;
}

bool tsShaped(std::string_view ts) {
  const auto dot = ts.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == ts.size() || ts.size() > 32)
    return false;
  for (std::size_t i = 0; i < ts.size(); ++i)
    if (i != dot && (ts[i] < '0' || ts[i] > '9')) return false;
  return true;
}

}  // namespace

std::string SlackFormatter::format(const json::Event& event, const Subscription&) const {
  const chat::View view = chat::read(event, options_);
  boost::json::array blocks;
  blocks.push_back(
      {{"type", "header"},
       {"text",
        {{"type", "plain_text"}, {"text", chat::clip(view.type, kMaxHeader)}, {"emoji", false}}}});
  // Room for sections between the header and the context line.
  const std::size_t max_sections = kMaxBlocks - 2;
  const std::size_t max_fields = max_sections * kMaxFieldsPerSection;
  const std::size_t shown = view.fields.size() <= max_fields ? view.fields.size() : max_fields - 1;
  boost::json::array fields;
  auto flush = [&] {
    if (fields.empty()) return;
    blocks.push_back({{"type", "section"}, {"fields", std::move(fields)}});
    fields = boost::json::array();
  };
  for (std::size_t i = 0; i < shown; ++i) {
    fields.push_back(mrkdwn(fieldText(view.fields[i])));
    if (fields.size() == kMaxFieldsPerSection) flush();
  }
  if (shown < view.fields.size()) {
    std::string more = "_\u2026 and ";
    more += chat::moreFields(view.fields.size() - shown);
    more += '_';
    fields.push_back(mrkdwn(std::move(more)));
  }
  flush();
  if (!view.has_data) blocks.push_back({{"type", "section"}, {"text", mrkdwn("_no data_")}});

  std::string context = "*type* ";
  context += chat::clipEscaped(view.type, 300);
  context += "  |  *id* ";
  context += chat::clipEscaped(view.id, 300);
  if (!view.timestamp.empty()) {
    context += "  |  *time* ";
    context += chat::clipEscaped(view.timestamp, 64);
  }
  if (!view.severity_text.empty()) {
    context += "  |  *severity* ";
    context += chat::clipEscaped(view.severity_text, 200);
  }
  blocks.push_back(
      {{"type", "context"}, {"elements", boost::json::array{mrkdwn(chat::clip(context, 3000))}}});

  boost::json::object message;
  // The notification and screen-reader text; blocks are what the channel shows.
  std::string fallback = view.type;
  if (!view.severity_text.empty()) {
    fallback += " (";
    fallback += view.severity_text;
    fallback += ")";
  }
  fallback += " ";
  fallback += view.id;
  message["text"] = chat::clipEscaped(fallback, kMaxSectionText);
  if (auto channel = chat::option(options_, "channel"); !channel.empty())
    message["channel"] = channel;
  if (auto ts = chat::option(options_, "thread_ts"); !ts.empty()) message["thread_ts"] = ts;
  boost::json::object attachment;
  attachment["color"] = colour(view.severity);
  attachment["blocks"] = std::move(blocks);
  message["attachments"] = boost::json::array{std::move(attachment)};
  return boost::json::serialize(message);
}

std::vector<Problem> SlackFormatter::validate(const Options& options) const {
  auto problems =
      chat::checkOptions(options, "slack", {"channel", "thread_ts", chat::kSeverityField});
  if (auto it = options.find("channel"); it != options.end()) {
    const std::string& c = it->second.text;
    if (it->second.kind != Option::Kind::kString || c.empty() || c.size() > 80 ||
        c.find_first_of(" \t\r\n,") != std::string::npos)
      problems.push_back({optionPointer("channel"),
                          "channel must be a channel name or id such as \"#alerts\" or "
                          "\"C0123456789\" (1..80 characters, no spaces or commas)"});
  }
  if (auto it = options.find("thread_ts"); it != options.end())
    if (it->second.kind != Option::Kind::kString || !tsShaped(it->second.text))
      problems.push_back({optionPointer("thread_ts"),
                          "thread_ts must be the ts of the thread's parent message as a string, "
                          "such as \"1700000000.123456\""});
  return problems;
}

}  // namespace hookpipe::format
