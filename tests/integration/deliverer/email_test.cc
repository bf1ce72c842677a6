// The "email" format end to end against a real SMTP server on the loopback
// (tests/support/smtp_server.py: Debian's python3-aiosmtpd with STARTTLS required and
// AUTH, a certificate made here with the openssl CLI): recipients, subject, both parts and
// the Message-ID arrive; a 550 to RCPT is dead-lettered after one attempt; a 451 to DATA
// is retried and then delivered; a wrong password (535) is dead-lettered after one attempt;
// the password is in no log.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "support/harness.h"
#include "support/poll.h"
#include "support/process.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class SmtpServer {
 public:
  SmtpServer()
      : dir_(std::filesystem::temp_directory_path() /
             ("hookpipe-smtp-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
        " -addext subjectAltName=DNS:localhost -keyout ";
    cmd += (dir_ / "key.pem").string();
    cmd += " -out ";
    cmd += certPath();
    cmd += " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) return;
    port_ = freePort();
    try {
      server_ = std::make_unique<testkit::ChildProcess>(testkit::SpawnOptions{
          .program = "/usr/bin/python3",
          .args = {std::string(HOOKPIPE_SOURCE_DIR) + "/tests/support/smtp_server.py",
                   dir_.string(), std::to_string(port_), certPath(), (dir_ / "key.pem").string(),
                   "hook", kPassword},
          .env = testkit::environmentWith({}),
          .output_path = (dir_ / "server.log").string()});
    } catch (const std::exception&) {
      return;
    }
    eventually([&] { return std::filesystem::exists(dir_ / "ready") || !server_->running(); }, 20s);
  }
  ~SmtpServer() {
    server_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  static constexpr const char* kPassword = "s3cret-smtp-pw";
  bool running() const {
    return server_ && server_->running() && std::filesystem::exists(dir_ / "ready");
  }
  std::string url() const { return "smtp://localhost:" + std::to_string(port_); }
  std::string certPath() const { return (dir_ / "cert.pem").string(); }
  std::string log() const { return slurp(dir_ / "server.log"); }
  std::string commands() const { return slurp(dir_ / "commands.log"); }
  std::size_t count(const std::string& needle) const {
    const std::string text = commands();
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
  }
  // The accepted messages, as the server wrote them (JSON).
  std::vector<std::string> messages() const {
    std::vector<std::string> out;
    for (int n = 1; std::filesystem::exists(dir_ / (std::to_string(n) + ".json")); ++n)
      out.push_back(slurp(dir_ / (std::to_string(n) + ".json")));
    return out;
  }

 private:
  std::filesystem::path dir_;
  unsigned short port_ = 0;
  std::unique_ptr<testkit::ChildProcess> server_;
};

std::string headerOf(const kafka::OwnedMessage& m, const std::string& name) {
  for (const auto& [k, v] : m.headers)
    if (k == name) return v;
  return "<absent>";
}

class EmailTest : public PipelineFixture {};

TEST_F(EmailTest, MessagesArriveOverStartTlsWithAuthA550IsPermanentA451IsRetried) {
  SmtpServer smtp;
  ASSERT_TRUE(smtp.running()) << "python3-aiosmtpd (script/deps) and openssl are needed\n"
                              << smtp.log();
  ASSERT_NO_FATAL_FAILURE(startApi());
  const std::string retries =
      R"("retry_config":{"strategy":"fixed","retry_delay":200,"max_retries":5})";
  auto email = [&](const std::string& to, const std::string& extra) {
    std::string json = R"({"url":")";
    json += smtp.url();
    json += R"(","events":["alert.*"],"format":"email",)";
    json += retries;
    json += R"(,"format_options":{"from":"alerts@example.com","to":")";
    json += to;
    json += R"(","username":"hook","password":")";
    json += SmtpServer::kPassword;
    json += '"';
    json += extra;
    json += "}}";
    return subscribe(json);
  };
  const auto ok = email("alice@example.com, bob@example.org",
                        R"(,"subject":"[{{type}}] {{data.host}} ünïcode")");
  const auto rejected = email("reject550@example.com", "");
  const auto busy = email("busy451@example.com", "");
  // The API never shows the password.
  const auto shown = httpRequest("GET", pipeline_->apiUrl("/v1/subscriptions/" + ok.id), "");
  EXPECT_EQ(shown.status, 200);
  EXPECT_EQ(shown.body.find(SmtpServer::kPassword), std::string::npos) << shown.body;
  EXPECT_NE(shown.body.find(R"("password":"***")"), std::string::npos) << shown.body;
  // What a GET shows, sent back with PUT, keeps the password it hides: the deliveries
  // below still authenticate (the server counts a failed AUTH).
  const auto put = httpRequest("PUT", pipeline_->apiUrl("/v1/subscriptions/" + ok.id), shown.body);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.body.find(SmtpServer::kPassword), std::string::npos) << put.body;

  pipeline_->start("router");
  pipeline_->start("retry");
  pipeline_->start("deliverer", "1",
                   {{"HOOKPIPE_DELIVERER_THREADS", "1"}, {"HOOKPIPE_CA_FILE", smtp.certPath()}});
  publish(
      R"({"type":"alert.fired","data":{"host":"db-1","severity":"critical","note":"<b>x</b>"}})");

  ASSERT_TRUE(eventually([&] { return smtp.messages().size() >= 2; }, 60s))
      << smtp.commands() << "\n"
      << smtp.log() << "\n"
      << pipeline_->logs();
  const auto dlq = waitForDeadLetters(1);
  ASSERT_FALSE(dlq.empty()) << "the 550 delivery was not dead-lettered\n" << smtp.commands();
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(headerOf(dlq[0], "hp-error-class"), "smtp_5xx");
  EXPECT_EQ(headerOf(dlq[0], "hp-subscription-id"), rejected.id);
  // One attempt only, though the policy allowed five retries 200 ms apart.
  EXPECT_TRUE(testkit::holdsFor([&] { return smtp.count("RCPT reject550@") == 1; }, 1500ms))
      << smtp.commands();
  // The 451 was answered once, then the retry was accepted.
  EXPECT_EQ(smtp.count("DATA busy451@example.com"), 2u) << smtp.commands();
  EXPECT_EQ(smtp.count("AUTH PLAIN failed") + smtp.count("AUTH LOGIN failed"), 0u);

  simdjson::dom::parser parser;
  bool saw_ok = false, saw_busy = false;
  for (const auto& text : smtp.messages()) {
    simdjson::dom::element m = parser.parse(text);
    EXPECT_TRUE(m["tls"].get_bool().value()) << "not over STARTTLS";
    EXPECT_TRUE(m["authenticated"].get_bool().value());
    EXPECT_EQ(std::string(m["login"].get_string().value()), "hook");
    EXPECT_EQ(std::string(m["mail_from"].get_string().value()), "alerts@example.com");
    std::vector<std::string> rcpt;
    for (auto r : m["rcpt_tos"].get_array()) rcpt.emplace_back(r.get_string().value());
    const std::string data(m["data"].get_string().value());
    if (rcpt.size() == 2) {
      saw_ok = true;
      EXPECT_EQ(rcpt, (std::vector<std::string>{"alice@example.com", "bob@example.org"}));
      EXPECT_NE(data.find("\r\nTo: alice@example.com, bob@example.org\r\n"), std::string::npos);
      // "[alert.fired] db-1 ünïcode", RFC 2047-encoded.
      EXPECT_NE(data.find("\r\nSubject: =?UTF-8?B?W2FsZXJ0LmZpcmVkXSBkYi0xIMO8bsOvY29kZQ==?="),
                std::string::npos)
          << data;
      EXPECT_NE(data.find("Content-Type: text/plain; charset=utf-8"), std::string::npos);
      EXPECT_NE(data.find("Content-Type: text/html; charset=utf-8"), std::string::npos);
      EXPECT_NE(data.find("host: db-1"), std::string::npos);
      EXPECT_NE(data.find("&lt;b&gt;x&lt;/b&gt;"), std::string::npos) << data;
      EXPECT_TRUE(data.starts_with("Message-ID: <msg_")) << data;
      EXPECT_NE(data.find("@example.com>\r\n"), std::string::npos);
    } else {
      saw_busy = true;
      EXPECT_EQ(rcpt, (std::vector<std::string>{"busy451@example.com"}));
      EXPECT_NE(data.find("\r\nSubject: [alert.fired] evt_"), std::string::npos) << data;
    }
  }
  EXPECT_TRUE(saw_ok);
  EXPECT_TRUE(saw_busy);
  // Credentials are never logged.
  EXPECT_EQ(pipeline_->logs().find(SmtpServer::kPassword), std::string::npos);
}

