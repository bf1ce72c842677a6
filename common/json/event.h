#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace hookpipe::json {

// Parses `text` with `parser` and returns its top-level object, or a clear error ("body is
// not valid JSON: …" / "body must be a JSON object"). The object lives as long as `parser`
// is not reused.
Result<simdjson::dom::object> parseObject(simdjson::dom::parser& parser, std::string_view text);

// An event after validation: `body` is the JSON to store and deliver, with `id` and
// `timestamp` filled in when the publisher left them out.
struct Event {
  std::string id;
  std::string type;
  std::string body;
};

// Validates and completes events. Holds a reusable simdjson parser: one per thread.
class EventParser {
 public:
  explicit EventParser(std::size_t max_bytes, std::size_t max_depth = 64);
  // A failed result carries the reason the event is invalid (never retryable).
  // `fallback_id` names an event without an id (a random one when empty); the router
  // derives it from the record's position so that routing it again gives the same id.
  Result<Event> parse(std::string_view text, int64_t now_ms, std::string_view fallback_id = {});

 private:
  std::size_t max_bytes_;
  simdjson::dom::parser parser_;
};

// "evt_" + 24 random base62 characters.
std::string newEventId();
// RFC 3339 UTC with seconds precision, e.g. "2026-01-09T15:30:00Z".
std::string formatTimestamp(int64_t epoch_ms);

}  // namespace hookpipe::json
