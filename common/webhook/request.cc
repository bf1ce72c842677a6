#include "common/webhook/request.h"

#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <span>

#include "common/format/email_formatter.h"
#include "common/net/address.h"
#include "common/webhook/outcome.h"
#include "common/webhook/platform_rules.h"

namespace hookpipe::webhook {

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

bool mayMultiplex(std::string_view url) {
  return url.size() >= 8 && strncasecmp(url.data(), "https://", 8) == 0;
}

Options requestOptions(const Config& config) {
  Options o{config.connect_timeout, config.request_timeout, config.allow_private_targets,
            config.https_only,      config.ca_file,         nullptr};
  if (auto ranges = net::AddressRanges::parse(config.allowed_targets); ranges && !ranges->empty())
    o.allowed_targets = std::make_shared<const net::AddressRanges>(std::move(*ranges));
  return o;
}

curl_socket_t Request::onOpenSocket(void* self, curlsocktype, curl_sockaddr* address) noexcept {
  auto* req = static_cast<Request*>(self);
  if (!req->allow_private_ && net::isPrivateAddress(&address->addr) &&
      !(req->allowed_ && req->allowed_->contains(&address->addr))) {
    req->refused_ = true;
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype, address->protocol);
}

void Request::beginLine(std::string_view name) {
  if (!line_starts_.empty()) lines_ += '\0';
  line_starts_.push_back(lines_.size());
  lines_ += name;
  lines_ += ": ";
}

void Request::prepare(CURL* e, const Subscription& s, std::string_view delivery_id,
                      std::string_view body, signing::Signer& signer, const Options& options,
                      int64_t now_ms) {
  allow_private_ = options.allow_private_targets;
  if (allowed_ != options.allowed_targets) allowed_ = options.allowed_targets;
  refused_ = false;
  const bool tls = mayMultiplex(s.url);
  scheme_refused_ = options.https_only && !tls;
  snippet_.clear();
  retry_after_.clear();
  error_buffer_[0] = '\0';
  lines_.clear();
  line_starts_.clear();
  beginLine("Content-Type");
  lines_ += "application/json";
  beginLine("User-Agent");
  lines_ += "hookpipe/" HOOKPIPE_VERSION;
  for (const auto& [k, v] : s.headers) {
    beginLine(k);
    lines_ += v;
  }
  // The signing keys as views into `s` (decoded at parse time); decoded here only for a
  // subscription built without parseSubscription.
  std::array<std::string_view, 2> key_views;
  std::size_t key_count = 0;
  std::vector<std::string> decoded;
  const bool previous_live = !s.previous_secret.empty() && now_ms < s.previous_secret_expires_ms;
  if ((!s.secret.empty() && s.secret_key.empty()) ||
      (previous_live && s.previous_secret_key.empty())) {
    decoded = s.signingKeys(now_ms);
    for (const auto& k : decoded)
      if (key_count < key_views.size()) key_views[key_count++] = k;
  } else {
    if (!s.secret.empty()) key_views[key_count++] = s.secret_key;
    if (previous_live) key_views[key_count++] = s.previous_secret_key;
  }
  const std::span<const std::string_view> keys(key_views.data(), key_count);
  // Chat platforms ignore signature headers: none are sent; zapier's only when asked.
  const Signing signing = signingOf(platformOf(s.format));
  const auto asked = s.format_options.find("sign");
  const bool sign = signing == Signing::kStandard ||
                    (signing == Signing::kWhenAsked && asked != s.format_options.end() &&
                     asked->second.text == "true");
  if (!sign) {
    // No signature headers at all.
  } else if (s.signature_style == "github") {
    if (!keys.empty()) {
      beginLine("X-Webhook-Signature");
      signer.appendGithubStyle(lines_, keys.front(), body);
    }
  } else {
    const int64_t ts = now_ms / 1000;
    beginLine("webhook-id");
    lines_ += delivery_id;
    beginLine("webhook-timestamp");
    char ts_buf[24];
    lines_.append(ts_buf, std::to_chars(ts_buf, ts_buf + sizeof ts_buf, ts).ptr);
    if (!keys.empty()) {
      beginLine("webhook-signature");
      signer.appendStandardWebhooks(lines_, keys, delivery_id, ts, body);
    }
  }
  beginLine("Expect");  // "Expect:" with no value: no 100-continue round trip
  lines_.resize(lines_.size() - 1);
  lines_ += '\0';
  // lines_ no longer changes: point the list into it.
  nodes_.resize(line_starts_.size());
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i].data = lines_.data() + line_starts_[i];
    nodes_[i].next = i + 1 < nodes_.size() ? &nodes_[i + 1] : nullptr;
  }

  const long timeout_ms =
      s.timeout_ms > 0 ? s.timeout_ms : static_cast<long>(options.request_timeout.count());
  curl_easy_setopt(e, CURLOPT_URL, s.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, options.https_only ? "https" : "http,https");
  curl_easy_setopt(e, CURLOPT_CAINFO, options.ca_file.empty() ? nullptr : options.ca_file.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, nodes_.data());
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  // Never through a proxy from the environment: the SSRF guard checks the address
  // connected to, which would be the proxy's.
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  // HTTP/2 when the TLS handshake offers it (multiplexed on one connection by the multi
  // handle); HTTP/1.1 with keep-alive otherwise.
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  // A request to an https endpoint waits for a connection to it that is still in its TLS
  // handshake, which may offer HTTP/2 (then the request becomes a stream on it), rather
  // than opening one of its own: a burst shares one connection. Never over http://: there
  // libcurl 7.88 waits for the first *response* on the host:port's connection to learn it
  // is HTTP/1.1, and an endpoint that hangs never sends one, so every request to that
  // host:port (other subscriptions' too, and the endpoint's own) waited out its timeout
  // behind it (issue 13). Set each time: the easy handle may have gone to https before.
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, tls ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   s.connect_timeout_ms > 0 ? static_cast<long>(s.connect_timeout_ms)
                                            : static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Request::onBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Request::onHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Request::onOpenSocket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, this);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer_);
  // What an SMTP transfer on this easy handle set before is undone (every option is set
  // each time: the handles are pooled).
  mail_ = platformOf(s.format) == Platform::kEmail;
  curl_easy_setopt(e, CURLOPT_UPLOAD, 0L);
  curl_easy_setopt(e, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_NONE));
  curl_easy_setopt(e, CURLOPT_USERNAME, nullptr);
  curl_easy_setopt(e, CURLOPT_PASSWORD, nullptr);
  curl_easy_setopt(e, CURLOPT_MAIL_RCPT, nullptr);
  curl_easy_setopt(e, CURLOPT_MAIL_FROM, nullptr);
  curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(-1));
  if (mail_) {
    prepareMail(e, s, delivery_id, body, options);
  } else {
    curl_easy_setopt(e, CURLOPT_POST, 1L);  // after UPLOAD 0: an upload would be a PUT
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
}

