#pragma once
// What the format tests share: the events of the golden set and subscriptions per format.
#include <string>
#include <vector>

#include "common/json/event.h"
#include "common/subscriptions/subscription.h"

namespace hookpipe::format::testing {

struct Case {
  std::string name;
  json::Event event;
};

// The golden set: a plain event with a severity, unicode and markup, very long text, many
// fields, nested data, missing fields (no timestamp, no severity), no data, null and
// scalar data.
std::vector<Case> goldenCases();
// The template the golden files of format "template" use.
std::string goldenTemplate();
// A client's subscription with `format` and the options the golden files use.
Subscription subscriptionFor(const std::string& format);
// The body `format` makes of `event` for `sub` (the registry's formatter when the
// subscription keeps none: json, zapier).
std::string render(const Subscription& sub, const json::Event& event);

}  // namespace hookpipe::format::testing
