#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/config.h"
#include "common/net/address.h"
#include "common/signing/signer.h"
#include "common/subscriptions/subscription.h"

// One webhook HTTP attempt as curl sees it (or, for the "email" format, one SMTP
// submission: prepareMail): the headers (Standard Webhooks or GitHub-style
// signature, custom headers, User-Agent), the easy-handle options (timeouts, no redirects,
// http/https only, HTTP/2 when offered over TLS, TCP_NODELAY), the SSRF guard on the address
// actually connected to, and a capped response body. Shared by the deliverer and the API's
// `POST /v1/subscriptions/{id}/test`, so both send exactly the same request.
namespace hookpipe::webhook {

inline constexpr std::size_t kResponseSnippetBytes = 1024;

struct Options {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};  // a subscription's timeout_ms wins
  bool allow_private_targets = false;
  bool https_only = false;  // only https:// URLs (curl refuses the others: bad_url)
  std::string ca_file;      // CURLOPT_CAINFO when set
  // Private ranges receivers may still be reached at (HOOKPIPE_ALLOWED_TARGETS).
  std::shared_ptr<const net::AddressRanges> allowed_targets;
};
// True for https:// URLs, the only ones whose connection may multiplex (HTTP/2 is offered
// in the TLS handshake): only these wait for another request's connection (PIPEWAIT).
bool mayMultiplex(std::string_view url);

// The options HOOKPIPE_* configure (Config::validate has checked them).
Options requestOptions(const Config& config);

// Lives as long as its transfer (curl keeps pointers to the headers, the body and this).
// Reusable: prepare() may be called again for the next transfer once one is done, and
// then allocates nothing once its buffers have grown to size (the deliverer keeps a pool).
class Request {
 public:
  Request() = default;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  // Builds the headers and sets every option on `easy` (fresh, reset, or last used by a
  // Request: every option set here is set each time). `body` must outlive the transfer.
  void prepare(CURL* easy, const Subscription& sub, std::string_view delivery_id,
               std::string_view body, signing::Signer& signer, const Options& options,
               int64_t now_ms);

  // The header lines sent, in order ("Name: value").
  std::vector<std::string> headerLines() const;
  // The first kResponseSnippetBytes of the response body (the rest is discarded unread).
  const std::string& responseSnippet() const { return snippet_; }
  const std::string& retryAfter() const { return retry_after_; }
  // True when the SSRF guard refused the connected address.
  bool refused() const { return refused_; }
  // A readable reason for a failed transfer: refusal, curl's error, or "HTTP <status>: body".
  std::string failureMessage(CURLcode code, long status) const;
  // True when the last prepare() set up an SMTP transfer (format "email").
  bool mail() const { return mail_; }

 private:
  static size_t onBody(char* data, size_t size, size_t n, void* self) noexcept;
  static size_t onHeader(char* data, size_t size, size_t n, void* self) noexcept;
  static curl_socket_t onOpenSocket(void* self, curlsocktype, curl_sockaddr* address) noexcept;
  static size_t onRead(char* buffer, size_t size, size_t n, void* self) noexcept;
  // The SMTP options of an "email" subscription (the HTTP ones are reset by prepare()).
  void prepareMail(CURL* easy, const Subscription& sub, std::string_view delivery_id,
                   std::string_view body, const Options& options);
  // Starts the next header line in lines_ (ends the previous one with its NUL).
  void beginLine(std::string_view name);

  // The header lines, each NUL-terminated, one after the other; nodes_ is the curl_slist
  // curl reads, pointing into it (built by hand: curl_slist_append would allocate twice
  // per line per request). curl only reads the list.
  std::string lines_;
  std::vector<std::size_t> line_starts_;
  std::vector<curl_slist> nodes_;
  std::string snippet_;
  std::string retry_after_;
  bool allow_private_ = false;
  std::shared_ptr<const net::AddressRanges> allowed_;
  bool refused_ = false;
  bool scheme_refused_ = false;  // https_only and the URL is not https
  char error_buffer_[CURL_ERROR_SIZE] = {};
  // SMTP: the message is `mail_head_` (its Message-ID) then the body, read by onRead.
  bool mail_ = false;
  std::string mail_head_;
  std::string_view mail_body_;
  std::size_t mail_sent_ = 0;
  std::string mail_from_;
  std::vector<std::string> rcpt_;
  std::vector<curl_slist> rcpt_nodes_;
};

}  // namespace hookpipe::webhook
