#pragma once

// What a delivery bench measures hookpipe against, in the same run: the receiver (the
// bench's own FastSink, or an nginx process) and two clients driving it with no pipeline
// in between — wrk, and a bare curl-multi client like the deliverer's own use of curl.
#include <curl/curl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/fast_sink.h"
#include "benchmarks/nginx_sink.h"

namespace hookpipe::bench {

// The receiver the drain is measured against: FastSink (which also times latency) or,
// with HOOKPIPE_BENCH_SINK=nginx, an nginx process.
struct Receiver {
  FastSink own;
  std::unique_ptr<NginxSink> nginx;

  Receiver() {
    const char* kind = std::getenv("HOOKPIPE_BENCH_SINK");
    if (kind != nullptr && std::string_view(kind) == "nginx") nginx = std::make_unique<NginxSink>();
  }
  const char* name() const { return nginx ? "nginx (1 process)" : "the bench's sink"; }
  std::string url(const std::string& path) const {
    return nginx ? nginx->url(path) : own.url(path);
  }
  // Deliveries answered on /ok/... (nginx: every request, less what the baselines sent).
  uint64_t delivered() const {
    if (!nginx) return own.count("ok");
    const long long n = nginx->answered() - baseline_requests;
    return n > 0 ? static_cast<uint64_t>(n) : 0;
  }
  long long baseline_requests = 0;
};

// wrk against the sink: 2 threads, 64 connections, the same body, 5 s.
inline double wrkRate(const std::string& url, const std::string& body) {
  const std::string script = "/tmp/hookpipe-delivery-bench.lua";
  if (FILE* f = std::fopen(script.c_str(), "w")) {
    std::string escaped;
    for (char c : body)
      escaped += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    std::fprintf(f,
                 "wrk.method = \"POST\"\nwrk.body = \"%s\"\n"
                 "wrk.headers[\"Content-Type\"] = \"application/json\"\n",
                 escaped.c_str());
    std::fclose(f);
  }
  const std::string cmd = "wrk -t2 -c64 -d5s -s " + script + " " + url + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char line[512];
  double rate = -1;
  while (std::fgets(line, sizeof line, p) != nullptr)
    if (std::sscanf(line, "Requests/sec: %lf", &rate) == 1) break;
  ::pclose(p);
  return rate;
}

// A bare curl-multi client: one thread, one multi handle, 64 requests in flight, easy
// handles and connections reused, 5 s.
inline double bareCurlRate(const std::string& url, const std::string& body) {
  constexpr int kInFlight = 64;
  CURLM* multi = curl_multi_init();
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");
  auto discard = +[](char*, size_t size, size_t n, void*) -> size_t { return size * n; };
  std::vector<CURL*> easies;
  for (int i = 0; i < kInFlight; ++i) {
    CURL* e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_multi_add_handle(multi, e);
    easies.push_back(e);
  }
  long done = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < end) {
    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &queued)) {
      if (m->msg != CURLMSG_DONE) continue;
      ++done;
      CURL* e = m->easy_handle;
      curl_multi_remove_handle(multi, e);
      curl_multi_add_handle(multi, e);
    }
    curl_multi_poll(multi, nullptr, 0, 100, nullptr);
  }
  const double rate =
      static_cast<double>(done) /
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (CURL* e : easies) {
    curl_multi_remove_handle(multi, e);
    curl_easy_cleanup(e);
  }
  curl_slist_free_all(headers);
  curl_multi_cleanup(multi);
  return rate;
}

}  // namespace hookpipe::bench
