#include "common/format/telegram_formatter.h"

#include <boost/json.hpp>

#include "common/format/chat.h"
#include "common/json/event.h"
#include "common/text/number.h"

namespace hookpipe::format {
namespace {

std::string_view emoji(chat::Severity s) {
  switch (s) {
    case chat::Severity::kError:
      return "\U0001F534 ";  // red circle
    case chat::Severity::kWarning:
      return "\U0001F7E0 ";  // orange circle
    case chat::Severity::kInfo:
      return "\U0001F535 ";  // blue circle
    case chat::Severity::kOk:
      return "\U0001F7E2 ";  // green circle
    case chat::Severity::kNone:
      break;
  }
  return {};
}

// The text is built from pieces whose visible length (what Telegram counts, after entity
// parsing) is tracked apart from their markup.
class Text {
 public:
  explicit Text(std::size_t budget) : left_(budget) {}
  std::size_t left() const { return left_; }
  // Appends `raw` (escaped) inside `tag` ("b", "code", "i" or none), cut to `max` visible.
  void add(std::string_view raw, std::string_view tag = {}, std::size_t max = SIZE_MAX) {
    std::string cut = chat::clip(raw, std::min(max, left_));
    left_ -= chat::units(cut);
    if (cut.empty()) return;  // no empty <b></b>
    if (!tag.empty()) {
      out_ += '<';
      out_ += tag;
      out_ += '>';
    }
    out_ += chat::escapeHtml(cut);
    if (!tag.empty()) {
      out_ += "</";
      out_ += tag;
      out_ += '>';
    }
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::size_t left_;
};

// Telegram's chat ids: an integer (negative for groups and channels) or "@username"
// (5..32 of A-Z a-z 0-9 _).
bool chatIdShaped(const Option& o) {
  if (o.kind == Option::Kind::kBool) return false;
  if (text::parseInteger<int64_t>(o.text)) return true;
  if (o.kind != Option::Kind::kString || !o.text.starts_with('@')) return false;
  const std::string_view name = std::string_view(o.text).substr(1);
  if (name.size() < 5 || name.size() > 32) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

}  // namespace

std::string TelegramFormatter::format(const json::Event& event, const Subscription&) const {
  const chat::View view = chat::read(event, options_);
  // The id line goes last but its room is kept first.
  std::string footer = view.id;
  if (!view.timestamp.empty()) {
    footer += " \u00b7 ";
    footer += view.timestamp;
  }
  footer = chat::clip(footer, 600);
  Text text(kMaxText - chat::units(footer) - 2);
  text.add(emoji(view.severity));
  text.add(view.type, "b", 300);
  if (!view.severity_text.empty()) {
    text.add(" (");
    text.add(view.severity_text, {}, 64);
    text.add(")");
  }
  text.add("\n");
  if (!view.has_data) {
    text.add("\n");
    text.add("no data", "i");
  }
  constexpr std::size_t kOverflowUnits = 24;  // "\n… and N more fields"
  std::size_t shown = 0;
  for (const auto& field : view.fields) {
    // A line: "\n" name ": " value; at least the name and a little of the value.
    const std::size_t name_units = std::min<std::size_t>(chat::units(field.name), 200);
    if (text.left() < name_units + 3 + 16 + kOverflowUnits) break;
    text.add("\n");
    text.add(field.name, "b", 200);
    text.add(": ");
    const bool last = shown + 1 == view.fields.size();
    const std::size_t room = std::min(kMaxValue, text.left() - (last ? 0 : kOverflowUnits));
    if (field.value.empty())
      text.add("(empty)", "i");
    else if (field.nested)
      text.add(field.value, "code", room);
    else
      text.add(field.value, {}, room);
    ++shown;
  }
  if (shown < view.fields.size()) {
    std::string more = "\u2026 and ";
    more += chat::moreFields(view.fields.size() - shown);
    text.add("\n");
    text.add(more, "i");
  }
  std::string out = text.take();
  out += "\n\n<i>";
  out += chat::escapeHtml(footer);
  out += "</i>";

  boost::json::object message;
  if (auto it = options_.find("chat_id"); it != options_.end()) {
    if (auto n = text::parseInteger<int64_t>(it->second.text))
      message["chat_id"] = *n;
    else
      message["chat_id"] = it->second.text;
  }
  if (auto it = options_.find("message_thread_id"); it != options_.end())
    if (auto n = text::parseInteger<int64_t>(it->second.text)) message["message_thread_id"] = *n;
  message["text"] = out;
  message["parse_mode"] = "HTML";
  message["link_preview_options"] = {{"is_disabled", true}};
  if (chat::option(options_, "disable_notification") == "true")
    message["disable_notification"] = true;
  return boost::json::serialize(message);
}

std::vector<Problem> TelegramFormatter::validate(const Options& options) const {
  auto problems = chat::checkOptions(
      options, "telegram",
      {"chat_id", "message_thread_id", "disable_notification", chat::kSeverityField});
  if (auto it = options.find("chat_id"); it == options.end())
    problems.push_back({optionPointer("chat_id"),
                        "chat_id is required for telegram: the chat's integer id (such as "
                        "-1001234567890) or \"@channelusername\""});
  else if (!chatIdShaped(it->second))
    problems.push_back({optionPointer("chat_id"),
                        "chat_id must be an integer id (such as -1001234567890) or "
                        "\"@channelusername\" (5..32 letters, digits or _)"});
  if (auto it = options.find("message_thread_id"); it != options.end())
    if (it->second.kind != Option::Kind::kNumber ||
        !text::parseInteger<int64_t>(it->second.text, 1, INT64_MAX))
      problems.push_back({optionPointer("message_thread_id"),
                          "message_thread_id must be a positive integer (a forum topic's id)"});
  if (auto it = options.find("disable_notification"); it != options.end())
    if (it->second.kind != Option::Kind::kBool)
      problems.push_back(
          {optionPointer("disable_notification"), "disable_notification must be a boolean"});
  return problems;
}

}  // namespace hookpipe::format
