#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hookpipe::webhook {

enum class Verdict { kDelivered, kRetry, kDeadLetter };

struct Outcome {
  Verdict verdict;
  const char* error_class;            // "" when delivered; few values, fit for metric labels
  bool disable_subscription = false;  // 410 Gone
};

// Classifies one attempt from its HTTP status (0 when no response) and curl's result.
// `refused` is set when the SSRF guard refused an address: permanent when no connection
// was made at all (curl's CURLE_COULDNT_CONNECT); when the host had another address the
// guard let through, what happened there decides.
// 2xx delivered (also when the transfer failed after the status line: the receiver
// answered); 408, 425, 429, 5xx, timeouts, connection/DNS/TLS errors retried;
// other statuses (4xx, and 1xx/3xx since redirects are not followed) dead-lettered;
// 410 also disables the subscription.
Outcome classify(long http_status, CURLcode transport, bool refused = false);
// True when the guard's refusal is what ended the attempt (see classify()).
inline bool refusedOutright(long http_status, CURLcode transport, bool refused) {
  return refused && http_status == 0 && transport == CURLE_COULDNT_CONNECT;
}

// Parses Retry-After: delay-seconds or an HTTP date (relative to now_s). nullopt when
// absent or unparseable; negative waits become zero.
std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value, int64_t now_s);

}  // namespace hookpipe::webhook
