#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/format/options.h"

namespace hookpipe::json {
struct Event;
}

// What the chat formats (slack, teams, discord, telegram) share: the event read once into
// what a message shows, severity, and cutting text to a platform's limits.
//
// Lengths are UTF-16 code units: the platforms state limits in "characters" and count
// them as JavaScript strings do (an emoji outside the BMP is 2), so counting UTF-16 units
// never exceeds a limit however a platform counts. Cuts fall on code point boundaries and
// end with "…" (U+2026, one unit) so a reader sees that text was cut.
namespace hookpipe::format::chat {

enum class Severity { kNone, kOk, kInfo, kWarning, kError };

// A top-level data field: its name and its value as text (a string as is; a number,
// boolean or null as JSON; an object or array as compact JSON).
struct Field {
  std::string name;
  std::string value;
  bool nested = false;  // an object or array
};

// The event as the chat formats show it.
struct View {
  std::string id;
  std::string type;
  std::string timestamp;  // as published ("" when absent or not a string)
  // The severity's own word ("error"), "" when the event has none; `severity` its class.
  std::string severity_text;
  Severity severity = Severity::kNone;
  // `data`'s fields in document order; data that is not an object is one field "data".
  std::vector<Field> fields;
  bool has_data = false;  // `data` present and not null
};

// Reads `event.body` (a validated event; a body that does not parse gives a view with only
// the id and type). The severity is read at the option `severity_field` (a dotted path
// such as "data.alert.level") when set, else at data.severity, data.level, severity,
// level — the first that is a string or number.
View read(const json::Event& event, const Options& options);

// The class of a severity word: error (critical, fatal, error, high, …), warning,
// info, ok (success, resolved, …), none for anything else. Case-insensitive.
Severity classify(std::string_view word);

inline constexpr std::string_view kEllipsis = "\u2026";

// Length of UTF-8 `text` in UTF-16 code units (invalid bytes count one each).
std::size_t units(std::string_view text);
// `text` cut to at most `max_units`, ending with kEllipsis when cut.
std::string clip(std::string_view text, std::size_t max_units);
// & < > as &amp; &lt; &gt; (Telegram's HTML parse mode; Slack's mrkdwn and plain text).
std::string escapeHtml(std::string_view text);
// escapeHtml(text) cut so that the escaped text is at most `max_units` (an entity is never
// split), ending with kEllipsis when cut.
std::string clipEscaped(std::string_view text, std::size_t max_units);

// "N more fields": what a message says in place of the fields a limit left out.
std::string moreFields(std::size_t n);

// The option every chat format takes. Problems with `severity_field` (a dotted path of
// non-empty names) plus unknownOptions() for names outside `known`.
inline constexpr std::string_view kSeverityField = "severity_field";
std::vector<Problem> checkOptions(const Options& options, std::string_view format,
                                  const std::vector<std::string_view>& known);
// The string option `name`, or `fallback` when it is absent.
std::string_view option(const Options& options, std::string_view name,
                        std::string_view fallback = {});

}  // namespace hookpipe::format::chat
