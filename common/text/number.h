#pragma once

// The one strict integer parser for numbers read from outside (HTTP query strings, headers,
// Kafka headers, environment variables, command-line flags). Strict means the whole text is
// the number: an optional '-' (signed types only) then decimal digits — no '+', no spaces,
// no trailing bytes, no empty string — and the value fits the type. Callers that accept
// more (units, whitespace, dates) trim or split first, then call this.
#include <charconv>
#include <concepts>
#include <optional>
#include <string_view>
#include <system_error>

namespace hookpipe::text {

template <typename T>
concept Integer = std::integral<T> && !std::same_as<T, bool>;

// The integer that is the whole of `text`, or nullopt (not a number, or out of T's range).
template <Integer T>
std::optional<T> parseInteger(std::string_view text) noexcept {
  T value{};
  const char* const end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || stop != end) return std::nullopt;
  return value;
}

// As above, and within [min, max].
template <Integer T>
std::optional<T> parseInteger(std::string_view text, T min, T max) noexcept {
  const auto value = parseInteger<T>(text);
  if (!value || *value < min || *value > max) return std::nullopt;
  return value;
}

}  // namespace hookpipe::text
