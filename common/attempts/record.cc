#include "common/attempts/record.h"

#include <simdjson.h>

#include <charconv>
#include <type_traits>
#include <utility>

#include "common/json/escape.h"

namespace hookpipe::attempts {
namespace {

using json::appendString;

void appendInt(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// `key` is the whole `,"name":` (one append: a small buffer built here was copied with
// `rep movs`, several times slower).
void field(std::string& out, std::string_view key) { out.append(key.data(), key.size()); }
void stringField(std::string& out, std::string_view name, std::string_view value) {
  field(out, name);
  appendString(out, value);
}
void intField(std::string& out, std::string_view name, int64_t value) {
  field(out, name);
  appendInt(out, value);
}

struct Fields {
  std::string_view delivery_id, event_id, event_type, subscription_id, tenant, outcome, reason,
      error_class, error_message, response_body, payload_topic;
  int attempt;
  int replay;
  bool attempted;
  int64_t started_ms, finished_ms, duration_us, status, request_bytes, response_bytes,
      next_attempt_ms, payload_offset;
  int32_t payload_partition;
};

void encodeFields(const Fields& f, std::string& out) {
  out += "{\"v\":";
  appendInt(out, kSchemaVersion);
  stringField(out, R"(,"delivery_id":)", f.delivery_id);
  stringField(out, R"(,"event_id":)", f.event_id);
  stringField(out, R"(,"event_type":)", f.event_type);
  stringField(out, R"(,"subscription_id":)", f.subscription_id);
  stringField(out, R"(,"tenant":)", f.tenant);
  intField(out, R"(,"attempt":)", f.attempt);
  intField(out, R"(,"replay":)", f.replay);
  stringField(out, R"(,"outcome":)", f.outcome);
  stringField(out, R"(,"reason":)", f.reason);
  field(out, R"(,"attempted":)");
  out += f.attempted ? "true" : "false";
  intField(out, R"(,"started_ms":)", f.started_ms);
  intField(out, R"(,"finished_ms":)", f.finished_ms);
  intField(out, R"(,"duration_us":)", f.duration_us);
  intField(out, R"(,"status":)", f.status);
  stringField(out, R"(,"error_class":)", f.error_class);
  stringField(out, R"(,"error_message":)", f.error_message);
  intField(out, R"(,"request_bytes":)", f.request_bytes);
  intField(out, R"(,"response_bytes":)", f.response_bytes);
  stringField(out, R"(,"response_body":)", f.response_body.substr(0, kResponseBodyBytes));
  intField(out, R"(,"next_attempt_ms":)", f.next_attempt_ms);
  out += ",\"payload\":{\"topic\":";
  appendString(out, f.payload_topic);
  intField(out, R"(,"partition":)", f.payload_partition);
  intField(out, R"(,"offset":)", f.payload_offset);
  out += "}}";
}

}  // namespace

bool isLogged(observe::Outcome outcome) {
  return outcome == observe::Outcome::kDelivered || outcome == observe::Outcome::kRetried ||
         outcome == observe::Outcome::kDeadLettered;
}

void encode(const observe::Attempt& a, int64_t finished_ms, std::string& out) {
  encodeFields(
      Fields{.delivery_id = a.delivery_id,
             .event_id = a.event_id,
             .event_type = a.event_type,
             .subscription_id = a.subscription_id,
             .tenant = a.tenant,
             .outcome = observe::name(a.outcome),
             .reason = a.outcome == observe::Outcome::kDeadLettered ? a.reason : std::string_view(),
             .error_class = a.error_class,
             .error_message = a.error_message,
             .response_body = a.response_head,
             .payload_topic = a.source_topic,
             .attempt = a.attempt,
             .replay = a.replay,
             .attempted = a.attempted,
             .started_ms = a.attempted ? a.started_ms : finished_ms,
             .finished_ms = finished_ms,
             .duration_us = a.attempted ? a.duration_us : 0,
             .status = a.status,
             .request_bytes = static_cast<int64_t>(a.request_bytes),
             .response_bytes = static_cast<int64_t>(a.response_bytes),
             .next_attempt_ms = a.outcome == observe::Outcome::kRetried ? a.next_attempt_ms : 0,
             .payload_offset = a.source_offset,
             .payload_partition = a.source_partition},
      out);
}

void encode(const Record& r, std::string& out) {
  encodeFields(Fields{.delivery_id = r.delivery_id,
                      .event_id = r.event_id,
                      .event_type = r.event_type,
                      .subscription_id = r.subscription_id,
                      .tenant = r.tenant,
                      .outcome = r.outcome,
                      .reason = r.reason,
                      .error_class = r.error_class,
                      .error_message = r.error_message,
                      .response_body = r.response_body,
                      .payload_topic = r.payload_topic,
                      .attempt = r.attempt,
                      .replay = r.replay,
                      .attempted = r.attempted,
                      .started_ms = r.started_ms,
                      .finished_ms = r.finished_ms,
                      .duration_us = r.duration_us,
                      .status = r.status,
                      .request_bytes = static_cast<int64_t>(r.request_bytes),
                      .response_bytes = static_cast<int64_t>(r.response_bytes),
                      .next_attempt_ms = r.next_attempt_ms,
                      .payload_offset = r.payload_offset,
                      .payload_partition = r.payload_partition},
               out);
}

Result<Record> parse(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root); err)
    return fail(std::string("attempt record is not JSON: ") + simdjson::error_message(err));
  simdjson::dom::object obj;
  if (root.get(obj)) return fail("attempt record is not a JSON object");
  Record r;
  std::string missing;
  auto str = [&](const char* name, std::string& out, bool required) -> bool {
    std::string_view v;
    auto e = obj[name];
    if (e.error() == simdjson::NO_SUCH_FIELD) {
      if (required) missing = name;
      return !required;
    }
    if (e.get(v)) {
      missing = std::string(name) + " (not a string)";
      return false;
    }
    out.assign(v);
    return true;
  };
  // An integer that fits `out` (the counts of bytes are never negative).
  auto num = [&](const char* name, auto& out, bool required) -> bool {
    using T = std::remove_reference_t<decltype(out)>;
    int64_t v = 0;
    auto e = obj[name];
    if (e.error() == simdjson::NO_SUCH_FIELD) {
      if (required) missing = name;
      return !required;
    }
    if (e.get(v)) {
      missing = std::string(name) + " (not an integer)";
      return false;
    }
    if (!std::in_range<T>(v)) {
      missing = std::string(name) + " (out of range)";
      return false;
    }
    out = static_cast<T>(v);
    return true;
  };
  int64_t version = kSchemaVersion;
  bool ok = num("v", version, false) && str("delivery_id", r.delivery_id, true) &&
            str("event_id", r.event_id, false) && str("event_type", r.event_type, false) &&
            str("subscription_id", r.subscription_id, true) && str("tenant", r.tenant, false) &&
            num("attempt", r.attempt, true) && num("replay", r.replay, false) &&
            str("outcome", r.outcome, true) && str("reason", r.reason, false) &&
            num("started_ms", r.started_ms, false) && num("finished_ms", r.finished_ms, true) &&
            num("duration_us", r.duration_us, false) && num("status", r.status, false) &&
            str("error_class", r.error_class, false) &&
            str("error_message", r.error_message, false) &&
            num("request_bytes", r.request_bytes, false) &&
            num("response_bytes", r.response_bytes, false) &&
            str("response_body", r.response_body, false) &&
            num("next_attempt_ms", r.next_attempt_ms, false);
  if (!ok) return fail("attempt record: missing or bad field " + missing);
  r.version = static_cast<int>(version);
  if (auto attempted = obj["attempted"]; attempted.error() != simdjson::NO_SUCH_FIELD)
    if (attempted.get(r.attempted)) return fail("attempt record: attempted is not a boolean");
  if (auto payload = obj["payload"]; payload.error() != simdjson::NO_SUCH_FIELD) {
    simdjson::dom::object p;
    if (payload.get(p)) return fail("attempt record: payload is not an object");
    std::string_view topic;
    int64_t partition = -1, offset = -1;
    if (p["topic"].get(topic)) return fail("attempt record: missing or bad field payload.topic");
    if (p["partition"].get(partition) || !std::in_range<int32_t>(partition))
      return fail("attempt record: missing or bad field payload.partition");
    if (p["offset"].get(offset)) return fail("attempt record: missing or bad field payload.offset");
    r.payload_topic.assign(topic);
    r.payload_partition = static_cast<int32_t>(partition);
    r.payload_offset = offset;
  }
  // Epoch milliseconds from 1970 to 9999-12-31: a record in µs or seconds by mistake, or
  // near INT64_MAX, is refused here, and its readers' time arithmetic cannot overflow.
  constexpr int64_t kMaxTimeMs = 253'402'300'799'999;
  if (r.finished_ms < 0 || r.finished_ms > kMaxTimeMs)
    return fail("attempt record: bad field finished_ms (out of range: " +
                std::to_string(r.finished_ms) + ")");
  if (r.outcome != "delivered" && r.outcome != "retried" && r.outcome != "dead_lettered")
    return fail("attempt record: bad field outcome (unknown: '" + r.outcome + "')");
  if (r.attempt < 1) return fail("attempt record: bad field attempt (must be at least 1)");
  if (r.replay < 0) return fail("attempt record: bad field replay (must not be negative)");
  return r;
}

std::string_view statusClass(long status) {
  if (status >= 200 && status < 300) return "2xx";
  if (status >= 300 && status < 400) return "3xx";
  if (status >= 400 && status < 500) return "4xx";
  if (status >= 500 && status < 600) return "5xx";
  return "none";
}

std::string_view statsErrorClass(const Record& r) {
  if (r.outcome == "delivered") return "";
  if (r.status == 429) return "http_429";
  return r.error_class.empty() ? std::string_view("unknown") : std::string_view(r.error_class);
}

}  // namespace hookpipe::attempts
