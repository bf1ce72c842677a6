#pragma once

#include <span>
#include <string_view>

namespace hookpipe::ops_events {

// The hookpipe.* types as the event-type catalog lists them: a description, a JSON Schema
// of the event's `data` and an example `data` (minified JSON). The producer writes them to
// the catalog at start when absent or different (producer/operational_types.cc).
struct CatalogEntry {
  std::string_view name;
  std::string_view description;
  std::string_view schema_json;
  std::string_view example_json;
};
std::span<const CatalogEntry> catalog();

}  // namespace hookpipe::ops_events
