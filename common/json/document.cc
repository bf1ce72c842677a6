#include "common/json/document.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "common/json/pointer.h"

namespace hookpipe::json {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A JSON number split into its parts; nullopt when `t` is not one (RFC 8259 grammar).
struct Number {
  bool negative = false;
  std::string_view integer;   // digits before the point, without the sign
  std::string_view fraction;  // digits after the point, may be empty
  bool has_exponent = false;
};

std::optional<Number> splitNumber(std::string_view t) {
  Number n;
  std::size_t i = 0;
  auto digits = [&] {
    const std::size_t start = i;
    while (i < t.size() && isDigit(t[i])) ++i;
    return t.substr(start, i - start);
  };
  if (i < t.size() && t[i] == '-') {
    n.negative = true;
    ++i;
  }
  if (i >= t.size() || !isDigit(t[i])) return std::nullopt;
  if (t[i] == '0')
    n.integer = t.substr(i++, 1);
  else
    n.integer = digits();
  if (i < t.size() && t[i] == '.') {
    ++i;
    n.fraction = digits();
    if (n.fraction.empty()) return std::nullopt;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    n.has_exponent = true;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (digits().empty()) return std::nullopt;
  }
  if (i != t.size()) return std::nullopt;
  return n;
}

// Whether a number without fraction and exponent fits int64 (negative) or uint64.
bool fitsInteger(const Number& n) {
  const std::string_view limit = n.negative ? "9223372036854775808" : "18446744073709551615";
  if (n.integer.size() != limit.size()) return n.integer.size() < limit.size();
  return n.integer <= limit;
}

// The decimal exponent of the number's leading significant digit, roughly (enough to
// tell an overflow from an underflow once from_chars says out of range).
int64_t magnitude(std::string_view token, const Number& n) {
  int64_t e = static_cast<int64_t>(n.integer.size());
  if (n.integer == "0") {
    e = 0;
    for (char c : n.fraction) {
      if (c != '0') break;
      --e;
    }
  }
  if (n.has_exponent) {
    const std::size_t at = token.find_first_of("eE");
    std::size_t i = at + 1;
    const bool negative = token[i] == '-';
    if (token[i] == '+' || token[i] == '-') ++i;
    int64_t x = 0;
    for (; i < token.size() && x < 1'000'000'000; ++i) x = x * 10 + (token[i] - '0');
    e += negative ? -x : x;
  }
  return e;
}

// ±(the largest finite double) in `width` characters at most (at least "1e308").
std::string largestDouble(bool negative, std::size_t width) {
  static constexpr std::string_view kDigits = "17976931348623157";    // e292: DBL_MAX
  const int room = static_cast<int>(width) - (negative ? 1 : 0) - 4;  // "e308" and the sign
  const auto m = static_cast<std::size_t>(std::clamp(room, 1, static_cast<int>(kDigits.size())));
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%s%.*se%d", negative ? "-" : "",
                              static_cast<int>(m), kDigits.data(), 308 - static_cast<int>(m - 1));
  return std::string(buf, static_cast<std::size_t>(n));
}

// The double nearest `v` as "<digits>e<exponent>" (the shortest digits that read back
// as `v`), e.g. 18446744073709552e3 for 2^64.
std::string digitsAndExponent(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string_view s(buf, static_cast<std::size_t>(end - buf));  // -1.8446744073709552e+19
  const std::size_t e = s.find('e');
  std::string digits;
  bool negative = false;
  for (char c : s.substr(0, e)) {
    if (c == '-') negative = true;
    if (isDigit(c)) digits += c;
  }
  int exponent = 0;
  std::from_chars(s.data() + e + (s[e + 1] == '+' ? 2 : 1), s.data() + s.size(), exponent);
  exponent -= static_cast<int>(digits.size()) - 1;
  return (negative ? "-" : "") + digits + "e" + std::to_string(exponent);
}

// What a number token that simdjson's DOM refuses is read as; nullopt to leave it.
std::optional<std::string> widened(std::string_view token) {
  auto n = splitNumber(token);
  if (!n) return std::nullopt;  // malformed: simdjson's error stands
  const bool integer = n->fraction.empty() && !n->has_exponent;
  if (integer && fitsInteger(*n)) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
  if (ec == std::errc::result_out_of_range)
    return magnitude(token, *n) > 0 ? largestDouble(n->negative, token.size())
                                    : std::string(n->negative ? "-0" : "0");
  if (ec != std::errc() || end != token.data() + token.size()) return std::nullopt;
  if (!integer) return std::nullopt;  // a double in range: simdjson reads it
  return digitsAndExponent(v);
}

// The keys of the objects being walked, innermost last: one vector per thread, reused,
// so that a walk neither allocates nor zeroes per object.
thread_local std::vector<std::string_view> walk_keys;

// Keys are compared pairwise up to this many per object; a larger object sorts a copy.
constexpr std::size_t kPairwiseKeys = 16;

bool findDuplicate(simdjson::dom::element e, std::string& path);

// Most keys of one object differ in length or first byte: no memcmp call for those.
inline bool sameKey(std::string_view a, std::string_view b) {
  return a.size() == b.size() && (a.empty() || (a[0] == b[0] && a == b));
}

bool nested(simdjson::dom::element e) {
  const auto t = e.type();
  return t == simdjson::dom::element_type::OBJECT || t == simdjson::dom::element_type::ARRAY;
}

bool duplicateIn(simdjson::dom::object obj, std::string& path) {
  auto& keys = walk_keys;
  const std::size_t base = keys.size();
  bool found = false;
  for (auto [key, value] : obj) {
    const std::size_t n = keys.size() - base;
    if (n < kPairwiseKeys) {
      for (std::size_t i = base; i < keys.size(); ++i) {
        if (sameKey(keys[i], key)) {
          path = std::string(key);
          found = true;
          break;
        }
      }
      if (found) break;
    }
    keys.push_back(key);
    if (nested(value) && findDuplicate(value, path)) {
      path = std::string(key) + "." + path;
      found = true;
      break;
    }
  }
  if (!found && keys.size() - base > kPairwiseKeys) {
    std::vector<std::string_view> sorted(keys.begin() + static_cast<std::ptrdiff_t>(base),
                                         keys.end());
    std::sort(sorted.begin(), sorted.end());
    if (auto it = std::adjacent_find(sorted.begin(), sorted.end()); it != sorted.end()) {
      path = std::string(*it);
      found = true;
    }
  }
  keys.resize(base);
  return found;
}

bool findDuplicate(simdjson::dom::element e, std::string& path) {
  simdjson::dom::object obj;
  if (e.get_object().get(obj) == simdjson::SUCCESS) return duplicateIn(obj, path);
  simdjson::dom::array arr;
  if (e.get_array().get(arr) != simdjson::SUCCESS) return false;
  std::size_t i = 0;
  for (simdjson::dom::element item : arr) {
    if (nested(item) && findDuplicate(item, path)) {
      path = std::to_string(i) + "." + path;
      return true;
    }
    ++i;
  }
  return false;
}

// The tape walk of hasDuplicateKey(): keys of the objects being walked, innermost last,
// with a signature each (length and up to 8 leading bytes).
struct TapeWalk {
  const uint64_t* tape;
  const uint8_t* strings;
  std::vector<std::string_view>& keys;
  std::vector<uint64_t>& sigs;

