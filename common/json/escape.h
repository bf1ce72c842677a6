#pragma once

// JSON string writing shared by whatever builds JSON by hand on a hot path (attempt
// records, template renders, load-test events); Boost.JSON writes the API's responses.
#include <string>
#include <string_view>

namespace hookpipe::json {

// Appends `text` escaped for the inside of a JSON string literal: '"', '\\' and the
// control characters U+0000..U+001F escaped (\b \f \n \r \t, the others as \u00XX), runs
// of plain bytes copied at once. Bytes that are not valid UTF-8 (a binary response body, a
// sequence cut by a cap) become U+FFFD, one per byte, so the output is always valid JSON.
void appendEscaped(std::string& out, std::string_view text);

// appendEscaped() between quotes.
void appendString(std::string& out, std::string_view text);

}  // namespace hookpipe::json
