#include "producer/operational_types.h"

#include <chrono>

#include "common/json/event.h"
#include "common/log/log.h"
#include "common/ops_events/catalog.h"

namespace hookpipe::producer {

int registerOperationalEventTypes(EventTypeTable& table, kafka::Producer& producer,
                                  const Config& config) {
  int written = 0;
  const std::string now = json::formatTimestamp(kafka::nowMs());
  for (const ops_events::CatalogEntry& entry : ops_events::catalog()) {
    const std::string name(entry.name);
    auto current = table.find(name);
    if (current && !current->archived && current->description == entry.description &&
        current->schema_json == entry.schema_json && current->example_json == entry.example_json)
      continue;
    EventType t{.name = name,
                .description = std::string(entry.description),
                .schema_json = std::string(entry.schema_json),
                .example_json = std::string(entry.example_json),
                .archived = false,
                .created_at = current ? current->created_at : now,
                .updated_at = now};
    std::string record = eventTypeJson(t);
    table.pin(name, record);
    auto acked = [&table, name, record, t](std::optional<Error> err) {
      if (!err) return table.putIfPinned(name, record, t);
      table.unpin(name, record);
      logger("producer")
          ->warn("could not register event type name={} error={}", name, err->message);
    };
    auto r = producer.produce(config.topics.eventTypes(), name, record, {}, acked);
    if (!r) {
      acked(r.error());
      continue;
    }
    ++written;
  }
  if (written == 0) return 0;
  // In the catalog before the API serves (the acknowledgements update the table); a broker
  // that does not acknowledge in time only delays them.
  if (!producer.flush(std::chrono::seconds(10)))
    logger("producer")->warn("operational event types not acknowledged yet count={}", written);
  logger("producer")->info("registered operational event types count={}", written);
  return written;
}

}  // namespace hookpipe::producer
