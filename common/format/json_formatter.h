#pragma once

#include "common/format/formatter.h"

namespace hookpipe::format {

// "json", the default: the event JSON as it is (ids and timestamp filled in by the router).
class JsonFormatter final : public Formatter {
 public:
  std::string format(const json::Event& event, const Subscription& subscription) const override;
  bool passesEventThrough() const override { return true; }
};

}  // namespace hookpipe::format
