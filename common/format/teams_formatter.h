#pragma once

#include <utility>

#include "common/format/formatter.h"

namespace hookpipe::format {

// "teams": an Adaptive Card 1.4 in the message envelope Teams workflow webhooks
// ("Post to a channel when a webhook request is received") accept:
// {"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",
// "content":{AdaptiveCard}}]}. The card: a container styled by severity with the event
// type, a FactSet of the top-level data fields, a subtle line with id and time. Teams caps
// a message at about 28 KB: facts past kMaxBytes are left out and counted in a last fact.
// Options: severity_field.
class TeamsFormatter final : public Formatter {
 public:
  explicit TeamsFormatter(Options options = {}) : options_(std::move(options)) {}
  std::string format(const json::Event& event, const Subscription& subscription) const override;
  bool urlIsCredential() const override { return true; }
  std::vector<Problem> validate(const Options& options) const override;
  std::shared_ptr<const Formatter> withOptions(const Options& options) const override {
    return std::make_shared<TeamsFormatter>(options);
  }

  static constexpr std::size_t kMaxBytes = 27 * 1024;  // the body, under Teams' 28 KB
  static constexpr std::size_t kMaxTitle = 256;
  static constexpr std::size_t kMaxFactTitle = 256;
  static constexpr std::size_t kMaxFactValue = 2000;
  static constexpr std::size_t kMaxFacts = 100;

 private:
  Options options_;
};

}  // namespace hookpipe::format
