#include "common/format/zapier_formatter.h"

#include "common/json/event.h"

namespace hookpipe::format {

std::string ZapierFormatter::format(const json::Event& event, const Subscription&) const {
  return event.body;
}

}  // namespace hookpipe::format
