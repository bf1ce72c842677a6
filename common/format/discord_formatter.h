#pragma once

#include <utility>

#include "common/format/formatter.h"

namespace hookpipe::format {

// "discord": a webhook message, `content` (one summary line) plus one embed: the event
// type as title, the top-level data fields as fields, the colour of the event's severity,
// its timestamp, the id in the footer. Discord's limits are kept by cutting visibly (…):
// title 256, description 4096, 25 fields (name 256, value 1024), 6000 characters over the
// whole embed. `allowed_mentions` is empty so that no event text can ping @everyone.
// Options: severity_field.
class DiscordFormatter final : public Formatter {
 public:
  explicit DiscordFormatter(Options options = {}) : options_(std::move(options)) {}
  std::string format(const json::Event& event, const Subscription& subscription) const override;
  bool urlIsCredential() const override { return true; }
  std::vector<Problem> validate(const Options& options) const override;
  std::shared_ptr<const Formatter> withOptions(const Options& options) const override {
    return std::make_shared<DiscordFormatter>(options);
  }

  static constexpr std::size_t kMaxContent = 2000;
  static constexpr std::size_t kMaxTitle = 256;
  static constexpr std::size_t kMaxDescription = 4096;
  static constexpr std::size_t kMaxFields = 25;
  static constexpr std::size_t kMaxFieldName = 256;
  static constexpr std::size_t kMaxFieldValue = 1024;
  static constexpr std::size_t kMaxFooter = 2048;
  static constexpr std::size_t kMaxEmbedTotal = 6000;

 private:
  Options options_;
};

}  // namespace hookpipe::format
