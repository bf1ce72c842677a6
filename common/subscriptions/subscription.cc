#include "common/subscriptions/subscription.h"

#include <simdjson.h>

#include <algorithm>
#include <boost/json.hpp>
#include <span>

#include "common/format/formatter.h"
#include "common/json/body.h"
#include "common/json/pointer.h"
#include "common/signing/signer.h"

namespace hookpipe {
namespace {

const char* strategyName(RetryConfig::Strategy s) {
  switch (s) {
    case RetryConfig::Strategy::kExponential:
      return "exponential";
    case RetryConfig::Strategy::kLinear:
      return "linear";
    case RetryConfig::Strategy::kFixed:
      return "fixed";
    case RetryConfig::Strategy::kNone:
      return "none";
  }
  return "exponential";
}

// Problems as they are found, each at its pointer.
class Problems {
 public:
  void add(std::string pointer, std::string message) {
    list_.push_back({std::move(pointer), std::move(message)});
  }
  void add(std::vector<FieldProblem> more) {
    for (auto& p : more) list_.push_back(std::move(p));
  }
  bool empty() const { return list_.empty(); }
  std::vector<FieldProblem> take() { return std::move(list_); }

 private:
  std::vector<FieldProblem> list_;
};

std::string pointerOf(std::string_view parent, std::string_view key) {
  std::string out(parent);
  out += '/';
  out += json::pointerToken(key);
  return out;
}

constexpr std::string_view kTopLevelFields[] = {"id",
                                                "name",
                                                "description",
                                                "url",
                                                "events",
                                                "secret",
                                                "previous_secret",
                                                "previous_secret_expires_ms",
                                                "tenant",
                                                "filters",
                                                "is_active",
                                                "disabled_reason",
                                                "signature_style",
                                                "headers",
                                                "metadata",
                                                "format",
                                                "format_options",
                                                "retry_config",
                                                "timeout_ms",
                                                "connect_timeout_ms",
                                                "rate_limit",
                                                "max_concurrency",
                                                "ordered",
                                                "created_at",
                                                "updated_at"};
constexpr std::string_view kRetryConfigFields[] = {"strategy",  "max_retries",        "retry_delay",
                                                   "max_delay", "backoff_multiplier", "jitter"};
constexpr std::string_view kRateLimitFields[] = {"per_second", "per_minute", "per_hour"};

// Names people reach for that are spelled differently here.
std::string_view alias(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
      {"active", "is_active"},
      {"enabled", "is_active"},
      {"disabled", "is_active"},
      {"paused", "is_active"},
      {"event_types", "events"},
      {"filter_types", "events"},
      {"filter", "filters"},
      {"endpoint", "url"},
      {"uid", "id"},
      {"timeout", "timeout_ms"},
      {"retry", "retry_config"},
      {"retry_policy", "retry_config"},
      {"ratelimit", "rate_limit"},
      {"rate_limits", "rate_limit"},
      {"labels", "metadata"},
      {"tags", "metadata"},
      {"signing_secret", "secret"},
      {"concurrency", "max_concurrency"},
      {"max_attempts", "max_retries"},
      {"retries", "max_retries"},
      {"delay", "retry_delay"},
      {"multiplier", "backoff_multiplier"}};
  for (const auto& [from, to] : kAliases)
    if (from == name) return to;
  return {};
}

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "unknown field retry_config.max_retrys (did you mean max_retries?)".
std::string unknownFieldMessage(std::string_view path, std::string_view key,
                                std::span<const std::string_view> known) {
  std::string message = "unknown field ";
  if (!path.empty()) message += std::string(path) + ".";
  message += json::printableName(key);
  std::string_view best = alias(key);
  if (!best.empty() && std::find(known.begin(), known.end(), best) == known.end()) best = {};
  if (best.empty() && key.size() < 64) {
    std::size_t best_distance = 3;  // at most two edits away
    for (auto k : known)
      if (const auto d = editDistance(key, k); d < best_distance) {
        best_distance = d;
        best = k;
      }
  }
  if (!best.empty()) message += " (did you mean " + std::string(best) + "?)";
  return message;
}

void unknownKeys(simdjson::dom::object obj, std::string_view path, std::string_view pointer,
                 std::span<const std::string_view> known, Problems& problems) {
  for (auto [key, value] : obj) {
    (void)value;
    if (std::find(known.begin(), known.end(), key) == known.end())
      problems.add(pointerOf(pointer, key), unknownFieldMessage(path, key, known));
  }
}

// `rate_limit` false: parseRateLimit reports its unknown keys itself (in every record).
void unknownFields(simdjson::dom::object obj, bool rate_limit, Problems& problems) {
  unknownKeys(obj, "", "", kTopLevelFields, problems);
  simdjson::dom::object nested;
  if (!obj["retry_config"].get_object().get(nested))
    unknownKeys(nested, "retry_config", "/retry_config", kRetryConfigFields, problems);
  if (rate_limit && !obj["rate_limit"].get_object().get(nested))
    unknownKeys(nested, "rate_limit", "/rate_limit", kRateLimitFields, problems);
}

// A field that is absent or null: not given (its default applies).
bool given(simdjson::simdjson_result<simdjson::dom::element> field) {
  return field.error() != simdjson::NO_SUCH_FIELD && !field.is_null();
}

void parseRetryConfig(simdjson::dom::object obj, RetryConfig& rc, Problems& problems) {
  for (auto [key, value] : obj) {
    if (value.is_null()) continue;
    const std::string pointer = pointerOf("/retry_config", key);
    if (key == "strategy") {
      std::string_view s;
      if (value.get_string().get(s)) {
        problems.add(pointer, "retry_config.strategy must be a string");
        continue;
      }
      if (s == "exponential")
        rc.strategy = RetryConfig::Strategy::kExponential;
      else if (s == "linear")
        rc.strategy = RetryConfig::Strategy::kLinear;
      else if (s == "fixed")
        rc.strategy = RetryConfig::Strategy::kFixed;
      else if (s == "none")
        rc.strategy = RetryConfig::Strategy::kNone;
      else
        problems.add(pointer, "retry_config.strategy must be exponential, linear, fixed or none");
    } else if (key == "max_retries") {
      int64_t n = 0;
      if (value.get_int64().get(n) || n < 0 || n > 100)
        problems.add(pointer, "retry_config.max_retries must be an integer 0..100");
      else
        rc.max_retries = static_cast<int>(n);
    } else if (key == "retry_delay") {
      int64_t n = 0;
      if (value.get_int64().get(n) || n < 0)
        problems.add(pointer, "retry_config.retry_delay must be milliseconds >= 0");
      else
        rc.retry_delay_ms = n;
    } else if (key == "max_delay") {
      int64_t n = 0;
      if (value.get_int64().get(n) || n < 0)
        problems.add(pointer, "retry_config.max_delay must be milliseconds >= 0");
      else
        rc.max_delay_ms = n;
    } else if (key == "backoff_multiplier") {
      double d = 0;
      if (value.get_double().get(d) || d < 1.0 || d > 100.0)
        problems.add(pointer, "retry_config.backoff_multiplier must be between 1 and 100");
      else
        rc.backoff_multiplier = d;
    } else if (key == "jitter") {
      bool b = false;
      if (value.get_bool().get(b))
        problems.add(pointer, "retry_config.jitter must be a boolean");
      else
        rc.jitter = b;
    }
  }
}

bool validPattern(std::string_view p) {
  if (p.empty()) return false;
  const auto star = p.find('*');
  return star == std::string_view::npos ||
         (star == p.size() - 1 && (p.size() == 1 || p[p.size() - 2] == '.'));
}

void parseRateLimit(simdjson::dom::object obj, RateLimit& rl, Problems& problems) {
  for (auto [key, value] : obj) {
    int64_t* field = key == "per_second"   ? &rl.per_second
                     : key == "per_minute" ? &rl.per_minute
                     : key == "per_hour"   ? &rl.per_hour
                                           : nullptr;
    const std::string pointer = pointerOf("/rate_limit", key);
    if (field == nullptr) {
      problems.add(pointer, "rate_limit." + json::printableName(key) +
                                " is not a limit (per_second, per_minute or per_hour)");
      continue;
    }
    int64_t n = 0;
    if (value.is_null()) continue;
    if (value.get_int64().get(n) || n < 0 || n > 1'000'000)
      problems.add(pointer, "rate_limit." + std::string(key) + " must be an integer 0..1000000");
    else
      *field = n;
  }
}

// Characters of UTF-8 text (simdjson has validated it): bytes that start a character.
std::size_t characters(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

bool hasControl(std::string_view text) {
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

void parseMetadata(simdjson::dom::object obj, std::map<std::string, std::string>& out,
                   Problems& problems) {
  std::size_t count = 0;
  for (auto [key, value] : obj) {
    const std::string pointer = pointerOf("/metadata", key);
    if (++count == kMaxMetadataKeys + 1)
      problems.add("/metadata",
                   "metadata must have at most " + std::to_string(kMaxMetadataKeys) + " keys");
    std::string_view v;
    if (key.empty() || characters(key) > kMaxMetadataKeyLength || hasControl(key)) {
      problems.add(pointer, "metadata: key '" + json::printableName(key) + "' must be 1.." +
                                std::to_string(kMaxMetadataKeyLength) +
                                " characters without control characters");
    } else if (value.get_string().get(v)) {
      problems.add(pointer,
                   "metadata: '" + json::printableName(key) + "' must have a string value");
    } else if (characters(v) > kMaxMetadataValueLength) {
      problems.add(pointer, "metadata: '" + json::printableName(key) + "' must be at most " +
                                std::to_string(kMaxMetadataValueLength) + " characters");
    } else {
      out.emplace(key, v);
    }
  }
}

// format_options: scalars by name (what each option means is the format's to check).
// Bounds like metadata's: at most 32 options, names 1..64 characters without control
// characters, strings of at most 1024 characters (but a template: its format bounds it).
void parseFormatOptions(simdjson::dom::object obj, format::Options& out, Problems& problems) {
  std::size_t count = 0;
  for (auto [key, value] : obj) {
    const std::string pointer = pointerOf("/format_options", key);
    if (++count == 33) problems.add("/format_options", "format_options must have at most 32 keys");
    std::string_view v;
    format::Option option;
    if (key.empty() || characters(key) > 64 || hasControl(key)) {
      problems.add(pointer, "format_options: name '" + json::printableName(key) +
                                "' must be 1..64 characters without control characters");
      continue;
    }
    if (!value.get_string().get(v)) {
      // A template (format "template") is a whole body: the format judges its size.
      if (key != "template" && characters(v) > 1024) {
        problems.add(pointer, "format_options: '" + json::printableName(key) +
                                  "' must be at most 1024 characters");
        continue;
      }
      option = {format::Option::Kind::kString, std::string(v)};
    } else if (value.is_bool()) {
      option = {format::Option::Kind::kBool, value.get_bool().value_unsafe() ? "true" : "false"};
    } else if (value.is_number()) {
      option = {format::Option::Kind::kNumber, simdjson::minify(value)};
    } else {
      problems.add(pointer, "format_options: '" + json::printableName(key) +
                                "' must be a string, a number or a boolean");
      continue;
    }
    // A stored record's repeated name (a client's is refused): the last counts, as in
    // the options' JSON once rewritten.
    out.insert_or_assign(std::string(key), std::move(option));
  }
}

// The custom headers that would replace one hookpipe sets.
std::vector<std::string> reservedHeaders(const Subscription& s) {
  static constexpr std::string_view kReserved[] = {
      "content-type",      "content-length",     "host",
      "transfer-encoding", "connection",         "expect",
      "user-agent",        "webhook-id",         "webhook-timestamp",
      "webhook-signature", "x-webhook-signature"};
  std::vector<std::string> names;
  for (const auto& [name, value] : s.headers) {
    std::string lower = name;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (std::find(std::begin(kReserved), std::end(kReserved), lower) != std::end(kReserved))
      names.push_back(name);
  }
  return names;
}

std::string reservedHeaderMessage(std::string_view name) {
  return "headers: '" + json::printableName(name) + "' is set by hookpipe and cannot be replaced";
}

bool idChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

}  // namespace

std::string subscriptionIdProblem(std::string_view id) {
  if (id.empty() || id.size() > kMaxSubscriptionIdLength ||
      !std::all_of(id.begin(), id.end(), idChar) ||
      !std::isalnum(static_cast<unsigned char>(id[0])))
    return "id must be 1.." + std::to_string(kMaxSubscriptionIdLength) +
           " characters of A-Z, a-z, 0-9, '_', '-' and '.', starting with a letter or digit";
  return {};
}

std::string shownUrl(const Subscription& s) {
  const auto formatter = format::Registry::global().find(s.format);
  if (!formatter || !formatter->urlIsCredential() || urlScheme(s.url).empty())
    return redactedUrl(s.url);
  const std::string_view authority = urlAuthority(s.url);
  const auto at = authority.rfind('@');
  std::string out(urlScheme(s.url));
  out += "://";
  out += at == std::string_view::npos ? authority : authority.substr(at + 1);
  out += "/***";
  return out;
}

std::string signingKey(std::string_view secret, std::string_view signature_style) {
  if (signature_style == "github") return std::string(secret);
  auto key = signing::secretKey(secret);
  return key ? std::move(*key) : std::string();
}

bool matchesEventType(std::string_view pattern, std::string_view type) {
  if (pattern == "*") return true;
  if (pattern.ends_with(".*")) return type.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == type;
}

std::vector<std::string> Subscription::signingSecrets(int64_t now_ms) const {
  std::vector<std::string> out{secret};
  if (!previous_secret.empty() && now_ms < previous_secret_expires_ms)
    out.push_back(previous_secret);
  return out;
}

std::vector<std::string> Subscription::signingKeys(int64_t now_ms) const {
  std::vector<std::string> out;
  auto add = [&](const std::string& key, const std::string& secret) {
    if (!key.empty()) {
      out.push_back(key);
    } else if (auto derived = signingKey(secret, signature_style); !derived.empty()) {
      out.push_back(std::move(derived));
    }
  };
  if (!secret.empty()) add(secret_key, secret);
  if (!previous_secret.empty() && now_ms < previous_secret_expires_ms)
    add(previous_secret_key, previous_secret);
  return out;
}

void Subscription::refreshSigningKeys() {
  secret_key = secret.empty() ? std::string() : signingKey(secret, signature_style);
  previous_secret_key =
      previous_secret.empty() ? std::string() : signingKey(previous_secret, signature_style);
}

bool Subscription::matchesType(std::string_view type) const {
  for (const auto& p : events)
    if (matchesEventType(p, type)) return true;
  return false;
}

std::vector<FieldProblem> subscriptionFieldProblems(std::string_view json) {
  simdjson::dom::parser parser;
  auto parsed = json::parseObject(parser, json);
  if (!parsed) return {};
  Problems problems;
  unknownFields(*parsed, /*rate_limit=*/true, problems);
  problems.add(json::repeatedNames(*parsed));
  return problems.take();
}

std::expected<Subscription, std::vector<FieldProblem>> checkSubscription(
    std::string_view json, SubscriptionSource source) {
  simdjson::dom::parser parser;
  auto parsed = json::parseObject(parser, json);
  if (!parsed) return std::unexpected(std::vector<FieldProblem>{{"", parsed.error().message}});
  simdjson::dom::object obj = *parsed;
  const bool from_client = source != SubscriptionSource::kStored;

  Subscription s;
  Problems problems;
  if (from_client) unknownFields(obj, /*rate_limit=*/false, problems);
  // kUpdate's record is the API's own rewrite, which holds each name once; the client's
  // body was checked before the merge (subscriptionFieldProblems).
  if (source == SubscriptionSource::kCreate) problems.add(json::repeatedNames(obj));
  auto str = [&](const char* name, std::string& out) {
    auto field = obj[name];
    if (!given(field)) return;
    std::string_view v;
    if (field.get_string().get(v))
      problems.add(std::string("/") + name, std::string(name) + " must be a string");
    else
      out = std::string(v);
  };
  str("id", s.id);
  str("name", s.name);
  str("description", s.description);
  str("url", s.url);
  str("secret", s.secret);
  str("previous_secret", s.previous_secret);
  str("tenant", s.tenant);
  str("signature_style", s.signature_style);
  str("format", s.format);
  str("created_at", s.created_at);
  str("updated_at", s.updated_at);
  str("disabled_reason", s.disabled_reason);

  if (source == SubscriptionSource::kCreate) {
    if (!s.id.empty())
      if (auto p = subscriptionIdProblem(s.id); !p.empty()) problems.add("/id", p);
    for (const char* field : {"previous_secret", "previous_secret_expires_ms"})
      if (obj[field].error() != simdjson::NO_SUCH_FIELD)
        problems.add(std::string("/") + field, std::string(field) +
                                                   " cannot be set: a rotation sets it "
                                                   "(POST /v1/subscriptions/{id}/secret/rotate)");
  }

  if (auto url = obj["url"]; !given(url))
    problems.add("/url", "url is required");
  else if (url.is_string())
    if (auto p = urlProblem(s.url, from_client, s.format); !p.empty()) problems.add("/url", p);

  simdjson::dom::array events;
  auto events_field = obj["events"];
  if (!given(events_field)) {
    problems.add("/events",
                 "events is required (event types or patterns such as \"order.*\" or \"*\")");
  } else if (events_field.get_array().get(events)) {
    problems.add("/events", "events must be an array of strings");
  } else {
    std::size_t index = 0;
    for (auto e : events) {
      std::string_view v;
      if (e.get_string().get(v) || !validPattern(v))
        problems.add("/events/" + std::to_string(index),
                     "events: each entry must be a type, \"prefix.*\" or \"*\"");
      else
        s.events.emplace_back(v);
      ++index;
    }
    if (index == 0) problems.add("/events", "events must not be empty");
  }

  if (auto active = obj["is_active"]; given(active)) {
    bool b = true;
    if (active.get_bool().get(b))
      problems.add("/is_active", "is_active must be a boolean");
    else
      s.is_active = b;
  }
  if (auto e = obj["previous_secret_expires_ms"]; given(e)) {
    int64_t n = 0;
    if (e.get_int64().get(n) || n < 0)
      problems.add("/previous_secret_expires_ms",
                   "previous_secret_expires_ms must be epoch milliseconds");
    else
      s.previous_secret_expires_ms = n;
  }
  if (auto f = obj["filters"]; given(f)) {
    if (!f.is_object()) {
      problems.add("/filters", "filters must be a JSON object");
    } else {
      s.filters_json = simdjson::minify(f.value_unsafe());
      if (auto compiled = filter::compileFilter(s.filters_json))
        s.filter = std::move(*compiled);
      else
        problems.add("/filters", "filters: " + compiled.error().message);
    }
  }
  if (auto t = obj["timeout_ms"]; given(t)) {
    int64_t n = 0;
    if (t.get_int64().get(n) || n < 100 || n > 300000)
      problems.add("/timeout_ms", "timeout_ms must be 100..300000");
    else
      s.timeout_ms = n;
  }
  if (auto t = obj["connect_timeout_ms"]; given(t)) {
    int64_t n = 0;
    if (t.get_int64().get(n) || n < 100 || n > 60000)
      problems.add("/connect_timeout_ms", "connect_timeout_ms must be 100..60000");
    else
      s.connect_timeout_ms = n;
  }
  if (auto rl = obj["rate_limit"]; given(rl)) {
    simdjson::dom::object rlo;
    if (rl.get_object().get(rlo))
      problems.add("/rate_limit",
                   "rate_limit must be an object (per_second, per_minute, per_hour)");
    else
      parseRateLimit(rlo, s.rate_limit, problems);
  }
  if (auto c = obj["max_concurrency"]; given(c)) {
    int64_t n = 0;
    if (c.get_int64().get(n) || n < 0 || n > 1000)
      problems.add("/max_concurrency",
                   "max_concurrency must be an integer 0..1000 (0: the default)");
    else
      s.max_concurrency = static_cast<int>(n);
  }
  if (auto o = obj["ordered"]; given(o)) {
    bool b = false;
    if (o.get_bool().get(b))
      problems.add("/ordered", "ordered must be a boolean");
    else
      s.ordered = b;
  }
  if (auto h = obj["headers"]; given(h)) {
    simdjson::dom::object ho;
    if (h.get_object().get(ho))
      problems.add("/headers", "headers must be an object of strings");
    else
      for (auto [k, v] : ho) {
        std::string_view sv;
        if (v.get_string().get(sv) || k.empty() ||
            k.find_first_of(":\r\n") != std::string_view::npos ||
            sv.find_first_of("\r\n") != std::string_view::npos)
          problems.add(pointerOf("/headers", k),
                       "headers: '" + json::printableName(k) +
                           "' must be a valid header with a string value");
        else
          s.headers.emplace(k, sv);
      }
  }
  if (auto m = obj["metadata"]; given(m)) {
    simdjson::dom::object mo;
    if (m.get_object().get(mo))
      problems.add("/metadata", "metadata must be an object of strings");
    else
      parseMetadata(mo, s.metadata, problems);
  }
  if (auto rc = obj["retry_config"]; given(rc)) {
    simdjson::dom::object rco;
    if (rc.get_object().get(rco))
      problems.add("/retry_config", "retry_config must be an object");
    else
      parseRetryConfig(rco, s.retry_config, problems);
  }
  if (s.signature_style != "standard" && s.signature_style != "github")
    problems.add("/signature_style", "signature_style must be standard or github");
  bool known_format = false;
  s.formatter = format::resolve(s.format, known_format);
  // A stored record may name a format of a newer version: it loads (the event JSON is
  // delivered); a client may only name one this build has.
  if (!known_format && from_client) {
    std::string names;
    for (const auto& name : format::Registry::global().names())
      names += (names.empty() ? "" : ", ") + name;
    problems.add("/format", "format must be one of: " + names);
  }
  if (auto fo = obj["format_options"]; given(fo)) {
    simdjson::dom::object foo;
    if (fo.get_object().get(foo)) {
      problems.add("/format_options", "format_options must be an object");
    } else {
      s.format_options_json = simdjson::minify(fo.value_unsafe());
      parseFormatOptions(foo, s.format_options, problems);
    }
  }
  if (known_format) {
    auto formatter = format::Registry::global().find(s.format);
    // The options are the format's to judge, and only a client's (stored records load).
    if (from_client && formatter)
      for (auto& p : formatter->validate(s.format_options))
        problems.add(std::move(p.pointer), std::move(p.message));
    if (formatter && !s.format_options.empty() && !formatter->passesEventThrough())
      if (auto bound = formatter->withOptions(s.format_options)) s.formatter = std::move(bound);
  }
  if (!s.secret.empty() && !signing::secretKey(s.secret))
    problems.add("/secret", "secret must be whsec_ followed by base64");
  if (!s.previous_secret.empty() && !signing::secretKey(s.previous_secret))
    problems.add("/previous_secret", "previous_secret must be whsec_ followed by base64");
  s.refreshSigningKeys();
  if (from_client)
    for (const auto& name : reservedHeaders(s))
      problems.add(pointerOf("/headers", name), reservedHeaderMessage(name));

  if (!problems.empty()) return std::unexpected(problems.take());
  return s;
}

Result<Subscription> parseSubscription(std::string_view json) {
  auto s = checkSubscription(json, SubscriptionSource::kStored);
  if (s) return std::move(*s);
  return failWith(std::move(s.error()));
}

namespace {

std::string serialize(const Subscription& s, bool with_secret, bool redact) {
  boost::json::object o;
  o["id"] = s.id;
  o["name"] = s.name;
  o["description"] = s.description;
  o["url"] = redact ? shownUrl(s) : s.url;
  boost::json::array events;
  for (const auto& e : s.events) events.emplace_back(e);
  o["events"] = std::move(events);
  if (with_secret) {
    o["secret"] = s.secret;
    if (!s.previous_secret.empty()) {
      o["previous_secret"] = s.previous_secret;
      o["previous_secret_expires_ms"] = s.previous_secret_expires_ms;
    }
  }
  if (!s.tenant.empty()) o["tenant"] = s.tenant;
  if (!s.filters_json.empty()) o["filters"] = boost::json::parse(s.filters_json);
  o["is_active"] = s.is_active;
  if (!s.disabled_reason.empty()) o["disabled_reason"] = s.disabled_reason;
  o["signature_style"] = s.signature_style;
  if (s.format != format::kJson) o["format"] = s.format;
  if (!s.format_options_json.empty()) {
    o["format_options"] = boost::json::parse(s.format_options_json);
    // Credentials in options (email's password) are write-only, like secrets.
    if (redact)
      for (auto name : kSecretFormatOptions)
        if (auto it = o["format_options"].as_object().find(name);
            it != o["format_options"].as_object().end())
          it->value() = kRedactedUserinfo;
  }
  boost::json::object headers;
  for (const auto& [k, v] : s.headers) headers[k] = v;
  o["headers"] = std::move(headers);
  boost::json::object metadata;
  for (const auto& [k, v] : s.metadata) metadata[k] = v;
  o["metadata"] = std::move(metadata);
  boost::json::object rc;
  rc["strategy"] = strategyName(s.retry_config.strategy);
  if (s.retry_config.max_retries >= 0) rc["max_retries"] = s.retry_config.max_retries;
  if (s.retry_config.retry_delay_ms >= 0) rc["retry_delay"] = s.retry_config.retry_delay_ms;
  rc["backoff_multiplier"] = s.retry_config.backoff_multiplier;
  rc["max_delay"] = s.retry_config.max_delay_ms;
  rc["jitter"] = s.retry_config.jitter;
  o["retry_config"] = std::move(rc);
  if (s.timeout_ms > 0) o["timeout_ms"] = s.timeout_ms;
  if (s.connect_timeout_ms > 0) o["connect_timeout_ms"] = s.connect_timeout_ms;
  if (s.rate_limit.any()) {
    boost::json::object rl;
    if (s.rate_limit.per_second > 0) rl["per_second"] = s.rate_limit.per_second;
    if (s.rate_limit.per_minute > 0) rl["per_minute"] = s.rate_limit.per_minute;
    if (s.rate_limit.per_hour > 0) rl["per_hour"] = s.rate_limit.per_hour;
    o["rate_limit"] = std::move(rl);
  }
  if (s.max_concurrency > 0) o["max_concurrency"] = s.max_concurrency;
  if (s.ordered) o["ordered"] = true;
  o["created_at"] = s.created_at;
  o["updated_at"] = s.updated_at;
  return boost::json::serialize(o);
}

}  // namespace

std::string toJson(const Subscription& s, bool with_secret) {
  return serialize(s, with_secret, /*redact=*/false);
}

std::string apiJson(const Subscription& s, bool with_secret) {
  return serialize(s, with_secret, /*redact=*/true);
}

std::vector<std::string> apiProblems(const Subscription& s) {
  std::vector<std::string> problems;
  for (const auto& name : reservedHeaders(s)) problems.push_back(reservedHeaderMessage(name));
  return problems;
}

}  // namespace hookpipe
