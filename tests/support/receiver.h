#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hookpipe::testing {

struct ReceivedRequest {
  std::string target;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
  std::chrono::steady_clock::time_point at;  // when the request arrived
};

// A webhook receiver for tests: a real HTTP/1.1 server (Boost.Beast) on 127.0.0.1,
// port 0, one thread per connection. It records every request and answers with the
// status the `respond` function picks (200 by default).
class Receiver {
 public:
  using Respond = std::function<int(const ReceivedRequest&)>;
  explicit Receiver(Respond respond = nullptr);
  ~Receiver();
  unsigned short port() const { return port_; }
  std::string url(const std::string& path) const;
  std::vector<ReceivedRequest> requests() const;
  std::vector<ReceivedRequest> requestsTo(const std::string& path) const;
  // Polls until `done(requests())` holds or the deadline passes.
  bool waitFor(const std::function<bool(const std::vector<ReceivedRequest>&)>& done,
               std::chrono::milliseconds timeout) const;
  void setRespond(Respond respond);
  // Extra response headers for an answer with `status` (e.g. Retry-After on 429).
  using ReplyHeaders = std::function<std::map<std::string, std::string>(int status)>;
  void setReplyHeaders(ReplyHeaders headers);
  // The body of an answer with `status` ("status <N>" when unset or it returns nullopt),
  // e.g. Slack's "invalid_token" or Discord's 429 JSON.
  using ReplyBody = std::function<std::optional<std::string>(const ReceivedRequest&, int status)>;
  void setReplyBody(ReplyBody body);
  // Most requests that were being answered at the same time.
  int maxConcurrent() const;
  // Closes every connection (as a server dropping idle keep-alive connections does).
  void closeConnections();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  unsigned short port_ = 0;
};

// True when `r` carries a Standard Webhooks signature of its id, timestamp and body made
// with `secret` (whsec_…).
bool validSignature(const ReceivedRequest& r, const std::string& secret);

}  // namespace hookpipe::testing
