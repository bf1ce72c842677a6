#include "common/json/body.h"

#include <unordered_set>

#include "common/json/pointer.h"

namespace hookpipe::json {

namespace {

std::string pointerOf(std::string_view parent, std::string_view name) {
  std::string out(parent);
  out += '/';
  out += pointerToken(name);
  return out;
}

void collectRepeated(simdjson::dom::element value, std::string_view pointer,
                     std::vector<Problem>& problems);

void collectRepeated(simdjson::dom::object obj, std::string_view pointer,
                     std::vector<Problem>& problems) {
  std::unordered_set<std::string_view> seen;
  for (auto [name, value] : obj) {
    std::string at = pointerOf(pointer, name);
    if (!seen.insert(name).second) {
      std::string message = printableName(name);
      // insert, not "'" + …: GCC 12's -Wrestrict misreads the concatenation.
      message.insert(0, 1, '\'');
      message += "' is given more than once";
      problems.push_back({at, std::move(message)});
    }
    collectRepeated(value, at, problems);
  }
}

void collectRepeated(simdjson::dom::element value, std::string_view pointer,
                     std::vector<Problem>& problems) {
  if (simdjson::dom::object obj; !value.get_object().get(obj)) {
    collectRepeated(obj, pointer, problems);
  } else if (simdjson::dom::array array; !value.get_array().get(array)) {
    std::size_t index = 0;
    for (auto item : array) {
      std::string at(pointer);
      at += '/';
      at += std::to_string(index++);
      collectRepeated(item, at, problems);
    }
  }
}

}  // namespace

Result<simdjson::dom::object> parseObject(simdjson::dom::parser& parser, std::string_view text) {
  simdjson::dom::element root;
  // Not parseDocument: callers minify parts of the object to store them, which would
  // store a widened number (1e308 for 1e400) instead of what was sent.
  if (auto err = parser.parse(text.data(), text.size()).get(root))
    return failAt("", std::string("body is not valid JSON: ") + simdjson::error_message(err));
  simdjson::dom::object obj;
  if (root.get_object().get(obj)) return failAt("", "body must be a JSON object");
  return obj;
}

std::vector<Problem> repeatedNames(simdjson::dom::element value, std::string_view pointer) {
  std::vector<Problem> problems;
  collectRepeated(value, pointer, problems);
  return problems;
}

std::vector<Problem> repeatedNames(simdjson::dom::object value, std::string_view pointer) {
  std::vector<Problem> problems;
  collectRepeated(value, pointer, problems);
  return problems;
}

Result<simdjson::dom::object> parseClientObject(simdjson::dom::parser& parser,
                                                std::string_view text) {
  auto obj = parseObject(parser, text);
  if (!obj) return obj;
  if (auto problems = repeatedNames(*obj); !problems.empty()) return failWith(std::move(problems));
  return obj;
}

std::vector<Problem> repeatedNamesIn(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size()).get(root)) return {};
  return repeatedNames(root);
}

std::string printableName(std::string_view name) {
  std::string out;
  for (unsigned char c : name.substr(0, 64)) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  if (name.size() > 64) out += "...";
  return out;
}

}  // namespace hookpipe::json
