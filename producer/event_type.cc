#include "producer/event_type.h"

#include <simdjson.h>

#include <boost/json.hpp>

#include "common/json/body.h"
#include "common/json/pointer.h"

namespace hookpipe::producer {
namespace {

bool segmentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

std::string jsonString(std::string_view s) {
  return boost::json::serialize(boost::json::string(s));
}

}  // namespace

std::string eventTypeNameProblem(std::string_view name) {
  if (name.empty()) return "name is required (e.g. \"order.created\")";
  if (name.size() > kMaxEventTypeNameLength)
    return "name must be at most " + std::to_string(kMaxEventTypeNameLength) + " characters";
  bool segment_empty = true;
  for (char c : name) {
    if (c == '.') {
      if (segment_empty) break;
      segment_empty = true;
    } else if (segmentChar(c)) {
      segment_empty = false;
    } else {
      return "name may only hold letters, digits, '_', '-' and '.' (e.g. \"order.created\")";
    }
  }
  if (segment_empty)
    return "name must be dot-separated non-empty segments (e.g. \"order.created\")";
  return {};
}

Result<EventType> parseEventType(std::string_view json, bool strict) {
  simdjson::dom::parser parser;
  auto parsed = json::parseObject(parser, json);
  if (!parsed) return std::unexpected(parsed.error());
  simdjson::dom::object obj = *parsed;

  EventType t;
  std::vector<Problem> problems;
  for (auto [key, value] : obj) {
    const std::string field(key);
    const auto problem = [&](std::string message) {
      std::string pointer(1, '/');
      pointer += json::pointerToken(field);
      problems.push_back({std::move(pointer), std::move(message)});
    };
    const auto text = [&](std::string& out, std::size_t max) {
      std::string_view v;
      if (value.is_null()) return;
      if (value.get_string().get(v))
        problem(field + " must be a string");
      else if (v.size() > max)
        problem(field + " must be at most " + std::to_string(max) + " characters");
      else
        out = std::string(v);
    };
    if (key == "name") {
      text(t.name, SIZE_MAX);
    } else if (key == "description") {
      text(t.description, kMaxEventTypeDescriptionLength);
    } else if (key == "created_at") {
      text(t.created_at, 64);
    } else if (key == "updated_at") {
      text(t.updated_at, 64);
    } else if (key == "schema") {
      if (value.is_null()) continue;
      if (!value.is_object())
        problem("schema must be a JSON object (a JSON Schema), or null for none");
      else
        t.schema_json = simdjson::minify(value);
    } else if (key == "example") {
      if (!value.is_null()) t.example_json = simdjson::minify(value);
    } else if (key == "archived") {
      bool b = false;
      if (value.get_bool().get(b))
        problem("archived must be a boolean");
      else
        t.archived = b;
    } else if (strict) {
      problem(field + ": unknown field (expected name, description, schema, example, archived)");
    }
  }
  if (strict) {
    if (auto p = eventTypeNameProblem(t.name); !p.empty())
      problems.insert(problems.begin(), Problem{"/name", std::move(p)});
    for (auto& p : json::repeatedNames(obj)) problems.push_back(std::move(p));
  }
  if (!problems.empty()) return failWith(std::move(problems));
  return t;
}

std::string eventTypeJson(const EventType& t) {
  std::string out =
      "{\"name\":" + jsonString(t.name) + ",\"description\":" + jsonString(t.description);
  out += ",\"schema\":" + (t.schema_json.empty() ? std::string("null") : t.schema_json);
  out += ",\"example\":" + (t.example_json.empty() ? std::string("null") : t.example_json);
  out += std::string(",\"archived\":") + (t.archived ? "true" : "false");
  out += ",\"created_at\":" + jsonString(t.created_at) +
         ",\"updated_at\":" + jsonString(t.updated_at) + "}";
  return out;
}

EventTypeSync::EventTypeSync(const Config& config, EventTypeTable& table)
    : TopicMirror(config, config.topics.eventTypes(), "event-types-reader",
                  applyToTable<EventType>(
                      table,
                      [](const std::string& name, std::string_view value) -> Result<EventType> {
                        auto t = parseEventType(value, false);
                        if (t) t->name = name;
                        return t;
                      },
                      "event-types")) {}

}  // namespace hookpipe::producer
