// The built-in formats: one line per format.
#include "common/format/formatter.h"
#include "common/format/json_formatter.h"

namespace hookpipe::format {

void registerBuiltins(Registry& registry) {
  registry.add(std::string(kJson), std::make_shared<JsonFormatter>());
}

}  // namespace hookpipe::format