  // Walks the value at tape[i]; on return i is the index after it.
  bool value(std::size_t& i) {
    const uint64_t word = tape[i];
    switch (static_cast<char>(word >> 56)) {
      case '{':
        return object(i, static_cast<uint32_t>(word));
      case '[': {
        const std::size_t end = static_cast<uint32_t>(word);  // after the matching ']'
        for (std::size_t j = i + 1; j + 1 < end;)
          if (value(j)) return true;
        i = end;
        return false;
      }
      case 'l':
      case 'u':
      case 'd':
        i += 2;  // the number's own word follows
        return false;
      default:
        i += 1;
        return false;
    }
  }

  bool object(std::size_t& i, std::size_t end) {
    const std::size_t base = keys.size();
    std::size_t j = i + 1;
    while (j + 1 < end) {  // tape[end - 1] is the '}'
      const uint8_t* at = strings + (tape[j] & simdjson::internal::JSON_VALUE_MASK);
      uint32_t length;
      std::memcpy(&length, at, sizeof length);
      const std::string_view key(reinterpret_cast<const char*>(at + sizeof length), length);
      // The string buffer is padded and each string ends with a NUL: reading 8 bytes of a
      // shorter key stays inside it.
      uint64_t head = 0;
      std::memcpy(&head, key.data(), sizeof head);
      if (length < sizeof head) head &= (uint64_t{1} << (8 * length)) - 1;
      const uint64_t sig = head ^ (uint64_t{length} * 0x9E3779B97F4A7C15ULL);
      if (keys.size() - base < kPairwiseKeys)
        for (std::size_t k = base; k < keys.size(); ++k)
          if (sigs[k] == sig && keys[k] == key) return true;
      keys.push_back(key);
      sigs.push_back(sig);
      ++j;
      if (const char t = static_cast<char>(tape[j] >> 56); t == '{' || t == '[') {
        if (value(j)) return true;
      } else {
        j += t == 'l' || t == 'u' || t == 'd' ? 2 : 1;
      }
    }
    if (keys.size() - base > kPairwiseKeys) {
      const auto from = keys.begin() + static_cast<std::ptrdiff_t>(base);
      std::sort(from, keys.end());
      if (std::adjacent_find(from, keys.end()) != keys.end()) return true;
    }
    keys.resize(base);
    sigs.resize(base);
    i = end;
    return false;
  }
};

thread_local std::vector<std::string_view> tape_keys;
thread_local std::vector<uint64_t> tape_sigs;

}  // namespace

