// The "email" format: golden files of the whole message (golden/email/<case>.eml; rewrite
// with HOOKPIPE_UPDATE_GOLDEN=1 like the other formats), the message's structure (headers,
// both parts, CRLF, encoded subject, line lengths), its helpers and its options.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/format/email_formatter.h"
#include "common/format/formatter.h"
#include "common/subscriptions/subscription.h"
#include "format_test_support.h"

namespace hookpipe::format::testing {
namespace {

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A message cut into its header block (unfolded, by lower-case name) and its body.
struct Message {
  std::map<std::string, std::string> headers;
  std::string body;
};
Message parse(const std::string& m) {
  Message out;
  const auto end = m.find("\r\n\r\n");
  EXPECT_NE(end, std::string::npos);
  std::string block = m.substr(0, end);
  out.body = m.substr(end + 4);
  // Unfold: CRLF followed by a space continues the previous header.
  std::string unfolded;
  for (std::size_t i = 0; i < block.size(); ++i) {
    if (block.compare(i, 3, "\r\n ") == 0) {
      i += 2;
      continue;
    }
    unfolded += block[i];
  }
  std::stringstream lines(unfolded);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(": ");
    EXPECT_NE(colon, std::string::npos) << line;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = line.substr(colon + 2);
  }
  return out;
}

std::string decodeQp(std::string_view qp) {
  std::string out;
  for (std::size_t i = 0; i < qp.size(); ++i) {
    if (qp[i] == '=' && qp.substr(i + 1, 2) == "\r\n") {
      i += 2;
    } else if (qp[i] == '=' && i + 2 < qp.size()) {
      out += static_cast<char>(std::stoi(std::string(qp.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (qp.substr(i, 2) == "\r\n") {
      out += '\n';
      ++i;
    } else {
      out += qp[i];
    }
  }
  return out;
}

std::string base64Decode(std::string_view in) {
  static const std::string kB64 =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    if (c == '=') break;
    val = (val << 6) + static_cast<int>(kB64.find(c));
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xff);
      bits -= 8;
    }
  }
  return out;
}

// The subject as a reader sees it: encoded words decoded and joined.
std::string decodeSubject(const std::string& header) {
  if (!header.starts_with("=?UTF-8?B?")) return header;
  std::string out;
  std::size_t at = 0;
  while ((at = header.find("=?UTF-8?B?", at)) != std::string::npos) {
    const auto end = header.find("?=", at + 10);
    out += base64Decode(header.substr(at + 10, end - at - 10));
    at = end + 2;
  }
  return out;
}

// The parts of a multipart body by content type, decoded.
std::map<std::string, std::string> parts(const Message& m) {
  const std::string& ct = m.headers.at("content-type");
  const auto b = ct.find("boundary=\"");
  EXPECT_NE(b, std::string::npos);
  const std::string boundary = ct.substr(b + 10, ct.find('"', b + 10) - b - 10);
  std::map<std::string, std::string> out;
  std::string delimiter = "\r\n--";
  delimiter += boundary;
  std::size_t at = m.body.find(delimiter);
  EXPECT_NE(m.body.find(std::string(delimiter) += "--\r\n"), std::string::npos)
      << "no closing delimiter";
  while (at != std::string::npos) {
    const std::size_t start = at + delimiter.size();
    if (m.body.compare(start, 2, "--") == 0) break;
    const std::size_t next = m.body.find(delimiter, start);
    const Message part = parse(m.body.substr(start + 2, next - start - 2));
    EXPECT_EQ(part.headers.at("content-transfer-encoding"), "quoted-printable");
    out[part.headers.at("content-type")] = decodeQp(part.body);
    at = next;
  }
  return out;
}

const Case& caseNamed(const std::string& name) {
  static const std::vector<Case> cases = goldenCases();
  for (const auto& c : cases)
    if (c.name == name) return c;
  throw std::runtime_error(name);
}

TEST(FormatGoldenEmail, EachEventRendersExactlyAsItsGoldenFile) {
  const Subscription sub = subscriptionFor("email");
  ASSERT_NE(sub.formatter, nullptr);
  const bool update = std::getenv("HOOKPIPE_UPDATE_GOLDEN") != nullptr;
  const std::filesystem::path dir = std::filesystem::path(HOOKPIPE_FORMAT_GOLDEN) / "email";
  if (update) std::filesystem::create_directories(dir);
  for (const auto& c : goldenCases()) {
    SCOPED_TRACE(c.name);
    std::string body = render(sub, c.event);
    // An event without a timestamp is dated when formatted: the golden file cannot hold it.
    if (c.event.body.find("\"timestamp\"") == std::string::npos) {
      const auto at = body.find("\r\nDate: ") + 8;
      body.replace(at, body.find("\r\n", at) - at, "(when formatted)");
    }
    const auto path = dir / (c.name + ".eml");
    if (update) {
      std::ofstream(path, std::ios::binary) << body;
      continue;
    }
    ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing (HOOKPIPE_UPDATE_GOLDEN=1)";
    EXPECT_EQ(readFile(path), body) << path;
  }
}

TEST(EmailFormat, EveryMessageIsCrlfWithShortLinesHeadersAndBothParts) {
  const Subscription sub = subscriptionFor("email");
  for (const auto& c : goldenCases()) {
    SCOPED_TRACE(c.name);
    const std::string m = render(sub, c.event);
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < m.size(); ++i) {
      if (m[i] == '\n') {
        ASSERT_GT(i, 0u);
        EXPECT_EQ(m[i - 1], '\r') << "bare LF at " << i;
        EXPECT_LE(i - 1 - line_start, 78u) << "line too long at " << i;
        line_start = i + 1;
      } else if (m[i] == '\r') {
        EXPECT_TRUE(i + 1 < m.size() && m[i + 1] == '\n') << "bare CR at " << i;
      } else {
        EXPECT_LT(static_cast<unsigned char>(m[i]), 0x80) << "8-bit byte at " << i;
      }
    }
    EXPECT_TRUE(m.ends_with("\r\n"));
    const Message msg = parse(m);
    EXPECT_EQ(msg.headers.at("from"), "alerts@example.com");
    EXPECT_EQ(msg.headers.at("to"), "ops@example.com, oncall@example.org");
    EXPECT_EQ(msg.headers.at("mime-version"), "1.0");
    EXPECT_TRUE(msg.headers.at("content-type").starts_with("multipart/alternative; boundary="));
    EXPECT_FALSE(msg.headers.at("date").empty());
    EXPECT_FALSE(msg.headers.contains("message-id")) << "the deliverer adds it";
    const auto p = parts(msg);
    ASSERT_TRUE(p.contains("text/plain; charset=utf-8"));
    ASSERT_TRUE(p.contains("text/html; charset=utf-8"));
    EXPECT_NE(p.at("text/plain; charset=utf-8").find(c.event.id), std::string::npos);
    EXPECT_NE(p.at("text/html; charset=utf-8").find(c.event.id), std::string::npos);
  }
}

TEST(EmailFormat, UnicodeSubjectIsEncodedAndValuesAreEscapedInHtmlOnly) {
  const Subscription sub = subscriptionFor("email");
  const Message msg = parse(render(sub, caseNamed("unicode").event));
  const std::string& subject = msg.headers.at("subject");
  EXPECT_TRUE(subject.starts_with("=?UTF-8?B?")) << subject;
  EXPECT_EQ(decodeSubject(subject), "[commande.cr\u00e9\u00e9e]  warning");
  const auto p = parts(msg);
  const std::string& html = p.at("text/html; charset=utf-8");
  const std::string& text = p.at("text/plain; charset=utf-8");
  EXPECT_NE(html.find("&lt;b&gt;bold&lt;/b&gt; &amp; \"quoted\""), std::string::npos) << html;
  EXPECT_EQ(html.find("<b>bold</b>"), std::string::npos);
  EXPECT_NE(text.find("note: <b>bold</b> & \"quoted\""), std::string::npos) << text;
  EXPECT_NE(text.find("\u540d\u524d: \u6771\u4eac \U0001F680"), std::string::npos) << text;
  EXPECT_EQ(msg.headers.at("date"), "Fri, 09 Jan 2026 15:30:00 +0000");
}

TEST(EmailFormat, SubjectSubstitutesPlaceholdersAndNeverBreaksTheHeader) {
  Subscription sub = subscriptionFor("email");
  Options o = {
      {"from", {Option::Kind::kString, "a@example.com"}},
      {"to", {Option::Kind::kString, "b@example.com"}},
      {"subject",
       {Option::Kind::kString, "{{ id }}|{{type}}|{{timestamp}}|{{data.note}}|{{data.x.y}}"}}};
  auto f = EmailFormatter().withOptions(o);
  json::Event ev{"evt_1", "t.x",
                 R"({"id":"evt_1","type":"t.x","timestamp":"2026-01-09T15:30:00Z",)"
                 R"("data":{"note":"line1\r\nBcc: victim@example.com","x":{"y":7}}})"};
  const Message msg = parse(f->format(ev, sub));
  EXPECT_EQ(msg.headers.at("subject"),
            "evt_1|t.x|2026-01-09T15:30:00Z|line1  Bcc: victim@example.com|7");
  EXPECT_FALSE(msg.headers.contains("bcc"));
  // The default subject.
  o.erase("subject");
  EXPECT_EQ(parse(EmailFormatter().withOptions(o)->format(ev, sub)).headers.at("subject"),
            "[t.x] evt_1");
}

TEST(EmailFormat, QuotedPrintableAndEncodedWords) {
  EXPECT_EQ(email::quotedPrintable("a=b \nc\t\n"), "a=3Db=20\r\nc=09\r\n");
  EXPECT_EQ(email::quotedPrintable("\xc3\xa9"), "=C3=A9");
  const std::string long_line(200, 'x');
  const std::string qp = email::quotedPrintable(long_line);
  EXPECT_EQ(decodeQp(qp), long_line);
  for (std::size_t at = 0, next; (next = qp.find("\r\n", at)) != std::string::npos; at = next + 2)
    EXPECT_LE(next - at, 76u);
  EXPECT_EQ(email::encodeHeader("plain ascii"), "plain ascii");
  EXPECT_EQ(email::encodeHeader("caf\xc3\xa9"), "=?UTF-8?B?Y2Fmw6k=?=");
  // Long text: several words, each at most 75 characters, none splitting a code point.
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "\xe6\x9d\xb1";  // 東
  const std::string encoded = email::encodeHeader(long_text);
  EXPECT_NE(encoded.find("\r\n "), std::string::npos);
  EXPECT_EQ(decodeSubject(encoded.substr(0)), long_text);
  std::size_t at = 0;
  while ((at = encoded.find("=?UTF-8?B?", at)) != std::string::npos) {
    const auto end = encoded.find("?=", at + 10) + 2;
    EXPECT_LE(end - at, 75u);
    EXPECT_EQ(base64Decode(encoded.substr(at + 10, end - at - 12)).size() % 3, 0u);
    at = end;
  }
  EXPECT_EQ(email::mailDate("2026-01-09T15:30:00.123+02:00"), "Fri, 09 Jan 2026 13:30:00 +0000");
  EXPECT_EQ(email::mailDate("not a date"), "");
  EXPECT_EQ(email::messageIdHeader("msg_abc", "alerts@example.com"),
            "Message-ID: <msg_abc@example.com>\r\n");
}

TEST(EmailFormat, AddressesAreCheckedAndSplit) {
  EXPECT_TRUE(email::validAddress("ops@example.com"));
  EXPECT_TRUE(email::validAddress("first.last+tag@mail.example.co"));
  EXPECT_FALSE(email::validAddress("ops@example.com\r\nBcc: x@y.z"));
  EXPECT_FALSE(email::validAddress("Ops <ops@example.com>"));
  EXPECT_FALSE(email::validAddress("ops@"));
  EXPECT_FALSE(email::validAddress("@example.com"));
  EXPECT_FALSE(email::validAddress("a..b@example.com"));
  EXPECT_FALSE(email::validAddress("a@-example.com"));
  EXPECT_FALSE(email::validAddress("a@exa mple.com"));
  EXPECT_EQ(email::splitAddresses(" a@x.com, b@y.org ,,c@z.net "),
            (std::vector<std::string>{"a@x.com", "b@y.org", "c@z.net"}));
}

std::vector<Problem> problemsOf(const std::string& json) {
  auto s = checkSubscription(json, SubscriptionSource::kCreate);
  return s ? std::vector<Problem>{} : s.error();
}

std::string emailSub(const std::string& url, const std::string& options) {
  std::string json = R"({"url":")";
  json += url;
  json += R"(","events":["*"],"format":"email","format_options":)";
  json += options;
  json += '}';
  return json;
}

