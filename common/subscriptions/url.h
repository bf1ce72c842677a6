#pragma once
// A subscription's url: which schemes a format takes, what curl must be able to read, and
// how answers and logs show it without its credentials.

#include <string>
#include <string_view>

namespace hookpipe {

// What replaces a credential wherever hookpipe shows one (a url's userinfo, a secret
// format option).
inline constexpr std::string_view kRedactedUserinfo = "***";

// The scheme, case-insensitively: "http", "https", "smtp", "smtps" or "" for anything else.
std::string_view urlScheme(std::string_view url);
// The authority of a URL with one of those schemes: between "://" and the first of "/?#"
// (as curl reads it).
std::string_view urlAuthority(std::string_view url);

// Why `url` cannot be a subscription's of `format`, or "" when it can. The "email" format's
// url is its SMTP server (smtp:// or smtps://), every other format's an http(s) endpoint.
// `strict` (a client's url, not a stored one): also what curl would refuse or read
// differently from us (spaces, control characters, a second '@' before the host).
std::string urlProblem(std::string_view url, bool strict, std::string_view format);

// `url` with its userinfo (user:password@) replaced by "***@"; `url` itself when it has
// none. What every API answer and log line shows.
std::string redactedUrl(std::string_view url);

}  // namespace hookpipe
