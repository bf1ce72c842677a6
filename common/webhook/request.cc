#include "common/webhook/request.h"

#include <strings.h>
#include <sys/socket.h>

#include <algorithm>

#include "common/webhook/ssrf.h"

namespace hookpipe::webhook {

Request::~Request() {
  if (headers_ != nullptr) curl_slist_free_all(headers_);
}

size_t Request::onBody(char* data, size_t size, size_t n, void* self) noexcept {
  auto* req = static_cast<Request*>(self);
  const size_t len = size * n;
  const size_t room = kResponseSnippetBytes - std::min(kResponseSnippetBytes, req->snippet_.size());
  req->snippet_.append(data, std::min(room, len));  // the rest is discarded
  return len;
}

size_t Request::onHeader(char* data, size_t size, size_t n, void* self) noexcept {
  auto* req = static_cast<Request*>(self);
  std::string_view line(data, size * n);
  if (line.size() > 12 && strncasecmp(line.data(), "retry-after:", 12) == 0)
    req->retry_after_ = std::string(line.substr(12));
  return size * n;
}

curl_socket_t Request::onOpenSocket(void* self, curlsocktype, curl_sockaddr* address) noexcept {
  auto* req = static_cast<Request*>(self);
  if (!req->allow_private_ && isPrivateAddress(&address->addr)) {
    req->refused_ = true;
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype, address->protocol);
}

void Request::prepare(CURL* e, const Subscription& s, std::string_view delivery_id,
                      std::string_view body, signing::Signer& signer, const Options& options,
                      int64_t now_ms) {
  allow_private_ = options.allow_private_targets;
  lines_ = {"Content-Type: application/json", "User-Agent: hookpipe/" HOOKPIPE_VERSION};
  for (const auto& [k, v] : s.headers) lines_.push_back(k + ": " + v);
  const std::vector<std::string> keys = s.signingKeys(now_ms);
  if (s.signature_style == "github") {
    if (!keys.empty())
      lines_.push_back("X-Webhook-Signature: " + signer.githubStyle(keys.front(), body));
  } else {
    const int64_t ts = now_ms / 1000;
    lines_.push_back("webhook-id: " + std::string(delivery_id));
    lines_.push_back("webhook-timestamp: " + std::to_string(ts));
    if (!keys.empty())
      lines_.push_back("webhook-signature: " +
                       signer.standardWebhooks(keys, delivery_id, ts, body));
  }
  for (const auto& l : lines_) headers_ = curl_slist_append(headers_, l.c_str());
  headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue round trip

  const long timeout_ms =
      s.timeout_ms > 0 ? s.timeout_ms : static_cast<long>(options.request_timeout.count());
  curl_easy_setopt(e, CURLOPT_URL, s.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  // HTTP/2 when the TLS handshake offers it (multiplexed on one connection by the multi
  // handle); HTTP/1.1 with keep-alive otherwise.
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Request::onBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Request::onHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Request::onOpenSocket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, this);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer_);
}

std::string Request::failureMessage(CURLcode code, long status) const {
  if (refused_) return "address refused: private, loopback or link-local target";
  if (code != CURLE_OK) return error_buffer_[0] != '\0' ? error_buffer_ : curl_easy_strerror(code);
  return "HTTP " + std::to_string(status) + ": " + snippet_.substr(0, 256);
}

}  // namespace hookpipe::webhook
