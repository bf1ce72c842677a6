#pragma once

// The local broker's request counters per type, read by broker_requests.java over JMX
// (a JDK's source launcher attaches to the broker's JVM; about 4 s a reading), the same
// counted per client by the roles themselves (their /metrics), and the line that reports
// what moved between two readings.
#include <curl/curl.h>
#include <spdlog/fmt/fmt.h>
#include <sys/types.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hookpipe::bench {

using RequestCounts = std::map<std::string, long long>;

// What one role's Kafka clients say they sent, from its /metrics on `port`
// (hookpipe_<role>_kafka_requests_total{client,request}), keyed "<client>:<request>" with
// `group_prefix` taken off the client id: empty when nothing answers there.
inline RequestCounts roleRequests(unsigned short port, const std::string& group_prefix) {
  RequestCounts counts;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return counts;
  std::string body;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* out) -> size_t {
        static_cast<std::string*>(out)->append(data, size * n);
        return size * n;
      });
  const bool ok = curl_easy_perform(curl) == CURLE_OK;
  curl_easy_cleanup(curl);
  if (!ok) return counts;
  constexpr std::string_view kSeries = "_kafka_requests_total{client=\"";
  for (std::size_t at = body.find(kSeries); at != std::string::npos;
       at = body.find(kSeries, at + 1)) {
    const std::size_t client = at + kSeries.size();
    const std::size_t client_end = body.find('"', client);
    const std::size_t request = body.find("request=\"", client_end);
    const std::size_t request_end = body.find('"', request + 9);
    const std::size_t value = body.find("} ", request_end);
    if (client_end == std::string::npos || request == std::string::npos ||
        request_end == std::string::npos || value == std::string::npos)
      break;
    std::string id = body.substr(client, client_end - client);
    if (id.starts_with(group_prefix)) id.erase(0, group_prefix.size());
    counts[id + ":" + body.substr(request + 9, request_end - request - 9)] +=
        std::atoll(body.c_str() + value + 2);
  }
  return counts;
}

// `java <tool> <broker pid>`: empty when there is no broker or no JDK, or it fails.
inline RequestCounts brokerRequests(pid_t broker, const std::string& tool) {
  RequestCounts counts;
  if (broker <= 0) return counts;
  const std::string cmd = "java " + tool + " " + std::to_string(broker) + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return counts;
  char type[128];
  long long n = 0;
  while (std::fscanf(p, "%127s %lld", type, &n) == 2) counts[type] = n;
  ::pclose(p);
  return counts;
}

// "<label>: broker requests T/s, P per 1000 deliveries: Fetch 812/s (32.1), Produce 95/s
// (3.8), ..." for the types that moved between readings `a` and `b`, `secs` apart.
inline void printRequests(const std::string& label, const RequestCounts& a, const RequestCounts& b,
                          double secs, double deliveries) {
  if (a.empty() || b.empty() || secs <= 0) {
    std::printf("%s: broker requests not read (no JDK java, or no local broker)\n", label.c_str());
    return;
  }
  auto per1000 = [&](long long n) {
    return deliveries > 0 ? static_cast<double>(n) * 1000 / deliveries : 0.0;
  };
  std::vector<std::pair<long long, std::string>> moved;
  long long total = 0;
  for (const auto& [type, n] : b) {
    // The broker also counts consumer and follower fetches apart: already in Fetch.
    if (type == "FetchConsumer" || type == "FetchFollower") continue;
    const auto it = a.find(type);
    const long long d = n - (it == a.end() ? 0 : it->second);
    if (d > 0) moved.emplace_back(d, type), total += d;
  }
  std::sort(moved.rbegin(), moved.rend());
  std::string line;
  // Without deliveries (an idle window) the rates alone.
  for (const auto& [d, type] : moved)
    line += deliveries > 0 ? fmt::format("{}{} {:.0f}/s ({:.1f})", line.empty() ? "" : ", ", type,
                                         static_cast<double>(d) / secs, per1000(d))
                           : fmt::format("{}{} {:.0f}/s", line.empty() ? "" : ", ", type,
                                         static_cast<double>(d) / secs);
  const std::string per =
      deliveries > 0 ? fmt::format(", {:.1f} per 1000 deliveries", per1000(total)) : "";
  std::printf("%s: broker requests %.0f/s%s: %s\n", label.c_str(),
              static_cast<double>(total) / secs, per.c_str(), line.c_str());
}

}  // namespace hookpipe::bench