size_t Request::onRead(char* buffer, size_t size, size_t n, void* self) noexcept {
  auto* req = static_cast<Request*>(self);
  const size_t room = size * n;
  size_t done = 0;
  const std::size_t total = req->mail_head_.size() + req->mail_body_.size();
  while (done < room && req->mail_sent_ < total) {
    const bool head = req->mail_sent_ < req->mail_head_.size();
    const std::string_view from =
        head ? std::string_view(req->mail_head_).substr(req->mail_sent_)
             : req->mail_body_.substr(req->mail_sent_ - req->mail_head_.size());
    const size_t k = std::min(room - done, from.size());
    std::memcpy(buffer + done, from.data(), k);
    done += k;
    req->mail_sent_ += k;
  }
  return done;
}

void Request::prepareMail(CURL* e, const Subscription& s, std::string_view delivery_id,
                          std::string_view body, const Options& options) {
  auto option = [&](std::string_view name) -> const std::string* {
    auto it = s.format_options.find(name);
    return it == s.format_options.end() ? nullptr : &it->second.text;
  };
  const std::string* from = option("from");
  mail_from_ = from ? *from : std::string();
  mail_head_ = format::email::messageIdHeader(delivery_id, mail_from_);
  mail_body_ = body;
  mail_sent_ = 0;
  rcpt_ = format::email::splitAddresses(option("to") ? *option("to") : std::string());
  rcpt_nodes_.resize(rcpt_.size());
  for (std::size_t i = 0; i < rcpt_.size(); ++i) {
    rcpt_nodes_[i].data = rcpt_[i].data();
    rcpt_nodes_[i].next = i + 1 < rcpt_.size() ? &rcpt_nodes_[i + 1] : nullptr;
  }
  // smtp:// must upgrade with STARTTLS unless require_tls is false (then TLS when offered);
  // HOOKPIPE_HTTPS_ONLY always requires it. smtps:// is TLS from the first byte.
  const std::string* require_tls = option("require_tls");
  const bool tls_required = options.https_only || require_tls == nullptr || *require_tls != "false";
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(e, CURLOPT_USE_SSL,
                   static_cast<long>(tls_required ? CURLUSESSL_ALL : CURLUSESSL_TRY));
  // Credentials from the options win over the url's userinfo (which curl reads itself).
  if (const std::string* user = option("username"))
    curl_easy_setopt(e, CURLOPT_USERNAME, user->c_str());
  if (const std::string* password = option("password"))
    curl_easy_setopt(e, CURLOPT_PASSWORD, password->c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(e, CURLOPT_MAIL_FROM, mail_from_.c_str());
  curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt_nodes_.empty() ? nullptr : rcpt_nodes_.data());
  curl_easy_setopt(e, CURLOPT_READFUNCTION, &Request::onRead);
  curl_easy_setopt(e, CURLOPT_READDATA, this);
  curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
                   static_cast<curl_off_t>(mail_head_.size() + mail_body_.size()));
  curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
}

std::vector<std::string> Request::headerLines() const {
  std::vector<std::string> out;
  // All but the last line, the bare "Expect:" that only switches a curl feature off.
  for (std::size_t i = 0; i + 1 < nodes_.size(); ++i) out.emplace_back(nodes_[i].data);
  return out;
}

std::string Request::failureMessage(CURLcode code, long status) const {
  if (refusedOutright(status, code, refused_))
    return "address refused: private, loopback or link-local target";
  if (scheme_refused_ && code == CURLE_UNSUPPORTED_PROTOCOL)
    return "refused: HOOKPIPE_HTTPS_ONLY is set and the URL is not https://";
  std::string message;
  if (mail_) {
    if (status != 0) {
      message = "SMTP ";
      message += std::to_string(status);
      message += ": ";
    }
    message += error_buffer_[0] != '\0' ? error_buffer_ : curl_easy_strerror(code);
    return message;
  }
  if (code != CURLE_OK) return error_buffer_[0] != '\0' ? error_buffer_ : curl_easy_strerror(code);
  return "HTTP " + std::to_string(status) + ": " + snippet_.substr(0, 256);
}

}  // namespace hookpipe::webhook