bool hasDuplicateKey(const simdjson::dom::parser& parser) {
  // The tape (simdjson's doc/tape.md, stable since 0.3): one 64-bit word per value, the
  // type in the top byte; '{' and '[' hold the index after their matching close in the
  // low 32 bits; a string's payload is its offset in string_buf, where a 32-bit length
  // precedes the bytes; numbers take a second word; an object's words alternate key,
  // value. Walked key by key, containers only recursed into: cheaper than the same walk
  // through dom::element (benchmarks/README.md, "Event validation").
  tape_keys.clear();
  tape_sigs.clear();
  TapeWalk walk{parser.doc.tape.get(), parser.doc.string_buf.get(), tape_keys, tape_sigs};
  std::size_t i = 1;  // tape[0] is the root word
  return walk.value(i);
}

std::optional<std::string> widenNumbers(std::string_view text) {
  std::optional<std::string> out;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '"') {  // skip the string, escapes included
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
      ++i;
      continue;
    }
    if (c != '-' && !isDigit(c)) {
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    while (j < text.size() && (isDigit(text[j]) || text[j] == '.' || text[j] == 'e' ||
                               text[j] == 'E' || text[j] == '+' || text[j] == '-'))
      ++j;
    const std::string_view token = text.substr(i, j - i);
    if (auto w = widened(token); w && w->size() <= token.size()) {
      if (!out) out.emplace(text);
      // Same length: padded with spaces, which JSON allows after a number.
      out->replace(i, token.size(), *w + std::string(token.size() - w->size(), ' '));
    }
    i = j;
  }
  return out;
}

simdjson::error_code parseDocument(simdjson::dom::parser& parser, std::string_view text,
                                   simdjson::dom::element& root) {
  auto err = parser.parse(text.data(), text.size()).get(root);
  if (err != simdjson::NUMBER_ERROR) return err;
  auto wide = widenNumbers(text);
  if (!wide) return err;
  // The DOM copies what it keeps (strings go to the parser's buffer): `wide` may go.
  return parser.parse(wide->data(), wide->size()).get(root);
}

std::optional<std::string> duplicateKey(simdjson::dom::element root) {
  std::string path;
  if (findDuplicate(root, path)) return path;
  return std::nullopt;
}

std::optional<std::vector<std::string_view>> arrayElements(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && isSpace(text[i])) ++i;
  if (i >= text.size() || text[i] != '[') return std::nullopt;
  std::vector<std::string_view> out;
  auto push = [&](std::size_t from, std::size_t to) {
    while (from < to && isSpace(text[from])) ++from;
    while (to > from && isSpace(text[to - 1])) --to;
    if (to > from) out.push_back(text.substr(from, to - from));
  };
  int depth = 0;
  std::size_t start = i + 1;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      if (--depth == 0) {
        push(start, i);
        return out;
      }
    } else if (c == ',' && depth == 1) {
      push(start, i);
      start = i + 1;
    }
  }
  return std::nullopt;  // not closed: not a valid array
}

std::string pointerToken(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out.push_back(c);
  }
  return out;
}

}  // namespace hookpipe::json
