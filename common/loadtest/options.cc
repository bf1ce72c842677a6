// `hookpipe loadtest` flags: every problem is reported at once, each naming its flag.
#include "common/loadtest/options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <tuple>

#include "common/config/config.h"
#include "common/text/number.h"

namespace hookpipe::loadtest {

const char* const kUsage =
    "usage: hookpipe loadtest [FLAGS]   (docs/loadtest.md)\n"
    "  --api URL            producer API (default http://127.0.0.1:8080)\n"
    "  --token T            bearer token (default: $HOOKPIPE_API_TOKEN)\n"
    "  --rate N[/s|/m]      events per second (default 100)\n"
    "  --duration D         how long to publish: 500ms, 30s, 2m (default 30s)\n"
    "  --concurrency N      HTTP requests in flight at most (default 8)\n"
    "  --event-type T       (default loadtest.event)\n"
    "  --payload-bytes N    padding in each event's data (default 64)\n"
    "  --batch N            events per request, POST /v1/events/batch when > 1 (default 1)\n"
    "  --via http|kafka     publish through the API or straight to the events topic\n"
    "  --receiver-port P    start a local receiver on P (0: any free port)\n"
    "  --receiver-host H    address it listens on and is reached at (default 127.0.0.1)\n"
    "  --latency A..B       each answer waits a uniform time in [A, B] (or a fixed A)\n"
    "  --fail-rate F        share of answers that fail, 0..1 (default 0)\n"
    "  --status S           the failing answers' status (default 503)\n"
    "  --subscribe          create subscriptions to the receiver, delete them at the end\n"
    "  --fan-out N          how many (default 1): each event is to be received N times\n"
    "  --retry-delay D      their fixed retry delay (default 1s)\n"
    "  --max-retries N      their retries (default 10)\n"
    "  --max-concurrency N  their requests in flight per deliverer (default: the deliverer's)\n"
    "  --drain D            wait for outstanding receipts after publishing (default 30s)\n"
    "  --seed N             the receiver's random numbers (default: from the clock)\n"
    "  --json               the summary as JSON on stdout\n";

namespace {

// A duration with a unit (config's parseDuration: ms, s, m, h), or "0".
std::optional<std::chrono::milliseconds> parseMs(const std::string& text) {
  if (text == "0") return std::chrono::milliseconds(0);
  std::chrono::milliseconds out{};
  if (!parseDuration(text, out)) return std::nullopt;
  return out;
}

std::optional<std::chrono::microseconds> parseMicros(const std::string& text) {
  if (text.ends_with("us")) {
    auto n = text::parseInteger<int64_t>(std::string_view(text).substr(0, text.size() - 2), 0,
                                         3'600'000'000LL);
    if (!n) return std::nullopt;
    return std::chrono::microseconds(*n);
  }
  auto ms = parseMs(text);
  if (!ms) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::microseconds>(*ms);
}

std::optional<double> parseDouble(const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || stop != end || !std::isfinite(value))
    return std::nullopt;
  return value;
}

}  // namespace

std::optional<double> parseRate(const std::string& text) {
  std::string number = text;
  double per = 1;
  if (text.ends_with("/s")) {
    number = text.substr(0, text.size() - 2);
  } else if (text.ends_with("/m")) {
    number = text.substr(0, text.size() - 2);
    per = 60;
  }
  auto value = parseDouble(number);
  if (!value || *value <= 0 || *value / per > 10'000'000) return std::nullopt;
  return *value / per;
}

std::optional<std::pair<std::chrono::microseconds, std::chrono::microseconds>> parseLatencyRange(
    const std::string& text) {
  const auto dots = text.find("..");
  auto lo = parseMicros(text.substr(0, dots));
  auto hi = dots == std::string::npos ? lo : parseMicros(text.substr(dots + 2));
  if (!lo || !hi || *hi < *lo || *hi > std::chrono::minutes(10)) return std::nullopt;
  return std::pair{*lo, *hi};
}

std::expected<Options, std::vector<std::string>> parseOptions(const std::vector<std::string>& args,
                                                              const std::string& env_token) {
  Options o;
  o.token = env_token;
  std::vector<std::string> problems;
  bool latency_set = false;
  bool fail_set = false;
  bool fan_out_set = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--json") {
      o.json = true;
      continue;
    }
    if (flag == "--subscribe") {
      o.subscribe = true;
      continue;
    }
    if (!flag.starts_with("--")) {
      problems.push_back("unexpected argument " + flag);
      continue;
    }
    static const std::vector<std::string> kValueFlags = {
        "--api",           "--token",         "--rate",      "--duration", "--concurrency",
        "--event-type",    "--payload-bytes", "--batch",     "--via",      "--receiver-port",
        "--receiver-host", "--latency",       "--fail-rate", "--status",   "--fan-out",
        "--retry-delay",   "--max-retries",   "--drain",     "--seed",     "--max-concurrency"};
    if (std::find(kValueFlags.begin(), kValueFlags.end(), flag) == kValueFlags.end()) {
      problems.push_back("unknown flag " + flag);
      continue;
    }
    if (i + 1 >= args.size()) {
      problems.push_back(flag + " needs a value");
      continue;
    }
    const std::string& value = args[++i];
    auto bad = [&](const std::string& what) { problems.push_back(flag + " " + what); };
    if (flag == "--api") {
      if (!value.starts_with("http://") && !value.starts_with("https://"))
        bad("must be an http:// or https:// URL");
      o.api = value;
      while (o.api.ends_with('/')) o.api.pop_back();
    } else if (flag == "--token") {
      o.token = value;
    } else if (flag == "--rate") {
      if (auto r = parseRate(value))
        o.rate_per_s = *r;
      else
        bad("must be events per second > 0 (200, 200/s, 6000/m)");
    } else if (flag == "--duration" || flag == "--drain" || flag == "--retry-delay") {
      auto d = parseMs(value);
      if (!d || (flag == "--duration" && d->count() <= 0))
        bad(flag == "--duration" ? "must be a duration > 0 with a unit (500ms, 30s, 2m)"
                                 : "must be a duration with a unit (500ms, 30s, 2m)");
      else if (flag == "--duration")
        o.duration = *d;
      else if (flag == "--drain")
        o.drain = *d;
      else
        o.retry_delay = *d;
    } else if (flag == "--concurrency") {
      if (auto n = text::parseInteger<int>(value, 1, 1000))
        o.concurrency = *n;
      else
        bad("must be an integer 1..1000");
    } else if (flag == "--event-type") {
      if (value.empty() || value.size() > 256)
        bad("must be 1..256 bytes");
      else
        o.event_type = value;
    } else if (flag == "--payload-bytes") {
      if (auto n = text::parseInteger<std::size_t>(value, 0, 16u << 20))
        o.payload_bytes = *n;
      else
        bad("must be an integer 0..16777216");
    } else if (flag == "--batch") {
      if (auto n = text::parseInteger<int>(value, 1, 1000))
        o.batch = *n;
      else
        bad("must be an integer 1..1000 (the API's default batch limit)");
    } else if (flag == "--via") {
      if (value == "http")
        o.via = Via::kHttp;
      else if (value == "kafka")
        o.via = Via::kKafka;
      else
        bad("must be http or kafka");
    } else if (flag == "--receiver-port") {
      o.receiver = true;
      if (auto n = text::parseInteger<unsigned short>(value))
        o.receiver_port = *n;
      else
        bad("must be a port 0..65535");
    } else if (flag == "--receiver-host") {
      if (value.empty())
        bad("must not be empty");
      else
        o.receiver_host = value;
    } else if (flag == "--latency") {
      latency_set = true;
      if (auto r = parseLatencyRange(value))
        std::tie(o.latency_min, o.latency_max) = *r;
      else
        bad("must be A..B or A with units (5ms..50ms, 10ms, 0), A <= B <= 10m");
    } else if (flag == "--fail-rate") {
      fail_set = true;
      auto f = parseDouble(value);
      if (!f || *f < 0 || *f > 1)
        bad("must be a number 0..1");
      else
        o.fail_rate = *f;
    } else if (flag == "--status") {
      fail_set = true;
      if (auto n = text::parseInteger<int>(value, 100, 599))
        o.fail_status = *n;
      else
        bad("must be an HTTP status 100..599");
    } else if (flag == "--fan-out") {
      fan_out_set = true;
      if (auto n = text::parseInteger<int>(value, 1, 100))
        o.fan_out = *n;
      else
        bad("must be an integer 1..100");
    } else if (flag == "--max-retries") {
      if (auto n = text::parseInteger<int>(value, 0, 100))
        o.max_retries = *n;
      else
        bad("must be an integer 0..100");
    } else if (flag == "--max-concurrency") {
      if (auto n = text::parseInteger<int>(value, 0, 1000))
        o.max_concurrency = *n;
      else
        bad("must be an integer 0..1000");
    } else if (flag == "--seed") {
      if (auto n = text::parseInteger<uint64_t>(value))
        o.seed = *n;
      else
        bad("must be a non-negative integer");
    }
  }
  if (!o.receiver) {
    if (o.subscribe) problems.push_back("--subscribe needs --receiver-port");
    if (latency_set || fail_set)
      problems.push_back(
          "--latency, --fail-rate and --status need "
          "--receiver-port");
  }
  if (fan_out_set && !o.receiver) problems.push_back("--fan-out needs --receiver-port");
  if (o.via == Via::kKafka && o.batch > 1) problems.push_back("--batch applies to --via http only");
  if (fail_set && o.fail_status >= 200 && o.fail_status < 300)
    problems.push_back("--status must not be 2xx (it is the failing answer)");
  if (!problems.empty()) return std::unexpected(std::move(problems));
  return o;
}

}  // namespace hookpipe::loadtest
