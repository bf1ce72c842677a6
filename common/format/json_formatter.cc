#include "common/format/json_formatter.h"

#include "common/json/event.h"

namespace hookpipe::format {

std::string JsonFormatter::format(const json::Event& event, const Subscription&) const {
  return event.body;
}

}  // namespace hookpipe::format
