#pragma once

#include "common/kafka/kafka.h"
#include "producer/event_type.h"

namespace hookpipe::producer {

// Writes the hookpipe.* operational event types (common/ops_events/catalog.h) to the
// event-type catalog where the loaded catalog lacks them or holds them otherwise (another
// version's schemas, an archived or edited copy). Called once at start, after the catalog
// was loaded and before the API serves; the writes are pinned like the API's, and it waits
// (up to 10 s) for their acknowledgements, which put them in `table`. Idempotent: a process that
// finds them as they should be writes nothing, and processes starting together write the same
// entries (the compacted topic keeps one). Returns how many it wrote.
int registerOperationalEventTypes(EventTypeTable& table, kafka::Producer& producer,
                                  const Config& config);

}  // namespace hookpipe::producer