bool hasProblemAt(const std::vector<Problem>& problems, const std::string& pointer,
                  const std::string& words) {
  for (const auto& p : problems)
    if (p.pointer == pointer && p.message.find(words) != std::string::npos) return true;
  return false;
}

TEST(EmailFormatOptions, ValidSubscriptionIsAccepted) {
  EXPECT_TRUE(problemsOf(emailSub("smtp://mail.example.com:587",
                                  R"({"from":"a@example.com","to":"b@example.com,c@example.org",)"
                                  R"("subject":"{{type}}","username":"u","password":"p",)"
                                  R"("require_tls":false})"))
                  .empty());
  EXPECT_TRUE(problemsOf(emailSub("smtps://user:pw@mail.example.com:465",
                                  R"({"from":"a@example.com","to":"b@example.com"})"))
                  .empty());
}

TEST(EmailFormatOptions, EachProblemIsA400AtItsPointer) {
  const auto p = problemsOf(emailSub(
      "smtp://mail.example.com",
      R"({"from":"a@example.com\r\nBcc: victim@example.com","to":"ok@example.com, not an address",)"
      R"("subject":"{{nope}}","password":"","require_tls":"yes","colour":"red"})"));
  EXPECT_TRUE(hasProblemAt(p, "/format_options/from", "control characters")) << p.size();
  EXPECT_TRUE(hasProblemAt(p, "/format_options/to", "'not an address' is not an e-mail address"));
  EXPECT_TRUE(hasProblemAt(p, "/format_options/subject", "unknown placeholder {{nope}}"));
  EXPECT_TRUE(hasProblemAt(p, "/format_options/password", "non-empty"));
  EXPECT_TRUE(hasProblemAt(p, "/format_options/require_tls", "boolean"));
  EXPECT_TRUE(hasProblemAt(p, "/format_options/colour", "unknown option"));
  const auto missing = problemsOf(emailSub("smtp://mail.example.com", "{}"));
  EXPECT_TRUE(hasProblemAt(missing, "/format_options/from", "required"));
  EXPECT_TRUE(hasProblemAt(missing, "/format_options/to", "required"));
  std::string many;
  for (int i = 0; i < 51; ++i) {
    many += 'r';
    many += std::to_string(i);
    many += "@example.com,";
  }
  EXPECT_TRUE(hasProblemAt(
      problemsOf(emailSub("smtp://m.example.com",
                          std::string(R"({"from":"a@example.com","to":")") += many += "\"}")),
      "/format_options/to", "at most 50"));
  EXPECT_TRUE(hasProblemAt(
      problemsOf(emailSub("smtp://m.example.com", R"({"from":"a@example.com","to":"b@example.com",)"
                                                  R"("subject":"{{type"})")),
      "/format_options/subject", "without its }}"));
}

TEST(EmailFormatOptions, TheUrlMustBeAnSmtpServerAndOnlyForEmail) {
  EXPECT_TRUE(hasProblemAt(problemsOf(emailSub("https://hooks.example.com",
                                               R"({"from":"a@example.com","to":"b@example.com"})")),
                           "/url", "SMTP server"));
  EXPECT_TRUE(hasProblemAt(problemsOf(R"({"url":"smtp://mail.example.com","events":["*"]})"),
                           "/url", "http:// or https://"));
}

TEST(EmailFormatOptions, CredentialsAreNeverEchoed) {
  auto s = checkSubscription(emailSub("smtp://user:secretpw@mail.example.com:587",
                                      R"({"from":"a@example.com","to":"b@example.com",)"
                                      R"("username":"u","password":"hunter2"})"),
                             SubscriptionSource::kCreate);
  ASSERT_TRUE(s);
  const std::string api = apiJson(*s, false);
  EXPECT_EQ(api.find("hunter2"), std::string::npos) << api;
  EXPECT_EQ(api.find("secretpw"), std::string::npos) << api;
  EXPECT_NE(api.find(R"("password":"***")"), std::string::npos) << api;
  EXPECT_NE(api.find("smtp://***@mail.example.com:587"), std::string::npos) << api;
  // The stored record keeps them.
  EXPECT_NE(toJson(*s).find("hunter2"), std::string::npos);
  EXPECT_EQ(redactedUrl("smtps://u:p@mail.example.com:465"), "smtps://***@mail.example.com:465");
}

}  // namespace
}  // namespace hookpipe::format::testing
