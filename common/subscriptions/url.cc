#include "common/subscriptions/url.h"

#include <curl/curl.h>
#include <strings.h>

#include <memory>

namespace hookpipe {
namespace {

bool mailScheme(std::string_view scheme) { return scheme == "smtp" || scheme == "smtps"; }

}  // namespace

std::string_view urlScheme(std::string_view url) {
  if (url.size() >= 7 && strncasecmp(url.data(), "http://", 7) == 0) return "http";
  if (url.size() >= 8 && strncasecmp(url.data(), "https://", 8) == 0) return "https";
  if (url.size() >= 7 && strncasecmp(url.data(), "smtp://", 7) == 0) return "smtp";
  if (url.size() >= 8 && strncasecmp(url.data(), "smtps://", 8) == 0) return "smtps";
  return {};
}

std::string_view urlAuthority(std::string_view url) {
  const auto begin = url.find("://") + 3;
  const auto end = url.find_first_of("/?#", begin);
  return url.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin);
}

std::string urlProblem(std::string_view url, bool strict, std::string_view format) {
  if (url.empty()) return "url is required";
  const std::string_view scheme = urlScheme(url);
  if (format == "email") {
    if (!mailScheme(scheme))
      return "url of an email subscription must be its SMTP server: smtp://host:587 "
             "(STARTTLS) or smtps://host:465";
  } else if (scheme.empty() || mailScheme(scheme)) {
    return "url must start with http:// or https://";
  }
  const std::string_view authority = urlAuthority(url);
  const auto at = authority.rfind('@');
  const std::string_view host = at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (host.empty() || host.front() == ':') return "url must name a host";
  if (!strict) return {};
  for (unsigned char c : url)
    if (c <= 0x20 || c == 0x7f)
      return "url must not hold spaces or control characters (percent-encode them)";
  if (authority.find('@') != at)
    return "url must not hold more than one '@' before its host (percent-encode it in a password)";
  // curl is what sends it: it must read the URL as well.
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> parsed(curl_url(), &curl_url_cleanup);
  if (!parsed) return "url cannot be checked (out of memory)";
  const std::string text(url);
  if (const auto rc = curl_url_set(parsed.get(), CURLUPART_URL, text.c_str(), 0); rc != CURLUE_OK)
    return std::string("url is not a valid URL: ") + curl_url_strerror(rc);
  return {};
}

std::string redactedUrl(std::string_view url) {
  if (urlScheme(url).empty()) return std::string(url);
  const std::string_view authority = urlAuthority(url);
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  const std::size_t begin = static_cast<std::size_t>(authority.data() - url.data());
  std::string out(url.substr(0, begin));
  out += kRedactedUserinfo;
  out += url.substr(begin + at);
  return out;
}

}  // namespace hookpipe
