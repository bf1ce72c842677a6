#include "common/webhook/outcome.h"

#include <algorithm>
#include <charconv>
#include <ctime>

#include "common/text/number.h"

namespace hookpipe::webhook {

Outcome classify(long http_status, CURLcode transport, bool refused) {
  if (refusedOutright(http_status, transport, refused))
    return {Verdict::kDeadLetter, "refused_address"};
  // A 2xx status line is the receiver's answer: it took the delivery, whatever became of
  // the rest of the response (a timeout or a reset while the body was on its way). Sending
  // it again would be a duplicate of an accepted delivery (issue 13: a request that spent
  // its timeout waiting for a connection read "200" and then timed out, and was re-sent).
  // curl reports the status only once it parsed the status line of this transfer.
  if (http_status >= 200 && http_status < 300) return {Verdict::kDelivered, ""};
  switch (transport) {
    case CURLE_OK:
      break;
    case CURLE_OPERATION_TIMEDOUT:
      return {Verdict::kRetry, "timeout"};
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return {Verdict::kRetry, "dns"};
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
      return {Verdict::kRetry, "tls"};
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return {Verdict::kDeadLetter, "bad_url"};
    case CURLE_WRITE_ERROR:
      // A write callback refusing the body (ours keeps 1 KiB and discards the rest, so it
      // never does): the status line had arrived, and the status decides.
      if (http_status != 0) break;
      return {Verdict::kRetry, "connection"};
    default:
      return {Verdict::kRetry, "connection"};
  }
  if (http_status >= 200 && http_status < 300) return {Verdict::kDelivered, ""};
  if (http_status == 408 || http_status == 425 || http_status == 429)
    return {Verdict::kRetry, "http_4xx_retryable"};
  if (http_status >= 500 && http_status < 600) return {Verdict::kRetry, "http_5xx"};
  if (http_status == 410) return {Verdict::kDeadLetter, "http_410_gone", true};
  if (http_status >= 400 && http_status < 500) return {Verdict::kDeadLetter, "http_4xx"};
  if (http_status >= 300 && http_status < 400) return {Verdict::kDeadLetter, "http_redirect"};
  if (http_status >= 100 && http_status < 200) return {Verdict::kDeadLetter, "http_unexpected"};
  return {Verdict::kRetry, "http_unexpected"};
}

std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value, int64_t now_s) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r' ||
                            value.back() == '\n'))
    value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (const auto seconds = text::parseInteger<int64_t>(value)) {
    if (*seconds < 0) return std::nullopt;
    constexpr int64_t kYear = 365LL * 24 * 3600;  // no overflow; longer waits are capped anyway
    return std::chrono::milliseconds(std::min(*seconds, kYear) * 1000);
  }
  // IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT".
  std::tm tm{};
  const std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const int64_t at = timegm(&tm);
  return std::chrono::milliseconds(std::max<int64_t>(0, at - now_s) * 1000);
}

}  // namespace hookpipe::webhook
