#pragma once

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hookpipe::json {

// Parses `text` into `parser`'s DOM like parser.parse(), but also accepts the valid JSON
// numbers that simdjson's DOM cannot hold (it answers NUMBER_ERROR for them): integers
// outside int64/uint64 (18446744073709551616, -9223372036854775809) are read as the
// nearest double, numbers beyond the double range (1e400) as ±1.797…e308, the largest
// finite double (fewer digits when the number is written shorter than that), and numbers
// below it (1e-400) as 0. Only the parse sees these values: callers keep `text` as sent.
// The fast path is one parse; the widening (a copy of the text with those numbers
// rewritten in place, same length) runs only after a NUMBER_ERROR. A malformed number
// ("01", "1.", "-") is still NUMBER_ERROR.
simdjson::error_code parseDocument(simdjson::dom::parser& parser, std::string_view text,
                                   simdjson::dom::element& root);

// `text` with every valid JSON number that simdjson's DOM refuses rewritten as above;
// nullopt when there is none. Exposed for the tests.
std::optional<std::string> widenNumbers(std::string_view text);

// The path of the first key that appears twice in one object, depth first, as dotted
// keys and array indexes ("data.amount", "data.items.2.sku", as filters write paths); nullopt when
// every object's keys are distinct. Receivers' parsers disagree on duplicates (most keep
// the last, simdjson lookups find the first), so an event holding one could be routed
// by one value and read by its receiver as another.
std::optional<std::string> duplicateKey(simdjson::dom::element root);

// Whether the document `parser` parsed last holds an object with a key twice: the same
// answer as duplicateKey(root).has_value(), from a walk over simdjson's tape (its
// internal representation) that is cheap enough for every event the router reads; use
// duplicateKey() then for the path.
bool hasDuplicateKey(const simdjson::dom::parser& parser);

// The text of each element of a JSON array, as written (whitespace around it trimmed).
// `text` must be a valid JSON array (parse it first); nullopt when it is not an array.
std::optional<std::vector<std::string_view>> arrayElements(std::string_view text);

}  // namespace hookpipe::json
