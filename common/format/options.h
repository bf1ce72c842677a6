#pragma once

#include <functional>
#include <map>
#include <string>

namespace hookpipe::format {

// One of a subscription's `format_options` as given: a JSON string, number or boolean.
// `text` is a string's value (unescaped), or a number or boolean as written ("-100123",
// "true"). Objects, arrays and null are refused when the subscription is parsed.
struct Option {
  enum class Kind { kString, kNumber, kBool };
  Kind kind = Kind::kString;
  std::string text;
  bool operator==(const Option&) const = default;
};

// A subscription's format options by name (the keys of `format_options`).
using Options = std::map<std::string, Option, std::less<>>;

}  // namespace hookpipe::format
