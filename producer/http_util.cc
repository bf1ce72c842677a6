#include "producer/http_util.h"

#include <charconv>

#include "common/text/number.h"

namespace hookpipe::producer {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX escapes decoded ('+' stays: it is a space only in query strings); a segment with a
// broken escape is kept as it is (and names nothing).
std::string decodeSegment(std::string_view seg) {
  if (seg.find('%') == std::string_view::npos) return std::string(seg);
  std::string out;
  for (std::size_t i = 0; i < seg.size(); ++i) {
    if (seg[i] != '%') {
      out.push_back(seg[i]);
      continue;
    }
    const int hi = i + 2 < seg.size() ? hexValue(seg[i + 1]) : -1;
    const int lo = hi >= 0 ? hexValue(seg[i + 2]) : -1;
    if (lo < 0) return std::string(seg);
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

}  // namespace

std::optional<std::string> percentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hexValue(text[i + 1]);
      const int lo = hexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::map<std::string, std::string>> parseQuery(std::string_view target) {
  std::map<std::string, std::string> out;
  const auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = percentDecode(pair.substr(0, eq));
    auto value =
        percentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!key || !value) return std::nullopt;
    out[*key] = *value;
  }
  return out;
}

std::vector<std::string> pathSegments(std::string_view target) {
  std::vector<std::string> out;
  std::string_view path = target.substr(0, target.find('?'));
  while (!path.empty()) {
    const auto slash = path.find('/');
    const std::string_view seg = path.substr(0, slash);
    if (!seg.empty()) out.push_back(decodeSegment(seg));
    if (slash == std::string_view::npos) break;
    path = path.substr(slash + 1);
  }
  return out;
}

std::optional<int64_t> parseInt(std::string_view text) { return text::parseInteger<int64_t>(text); }

bool pagingParameter(const std::string& key, const std::string& value, std::size_t max_limit,
                     std::size_t& limit, std::size_t& offset, std::vector<Problem>& problems) {
  if (key == "limit") {
    auto n = parseInt(value);
    if (!n || *n < 1 || *n > static_cast<int64_t>(max_limit))
      problems.push_back({"limit", "limit must be 1.." + std::to_string(max_limit)});
    else
      limit = static_cast<std::size_t>(*n);
    return true;
  }
  if (key == "offset") {
    auto n = parseInt(value);
    if (!n || *n < 0)
      problems.push_back({"offset", "offset must be an integer >= 0"});
    else
      offset = static_cast<std::size_t>(*n);
    return true;
  }
  return false;
}

}  // namespace hookpipe::producer
