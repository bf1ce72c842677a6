#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/log/log.h"
#include "producer/http.h"

// What several resources' handlers share.
namespace hookpipe::producer::routes {

inline constexpr std::size_t kDefaultListLimit = 100;
inline constexpr std::size_t kMaxListLimit = 1000;

inline std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("producer");
  return l;
}

// JSON bodies: no Content-Type, application/json, or application/x-ndjson (a batch).
inline bool isJson(const Request& req) {
  auto ct = req[http::field::content_type];
  return ct.empty() || ct.starts_with("application/json") || ct.starts_with("application/x-ndjson");
}

// An id for a log line: ids written before they were checked may hold anything.
inline std::string logSafe(std::string_view id) {
  std::string out;
  for (char c : id.substr(0, 128))
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ' ' ? '?' : c);
  return out;
}

}  // namespace hookpipe::producer::routes
