#include "common/format/zapier_formatter.h"

#include "common/json/event.h"

namespace hookpipe::format {

std::string ZapierFormatter::format(const json::Event& event, const Subscription&) const {
  return event.body;
}

std::vector<Problem> ZapierFormatter::validate(const Options& options) const {
  std::vector<Problem> problems = unknownOptions(options, "zapier", {"sign"});
  if (auto it = options.find("sign"); it != options.end() && it->second.kind != Option::Kind::kBool)
    problems.push_back({optionPointer("sign"), "sign must be true or false"});
  return problems;
}

}  // namespace hookpipe::format
