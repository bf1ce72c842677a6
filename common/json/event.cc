#include "common/json/event.h"

#include <openssl/rand.h>

#include <ctime>
#include <stdexcept>

namespace hookpipe::json {

Result<simdjson::dom::object> parseObject(simdjson::dom::parser& parser, std::string_view text) {
  simdjson::dom::element root;
  if (auto err = parser.parse(text.data(), text.size()).get(root))
    return fail(std::string("body is not valid JSON: ") + simdjson::error_message(err));
  simdjson::dom::object obj;
  if (root.get_object().get(obj)) return fail("body must be a JSON object");
  return obj;
}

EventParser::EventParser(std::size_t max_bytes, std::size_t max_depth)
    : max_bytes_(max_bytes), parser_(max_bytes) {
  // allocate() fixes both the largest document and the deepest nesting accepted.
  if (parser_.allocate(max_bytes, max_depth) != simdjson::SUCCESS)
    throw std::runtime_error("simdjson: cannot allocate a parser for " + std::to_string(max_bytes) +
                             " bytes");
}

std::string newEventId() {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  unsigned char random[24];
  RAND_bytes(random, sizeof random);
  std::string id = "evt_";
  for (unsigned char c : random) id += kAlphabet[c % 62];
  return id;
}

std::string formatTimestamp(int64_t epoch_ms) {
  std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<Event> EventParser::parse(std::string_view text, int64_t now_ms,
                                 std::string_view fallback_id) {
  if (text.size() > max_bytes_)
    return fail("event is " + std::to_string(text.size()) + " bytes, over the limit of " +
                std::to_string(max_bytes_));
  simdjson::dom::element root;
  if (auto err = parser_.parse(text.data(), text.size()).get(root))
    return fail(std::string("not valid JSON: ") + simdjson::error_message(err));
  simdjson::dom::object obj;
  if (root.get_object().get(obj)) return fail("event must be a JSON object");

  Event ev;
  std::string_view type;
  auto type_field = obj["type"];
  if (type_field.error() == simdjson::NO_SUCH_FIELD) return fail("missing field: type");
  if (type_field.get_string().get(type) || type.empty())
    return fail("field type must be a non-empty string");
  ev.type = std::string(type);

  std::string_view id;
  auto id_field = obj["id"];
  const bool has_id = id_field.error() != simdjson::NO_SUCH_FIELD;
  if (has_id && (id_field.get_string().get(id) || id.empty()))
    return fail("field id must be a non-empty string");
  const bool has_timestamp = obj["timestamp"].error() != simdjson::NO_SUCH_FIELD;
  if (has_timestamp && !obj["timestamp"].is_string())
    return fail("field timestamp must be a string");

  ev.id = has_id ? std::string(id) : fallback_id.empty() ? newEventId() : std::string(fallback_id);
  if (has_id && has_timestamp) {
    ev.body = std::string(text);
    return ev;
  }
  // Insert the missing fields right after the opening brace; the rest stays as sent.
  const std::size_t brace = text.find('{');
  std::string prefix = "{";
  if (!has_id) prefix += "\"id\":\"" + ev.id + "\",";
  if (!has_timestamp) prefix += "\"timestamp\":\"" + formatTimestamp(now_ms) + "\",";
  ev.body.reserve(text.size() + prefix.size());
  ev.body = prefix;
  ev.body.append(text.substr(brace + 1));
  return ev;
}

}  // namespace hookpipe::json
