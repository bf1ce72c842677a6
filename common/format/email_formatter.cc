#include "common/format/email_formatter.h"

#include <simdjson.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "common/format/chat.h"
#include "common/json/event.h"

namespace hookpipe::format {
namespace email {
namespace {

bool atext(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  static constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
  return kSpecials.find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

constexpr char kHex[] = "0123456789ABCDEF";

}  // namespace

std::vector<std::string> splitAddresses(std::string_view list) {
  std::vector<std::string> out;
  while (true) {
    const auto comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

bool validAddress(std::string_view address) {
  if (address.size() > 254) return false;
  const auto at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64) return false;
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
    return false;
  for (char c : local)
    if (!atext(c) && c != '.') return false;
  if (domain.empty() || domain.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i <= domain.size(); ++i) {
    if (i == domain.size() || domain[i] == '.') {
      if (label == 0 || label > 63 || domain[i - 1] == '-' || domain[i - label] == '-')
        return false;
      label = 0;
      continue;
    }
    const char c = domain[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    ++label;
  }
  return true;
}

std::string quotedPrintable(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8 + 16);
  std::size_t line = 0;  // characters on the current output line
  auto put = [&](std::string_view piece) {
    if (line + piece.size() > 75) {  // room for the soft break's '='
      out += "=\r\n";
      line = 0;
    }
    out += piece;
    line += piece.size();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\r\n";
      line = 0;
      continue;
    }
    const bool at_line_end = i + 1 == text.size() || text[i + 1] == '\n';
    const bool literal =
        (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    // A '.' alone at a line's start is left to curl's dot-stuffing; "From " is harmless.
    if (literal) {
      const char ch = static_cast<char>(c);
      put(std::string_view(&ch, 1));
    } else if (c == '\r') {
      // Bare CRs are dropped: line ends are '\n' here.
    } else {
      const char enc[3] = {'=', kHex[c >> 4], kHex[c & 15]};
      put(std::string_view(enc, 3));
    }
  }
  return out;
}

std::string encodeHeader(std::string_view text) {
  bool ascii = true;
  for (unsigned char c : text) ascii = ascii && c >= 0x20 && c < 0x7f;
  // "=?" in plain text would read as the start of an encoded word: encode that too.
  if (ascii && text.find("=?") == std::string_view::npos) return std::string(text);
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    // At most 45 bytes (60 base64 characters, a 72-character word), cut before a
    // continuation byte so that no word splits a code point.
    std::size_t n = std::min<std::size_t>(45, text.size() - i);
    while (n > 1 && i + n < text.size() && (static_cast<unsigned char>(text[i + n]) & 0xc0) == 0x80)
      --n;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?";
    for (std::size_t k = 0; k < n; k += 3) {
      const std::size_t left = n - k;
      const auto b0 = static_cast<unsigned char>(text[i + k]);
      const auto b1 = left > 1 ? static_cast<unsigned char>(text[i + k + 1]) : 0;
      const auto b2 = left > 2 ? static_cast<unsigned char>(text[i + k + 2]) : 0;
      out += kB64[b0 >> 2];
      out += kB64[((b0 & 3) << 4) | (b1 >> 4)];
      out += left > 1 ? kB64[((b1 & 15) << 2) | (b2 >> 6)] : '=';
      out += left > 2 ? kB64[b2 & 63] : '=';
    }
    out += "?=";
    i += n;
  }
  return out;
}

std::string mailDate(int64_t unix_seconds) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return {};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string mailDate(std::string_view rfc3339) {
  const std::string text(rfc3339);
  std::tm tm{};
  const char* p = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (p == nullptr) return {};
  if (*p == '.')
    for (++p; *p >= '0' && *p <= '9';) ++p;
  int64_t offset_s = 0;
  if (*p == 'Z' || *p == 'z') {
    ++p;
  } else if (*p == '+' || *p == '-') {
    int hh = 0, mm = 0;
    if (std::sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2) return {};
    offset_s = (hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
    p += 6;
  } else {
    return {};
  }
  if (*p != '\0') return {};
  return mailDate(static_cast<int64_t>(timegm(&tm)) - offset_s);
}

std::string messageIdHeader(std::string_view delivery_id, std::string_view from) {
  const auto at = from.rfind('@');
  std::string out = "Message-ID: <";
  out += delivery_id;
  out += '@';
  out += at == std::string_view::npos ? std::string_view("hookpipe.invalid") : from.substr(at + 1);
  out += ">\r\n";
  return out;
}

}  // namespace email

namespace {

constexpr std::string_view kKnown[] = {"from",     "to",          "subject",       "username",
                                       "password", "require_tls", "severity_field"};

// Element at dotted `path` of the object `root`.
bool lookup(simdjson::dom::element root, std::string_view path, simdjson::dom::element& out) {
  simdjson::dom::element at = root;
  while (!path.empty()) {
    const auto dot = path.find('.');
    simdjson::dom::object obj;
    if (at.get_object().get(obj) || obj[path.substr(0, dot)].get(at)) return false;
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  out = at;
  return true;
}

// The placeholders of a subject template, each name between "{{" and "}}" (trimmed); a
// problem's text when one is unclosed or unknown.
std::string subjectProblem(std::string_view subject) {
  std::size_t from = 0;
  while ((from = subject.find("{{", from)) != std::string_view::npos) {
    const auto close = subject.find("}}", from);
    if (close == std::string_view::npos) return "subject has a {{ without its }}";
    std::string_view name = subject.substr(from + 2, close - from - 2);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    const bool data_path = name.starts_with("data.") && name.size() > 5 && !name.ends_with('.') &&
                           name.find("..") == std::string_view::npos;
    if (name != "type" && name != "id" && name != "timestamp" && name != "severity" && !data_path) {
      std::string p = "subject: unknown placeholder {{";
      p += name.substr(0, 64);
      p += "}} (known: {{type}}, {{id}}, {{timestamp}}, {{severity}}, {{data.<path>}})";
      return p;
    }
    from = close + 2;
  }
  return {};
}

std::string renderSubject(std::string_view tmpl, const json::Event& event, const chat::View& view) {
  std::string out;
  simdjson::dom::element root;
  bool parsed = false, tried = false;
  std::size_t from = 0;
  while (true) {
    const auto open = tmpl.find("{{", from);
    if (open == std::string_view::npos) break;
    const auto close = tmpl.find("}}", open);
    if (close == std::string_view::npos) break;
    out += tmpl.substr(from, open - from);
    std::string_view name = tmpl.substr(open + 2, close - open - 2);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name == "type") {
      out += view.type;
    } else if (name == "id") {
      out += view.id;
    } else if (name == "timestamp") {
      out += view.timestamp;
    } else if (name == "severity") {
      out += view.severity_text;
    } else if (name.starts_with("data.")) {
      thread_local simdjson::dom::parser parser;
      if (!tried) {
        tried = true;
        parsed = !parser.parse(event.body).get(root);
      }
      simdjson::dom::element value;
      if (parsed && lookup(root, name, value)) {
        std::string_view s;
        if (!value.get_string().get(s))
          out += s;
        else if (!value.is_null())
          out += simdjson::minify(value);
      }
    }
    from = close + 2;
  }
  out += tmpl.substr(from);
  // A subject is one line: controls (a CR or LF from the event's data) become spaces.
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return chat::clip(out, EmailFormatter::kMaxSubject);
}

std::string addressProblem(const Options& options, std::string_view name, bool list) {
  auto it = options.find(name);
  std::string what = std::string(name);
  if (it == options.end())
    return what + (list ? " is required for email: the recipients, comma-separated"
                        : " is required for email: the sender's address");
  if (it->second.kind != Option::Kind::kString) return what + " must be a string";
  const std::string& text = it->second.text;
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f)
      return what + " must not hold control characters (CR or LF would inject headers)";
  const auto addresses = list ? email::splitAddresses(text) : std::vector<std::string>{text};
  if (addresses.empty()) return what + " must name at least one address";
  if (addresses.size() > EmailFormatter::kMaxRecipients)
    return what + " must name at most " + std::to_string(EmailFormatter::kMaxRecipients) +
           " addresses";
  for (const auto& a : addresses)
    if (!email::validAddress(a)) {
      std::string p = what + ": '";
      p += a.substr(0, 100);
      p += "' is not an e-mail address (local@domain, ASCII, no display name)";
      return p;
    }
  return {};
}

}  // namespace

std::string EmailFormatter::format(const json::Event& event, const Subscription&) const {
  const chat::View view = chat::read(event, options_);
  const std::string from = std::string(chat::option(options_, "from"));
  std::string to;
  for (const auto& a : email::splitAddresses(chat::option(options_, "to"))) {
    if (!to.empty()) to += ", ";
    to += a;
  }
  std::string date = email::mailDate(view.timestamp);
  if (date.empty())
    date = email::mailDate(std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());

  // The text and HTML parts, '\n' line ends (quotedPrintable makes them CRLF).
  std::string text, html;
  text += view.type;
  html += "<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">\n<h2>";
  html += chat::escapeHtml(view.type);
  html += "</h2>\n";
  if (!view.severity_text.empty()) {
    text += " (";
    text += view.severity_text;
    text += ')';
    html += "<p>Severity: <b>";
    html += chat::escapeHtml(view.severity_text);
    html += "</b></p>\n";
  }
  text += "\n\n";
  if (!view.has_data) {
    text += "(no data)\n";
    html += "<p><i>no data</i></p>\n";
  } else if (!view.fields.empty()) {
    html += "<table cellpadding=\"4\" style=\"border-collapse:collapse\">\n";
    std::size_t shown = 0;
    for (const auto& field : view.fields) {
      if (shown == kMaxFields) break;
      ++shown;
      const std::string value =
          field.value.empty() ? std::string("(empty)") : chat::clip(field.value, kMaxValue);
      text += field.name;
      text += ": ";
      text += value;
      text += '\n';
      html += "<tr><th align=\"left\" valign=\"top\">";
      html += chat::escapeHtml(field.name);
      html += "</th><td>";
      if (field.nested) html += "<code>";
      html += chat::escapeHtml(value);
      if (field.nested) html += "</code>";
      html += "</td></tr>\n";
    }
    html += "</table>\n";
    if (shown < view.fields.size()) {
      const std::string more = "\u2026 and " + chat::moreFields(view.fields.size() - shown);
      text += more;
      text += '\n';
      html += "<p><i>";
      html += chat::escapeHtml(more);
      html += "</i></p>\n";
    }
  }
  std::string footer = view.id;
  if (!view.timestamp.empty()) {
    footer += " \u00b7 ";
    footer += view.timestamp;
  }
  text += "\n";
  text += footer;
  text += '\n';
  html += "<p style=\"color:#666\">";
  html += chat::escapeHtml(footer);
  html += "</p>\n</body></html>\n";

  // "=_" never occurs in quoted-printable text ('=' is always followed by hex or CRLF).
  // Unique per event: the message never holds another message's boundary.
  std::string boundary = "=_hookpipe_";
  for (char c : view.id) boundary += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  boundary = boundary.substr(0, 70);
  std::string m;
  m.reserve(text.size() + html.size() + 1024);
  m += "From: ";
  m += from;
  m += "\r\nTo: ";
  m += to;
  m += "\r\nSubject: ";
  m += email::encodeHeader(
      renderSubject(chat::option(options_, "subject", kDefaultSubject), event, view));
  m += "\r\nDate: ";
  m += date;
  // Message-ID is the deliverer's (email::messageIdHeader): it knows the delivery id.
  m += "\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n";
  m += "Content-Type: multipart/alternative; boundary=\"";
  m += boundary;
  m += "\"\r\n\r\nThis is a MIME message with a text and an HTML part.\r\n";
  for (auto [type, part] :
       {std::pair<std::string_view, const std::string*>{"plain", &text}, {"html", &html}}) {
    m += "\r\n--";
    m += boundary;
    m += "\r\nContent-Type: text/";
    m += type;
    m += "; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
    m += email::quotedPrintable(*part);
  }
  m += "\r\n--";
  m += boundary;
  m += "--\r\n";
  return m;
}

std::vector<Problem> EmailFormatter::validate(const Options& options) const {
  auto problems = chat::checkOptions(
      options, "email", std::vector<std::string_view>(std::begin(kKnown), std::end(kKnown)));
  for (auto [name, list] : {std::pair<std::string_view, bool>{"from", false}, {"to", true}})
    if (auto p = addressProblem(options, name, list); !p.empty())
      problems.push_back({optionPointer(name), std::move(p)});
  if (auto it = options.find("subject"); it != options.end()) {
    std::string p;
    if (it->second.kind != Option::Kind::kString) p = "subject must be a string";
    for (unsigned char c : it->second.text)
      if (p.empty() && (c < 0x20 || c == 0x7f)) p = "subject must not hold control characters";
    if (p.empty()) p = subjectProblem(it->second.text);
    if (!p.empty()) problems.push_back({optionPointer("subject"), std::move(p)});
  }
  for (std::string_view name : {"username", "password"})
    if (auto it = options.find(name); it != options.end()) {
      std::string p;
      if (it->second.kind != Option::Kind::kString || it->second.text.empty())
        p = " must be a non-empty string";
      for (unsigned char c : it->second.text)
        if (c < 0x20 || c == 0x7f) p = " must not hold control characters";
      if (!p.empty()) problems.push_back({optionPointer(name), std::string(name) + p});
    }
  if (auto it = options.find("require_tls"); it != options.end())
    if (it->second.kind != Option::Kind::kBool)
      problems.push_back({optionPointer("require_tls"), "require_tls must be a boolean"});
  return problems;
}

}  // namespace hookpipe::format
