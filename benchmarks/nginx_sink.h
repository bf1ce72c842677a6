#pragma once

// nginx as the webhook receiver (HOOKPIPE_BENCH_SINK=nginx): one process
// (master_process off, so its CPU is one pid's), answering every POST with 200 and an
// empty body, keep-alive without a request limit. It counts what it answered through
// stub_status; the bench's own reads of that counter are taken off. Needs nginx on PATH
// (Debian: nginx-light). Latency is not measured here: nginx cannot read the publish time
// out of the body; the paced phases use FastSink.
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "support/process.h"

namespace hookpipe::bench {

class NginxSink {
 public:
  NginxSink() : dir_("/tmp/hookpipe-bench-nginx") {
    std::filesystem::create_directories(dir_);
    port_ = freePort();
    const std::string conf = dir_ + "/nginx.conf";
    std::ofstream(conf) << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
                        << "pid " << dir_ << "/nginx.pid;\nerror_log " << dir_
                        << "/error.log warn;\nevents { worker_connections 4096; }\n"
                        << "http {\n  access_log off;\n  keepalive_requests 100000000;\n"
                        << "  keepalive_timeout 300s;\n  client_body_temp_path " << dir_
                        << ";\n  server {\n    listen 127.0.0.1:" << port_ << ";\n"
                        << "    location = /nginx_status { stub_status; }\n"
                        << "    location / { return 200; }\n  }\n}\n";
    testkit::SpawnOptions spawn;
    spawn.program = "nginx";
    spawn.search_path = true;
    spawn.args = {"-p", dir_, "-c", conf};
    spawn.output_path = dir_ + "/stdout.log";
    spawn.stop_grace = std::chrono::seconds(5);
    try {
      child_ = std::make_unique<testkit::ChildProcess>(spawn);
    } catch (const std::runtime_error&) {
      throw std::runtime_error("cannot start nginx: not on PATH? (Debian: nginx-light)");
    }
    status_ = curl_easy_init();
    status_url_ = url("/nginx_status");
    curl_easy_setopt(status_, CURLOPT_URL, status_url_.c_str());
    curl_easy_setopt(status_, CURLOPT_WRITEFUNCTION, &NginxSink::collect);
    curl_easy_setopt(status_, CURLOPT_WRITEDATA, &reply_);
    for (int i = 0; i < 100 && answered() < 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (answered() < 0) throw std::runtime_error("nginx did not start; see " + dir_);
  }
  ~NginxSink() { curl_easy_cleanup(status_); }
  NginxSink(const NginxSink&) = delete;
  NginxSink& operator=(const NginxSink&) = delete;

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  pid_t pid() const { return child_->pid(); }
  // Requests nginx has answered, less the stub_status reads made so far: -1 when it
  // does not answer. Not thread-safe (one status handle).
  long long answered() {
    reply_.clear();
    if (curl_easy_perform(status_) != CURLE_OK) return -1;
    ++reads_;
    // "Active connections: N \nserver accepts handled requests\n A H R \n..."
    long long accepts = 0, handled = 0, requests = 0;
    const auto line = reply_.find('\n', reply_.find("requests"));
    if (line == std::string::npos ||
        std::sscanf(reply_.c_str() + line, "%lld %lld %lld", &accepts, &handled, &requests) != 3)
      return -1;
    return requests - reads_;
  }

 private:
  static size_t collect(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  }
  static unsigned short freePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    if (fd >= 0) ::close(fd);
    if (!ok) throw std::runtime_error("nginx sink: no free local port");
    return ntohs(addr.sin_port);
  }

  std::string dir_;
  unsigned short port_ = 0;
  std::unique_ptr<testkit::ChildProcess> child_;
  CURL* status_ = nullptr;
  std::string status_url_;
  std::string reply_;
  long long reads_ = 0;
};

}  // namespace hookpipe::bench
