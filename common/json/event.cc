#include "common/json/event.h"

#include <openssl/rand.h>

#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "common/json/document.h"
#include "common/json/pointer.h"

namespace hookpipe::json {

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

namespace {

// What a `type` or `id` must be: 1..max_bytes bytes, no control character (C0, DEL, C1:
// they forge log lines and header values, and no receiver expects them); "" when fine.
std::string nameProblem(std::string_view field, std::string_view value, std::size_t max_bytes) {
  if (value.size() > max_bytes)
    return "field " + std::string(field) + " must be at most " + std::to_string(max_bytes) +
           " bytes (it has " + std::to_string(value.size()) + ")";
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    const bool c1 = c == 0xC2 && i + 1 < value.size() &&
                    static_cast<unsigned char>(value[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(value[i + 1]) <= 0x9F;
    if (c < 0x20 || c == 0x7F || c1)
      return "field " + std::string(field) +
             " must not hold control characters (U+0000-U+001F, U+007F-U+009F: NUL, CR, LF, "
             "tab ...)";
  }
  return "";
}

// A key path for a message: control characters as \\uXXXX, at most 200 bytes.
std::string printableKey(std::string_view key) {
  std::string out;
  for (char ch : key.substr(0, 200)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  if (key.size() > 200) out += "...";
  return out;
}

// duplicateKey()'s "data.amount" as "/data/amount".
std::string dottedPointer(std::string_view path) {
  std::string out;
  while (!path.empty()) {
    const auto dot = path.find('.');
    out.push_back('/');
    out.append(pointerToken(path.substr(0, dot)));
    if (dot == std::string_view::npos) break;
    path = path.substr(dot + 1);
  }
  return out;
}

}  // namespace

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
    return failAt("", "event is " + std::to_string(text.size()) + " bytes, over the limit of " +
                          std::to_string(max_bytes_));
  simdjson::dom::element root;
  if (auto err = parseDocument(parser_, text, root))
    return failAt("", std::string("not valid JSON: ") + simdjson::error_message(err));
  simdjson::dom::object obj;
  if (root.get_object().get(obj)) return failAt("", "event must be a JSON object");

  Event ev;
  std::string_view type;
  auto type_field = obj["type"];
  if (type_field.error() == simdjson::NO_SUCH_FIELD) return failAt("/type", "missing field: type");
  if (type_field.get_string().get(type) || type.empty())
    return failAt("/type", "field type must be a non-empty string");
  if (auto p = nameProblem("type", type, kMaxTypeBytes); !p.empty())
    return failAt("/type", std::move(p));
  ev.type = std::string(type);

  std::string_view id;
  auto id_field = obj["id"];
  const bool has_id = id_field.error() != simdjson::NO_SUCH_FIELD;
  if (has_id && (id_field.get_string().get(id) || id.empty()))
    return failAt("/id", "field id must be a non-empty string");
  if (auto p = has_id ? nameProblem("id", id, kMaxIdBytes) : ""; !p.empty())
    return failAt("/id", std::move(p));
  const bool has_timestamp = obj["timestamp"].error() != simdjson::NO_SUCH_FIELD;
  if (has_timestamp && !obj["timestamp"].is_string())
    return failAt("/timestamp", "field timestamp must be a string");
  // Last, being a walk over the whole document (its cost: benchmarks/README.md, "Event
  // validation"); the slower walk that names the key runs only when there is one.
  if (hasDuplicateKey(parser_)) {
    const std::string path = duplicateKey(root).value_or("");
    return failAt(dottedPointer(path),
                  "field " + printableKey(path) + " appears twice (duplicate keys are refused)");
  }

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
