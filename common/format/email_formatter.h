#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/format/formatter.h"

namespace hookpipe::format {

// "email": an RFC 5322 message, sent by the deliverer over SMTP (the subscription's url is
// smtp://host:587, STARTTLS required, or smtps://host:465) instead of an HTTP POST. The body
// is multipart/alternative with a text/plain and a text/html part (UTF-8,
// quoted-printable, CRLF line endings): the event type and severity, one line (a table
// row in HTML, values HTML-escaped) per top-level data field, then id and time. Headers:
// From, To, Subject (RFC 2047 encoded words when not ASCII), Date (the event's timestamp,
// else the time it was formatted), MIME-Version, Content-Type, Auto-Submitted.
//
// Options (strings unless said): from (required, one address), to (required: 1..50
// addresses, comma-separated), subject (a template, default "[{{type}}] {{id}}": {{type}},
// {{id}}, {{timestamp}}, {{severity}} and {{data.<dotted path>}} are substituted, a path
// that is absent gives ""), username and password (SMTP AUTH, instead of the url's
// userinfo; never shown in API answers), require_tls (boolean, default true: smtp:// must
// upgrade with STARTTLS), severity_field.
class EmailFormatter final : public Formatter {
 public:
  explicit EmailFormatter(Options options = {}) : options_(std::move(options)) {}
  std::string format(const json::Event& event, const Subscription& subscription) const override;
  std::vector<Problem> validate(const Options& options) const override;
  std::shared_ptr<const Formatter> withOptions(const Options& options) const override {
    return std::make_shared<EmailFormatter>(options);
  }

  static constexpr std::size_t kMaxRecipients = 50;
  static constexpr std::size_t kMaxFields = 200;   // data fields shown, "N more fields"
  static constexpr std::size_t kMaxValue = 4000;   // UTF-16 units of one value
  static constexpr std::size_t kMaxSubject = 250;  // UTF-16 units after substitution
  static constexpr std::string_view kDefaultSubject = "[{{type}}] {{id}}";

 private:
  Options options_;
};

namespace email {

// The addresses of a comma-separated list, trimmed, empty items dropped.
std::vector<std::string> splitAddresses(std::string_view list);
// True for an addr-spec hookpipe accepts: local@domain, local part of RFC 5322 atext and
// dots, domain of letters, digits, '-' and dots; ASCII only, no spaces or controls, at most
// 254 characters.
bool validAddress(std::string_view address);
// `text` quoted-printable encoded (RFC 2045): '\n' line ends become CRLF, lines at most 76.
std::string quotedPrintable(std::string_view text);
// A header value: `text` as is when it is printable ASCII, else RFC 2047 "=?UTF-8?B?…?="
// words (each at most 75 characters, cut on code point boundaries) folded with CRLF SP.
std::string encodeHeader(std::string_view text);
// RFC 5322 date ("Fri, 09 Jan 2026 15:30:00 +0000") of an RFC 3339 timestamp; "" when it
// does not parse.
std::string mailDate(std::string_view rfc3339);
std::string mailDate(int64_t unix_seconds);
// "Message-ID: <delivery id@from's domain>\r\n": the deliverer puts it before the message
// (the formatter does not know the delivery id), the same on every attempt.
std::string messageIdHeader(std::string_view delivery_id, std::string_view from);

}  // namespace email

}  // namespace hookpipe::format
