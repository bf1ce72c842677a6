#include "common/loadtest/event.h"

#include <charconv>
#include <chrono>
#include <ctime>

#include "common/json/escape.h"

namespace hookpipe::loadtest {
namespace {

template <typename T>
std::optional<T> numberAfter(std::string_view body, std::string_view key) {
  const auto at = body.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const char* begin = body.data() + at + key.size();
  T value{};
  auto [end, ec] = std::from_chars(begin, body.data() + body.size(), value);
  if (ec != std::errc() || end == begin) return std::nullopt;
  return value;
}

}  // namespace

int64_t wallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string eventJson(const EventSpec& spec, uint64_t seq, int64_t sent_us) {
  std::string out;
  out.reserve(128 + spec.run.size() + spec.type.size() + spec.payload_bytes);
  out += "{";
  if (spec.with_id) {
    out += "\"id\":";
    json::appendString(out, "lt_" + spec.run + "_" + std::to_string(seq));
    // RFC 3339 from the publish time, second precision.
    const std::time_t secs = sent_us / 1'000'000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    out += ",\"timestamp\":\"";
    out += stamp;
    out += "\",";
  }
  out += "\"type\":";
  json::appendString(out, spec.type);
  out += ",\"data\":{\"lt_run\":";
  json::appendString(out, spec.run);
  out += ",\"lt_seq\":" + std::to_string(seq) + ",\"lt_sent_us\":" + std::to_string(sent_us) +
         ",\"pad\":\"";
  out.append(spec.payload_bytes, 'x');
  out += "\"}}";
  return out;
}

std::optional<Marker> findMarker(std::string_view body, std::string_view run) {
  std::string key = "\"lt_run\":\"";
  key += run;
  key += '"';
  if (run.empty() || body.find(key) == std::string_view::npos) return std::nullopt;
  auto seq = numberAfter<uint64_t>(body, "\"lt_seq\":");
  auto sent = numberAfter<int64_t>(body, "\"lt_sent_us\":");
  if (!seq || !sent) return std::nullopt;
  return Marker{*seq, *sent};
}

}  // namespace hookpipe::loadtest
