#pragma once

#include <string>
#include <string_view>

#include "common/config/config.h"
#include "common/error.h"
#include "common/table/record_table.h"
#include "common/table/topic_mirror.h"

namespace hookpipe::producer {

// An entry of the event-type catalog (`/v1/event-types`), stored on the compacted
// `event-types` topic keyed by name. The catalog documents what publishers send; it does
// not gate ingest (an event of an unknown or archived type is still accepted).
struct EventType {
  std::string name;          // "order.created"
  std::string description;   // free text
  std::string schema_json;   // a JSON Schema object, minified as given; "" for none
  std::string example_json;  // an example payload (any JSON), minified; "" for none
  bool archived = false;     // hidden from the list unless asked for
  std::string created_at;
  std::string updated_at;
};

inline constexpr std::size_t kMaxEventTypeNameLength = 128;
inline constexpr std::size_t kMaxEventTypeDescriptionLength = 4096;

// Empty when `name` is a valid event type name, else what is wrong with it: 1..128
// characters, dot-separated non-empty segments of letters, digits, '_' and '-'
// ("order.created", "invoice.payment_failed"; no "*" — patterns belong to subscriptions).
std::string eventTypeNameProblem(std::string_view name);

// Parses an event type. `strict` (API input): unknown fields are problems, the name
// is checked and a name given twice in one object (the schema's too) is refused; otherwise (records
// read from the topic) unknown fields are ignored so that older processes read what newer ones
// wrote. On failure the error lists every problem at its pointer ("/name", "/schema", …; "" when
// the body is not a JSON object).
Result<EventType> parseEventType(std::string_view json, bool strict);

// The stored and served form; `schema` and `example` are spliced in as stored.
std::string eventTypeJson(const EventType& t);

using EventTypeTable = RecordTable<EventType>;

// Materialises the event-types topic into a table (see TopicMirror).
class EventTypeSync : public TopicMirror {
 public:
  EventTypeSync(const Config& config, EventTypeTable& table);
};

}  // namespace hookpipe::producer
