#include "common/subscriptions/subscription.h"

#include <simdjson.h>

#include <algorithm>
#include <boost/json.hpp>

#include "common/json/event.h"
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

void parseRetryConfig(simdjson::dom::object obj, RetryConfig& rc,
                      std::vector<std::string>& problems) {
  for (auto [key, value] : obj) {
    if (key == "strategy") {
      std::string_view s;
      if (value.get_string().get(s)) {
        problems.push_back("retry_config.strategy must be a string");
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
        problems.push_back("retry_config.strategy must be exponential, linear, fixed or none");
    } else if (key == "max_retries") {
      int64_t n = 0;
      if (value.get_int64().get(n) || n < 0 || n > 100)
        problems.push_back("retry_config.max_retries must be an integer 0..100");
      else
        rc.max_retries = static_cast<int>(n);
    } else if (key == "retry_delay") {
      int64_t n = 0;
      if (value.get_int64().get(n) || n < 0)
        problems.push_back("retry_config.retry_delay must be milliseconds >= 0");
      else
        rc.retry_delay_ms = n;
    } else if (key == "max_delay") {
      int64_t n = 0;
      if (value.get_int64().get(n) || n < 0)
        problems.push_back("retry_config.max_delay must be milliseconds >= 0");
      else
        rc.max_delay_ms = n;
    } else if (key == "backoff_multiplier") {
      double d = 0;
      if (value.get_double().get(d) || d < 1.0 || d > 100.0)
        problems.push_back("retry_config.backoff_multiplier must be between 1 and 100");
      else
        rc.backoff_multiplier = d;
    } else if (key == "jitter") {
      bool b = false;
      if (value.get_bool().get(b))
        problems.push_back("retry_config.jitter must be a boolean");
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

void parseRateLimit(simdjson::dom::object obj, RateLimit& rl, std::vector<std::string>& problems) {
  for (auto [key, value] : obj) {
    int64_t* field = key == "per_second"   ? &rl.per_second
                     : key == "per_minute" ? &rl.per_minute
                     : key == "per_hour"   ? &rl.per_hour
                                           : nullptr;
    if (field == nullptr) {
      problems.push_back("rate_limit." + std::string(key) +
                         " is not a limit (per_second, per_minute or per_hour)");
      continue;
    }
    int64_t n = 0;
    if (value.is_null()) continue;
    if (value.get_int64().get(n) || n < 0 || n > 1'000'000)
      problems.push_back("rate_limit." + std::string(key) + " must be an integer 0..1000000");
    else
      *field = n;
  }
}

}  // namespace

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
  auto add = [&out](const std::string& key, const std::string& secret) {
    if (!key.empty()) {
      out.push_back(key);
    } else if (auto decoded = signing::secretKey(secret)) {
      out.push_back(std::move(*decoded));
    }
  };
  if (!secret.empty()) add(secret_key, secret);
  if (!previous_secret.empty() && now_ms < previous_secret_expires_ms)
    add(previous_secret_key, previous_secret);
  return out;
}

bool Subscription::matchesType(std::string_view type) const {
  for (const auto& p : events)
    if (matchesEventType(p, type)) return true;
  return false;
}

Result<Subscription> parseSubscription(std::string_view json) {
  simdjson::dom::parser parser;
  auto parsed = json::parseObject(parser, json);
  if (!parsed) return std::unexpected(parsed.error());
  simdjson::dom::object obj = *parsed;

  Subscription s;
  std::vector<std::string> problems;
  auto str = [&](const char* name, std::string& out) {
    auto field = obj[name];
    if (field.error() == simdjson::NO_SUCH_FIELD || field.is_null()) return;
    std::string_view v;
    if (field.get_string().get(v))
      problems.push_back(std::string(name) + " must be a string");
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
  str("created_at", s.created_at);
  str("updated_at", s.updated_at);
  str("disabled_reason", s.disabled_reason);

  if (s.url.empty())
    problems.push_back("url is required");
  else if (!s.url.starts_with("http://") && !s.url.starts_with("https://"))
    problems.push_back("url must start with http:// or https://");
  else if (s.url.find("://") + 3 >= s.url.size() || s.url[s.url.find("://") + 3] == '/')
    problems.push_back("url must name a host");

  simdjson::dom::array events;
  auto events_field = obj["events"];
  if (events_field.error() == simdjson::NO_SUCH_FIELD) {
    problems.push_back("events is required (event types or patterns such as \"order.*\" or \"*\")");
  } else if (events_field.get_array().get(events)) {
    problems.push_back("events must be an array of strings");
  } else {
    for (auto e : events) {
      std::string_view v;
      if (e.get_string().get(v) || !validPattern(v))
        problems.push_back("events: each entry must be a type, \"prefix.*\" or \"*\"");
      else
        s.events.emplace_back(v);
    }
    if (s.events.empty()) problems.push_back("events must not be empty");
  }

  if (auto active = obj["is_active"]; active.error() != simdjson::NO_SUCH_FIELD) {
    bool b = true;
    if (active.get_bool().get(b))
      problems.push_back("is_active must be a boolean");
    else
      s.is_active = b;
  }
  if (auto e = obj["previous_secret_expires_ms"]; e.error() != simdjson::NO_SUCH_FIELD) {
    int64_t n = 0;
    if (e.get_int64().get(n) || n < 0)
      problems.push_back("previous_secret_expires_ms must be epoch milliseconds");
    else
      s.previous_secret_expires_ms = n;
  }
  if (auto f = obj["filters"]; f.error() != simdjson::NO_SUCH_FIELD && !f.is_null()) {
    if (!f.is_object()) {
      problems.push_back("filters must be a JSON object");
    } else {
      s.filters_json = simdjson::minify(f.value_unsafe());
      if (auto compiled = filter::compileFilter(s.filters_json))
        s.filter = std::move(*compiled);
      else
        problems.push_back("filters: " + compiled.error().message);
    }
  }
  if (auto t = obj["timeout_ms"]; t.error() != simdjson::NO_SUCH_FIELD) {
    int64_t n = 0;
    if (t.get_int64().get(n) || n < 100 || n > 300000)
      problems.push_back("timeout_ms must be 100..300000");
    else
      s.timeout_ms = n;
  }
  if (auto t = obj["connect_timeout_ms"]; t.error() != simdjson::NO_SUCH_FIELD && !t.is_null()) {
    int64_t n = 0;
    if (t.get_int64().get(n) || n < 100 || n > 60000)
      problems.push_back("connect_timeout_ms must be 100..60000");
    else
      s.connect_timeout_ms = n;
  }
  if (auto rl = obj["rate_limit"]; rl.error() != simdjson::NO_SUCH_FIELD && !rl.is_null()) {
    simdjson::dom::object rlo;
    if (rl.get_object().get(rlo))
      problems.push_back("rate_limit must be an object (per_second, per_minute, per_hour)");
    else
      parseRateLimit(rlo, s.rate_limit, problems);
  }
  if (auto c = obj["max_concurrency"]; c.error() != simdjson::NO_SUCH_FIELD && !c.is_null()) {
    int64_t n = 0;
    if (c.get_int64().get(n) || n < 0 || n > 1000)
      problems.push_back("max_concurrency must be an integer 0..1000 (0: the default)");
    else
      s.max_concurrency = static_cast<int>(n);
  }
  if (auto o = obj["ordered"]; o.error() != simdjson::NO_SUCH_FIELD && !o.is_null()) {
    bool b = false;
    if (o.get_bool().get(b))
      problems.push_back("ordered must be a boolean");
    else
      s.ordered = b;
  }
  if (auto h = obj["headers"]; h.error() != simdjson::NO_SUCH_FIELD) {
    simdjson::dom::object ho;
    if (h.get_object().get(ho))
      problems.push_back("headers must be an object of strings");
    else
      for (auto [k, v] : ho) {
        std::string_view sv;
        if (v.get_string().get(sv) || k.empty() ||
            k.find_first_of(":\r\n") != std::string_view::npos ||
            sv.find_first_of("\r\n") != std::string_view::npos)
          problems.push_back("headers: '" + std::string(k) +
                             "' must be a valid header with a string value");
        else
          s.headers.emplace(k, sv);
      }
  }
  if (auto rc = obj["retry_config"]; rc.error() != simdjson::NO_SUCH_FIELD) {
    simdjson::dom::object rco;
    if (rc.get_object().get(rco))
      problems.push_back("retry_config must be an object");
    else
      parseRetryConfig(rco, s.retry_config, problems);
  }
  if (s.signature_style != "standard" && s.signature_style != "github")
    problems.push_back("signature_style must be standard or github");
  if (!s.secret.empty()) {
    if (auto key = signing::secretKey(s.secret))
      s.secret_key = std::move(*key);
    else
      problems.push_back("secret must be whsec_ followed by base64");
  }
  if (!s.previous_secret.empty()) {
    if (auto key = signing::secretKey(s.previous_secret))
      s.previous_secret_key = std::move(*key);
    else
      problems.push_back("previous_secret must be whsec_ followed by base64");
  }

  if (!problems.empty()) {
    std::string message;
    for (const auto& p : problems) message += (message.empty() ? "" : "; ") + p;
    return fail(message);
  }
  return s;
}

std::string toJson(const Subscription& s, bool with_secret) {
  boost::json::object o;
  o["id"] = s.id;
  o["name"] = s.name;
  o["description"] = s.description;
  o["url"] = s.url;
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
  boost::json::object headers;
  for (const auto& [k, v] : s.headers) headers[k] = v;
  o["headers"] = std::move(headers);
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

std::vector<std::string> apiProblems(const Subscription& s) {
  static constexpr std::string_view kReserved[] = {
      "content-type",      "content-length",     "host",
      "transfer-encoding", "connection",         "expect",
      "user-agent",        "webhook-id",         "webhook-timestamp",
      "webhook-signature", "x-webhook-signature"};
  std::vector<std::string> problems;
  for (const auto& [name, value] : s.headers) {
    std::string lower = name;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (std::find(std::begin(kReserved), std::end(kReserved), lower) != std::end(kReserved)) {
      std::string problem = "headers: '";
      problem += name;
      problem += "' is set by hookpipe and cannot be replaced";
      problems.push_back(std::move(problem));
    }
  }
  return problems;
}

}  // namespace hookpipe
