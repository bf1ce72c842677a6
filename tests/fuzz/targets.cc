#include "tests/fuzz/targets.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/attempts/query.h"
#include "common/attempts/record.h"
#include "common/config/config.h"
#include "common/dlq/query.h"
#include "common/filter/filter.h"
#include "common/format/formatter.h"
#include "common/format/template.h"
#include "common/format/template_formatter.h"
#include "common/json/document.h"
#include "common/json/event.h"
#include "common/subscriptions/subscription.h"
#include "common/webhook/outcome.h"
#include "common/webhook/platform_rules.h"
#include "common/webhook/request.h"
#include "producer/dead_letters.h"
#include "producer/delivery_log.h"
#include "producer/event_type.h"
#include "producer/http_util.h"
#include "router/index.h"

namespace hookpipe::fuzz {
namespace {

using router::SubscriptionIndex;

const std::vector<std::string>& sampleEvents() {
  static const std::vector<std::string> events = {
      R"({"type":"order.created","data":{"status":"confirmed","amount":150,"tags":["a","b"],)"
      R"("customer":{"tier":"gold"},"items":[{"sku":"A"}],"note":null,"paid":true}})",
      R"({"type":"t","tenant":"acme","data":[1,2,{"x":"y"}]})",
      R"({"type":"t","data":{"amount":-1.5e300,"big":18446744073709551615,"s":""}})",
  };
  return events;
}

const SubscriptionIndex& sampleIndex() {
  static const SubscriptionIndex index = [] {
    const std::vector<std::string> json = {
        R"({"id":"s0","url":"https://e.com","events":["*"]})",
        R"({"id":"s1","url":"https://e.com","events":["order.*"],"filters":{"data.amount":{"$gte":100}}})",
        R"({"id":"s2","url":"https://e.com","events":["order.created"],"tenant":"acme"})",
        R"({"id":"s3","url":"https://e.com","events":["a.*","a.b"],"filters":{"$or":[{"data.s":)"
        R"({"$regex":"^x"}},{"data.n":{"$nin":[1,2]}}]}})",
        R"({"id":"s4","url":"https://e.com","events":["*"],"tenant":"t","filters":{"$not":{"x":null}}})",
    };
    auto map = std::make_shared<SubscriptionTable::Map>();
    for (const auto& text : json) {
      auto s = parseSubscription(text);
      if (!s) std::abort();
      std::string id = s->id;  // read before the move below
      (*map)[id] = std::make_shared<const Subscription>(std::move(*s));
    }
    return SubscriptionIndex(map);
  }();
  return index;
}

std::string_view bytesOf(const uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

std::vector<std::string> lines(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    out.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

// Every problem says where and what.
void checkProblems(const std::vector<producer::Problem>& problems) {
  for (const auto& p : problems)
    if (p.message.empty()) std::abort();
}

}  // namespace

int filterOne(const uint8_t* data, std::size_t size) {
  auto compiled =
      filter::compileFilter(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!compiled) {
    if (compiled.error().message.empty()) std::abort();  // every failure says why
    return 0;
  }
  static simdjson::dom::parser parser;
  for (const auto& event : sampleEvents()) {
    simdjson::dom::element root;
    if (parser.parse(event).get(root)) std::abort();
    (void)(*compiled)->matches(root);
  }
  return 0;
}

int eventOne(const uint8_t* data, std::size_t size) {
  static json::EventParser events(64 * 1024);
  static simdjson::dom::parser p1, p2;
  // The tape walk (the router's) and the element walk agree on duplicate keys.
  if (simdjson::dom::element root;
      json::parseDocument(p1, std::string_view(reinterpret_cast<const char*>(data), size), root) ==
          simdjson::SUCCESS &&
      json::hasDuplicateKey(p1) != json::duplicateKey(root).has_value())
    std::abort();
  auto event =
      events.parse(std::string_view(reinterpret_cast<const char*>(data), size), 0, "evt_0");
  if (!event) return 0;
  // What the parser accepted, the router's second parse reads, with no key twice and a
  // bounded type free of control characters.
  if (event->type.empty() || event->type.size() > json::kMaxTypeBytes ||
      event->id.size() > json::kMaxIdBytes)
    std::abort();
  for (unsigned char c : event->type + event->id)
    if (c < 0x20 || c == 0x7f) std::abort();
  const auto& index = sampleIndex();
  router::EventView v1(p1, event->type, event->body), v2(p2, event->type, event->body);
  if (v1.document() == nullptr || json::duplicateKey(*v1.document())) std::abort();
  std::vector<const Subscription*> indexed, linear;
  index.match(v1, indexed);
  router::matchLinear(*index.source(), v2, linear);
  if (indexed != linear) std::abort();
  // Every format renders every valid event as JSON (format() cannot fail).
  static const Subscription sub;
  static simdjson::dom::parser p3;
  for (const char* name : {"slack", "teams", "discord", "telegram"}) {
    auto formatter = format::Registry::global().find(name);
    if (!formatter) std::abort();
    const std::string body = formatter->format(*event, sub);
    if (simdjson::dom::element out; p3.parse(body).get(out) || !out.is_object()) std::abort();
  }
  return 0;
}

int subscriptionOne(const uint8_t* data, std::size_t size) {
  const std::string_view json = bytesOf(data, size);
  (void)subscriptionFieldProblems(json);
  for (auto source :
       {SubscriptionSource::kCreate, SubscriptionSource::kUpdate, SubscriptionSource::kStored}) {
    auto checked = checkSubscription(json, source);
    if (!checked) {
      if (checked.error().empty()) std::abort();  // a refusal names at least one problem
      continue;
    }
    (void)apiProblems(*checked);
    (void)apiJson(*checked, false);
    auto again = parseSubscription(toJson(*checked));
    if (!again || again->id != checked->id || again->url != checked->url ||
        again->format_options != checked->format_options)
      std::abort();
    // A formatter bound to any options (a stored record's are not validated) renders.
    if (checked->formatter) {
      static const json::Event kEvent{"evt_1", "a.b",
                                      R"({"id":"evt_1","type":"a.b","data":{"severity":"error"}})"};
      static simdjson::dom::parser parser;
      const std::string body = checked->formatter->format(kEvent, *checked);
      // A template's body is whatever its author wrote (bounded); the others are JSON.
      if (checked->format == "template") {
        if (body.size() > format::tmpl::Limits{}.max_output) std::abort();
      } else if (simdjson::dom::element out; parser.parse(body).get(out)) {
        std::abort();
      }
    }
  }
  return 0;
}

int eventTypeOne(const uint8_t* data, std::size_t size) {
  const std::string_view json = bytesOf(data, size);
  (void)producer::eventTypeNameProblem(json);
  for (bool strict : {true, false}) {
    auto parsed = producer::parseEventType(json, strict);
    if (!parsed) {
      if (parsed.error().message.empty()) std::abort();
      continue;
    }
    auto again = producer::parseEventType(producer::eventTypeJson(*parsed), false);
    if (!again || again->name != parsed->name) std::abort();
  }
  return 0;
}

int deadLetterQueryOne(const uint8_t* data, std::size_t size) {
  const std::string_view text = bytesOf(data, size);
  if (auto query = producer::parseQuery("/v1/dead-letters?" + std::string(text))) {
    producer::DeadLetterQuery out;
    const auto problems = producer::parseDeadLetterQuery(*query, out);
    checkProblems(problems);
    if (problems.empty() && (out.limit < 1 || out.limit > producer::kMaxDeadLetterLimit))
      std::abort();
  }
  dlq::ReplayOptions options;
  checkProblems(producer::parseReplayRequest(text, options));
  // `hookpipe dlq list --since X --until Y ...`: one argument per line.
  const std::vector<std::string> args = lines(text);
  dlq::DlqQuery filter;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::size_t before = i;
    auto consumed = dlq::parseQueryArg(args, i, filter);
    if (consumed && !*consumed && i != before) std::abort();  // not a flag: nothing consumed
    if (i >= args.size()) break;
  }
  for (const auto& arg : args) {
    (void)dlq::parseTimeMs(arg);
    if (auto rate = dlq::parseRate(arg); rate && !(*rate > 0)) std::abort();
    if (auto po = dlq::parsePartitionOffset(arg); po && (po->first < 0 || po->second < 0))
      std::abort();
    (void)dlq::parseCount(arg);
  }
  return 0;
}

int queryStringOne(const uint8_t* data, std::size_t size) {
  const std::string_view target = bytesOf(data, size);
  (void)producer::percentDecode(target);
  (void)producer::pathSegments(target);
  if (auto query = producer::parseQuery(target)) {
    std::size_t limit = 100, offset = 0;
    std::vector<producer::Problem> problems;
    for (const auto& [key, value] : *query) {
      (void)producer::parseInt(value);
      (void)producer::pagingParameter(key, value, 1000, limit, offset, problems);
    }
    checkProblems(problems);
    if (limit < 1 || limit > 1000) std::abort();
  }
  return 0;
}

int deliveryLogQueryOne(const uint8_t* data, std::size_t size) {
  const std::string_view text = bytesOf(data, size);
  if (auto query = producer::parseQuery("/v1/subscriptions/s/deliveries?" + std::string(text))) {
    for (const bool exporting : {false, true}) {
      producer::LogQuery out;
      const auto problems = producer::parseLogQuery(*query, exporting, out);
      checkProblems(problems);
      // A parameter's problem names it (a parameter without a name, "?=x", has "").
      for (const auto& p : problems)
        if (p.pointer.empty() && !query->contains("")) std::abort();
      if (problems.empty() && (out.limit < 1 || out.limit > attempts::kMaxLogLimit)) std::abort();
      if (problems.empty() && exporting && out.format != "csv" && out.format != "ndjson")
        std::abort();
    }
    attempts::StatsQuery stats;
    const auto problems = producer::parseStatsQuery(*query, 1'767'972'600'000, stats);
    checkProblems(problems);
    if (problems.empty() &&
        (stats.since_ms > stats.until_ms ||
         stats.until_ms - stats.since_ms > attempts::maxRangeMs(stats.group_by)))
      std::abort();
  }
  if (auto cursor = attempts::decodeCursor(text)) {
    if (cursor->delivery_id.empty() || cursor->score_ms < 0) std::abort();
    if (attempts::encodeCursor(*cursor) != text) std::abort();
  }
  return 0;
}

int retryAfterOne(const uint8_t* data, std::size_t size) {
  constexpr int64_t kNow = 1'767'972'600;  // 2026-01-09T15:30:00Z
  if (auto wait = webhook::parseRetryAfter(bytesOf(data, size), kNow); wait && wait->count() < 0)
    std::abort();
  return 0;
}

int platformAnswerOne(const uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  constexpr webhook::Platform kPlatforms[] = {
      webhook::Platform::kGeneric, webhook::Platform::kSlack,    webhook::Platform::kTeams,
      webhook::Platform::kDiscord, webhook::Platform::kTelegram, webhook::Platform::kZapier};
  constexpr long kStatuses[] = {400, 401, 403, 404, 410, 429, 500, 503};
  const auto platform = kPlatforms[data[0] % std::size(kPlatforms)];
  const long status = kStatuses[data[1] % std::size(kStatuses)];
  std::string_view body = bytesOf(data + 2, size - 2);
  body = body.substr(0, webhook::kResponseSnippetBytes);  // what the deliverer keeps
  const auto j = webhook::judge(platform, {.status = status, .body_head = body}, 1'767'972'600);
  if (j.outcome.verdict == webhook::Verdict::kDelivered || j.outcome.error_class == nullptr)
    std::abort();
  if (j.retry_after && j.retry_after->count() < 0) std::abort();
  // Only a retryable answer has a wait, and a platform never makes a 429 or a 5xx permanent.
  if ((status == 429 || status >= 500) && j.outcome.verdict != webhook::Verdict::kRetry)
    std::abort();
  return 0;
}

int configOne(const uint8_t* data, std::size_t size) {
  // HOOKPIPE_CA_FILE is left out: validate() would open whatever file it names.
  static const std::vector<std::string> kNames = {"HOOKPIPE_ALLOWED_TARGETS",
                                                  "HOOKPIPE_ALLOW_PRIVATE_TARGETS",
                                                  "HOOKPIPE_API_TOKENS",
                                                  "HOOKPIPE_BREAKER_COOLDOWN",
                                                  "HOOKPIPE_BREAKER_FAILURES",
                                                  "HOOKPIPE_BREAKER_FAILURE_RATE",
                                                  "HOOKPIPE_BREAKER_WINDOW",
                                                  "HOOKPIPE_BROKERS",
                                                  "HOOKPIPE_CONNECT_TIMEOUT_MS",
                                                  "HOOKPIPE_DELIVERER_THREADS",
                                                  "HOOKPIPE_DELIVERIES_PARTITIONS",
                                                  "HOOKPIPE_ENDPOINT_CONCURRENCY",
                                                  "HOOKPIPE_EVENTS_PARTITIONS",
                                                  "HOOKPIPE_EXACTLY_ONCE_COMMIT_MS",
                                                  "HOOKPIPE_EXACTLY_ONCE_ROUTING",
                                                  "HOOKPIPE_GROUP_PREFIX",
                                                  "HOOKPIPE_HTTPS_ONLY",
                                                  "HOOKPIPE_HTTP_ADDRESS",
                                                  "HOOKPIPE_HTTP_PORT",
                                                  "HOOKPIPE_HTTP_THREADS",
                                                  "HOOKPIPE_IDEMPOTENCY_WINDOW_S",
                                                  "HOOKPIPE_MAX_BATCH_BYTES",
                                                  "HOOKPIPE_MAX_BATCH_EVENTS",
                                                  "HOOKPIPE_MAX_EVENT_BYTES",
                                                  "HOOKPIPE_MAX_IN_FLIGHT",
                                                  "HOOKPIPE_MAX_PAUSE",
                                                  "HOOKPIPE_MAX_WAITING",
                                                  "HOOKPIPE_REDIS",
                                                  "HOOKPIPE_REQUEST_TIMEOUT_MS",
                                                  "HOOKPIPE_RETRY_PARTITIONS",
                                                  "HOOKPIPE_RETRY_TIERS",
                                                  "HOOKPIPE_ROUTER_LINGER_MS",
                                                  "HOOKPIPE_ATTEMPT_LOG_LINGER_MS",
                                                  "HOOKPIPE_HOT_FETCH_WAIT_MS",
                                                  "HOOKPIPE_TOPIC_PREFIX"};
  std::vector<std::pair<std::string, std::optional<std::string>>> saved;
  for (const auto& name : kNames) {
    const char* v = std::getenv(name.c_str());
    saved.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
    ::unsetenv(name.c_str());
  }
  for (const auto& line : lines(bytesOf(data, size))) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    // The name as given, or with the prefix left out ("MAX_PAUSE=5s").
    std::string name = line.substr(0, eq);
    if (!name.starts_with("HOOKPIPE_")) name = "HOOKPIPE_" + name;
    const std::string value = line.substr(eq + 1);
    if (value.find('\0') != std::string::npos) continue;
    if (std::find(kNames.begin(), kNames.end(), name) != kNames.end())
      ::setenv(name.c_str(), value.c_str(), 1);
  }
  const Config config = Config::fromEnv();
  for (const auto& problem : config.validate())
    if (problem.empty()) std::abort();
  for (const auto& [name, value] : saved) {
    if (value)
      ::setenv(name.c_str(), value->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
  return 0;
}

int attemptRecordOne(const uint8_t* data, std::size_t size) {
  auto record = attempts::parse(bytesOf(data, size));
  if (!record) {
    if (record.error().message.empty()) std::abort();
    return 0;
  }
  // An accepted record survives its encoding: valid UTF-8 JSON that parses back to the same
  // fields, and encodes the same again while the body was within the cap (a body cut
  // inside a UTF-8 sequence gets U+FFFD, which a second cut may split differently).
  std::string json;
  attempts::encode(*record, json);
  if (!simdjson::validate_utf8(json.data(), json.size())) std::abort();
  auto again = attempts::parse(json);
  if (!again) std::abort();
  std::string twice;
  attempts::encode(*again, twice);
  if (record->response_body.size() <= attempts::kResponseBodyBytes && twice != json) std::abort();
  if (again->delivery_id != record->delivery_id || again->attempt != record->attempt ||
      again->finished_ms != record->finished_ms || again->outcome != record->outcome ||
      again->payload_offset != record->payload_offset)
    std::abort();
  return 0;
}

int templateOne(const uint8_t* data, std::size_t size) {
  const std::string_view bytes = bytesOf(data, size);
  const std::size_t nul = bytes.find('\0');
  const std::string_view text = bytes.substr(0, nul);
  const std::string_view event =
      nul == std::string_view::npos ? std::string_view() : bytes.substr(nul + 1);
  std::string error;
  auto compiled = format::tmpl::Template::compile(text, error);
  // Either a template or a problem saying where (or how big).
  if ((compiled == nullptr) == error.empty()) std::abort();
  if (!compiled) {
    if (!error.starts_with("line ") && !error.starts_with("template is ")) std::abort();
    return 0;
  }
  static simdjson::dom::parser parser;
  const bool utf8 = simdjson::validate_utf8(text.data(), text.size());
  const auto renderOver = [&](simdjson::dom::element root) {
    for (const format::tmpl::Limits limits :
         {format::tmpl::Limits{}, format::tmpl::Limits{.max_output = 256, .max_work = 2000}}) {
      format::tmpl::Outcome outcome;
      const std::string body = compiled->render(root, limits, &outcome);
      if (body.size() > limits.max_output || outcome.work > limits.max_work + 1) std::abort();
      if (!outcome.cut && outcome.work > limits.max_work) std::abort();
      // Valid UTF-8 in, valid UTF-8 out: values come from a validated document and cuts
      // fall on code point boundaries.
      if (utf8 && !simdjson::validate_utf8(body.data(), body.size())) std::abort();
      // A template without tags is its own text.
      if (text.find("{{") == std::string_view::npos && !outcome.cut && body != text) std::abort();
    }
  };
  simdjson::dom::element root;
  if (!event.empty() && !parser.parse(event.data(), event.size()).get(root) && root.is_object())
    renderOver(root);
  for (const auto& sample : sampleEvents())
    if (!parser.parse(sample).get(root)) renderOver(root);
  // Through the format: any event body renders within the cap.
  const format::TemplateFormatter formatter(compiled);
  static const Subscription sub;
  const json::Event as_event{"evt_1", "a.b", std::string(event)};
  if (formatter.format(as_event, sub).size() > format::tmpl::Limits{}.max_output) std::abort();
  return 0;
}

}  // namespace hookpipe::fuzz
