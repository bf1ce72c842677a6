#pragma once

// The local broker's request counters per type, read by broker_requests.java over JMX
// (a JDK's source launcher attaches to the broker's JVM; about 4 s a reading), and the
// line that reports what moved between two readings.
#include <spdlog/fmt/fmt.h>
#include <sys/types.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace hookpipe::bench {

using RequestCounts = std::map<std::string, long long>;

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
