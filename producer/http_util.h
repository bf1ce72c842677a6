#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/json/pointer.h"

namespace hookpipe::producer {

// Decodes %XX escapes and '+' (as a space); nullopt on a broken escape.
std::optional<std::string> percentDecode(std::string_view text);

// The query string of a request target ("a=1&b=2" after '?'), decoded. A key given
// twice keeps its last value; nullopt when an escape is broken.
std::optional<std::map<std::string, std::string>> parseQuery(std::string_view target);

// The path of a request target split on '/', empty segments dropped, then each segment
// %-decoded: "/v1/subscriptions/sub_1/pause" -> {"v1", "subscriptions", "sub_1", "pause"},
// "/v1/subscriptions/x%2F..%2Fy" -> {"v1", "subscriptions", "x/../y"} (so a record whose key
// no route could name, written before ids were checked, can still be read and deleted).
std::vector<std::string> pathSegments(std::string_view target);

// Validation problems are common/error.h's: a JSON pointer (or a parameter / header
// name) and a message.
using hookpipe::Problem;

// A whole decimal integer ("-3", "42"); nullopt for anything else.
std::optional<int64_t> parseInt(std::string_view text);

// The paging query parameters of list routes: `limit` (1..max_limit) and `offset`
// (>= 0). True when `key` is one of them (a bad value is appended to `problems`).
bool pagingParameter(const std::string& key, const std::string& value, std::size_t max_limit,
                     std::size_t& limit, std::size_t& offset, std::vector<Problem>& problems);

using json::pointerToken;

}  // namespace hookpipe::producer
