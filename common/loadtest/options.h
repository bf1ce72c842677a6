#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hookpipe::loadtest {

enum class Via { kHttp, kKafka };

// What `hookpipe loadtest` was asked to do (docs/loadtest.md). A plain struct: parseOptions
// fills it from the command line and checks it.
struct Options {
  std::string api = "http://127.0.0.1:8080";  // the producer's API (no trailing slash)
  std::string token;                          // bearer token; empty: none
  double rate_per_s = 100;                    // events per second, over all connections
  std::chrono::milliseconds duration{std::chrono::seconds(30)};
  int concurrency = 8;  // HTTP requests in flight at most
  std::string event_type = "loadtest.event";
  std::size_t payload_bytes = 64;  // padding in each event's data
  int batch = 1;                   // events per request (1: POST /v1/events, else /batch)
  Via via = Via::kHttp;

  // The local receiver: started when receiver_port is set (0 is a port the kernel picks).
  bool receiver = false;
  unsigned short receiver_port = 0;
  std::string receiver_host = "127.0.0.1";   // the address it listens on and is reached at
  std::chrono::microseconds latency_min{0};  // each answer waits uniformly in [min, max]
  std::chrono::microseconds latency_max{0};
  double fail_rate = 0;  // share of requests answered with fail_status
  int fail_status = 503;
  bool subscribe = false;  // create (and at the end delete) subscriptions to the receiver
  int fan_out = 1;         // subscriptions --subscribe creates; receipts expected per event
  std::chrono::milliseconds retry_delay{std::chrono::seconds(1)};  // their retry policy
  int max_retries = 10;
  int max_concurrency = 0;  // their max_concurrency (0: the deliverer's default)
  std::chrono::milliseconds drain{std::chrono::seconds(30)};  // wait for receipts after

  bool json = false;  // the summary as one JSON object on stdout
  uint64_t seed = 0;  // the receiver's RNG (0: from the clock)
};

// Parses the arguments after `loadtest`. `env_token` is HOOKPIPE_API_TOKEN (used when no
// --token is given). On error: every problem, one message each.
std::expected<Options, std::vector<std::string>> parseOptions(const std::vector<std::string>& args,
                                                              const std::string& env_token = "");

// "200", "200/s", "12000/m" -> events per second; nullopt when not a positive number.
std::optional<double> parseRate(const std::string& text);
// "5ms..50ms" or "10ms" (a fixed latency) or "0"; microseconds, "us" accepted too.
std::optional<std::pair<std::chrono::microseconds, std::chrono::microseconds>> parseLatencyRange(
    const std::string& text);

extern const char* const kUsage;

}  // namespace hookpipe::loadtest
