#include "common/format/chat.h"

#include <simdjson.h>

#include <array>

#include "common/format/formatter.h"
#include "common/json/event.h"

namespace hookpipe::format::chat {
namespace {

// Bytes of the UTF-8 sequence starting with `lead` (1 for an invalid lead byte), and its
// UTF-16 units (2 for a 4-byte sequence, outside the BMP).
std::size_t sequenceBytes(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xe0) == 0xc0) return 2;
  if ((lead & 0xf0) == 0xe0) return 3;
  if ((lead & 0xf8) == 0xf0) return 4;
  return 1;
}

// The code point at `i` as bytes and units; never past the end of `text`.
struct Step {
  std::size_t bytes;
  std::size_t units;
};
Step stepAt(std::string_view text, std::size_t i) {
  std::size_t n = sequenceBytes(static_cast<unsigned char>(text[i]));
  if (i + n > text.size()) n = 1;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) n = 1;
  return {n, n == 4 ? 2u : 1u};
}

std::string_view entityOf(char c) {
  switch (c) {
    case '&':
      return "&amp;";
    case '<':
      return "&lt;";
    case '>':
      return "&gt;";
    default:
      return {};
  }
}

// The element at dotted `path` ("data.alert.level") from the root object.
bool lookup(simdjson::dom::element root, std::string_view path, simdjson::dom::element& out) {
  simdjson::dom::element at = root;
  while (!path.empty()) {
    const auto dot = path.find('.');
    const std::string_view key = path.substr(0, dot);
    simdjson::dom::object obj;
    if (at.get_object().get(obj) || obj[key].get(at)) return false;
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  out = at;
  return true;
}

std::string scalarText(simdjson::dom::element e) {
  std::string_view s;
  if (!e.get_string().get(s)) return std::string(s);
  return simdjson::minify(e);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != b[i]) return false;
  }
  return true;
}

}  // namespace

std::size_t units(std::string_view text) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size();) {
    const Step s = stepAt(text, i);
    i += s.bytes;
    n += s.units;
  }
  return n;
}

std::string clip(std::string_view text, std::size_t max_units) {
  if (units(text) <= max_units) return std::string(text);
  std::string out;
  if (max_units == 0) return out;
  std::size_t used = 0;
  for (std::size_t i = 0; i < text.size();) {
    const Step s = stepAt(text, i);
    if (used + s.units > max_units - 1) break;  // one unit left for the ellipsis
    out.append(text.substr(i, s.bytes));
    used += s.units;
    i += s.bytes;
  }
  out += kEllipsis;
  return out;
}

std::string escapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (auto entity = entityOf(c); !entity.empty())
      out += entity;
    else
      out += c;
  }
  return out;
}

std::string clipEscaped(std::string_view text, std::size_t max_units) {
  std::string out = escapeHtml(text);
  if (units(out) <= max_units) return out;
  out.clear();
  if (max_units == 0) return out;
  std::size_t used = 0;
  for (std::size_t i = 0; i < text.size();) {
    const Step s = stepAt(text, i);
    const std::string_view entity = entityOf(text[i]);
    const std::size_t cost = entity.empty() ? s.units : entity.size();
    if (used + cost > max_units - 1) break;
    if (entity.empty())
      out.append(text.substr(i, s.bytes));
    else
      out += entity;
    used += cost;
    i += s.bytes;
  }
  out += kEllipsis;
  return out;
}

Severity classify(std::string_view word) {
  static constexpr std::array<std::pair<std::string_view, Severity>, 28> kWords{{
      {"emergency", Severity::kError},
      {"emerg", Severity::kError},
      {"alert", Severity::kError},
      {"critical", Severity::kError},
      {"crit", Severity::kError},
      {"fatal", Severity::kError},
      {"error", Severity::kError},
      {"err", Severity::kError},
      {"high", Severity::kError},
      {"severe", Severity::kError},
      {"failure", Severity::kError},
      {"failed", Severity::kError},
      {"warning", Severity::kWarning},
      {"warn", Severity::kWarning},
      {"medium", Severity::kWarning},
      {"moderate", Severity::kWarning},
      {"info", Severity::kInfo},
      {"information", Severity::kInfo},
      {"informational", Severity::kInfo},
      {"notice", Severity::kInfo},
      {"low", Severity::kInfo},
      {"debug", Severity::kInfo},
      {"ok", Severity::kOk},
      {"success", Severity::kOk},
      {"succeeded", Severity::kOk},
      {"resolved", Severity::kOk},
      {"good", Severity::kOk},
      {"healthy", Severity::kOk},
  }};
  for (const auto& [w, severity] : kWords)
    if (iequals(word, w)) return severity;
  return Severity::kNone;
}

View read(const json::Event& event, const Options& options) {
  View view;
  view.id = event.id;
  view.type = event.type;
  // One parser per thread: format() may run on several threads at once. The elements
  // read below live until this thread parses again, which read() does not do.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(event.body).get(root) || !root.is_object()) return view;
  simdjson::dom::object obj = root.get_object().value_unsafe();
  std::string_view text;
  if (!obj["timestamp"].get_string().get(text)) view.timestamp = std::string(text);

  simdjson::dom::element found;
  const std::string_view field = option(options, kSeverityField);
  auto severity_at = [&](std::string_view path) {
    if (!lookup(root, path, found)) return false;
    if (!found.is_string() && !found.is_number()) return false;
    view.severity_text = scalarText(found);
    return true;
  };
  if (!field.empty()) {
    severity_at(field);
  } else {
    for (std::string_view path : {"data.severity", "data.level", "severity", "level"})
      if (severity_at(path)) break;
  }
  view.severity = classify(view.severity_text);

  simdjson::dom::element data;
  if (obj["data"].get(data) || data.is_null()) return view;
  view.has_data = true;
  simdjson::dom::object fields;
  if (data.get_object().get(fields)) {
    view.fields.push_back({"data", scalarText(data), data.is_array()});
    return view;
  }
  for (auto [key, value] : fields)
    view.fields.push_back(
        {std::string(key), scalarText(value), value.is_object() || value.is_array()});
  return view;
}

std::string moreFields(std::size_t n) {
  std::string out = std::to_string(n);
  out += n == 1 ? " more field" : " more fields";
  return out;
}

std::string_view option(const Options& options, std::string_view name, std::string_view fallback) {
  auto it = options.find(name);
  return it == options.end() ? fallback : std::string_view(it->second.text);
}

std::vector<Problem> checkOptions(const Options& options, std::string_view format,
                                  const std::vector<std::string_view>& known) {
  std::vector<Problem> problems = unknownOptions(options, format, known);
  if (auto it = options.find(kSeverityField); it != options.end()) {
    const std::string_view path = it->second.text;
    bool valid = it->second.kind == Option::Kind::kString && !path.empty() && path.size() <= 256 &&
                 !path.starts_with('.') && !path.ends_with('.') &&
                 path.find("..") == std::string_view::npos;
    if (!valid)
      problems.push_back({optionPointer(kSeverityField),
                          "severity_field must be a dotted path into the event such as "
                          "\"data.severity\" (1..256 characters, no empty names)"});
  }
  return problems;
}

}  // namespace hookpipe::format::chat