// A wrong password: the server answers AUTH with 535, which no retry can mend. The
// delivery is dead-lettered as smtp_5xx after one attempt, and the wrong password is in no
// log either.
TEST_F(EmailTest, AWrongPasswordIsDeadLetteredAfterOneAttempt) {
  SmtpServer smtp;
  ASSERT_TRUE(smtp.running()) << "python3-aiosmtpd (script/deps) and openssl are needed\n"
                              << smtp.log();
  ASSERT_NO_FATAL_FAILURE(startApi());
  constexpr const char* kWrong = "not-the-smtp-pw";
  const auto sub =
      subscribe(R"({"url":")" + smtp.url() +
                R"(","events":["alert.*"],"format":"email",)"
                R"("retry_config":{"strategy":"fixed","retry_delay":200,"max_retries":5},)"
                R"("format_options":{"from":"alerts@example.com","to":"ops@example.com",)"
                R"("username":"hook","password":")" +
                kWrong + R"("}})");
  pipeline_->start("router");
  pipeline_->start("retry");
  pipeline_->start("deliverer", "1",
                   {{"HOOKPIPE_DELIVERER_THREADS", "1"}, {"HOOKPIPE_CA_FILE", smtp.certPath()}});
  publish(R"({"type":"alert.fired","data":{"host":"db-1"}})");

  const auto dlq = waitForDeadLetters(1);
  ASSERT_FALSE(dlq.empty()) << "the delivery with a wrong password was not dead-lettered\n"
                            << smtp.commands() << "\n"
                            << smtp.log() << "\n"
                            << pipeline_->logs();
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(headerOf(dlq[0], "hp-error-class"), "smtp_5xx");
  EXPECT_EQ(headerOf(dlq[0], "hp-subscription-id"), sub.id);
  EXPECT_NE(headerOf(dlq[0], "hp-error-message").find("535"), std::string::npos)
      << headerOf(dlq[0], "hp-error-message");
  // One attempt, though the policy allowed five retries 200 ms apart; nothing was sent.
  EXPECT_TRUE(testkit::holdsFor(
      [&] { return smtp.count("AUTH PLAIN failed") + smtp.count("AUTH LOGIN failed") == 1; },
      1500ms))
      << smtp.commands();
  EXPECT_TRUE(smtp.messages().empty());
  EXPECT_EQ(pipeline_->logs().find(kWrong), std::string::npos);
}

}  // namespace
}  // namespace hookpipe::testing
