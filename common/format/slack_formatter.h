#pragma once

#include <utility>

#include "common/format/formatter.h"

namespace hookpipe::format {

// "slack": an incoming-webhook message. Block Kit blocks in one attachment whose colour
// is the event's severity: a header (the event type), sections of fields (the top-level
// data fields, 10 a section), a context line (type, id, time, severity). Slack's limits
// are kept by cutting visibly (…): header 150, section text 3000, a field 2000, 10 fields
// a section, 50 blocks. Options: channel, thread_ts (reply in a thread), severity_field.
class SlackFormatter final : public Formatter {
 public:
  explicit SlackFormatter(Options options = {}) : options_(std::move(options)) {}
  std::string format(const json::Event& event, const Subscription& subscription) const override;
  bool urlIsCredential() const override { return true; }
  std::vector<Problem> validate(const Options& options) const override;
  std::shared_ptr<const Formatter> withOptions(const Options& options) const override {
    return std::make_shared<SlackFormatter>(options);
  }

  static constexpr std::size_t kMaxHeader = 150;
  static constexpr std::size_t kMaxSectionText = 3000;
  static constexpr std::size_t kMaxFieldText = 2000;
  static constexpr std::size_t kMaxFieldsPerSection = 10;
  static constexpr std::size_t kMaxBlocks = 50;

 private:
  Options options_;
};

}  // namespace hookpipe::format
