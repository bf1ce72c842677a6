#pragma once

#include <string>
#include <string_view>

namespace hookpipe::json {

// Escapes a JSON pointer (RFC 6901) reference token: '~' -> "~0", '/' -> "~1".
std::string pointerToken(std::string_view token);

}  // namespace hookpipe::json
