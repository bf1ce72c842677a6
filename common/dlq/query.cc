#include "common/dlq/query.h"

#include <charconv>
#include <chrono>
#include <cstdio>

#include "common/records/delivery.h"
#include "common/text/number.h"

namespace hookpipe::dlq {
namespace {

// Reads exactly `width` digits at text[pos].
bool digits(std::string_view text, std::size_t pos, std::size_t width, int& out) {
  if (pos + width > text.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    out = out * 10 + (text[i] - '0');
  }
  return true;
}

Result<int64_t> parseRfc3339(std::string_view text) {
  const auto bad = [&] {
    return fail("bad time '" + std::string(text) +
                "' (expected RFC 3339 like 2026-01-09T15:30:00Z, a date, or epoch ms)");
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!digits(text, 0, 4, y) || text.size() < 10 || text[4] != '-' || !digits(text, 5, 2, mo) ||
      text[7] != '-' || !digits(text, 8, 2, d))
    return bad();
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo),
                                        std::chrono::day(d)};
  if (!ymd.ok()) return bad();
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::sys_days(ymd).time_since_epoch())
                   .count();
  if (text.size() == 10) return ms;  // a date alone: midnight UTC
  if ((text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !digits(text, 11, 2, h) ||
      text.size() < 19 || text[13] != ':' || !digits(text, 14, 2, mi) || text[16] != ':' ||
      !digits(text, 17, 2, s) || h > 23 || mi > 59 || s > 60)
    return bad();
  ms += ((h * 60LL + mi) * 60LL + s) * 1000LL;
  std::size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int64_t frac = 0;
    int n = 0;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, ++n)
      if (n < 3) frac = frac * 10 + (text[pos] - '0');
    if (n == 0) return bad();
    for (int k = n; k < 3; ++k) frac *= 10;
    ms += frac;
  }
  if (pos == text.size()) return bad();  // RFC 3339 requires an offset
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int oh = 0, om = 0;
    if (!digits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !digits(text, pos + 4, 2, om) || oh > 23 || om > 59)
      return bad();
    const int64_t offset_ms = (oh * 60LL + om) * 60'000LL;
    ms += text[pos] == '+' ? -offset_ms : offset_ms;
    pos += 6;
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  return ms;
}

}  // namespace

bool DlqQuery::matches(const records::DeliveryMeta& meta, int64_t record_timestamp_ms) const {
  if (since_ms && record_timestamp_ms < *since_ms) return false;
  if (until_ms && record_timestamp_ms > *until_ms) return false;
  const auto equal = [](const std::string& want, const std::string& have) {
    return want.empty() || have == want;
  };
  return equal(subscription_id, meta.subscription_id) && equal(event_type, meta.event_type) &&
         equal(error_class, meta.error_class);
}

std::string DlqQuery::canonical() const {
  return "subscription=" + subscription_id + "\nevent-type=" + event_type +
         "\nerror-class=" + error_class + "\nsince=" + (since_ms ? std::to_string(*since_ms) : "") +
         "\nuntil=" + (until_ms ? std::to_string(*until_ms) : "");
}

Result<int64_t> parseTimeMs(std::string_view text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
    const auto v = text::parseInteger<int64_t>(text);
    if (!v) return fail("bad epoch ms '" + std::string(text) + "'");
    return *v;
  }
  return parseRfc3339(text);
}

std::string formatTimeMs(int64_t ms) {
  const std::chrono::sys_time<std::chrono::milliseconds> t{std::chrono::milliseconds(ms)};
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{t - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                int(hms.minutes().count()), int(hms.seconds().count()),
                int(hms.subseconds().count()));
  return buf;
}

Result<uint64_t> parseCount(std::string_view text) {
  const auto v = text::parseInteger<uint64_t>(text);
  if (!v) return fail("bad number '" + std::string(text) + "'");
  return *v;
}

Result<double> parseRate(std::string_view text) {
  std::string_view number = text;
  double per = 1.0;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    number = text.substr(0, slash);
    const std::string_view unit = text.substr(slash + 1);
    if (unit == "s")
      per = 1.0;
    else if (unit == "m")
      per = 60.0;
    else if (unit == "h")
      per = 3600.0;
    else
      return fail("bad rate '" + std::string(text) + "' (expected N/s, N/m or N/h)");
  }
  auto n = parseCount(number);
  if (!n || *n == 0) return fail("bad rate '" + std::string(text) + "' (expected N/s, N > 0)");
  return static_cast<double>(*n) / per;
}

Result<std::pair<int32_t, int64_t>> parsePartitionOffset(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return fail("bad position '" + std::string(text) + "' (expected PARTITION:OFFSET)");
  auto partition = parseCount(text.substr(0, colon));
  auto offset = parseCount(text.substr(colon + 1));
  if (!partition || !offset || *partition > INT32_MAX || *offset > INT64_MAX)
    return fail("bad position '" + std::string(text) + "' (expected PARTITION:OFFSET)");
  return std::make_pair(static_cast<int32_t>(*partition), static_cast<int64_t>(*offset));
}

Result<bool> parseQueryArg(const std::vector<std::string>& args, std::size_t& i, DlqQuery& filter) {
  const std::string& flag = args[i];
  std::string* text = nullptr;
  if (flag == "--subscription")
    text = &filter.subscription_id;
  else if (flag == "--event-type")
    text = &filter.event_type;
  else if (flag == "--error-class")
    text = &filter.error_class;
  else if (flag != "--since" && flag != "--until")
    return false;
  if (i + 1 >= args.size() || args[i + 1].empty()) return fail(flag + " needs a value");
  const std::string& value = args[++i];
  if (text != nullptr) {
    *text = value;
    return true;
  }
  auto ms = parseTimeMs(value);
  if (!ms) return fail(flag + ": " + ms.error().message);
  (flag == "--since" ? filter.since_ms : filter.until_ms) = *ms;
  if (filter.since_ms && filter.until_ms && *filter.since_ms > *filter.until_ms)
    return fail("--since is after --until");
  return true;
}

}  // namespace hookpipe::dlq
