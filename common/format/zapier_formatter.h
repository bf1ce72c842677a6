#pragma once

#include "common/format/formatter.h"

namespace hookpipe::format {

// "zapier" (and Make, n8n, any "catch hook"): the event JSON as it is, like "json". A
// name of its own so that it can differ from raw JSON later (sent without Standard
// Webhooks signing unless asked: not done yet, it is signed like json today).
class ZapierFormatter final : public Formatter {
 public:
  std::string format(const json::Event& event, const Subscription& subscription) const override;
  bool urlIsCredential() const override { return true; }
  bool passesEventThrough() const override { return true; }
  // One option: "sign" (boolean, default false) — Standard Webhooks headers when true.
  std::vector<Problem> validate(const Options& options) const override;
};

}  // namespace hookpipe::format
