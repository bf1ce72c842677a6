#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace hookpipe::json {

// Parses `text` with `parser` and returns its top-level object, or a clear error ("body is
// not valid JSON: …" / "body must be a JSON object"). The object lives as long as `parser`
// is not reused. For records read back from a topic, which must load as they were written;
// a body an API client sends goes through parseClientObject().
Result<simdjson::dom::object> parseObject(simdjson::dom::parser& parser, std::string_view text);

// Each name given more than once in one object, anywhere under `value` (nested objects and
// arrays included), as a problem at the JSON pointer of the repeated copy below `pointer`:
// {"/format_options/chat_id", "'chat_id' is given more than once"}. Empty when every
// object's names are distinct. Readers disagree on which copy counts (simdjson's lookup
// takes the first, Boost.JSON and JavaScript the last), so the API refuses such a body
// rather than guess. Linear in the size of `value` (names are looked up in a hash set).
std::vector<Problem> repeatedNames(simdjson::dom::element value, std::string_view pointer = "");
std::vector<Problem> repeatedNames(simdjson::dom::object value, std::string_view pointer = "");

// parseObject() for a body an API client sent: a name given twice in one object is refused
// too, each at its pointer (repeatedNames()).
Result<simdjson::dom::object> parseClientObject(simdjson::dom::parser& parser,
                                                std::string_view text);

// repeatedNames() of a body that its handler reads with Boost.JSON, whose parse quietly
// keeps the last copy: empty when there is none or when `text` is not JSON (the handler's
// own parse reports that).
std::vector<Problem> repeatedNamesIn(std::string_view text);

// A name in a message: printable ASCII as is, other bytes as \xNN, at most 64 bytes ("..."
// after a longer one).
std::string printableName(std::string_view name);

}  // namespace hookpipe::json
