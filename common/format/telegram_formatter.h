#pragma once

#include <utility>

#include "common/format/formatter.h"

namespace hookpipe::format {

// "telegram": a Bot API sendMessage body (POST it to
// https://api.telegram.org/bot<token>/sendMessage) with parse_mode HTML: the text is
// escaped (& < >) and marked up with <b>, <code> and <i>. The text holds the event type
// (an emoji for its severity), one line per top-level data field and a line with id and
// time, at most 4096 characters after entity parsing (cut visibly: …; a value at most
// 1024). Options: chat_id
// (required: an integer id or "@channelusername"), message_thread_id,
// disable_notification, severity_field.
class TelegramFormatter final : public Formatter {
 public:
  explicit TelegramFormatter(Options options = {}) : options_(std::move(options)) {}
  std::string format(const json::Event& event, const Subscription& subscription) const override;
  bool urlIsCredential() const override { return true; }
  std::vector<Problem> validate(const Options& options) const override;
  std::shared_ptr<const Formatter> withOptions(const Options& options) const override {
    return std::make_shared<TelegramFormatter>(options);
  }

  static constexpr std::size_t kMaxText = 4096;
  // One field's value at most, so that one long value leaves room for the others.
  static constexpr std::size_t kMaxValue = 1024;

 private:
  Options options_;
};

}  // namespace hookpipe::format
