#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace hookpipe::json {

// Bounds on an event's `type` and `id` (bytes of UTF-8). Both also refuse control
// characters (U+0000-U+001F, U+007F-U+009F): they travel in Kafka headers, HTTP headers
// (the id in logs and webhook payloads) and log lines.
inline constexpr std::size_t kMaxTypeBytes = 256;
inline constexpr std::size_t kMaxIdBytes = 256;

// An event after validation: `body` is the JSON to store and deliver, with `id` and
// `timestamp` filled in when the publisher left them out.
struct Event {
  std::string id;
  std::string type;
  std::string body;
};

// Validates and completes events. Holds a reusable simdjson parser: one per thread.
// Refused: invalid JSON, not an object, over max_bytes or max_depth, a `type` that is not
// a non-empty string of at most kMaxTypeBytes without control characters, an `id` likewise
// (kMaxIdBytes), a `timestamp` that is not a string, and an object anywhere with a key
// twice. Numbers beyond int64/uint64/double are accepted (json::parseDocument).
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
