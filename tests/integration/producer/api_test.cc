// The producer's HTTP API against a real `hookpipe producer` process on the real broker
// and Redis: auth, subscription management, batches, idempotency, and two instances
// converging through the compacted subscriptions topic.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "common/signing/signer.h"
#include "support/harness.h"
#include "support/receiver.h"

namespace hookpipe::testing {
namespace {

using namespace std::chrono_literals;
namespace bj = boost::json;

constexpr const char* kToken = "test-token-1";

struct Answer {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  bj::value json() const {
    boost::system::error_code ec;
    auto v = bj::parse(body, ec);
    return ec ? bj::value() : v;
  }
};

// An HTTP request with the bearer token (or the given headers).
Answer call(const std::string& method, const std::string& url, const std::string& body = "",
            std::vector<std::string> headers = {std::string("Authorization: Bearer ") + kToken},
            const std::string& content_type = "application/json") {
  auto r = httpRequest(method, url, body, content_type, headers);
  return Answer{r.status, std::move(r.body), std::move(r.headers)};
}

// A TCP proxy in front of the real broker that can be cut, so that one process loses the
// broker while the others keep it. Kafka clients connect to the address the broker
// advertises, so the port in the broker's answers (Metadata, FindCoordinator: the host
// string followed by the port as int32) is rewritten to the proxy's own.
class BrokerProxy {
 public:
  explicit BrokerProxy(const std::string& broker) {
    const auto colon = broker.rfind(':');
    host_ = broker.substr(0, colon);
    upstream_port_ = static_cast<uint16_t>(std::stoi(broker.substr(colon + 1)));
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 64) != 0)
      throw std::runtime_error("proxy: cannot listen");
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~BrokerProxy() {
    cut();
    acceptor_.join();
    for (auto& t : pipes_) t.join();
    for (int fd : fds_) ::close(fd);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Closes every connection and refuses new ones.
  void cut() {
    std::lock_guard lock(mu_);
    if (cut_.exchange(true)) return;
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }

 private:
  void acceptLoop() {
    while (!cut_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) continue;
      const int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(upstream_port_);
      ::inet_pton(AF_INET, host_.c_str(), &addr.sin_addr);
      std::lock_guard lock(mu_);
      fds_.push_back(client);
      fds_.push_back(upstream);
      if (cut_ || ::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::shutdown(client, SHUT_RDWR);
        continue;
      }
      pipes_.emplace_back([client, upstream] { copyRaw(client, upstream); });
      pipes_.emplace_back([this, client, upstream] { copyFrames(upstream, client); });
    }
    ::close(listener_);
  }

  static bool readAll(int fd, char* data, std::size_t n) {
    while (n > 0) {
      const auto r = ::recv(fd, data, n, 0);
      if (r <= 0) return false;
      data += r;
      n -= static_cast<std::size_t>(r);
    }
    return true;
  }
  static bool writeAll(int fd, const char* data, std::size_t n) {
    while (n > 0) {
      const auto w = ::send(fd, data, n, MSG_NOSIGNAL);
      if (w <= 0) return false;
      data += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }
  static void copyRaw(int from, int to) {
    char buf[65536];
    for (;;) {
      const auto r = ::recv(from, buf, sizeof buf, 0);
      if (r <= 0 || !writeAll(to, buf, static_cast<std::size_t>(r))) break;
    }
    ::shutdown(to, SHUT_RDWR);
    ::shutdown(from, SHUT_RDWR);
  }
  // Broker -> client, one size-prefixed response at a time, with the port rewritten.
  void copyFrames(int from, int to) {
    std::string frame;
    for (;;) {
      char size_bytes[4];
      if (!readAll(from, size_bytes, 4)) break;
      uint32_t size = 0;
      std::memcpy(&size, size_bytes, 4);
      frame.resize(ntohl(size));
      if (!readAll(from, frame.data(), frame.size())) break;
      const uint32_t old_port = htonl(upstream_port_);
      const uint32_t new_port = htonl(port_);
      for (auto at = frame.find(host_); at != std::string::npos; at = frame.find(host_, at + 1)) {
        const auto p = at + host_.size();
        if (p + 4 <= frame.size() && std::memcmp(frame.data() + p, &old_port, 4) == 0)
          std::memcpy(frame.data() + p, &new_port, 4);
      }
      if (!writeAll(to, size_bytes, 4) || !writeAll(to, frame.data(), frame.size())) break;
    }
    ::shutdown(to, SHUT_RDWR);
    ::shutdown(from, SHUT_RDWR);
  }

  std::string host_;
  uint16_t upstream_port_ = 0;
  uint16_t port_ = 0;
  int listener_ = -1;
  std::atomic<bool> cut_{false};
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> pipes_;
  std::thread acceptor_;
};

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pipeline_ =
        std::make_unique<Pipeline>(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << pipeline_->logs();
    producers_.clear();
  }

  // Starts a producer with API tokens on its own port; returns its base URL.
  std::string startProducer(std::map<std::string, std::string> extra = {}) {
    auto env = pipeline_->env();
    const unsigned short port = freePort();
    env["HOOKPIPE_HTTP_PORT"] = std::to_string(port);
    env["HOOKPIPE_API_TOKENS"] = std::string(kToken) + ",second-token";
    for (auto& [k, v] : extra) env[k] = v;
    const std::string log = ::testing::TempDir() + "/" +
                            ::testing::UnitTest::GetInstance()->current_test_info()->name() +
                            "-producer-" + std::to_string(producers_.size()) + ".log";
    std::remove(log.c_str());  // appended to: a run before this one must not show in it
    producers_.push_back(std::make_unique<RoleProcess>("producer", env, log));
    const std::string base = "http://127.0.0.1:" + std::to_string(port);
    EXPECT_TRUE(
        eventually([&] { return call("GET", base + "/healthz", "", {}).status == 200; }, 60s))
        << "producer did not start; log " << log;
    return base;
  }

  std::string createSubscription(const std::string& base, const std::string& json) {
    auto a = call("POST", base + "/v1/subscriptions", json);
    EXPECT_EQ(a.status, 201) << a.body;
    return jsonField(a.body, "id");
  }

  size_t eventsWithKey(const std::string& key) {
    size_t n = 0;
    for (const auto& m : readTopic(pipeline_->config(), pipeline_->config().topics.events()))
      n += m.key == key ? 1 : 0;
    return n;
  }

  std::unique_ptr<Pipeline> pipeline_;
  std::vector<std::unique_ptr<RoleProcess>> producers_;
};

TEST_F(ApiTest, EveryV1RouteNeedsAKnownBearerTokenButHealthzDoesNot) {
  const auto base = startProducer();
  EXPECT_EQ(call("GET", base + "/healthz", "", {}).status, 200);
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v1/subscriptions"},
           {"POST", "/v1/subscriptions"},
           {"GET", "/v1/subscriptions/sub_x"},
           {"PUT", "/v1/subscriptions/sub_x"},
           {"PATCH", "/v1/subscriptions/sub_x"},
           {"DELETE", "/v1/subscriptions/sub_x"},
           {"POST", "/v1/subscriptions/sub_x/pause"},
           {"POST", "/v1/subscriptions/sub_x/resume"},
           {"GET", "/v1/subscriptions/sub_x/secret"},
           {"POST", "/v1/subscriptions/sub_x/secret/rotate"},
           {"POST", "/v1/subscriptions/sub_x/test"},
           {"GET", "/v1/integrations"},
           {"POST", "/v1/integrations/slack"},
           {"GET", "/v1/integrations/sub_x"},
           {"POST", "/v1/integrations/sub_x/test"},
           {"GET", "/v1/integrations/sub_x/status"},
           {"POST", "/v1/events"},
           {"POST", "/v1/events/batch"},
           {"GET", "/v1/openapi.json"}}) {
    auto none = call(method, base + path, "{}", {});
    EXPECT_EQ(none.status, 401) << method << " " << path;
    EXPECT_NE(none.headers["www-authenticate"].find("Bearer"), std::string::npos);
    EXPECT_EQ(call(method, base + path, "{}", {"Authorization: Basic dXNlcjpwYXNz"}).status, 401)
        << method << " " << path;
    EXPECT_EQ(call(method, base + path, "{}", {"Authorization: Bearer nope"}).status, 403)
        << method << " " << path;
  }
  EXPECT_EQ(
      call("GET", base + "/v1/subscriptions", "", {"Authorization: Bearer second-token"}).status,
      200);
  auto doc = call("GET", base + "/v1/openapi.json");
  EXPECT_EQ(doc.status, 200);
  EXPECT_TRUE(doc.json().as_object().contains("paths"));
}

TEST_F(ApiTest, SubscriptionsAreReplacedPatchedPausedListedAndRotated) {
  const auto base = startProducer();
  const auto id =
      createSubscription(base, R"({"url":"https://a.example/h","events":["order.*"],"name":"a"})");
  const auto other =
      createSubscription(base, R"({"url":"https://b.example/h","events":["invoice.paid"]})");
  const auto url = base + "/v1/subscriptions/" + id;

  // PUT replaces: fields left out go back to their defaults; id, secret, created_at stay.
  const auto original_secret = jsonField(call("GET", url + "/secret").body, "secret");
  ASSERT_TRUE(original_secret.starts_with("whsec_"));
  auto put = call("PUT", url, R"({"url":"https://a2.example/h","events":["order.created"]})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(jsonField(put.body, "url"), "https://a2.example/h");
  EXPECT_EQ(jsonField(put.body, "name"), "");
  EXPECT_EQ(jsonField(put.body, "id"), id);
  EXPECT_EQ(put.body.find("secret"), std::string::npos);
  EXPECT_EQ(jsonField(call("GET", url + "/secret").body, "secret"), original_secret);

  // PATCH merges.
  auto patch = call("PATCH", url, R"({"name":"renamed","retry_config":{"max_retries":3}})");
  ASSERT_EQ(patch.status, 200) << patch.body;
  auto patched = patch.json().as_object();
  EXPECT_EQ(patched.at("name").as_string(), "renamed");
  EXPECT_EQ(patched.at("url").as_string(), "https://a2.example/h");
  EXPECT_EQ(patched.at("retry_config").at("max_retries").as_int64(), 3);

  // Validation lists every problem with a pointer; nothing is changed.
  auto bad =
      call("PATCH", url, R"({"url":"ftp://x","retry_config":{"max_retries":1000},"timeout_ms":1})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  std::set<std::string> pointers;
  const auto bad_json = bad.json();
  for (const auto& e : bad_json.at("errors").as_array())
    pointers.insert(std::string(e.at("pointer").as_string()));
  EXPECT_EQ(pointers, (std::set<std::string>{"/url", "/retry_config/max_retries", "/timeout_ms"}));
  auto bad_put = call("PUT", url, R"({"events":[]})");
  ASSERT_EQ(bad_put.status, 400);
  EXPECT_NE(bad_put.body.find("\"/url\""), std::string::npos);
  EXPECT_NE(bad_put.body.find("\"/events\""), std::string::npos);
  auto secret_patch = call("PATCH", url, R"({"secret":"whsec_AAAA"})");
  EXPECT_EQ(secret_patch.status, 400);
  EXPECT_NE(secret_patch.body.find("\"/secret\""), std::string::npos);
  EXPECT_EQ(call("PATCH", url, R"({"id":"sub_other"})").status, 400);
  // Custom headers may not replace the ones hookpipe sets (signature, content type, …).
  auto forged = call("PATCH", url, R"({"headers":{"webhook-signature":"v1,x","X-Ok":"1"}})");
  EXPECT_EQ(forged.status, 400) << forged.body;
  EXPECT_NE(forged.body.find(R"("pointer":"/headers/webhook-signature")"), std::string::npos)
      << forged.body;
  EXPECT_NE(forged.body.find("'webhook-signature' is set by hookpipe"), std::string::npos);
  EXPECT_EQ(call("PATCH", url, "not json").status, 400);
  EXPECT_EQ(call("PATCH", url, "[1]").status, 400);
  EXPECT_EQ(jsonField(call("GET", url).body, "name"), "renamed");

  // Pause / resume, and list filters.
  auto paused = call("POST", url + "/pause");
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_FALSE(paused.json().at("is_active").as_bool());
  auto list = [&](const std::string& q) {
    auto a = call("GET", base + "/v1/subscriptions" + q);
    EXPECT_EQ(a.status, 200) << q << " " << a.body;
    std::vector<std::string> ids;
    const auto page = a.json();
    for (const auto& s : page.at("data").as_array()) ids.emplace_back(s.at("id").as_string());
    return ids;
  };
  EXPECT_EQ(list("?status=paused"), std::vector<std::string>{id});
  EXPECT_EQ(list("?status=active"), std::vector<std::string>{other});
  EXPECT_EQ(list("?event_type=order.created"), std::vector<std::string>{id});
  EXPECT_EQ(list("?event_type=invoice.paid&status=active"), std::vector<std::string>{other});
  EXPECT_EQ(list("?limit=1").size(), 1u);
  EXPECT_EQ(list("?limit=1&offset=1").size(), 1u);
  EXPECT_NE(list("?limit=1"), list("?limit=1&offset=1"));
  EXPECT_TRUE(list("?offset=2").empty());
  auto all = call("GET", base + "/v1/subscriptions");
  EXPECT_EQ(all.json().at("total").as_int64(), 2);
  EXPECT_EQ(all.body.find("secret"), std::string::npos);
  auto bad_list = call("GET", base + "/v1/subscriptions?status=sleeping&limit=0&colour=red");
  ASSERT_EQ(bad_list.status, 400);
  EXPECT_EQ(bad_list.json().at("errors").as_array().size(), 3u);
  auto resumed = call("POST", url + "/resume");
  ASSERT_EQ(resumed.status, 200);
  EXPECT_TRUE(resumed.json().at("is_active").as_bool());

  // Rotation: the answer shows the new secret, GET /secret agrees, GETs never show it.
  auto rotated = call("POST", url + "/secret/rotate?grace_ms=60000");
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  const auto new_secret = jsonField(rotated.body, "secret");
  EXPECT_TRUE(new_secret.starts_with("whsec_"));
  EXPECT_NE(new_secret, original_secret);
  EXPECT_EQ(rotated.body.find(original_secret), std::string::npos);
  auto secret = call("GET", url + "/secret");
  EXPECT_EQ(jsonField(secret.body, "secret"), new_secret);
  EXPECT_GT(secret.json().at("previous_secret_expires_ms").as_int64(), 0);
  EXPECT_EQ(call("GET", url).body.find("secret"), std::string::npos);
  EXPECT_EQ(call("POST", url + "/secret/rotate?grace_ms=-1").status, 400);
  EXPECT_EQ(call("POST", url + "/secret/rotate?grace=1").status, 400);
  // The stored record carries the previous secret for the grace period.
  std::string stored;
  for (const auto& m : readTopic(pipeline_->config(), pipeline_->config().topics.subscriptions()))
    if (m.key == id) stored = m.value;
  EXPECT_EQ(jsonField(stored, "previous_secret"), original_secret);

  // Unknown ids, methods, routes.
  const auto missing = base + "/v1/subscriptions/sub_missing";
  EXPECT_EQ(call("GET", missing).status, 404);
  EXPECT_EQ(call("PUT", missing, R"({"url":"https://x.example","events":["*"]})").status, 404);
  EXPECT_EQ(call("PATCH", missing, "{}").status, 404);
  EXPECT_EQ(call("POST", missing + "/pause").status, 404);
  EXPECT_EQ(call("POST", missing + "/secret/rotate").status, 404);
  EXPECT_EQ(call("GET", missing + "/secret").status, 404);
  auto wrong_method = call("POST", url);
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_FALSE(wrong_method.headers["allow"].empty());
  EXPECT_EQ(call("GET", url + "/pause").status, 405);
  EXPECT_EQ(call("GET", base + "/v1/nothing").status, 404);

  EXPECT_EQ(call("DELETE", url).status, 204);
  EXPECT_EQ(call("GET", url).status, 404);
}

TEST_F(ApiTest, FormatOptionsAreCheckedByTheFormatAndBadOnesStoreNothing) {
  const auto base = startProducer();
  auto pointersOf = [](const Answer& a) {
    std::set<std::string> out;
    const auto doc = a.json();
    for (const auto& e : doc.at("errors").as_array())
      out.insert(std::string(e.at("pointer").as_string()));
    return out;
  };
  const std::string telegram =
      R"({"id":"sub_tg","url":"https://api.telegram.org/bot1:x/sendMessage","events":["*"],)"
      R"("format":"telegram")";
  auto missing = call("POST", base + "/v1/subscriptions", telegram + "}");
  ASSERT_EQ(missing.status, 400) << missing.body;
  EXPECT_EQ(pointersOf(missing), (std::set<std::string>{"/format_options/chat_id"}));
  EXPECT_NE(missing.body.find("chat_id is required"), std::string::npos) << missing.body;
  auto several = call("POST", base + "/v1/subscriptions",
                      telegram + R"(,"format_options":{"chat_id":"general","colour":"red",)"
                                 R"("disable_notification":"yes"}})");
  ASSERT_EQ(several.status, 400) << several.body;
  EXPECT_EQ(pointersOf(several),
            (std::set<std::string>{"/format_options/chat_id", "/format_options/colour",
                                   "/format_options/disable_notification"}));
  EXPECT_EQ(call("GET", base + "/v1/subscriptions/sub_tg").status, 404);  // nothing stored

  auto created = call("POST", base + "/v1/subscriptions",
                      telegram + R"(,"format_options":{"chat_id":-1001234567890}})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json().at("format_options").at("chat_id").as_int64(), -1001234567890);
  const auto url = base + "/v1/subscriptions/sub_tg";
  // A bad PATCH changes nothing; switching format with options it does not take is refused.
  auto bad_patch = call("PATCH", url, R"({"format_options":{"chat_id":"@no"}})");
  ASSERT_EQ(bad_patch.status, 400) << bad_patch.body;
  EXPECT_EQ(pointersOf(bad_patch), (std::set<std::string>{"/format_options/chat_id"}));
  auto to_slack = call("PATCH", url, R"({"format":"slack"})");
  ASSERT_EQ(to_slack.status, 400) << to_slack.body;
  EXPECT_NE(to_slack.body.find("unknown option chat_id for format slack"), std::string::npos);
  auto got = call("GET", url);
  EXPECT_EQ(got.json().at("format").as_string(), "telegram");
  EXPECT_EQ(got.json().at("format_options").at("chat_id").as_int64(), -1001234567890);
  auto slack = call("PATCH", url,
                    R"({"format":"slack","format_options":{"chat_id":null,"channel":"#ops"}})");
  ASSERT_EQ(slack.status, 200) << slack.body;
  EXPECT_EQ(slack.json().at("format_options"), boost::json::parse(R"({"channel":"#ops"})"));
}

TEST_F(ApiTest, ATemplateThatDoesNotCompileIsA400SayingWhere) {
  const auto base = startProducer();
  const std::string head =
      R"({"id":"sub_tmpl","url":"https://api.example.com/x","events":["*"],"format":"template",)"
      R"("format_options":{"template":)";
  auto bad = call("POST", base + "/v1/subscriptions",
                  head + R"("{\"skus\":\"{{#data.items}}{{sku}}\"}"}})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  const auto doc = bad.json();
  const auto& error = doc.at("errors").at(0);
  EXPECT_EQ(error.at("pointer").as_string(), "/format_options/template");
  EXPECT_EQ(error.at("message").as_string(),
            "template does not compile: line 1, column 10: unclosed section 'data.items': no "
            "{{/data.items}}");
  EXPECT_EQ(call("GET", base + "/v1/subscriptions/sub_tmpl").status, 404);  // nothing stored
  // A big template (60 KiB: past the 1024 characters of other options) is stored as given.
  std::string big = R"("{\"id\":\"{{id}}\",\"pad\":\")";
  big += std::string(60 * 1024, 'x');
  big += R"(\"}")";
  auto created = call("POST", base + "/v1/subscriptions", head + big + "}}");
  ASSERT_EQ(created.status, 201) << created.body.substr(0, 300);
  EXPECT_EQ(created.json().at("format_options").at("template").as_string().size(), 60 * 1024 + 24);
}

TEST_F(ApiTest, SingleEventValidationErrorsPointAtTheProblem) {
  const auto base = startProducer({{"HOOKPIPE_MAX_EVENT_BYTES", "1000"}});
  auto missing = call("POST", base + "/v1/events", R"({"data":{}})");
  ASSERT_EQ(missing.status, 400);
  EXPECT_EQ(missing.json().at("errors").at(0).at("pointer").as_string(), "/type");
  auto bad_json = call("POST", base + "/v1/events", "{");
  ASSERT_EQ(bad_json.status, 400);
  EXPECT_EQ(bad_json.json().at("errors").at(0).at("pointer").as_string(), "");
  EXPECT_EQ(call("POST", base + "/v1/events", R"({"type":"a"})",
                 {std::string("Authorization: Bearer ") + kToken}, "text/plain")
                .status,
            415);
  auto big = call("POST", base + "/v1/events",
                  R"({"type":"a","data":")" + std::string(2000, 'x') + R"("})");
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.body.find("1000"), std::string::npos);
  EXPECT_EQ(call("POST", base + "/v1/events", R"({"type":"a"})",
                 {std::string("Authorization: Bearer ") + kToken,
                  "Idempotency-Key: " + std::string(300, 'k')})
                .status,
            400);
}

TEST_F(ApiTest, BatchesAnswerPerItemAndABadItemDoesNotSinkTheGoodOnes) {
  const auto base = startProducer({{"HOOKPIPE_MAX_BATCH_EVENTS", "3"}});
  auto a =
      call("POST", base + "/v1/events/batch",
           R"([{"type":"order.created","data":{}},{"data":{}},{"type":"x","id":"evt_batch_1"}])");
  ASSERT_EQ(a.status, 200) << a.body;
  auto items = a.json().at("data").as_array();
  ASSERT_EQ(items.size(), 3u);
  EXPECT_TRUE(items[0].as_object().contains("id"));
  EXPECT_EQ(items[1].at("index").as_int64(), 1);
  EXPECT_EQ(items[1].at("status").as_int64(), 400);
  EXPECT_EQ(items[1].at("pointer").as_string(), "/type");
  EXPECT_EQ(items[2].at("id").as_string(), "evt_batch_1");
  EXPECT_EQ(a.json().at("accepted").as_int64(), 2);
  EXPECT_EQ(a.json().at("rejected").as_int64(), 1);

  auto nd = call("POST", base + "/v1/events/batch",
                 "{\"type\":\"nd.one\"}\n\nnot json\r\n{\"type\":\"nd.two\",\"id\":\"evt_nd_2\"}\n",
                 {std::string("Authorization: Bearer ") + kToken}, "application/x-ndjson");
  ASSERT_EQ(nd.status, 200) << nd.body;
  auto nd_items = nd.json().at("data").as_array();
  ASSERT_EQ(nd_items.size(), 3u);
  EXPECT_TRUE(nd_items[0].as_object().contains("id"));
  EXPECT_EQ(nd_items[1].at("status").as_int64(), 400);
  EXPECT_EQ(nd_items[2].at("id").as_string(), "evt_nd_2");

  auto too_many = call("POST", base + "/v1/events/batch",
                       R"([{"type":"a"},{"type":"b"},{"type":"c"},{"type":"d"}])");
  EXPECT_EQ(too_many.status, 413);
  EXPECT_NE(too_many.body.find("3"), std::string::npos);
  EXPECT_EQ(call("POST", base + "/v1/events/batch", R"({"type":"a"})").status, 400);
  EXPECT_EQ(call("POST", base + "/v1/events/batch", "[").status, 400);
  EXPECT_EQ(call("POST", base + "/v1/events/batch", "[]").status, 400);

  EXPECT_EQ(eventsWithKey("evt_batch_1"), 1u);
  EXPECT_EQ(eventsWithKey("evt_nd_2"), 1u);
  EXPECT_EQ(eventsWithKey(std::string(items[0].at("id").as_string())), 1u);
}

TEST_F(ApiTest, BatchOverTheByteLimitIs413WithTheLimit) {
  const auto base = startProducer({{"HOOKPIPE_MAX_BATCH_BYTES", "2000"}});
  std::string body = "[";
  for (int i = 0; i < 200; ++i) body += std::string(i ? "," : "") + R"({"type":"a.b"})";
  body += "]";
  auto a = call("POST", base + "/v1/events/batch", body);
  EXPECT_EQ(a.status, 413);
  EXPECT_NE(a.body.find("2000"), std::string::npos) << a.body;
}

// Issue 13 §4: the router read the first of two equal keys, receivers the last.
TEST_F(ApiTest, EventsWithDuplicateKeysAreRefusedNamingTheKey) {
  const auto base = startProducer();
  auto top = call("POST", base + "/v1/events",
                  R"({"id":"evt_dup_1","type":"dup.a","type":"dup.b","data":{"amount":5}})");
  ASSERT_EQ(top.status, 400) << top.body;
  EXPECT_EQ(top.json().at("errors").at(0).at("pointer").as_string(), "/type");
  auto nested = call("POST", base + "/v1/events",
                     R"({"id":"evt_dup_2","type":"dup.a","data":{"amount":5,"amount":500}})");
  ASSERT_EQ(nested.status, 400) << nested.body;
  EXPECT_EQ(nested.json().at("errors").at(0).at("pointer").as_string(), "/data/amount");
  EXPECT_NE(nested.body.find("appears twice"), std::string::npos) << nested.body;

  // In a batch (array and NDJSON) the item is refused and the others stored.
  auto batch = call("POST", base + "/v1/events/batch",
                    R"([{"id":"evt_dup_3","type":"a","data":{"x":{"k":1,"k":2}}},)"
                    R"({"id":"evt_dup_ok","type":"a"}])");
  ASSERT_EQ(batch.status, 200) << batch.body;
  auto items = batch.json().at("data").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].at("status").as_int64(), 400);
  EXPECT_EQ(items[0].at("pointer").as_string(), "/data/x/k");
  EXPECT_EQ(items[1].at("id").as_string(), "evt_dup_ok");
  auto nd = call("POST", base + "/v1/events/batch",
                 "{\"id\":\"evt_dup_4\",\"type\":\"a\",\"id\":\"evt_dup_5\"}\n{\"type\":\"b\"}\n",
                 {std::string("Authorization: Bearer ") + kToken}, "application/x-ndjson");
  ASSERT_EQ(nd.status, 200) << nd.body;
  EXPECT_EQ(nd.json().at("data").at(0).at("status").as_int64(), 400);
  EXPECT_EQ(nd.json().at("rejected").as_int64(), 1);

  EXPECT_EQ(eventsWithKey("evt_dup_ok"), 1u);
  for (const char* id : {"evt_dup_1", "evt_dup_2", "evt_dup_3", "evt_dup_4", "evt_dup_5"})
    EXPECT_EQ(eventsWithKey(id), 0u) << id;
}

// Issue 13 §4: valid JSON numbers simdjson cannot hold were answered "Problem while
// parsing a number".
TEST_F(ApiTest, NumbersBeyondInt64AndDoubleAreAcceptedAndStoredAsSent) {
  const auto base = startProducer();
  const std::string single =
      R"({"id":"evt_big_1","type":"big.n","timestamp":"2026-01-09T15:30:00Z",)"
      R"("data":{"a":1e400,"b":18446744073709551616,"c":-9223372036854775809}})";
  auto a = call("POST", base + "/v1/events", single);
  ASSERT_EQ(a.status, 202) << a.body;
  const std::string item1 =
      R"({"id":"evt_big_2","type":"big.n","timestamp":"t","data":{"n":1e400}})";
  const std::string item2 =
      R"({ "id" : "evt_big_3", "type":"big.n","timestamp":"t","data":[18446744073709551616, 1.5]})";
  auto batch = call("POST", base + "/v1/events/batch", "[" + item1 + ",\n  " + item2 + " ]");
  ASSERT_EQ(batch.status, 200) << batch.body;
  EXPECT_EQ(batch.json().at("accepted").as_int64(), 2) << batch.body;

  std::map<std::string, std::string> stored;
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& m : readTopic(pipeline_->config(), pipeline_->config().topics.events()))
          stored[m.key] = m.value;
        return stored.size() >= 3;
      },
      30s));
  EXPECT_EQ(stored["evt_big_1"], single);
  EXPECT_EQ(stored["evt_big_2"], item1);
  EXPECT_EQ(stored["evt_big_3"], item2) << "a batch item is stored as written";
  // A malformed number is still invalid JSON.
  EXPECT_EQ(call("POST", base + "/v1/events", R"({"type":"a","data":{"n":01}})").status, 400);
}

// Issue 13 §4: a type of 10 000 characters, NUL and control characters, CR/LF in ids.
TEST_F(ApiTest, TypeAndIdAreBoundedAndFreeOfControlCharacters) {
  const auto base = startProducer();
  auto refused = [&](const std::string& body, const std::string& pointer, const std::string& says) {
    auto a = call("POST", base + "/v1/events", body);
    EXPECT_EQ(a.status, 400) << body.substr(0, 80) << " -> " << a.body;
    if (a.status != 400) return;
    EXPECT_EQ(a.json().at("errors").at(0).at("pointer").as_string(), pointer) << a.body;
    EXPECT_NE(a.body.find(says), std::string::npos) << a.body;
  };
  refused(R"({"type":")" + std::string(10000, 't') + R"("})", "/type", "at most 256 bytes");
  refused(R"({"type":")" + std::string(257, 't') + R"("})", "/type", "at most 256 bytes");
  refused(R"({"type":"order\u0000created"})", "/type", "control characters");
  refused(R"({"type":"order\ncreated"})", "/type", "control characters");
  refused(R"({"type":"a","id":"evt_1\r\nX-Forged: 1"})", "/id", "control characters");
  refused(R"({"type":"a","id":")" + std::string(257, 'i') + R"("})", "/id", "at most 256 bytes");
  EXPECT_EQ(
      call("POST", base + "/v1/events", R"({"type":")" + std::string(256, 't') + R"("})").status,
      202);
  auto batch = call("POST", base + "/v1/events/batch", R"([{"type":"a\tb"},{"type":"ok"}])");
  ASSERT_EQ(batch.status, 200) << batch.body;
  EXPECT_EQ(batch.json().at("data").at(0).at("pointer").as_string(), "/type");
  EXPECT_EQ(batch.json().at("accepted").as_int64(), 1);
}

// Issue 13 §4: request headers over ~8 KB reset the connection without an answer.
TEST_F(ApiTest, RequestHeadersOverTheLimitAreAnswered431) {
  const auto base = startProducer();
  const std::string auth = std::string("Authorization: Bearer ") + kToken;
  auto big = call("POST", base + "/v1/events", R"({"type":"a"})",
                  {auth, "X-Padding: " + std::string(9000, 'p')});
  EXPECT_EQ(big.status, 431) << big.body;
  EXPECT_NE(big.body.find("8192"), std::string::npos) << big.body;
  // Many headers that add up to over the limit, too; and a large body is not the cause.
  std::vector<std::string> many = {auth};
  for (int i = 0; i < 100; ++i)
    many.push_back("X-H" + std::to_string(i) + ": " + std::string(90, 'v'));
  EXPECT_EQ(call("POST", base + "/v1/events", R"({"type":"a"})", many).status, 431);
  EXPECT_EQ(call("POST", base + "/v1/events",
                 R"({"type":"a","data":")" + std::string(20000, 'x') + R"("})",
                 {auth, "X-Padding: " + std::string(6000, 'p')})
                .status,
            202);
  EXPECT_EQ(call("GET", base + "/healthz", "", {}).status, 200);
}

TEST_F(ApiTest, RepeatedIdempotencyKeysAndEventIdsReplayTheFirstAnswer) {
  const auto base = startProducer();
  const std::vector<std::string> keyed = {std::string("Authorization: Bearer ") + kToken,
                                          "Idempotency-Key: order-42"};
  auto first = call("POST", base + "/v1/events", R"({"type":"order.created"})", keyed);
  ASSERT_EQ(first.status, 202) << first.body;
  const auto id = jsonField(first.body, "id");
  for (int i = 0; i < 3; ++i) {
    auto again = call("POST", base + "/v1/events", R"({"type":"order.created"})", keyed);
    EXPECT_EQ(again.status, 202);
    EXPECT_EQ(jsonField(again.body, "id"), id);
    EXPECT_EQ(again.headers["idempotent-replayed"], "true");
  }
  // Another key is another event.
  auto other = call("POST", base + "/v1/events", R"({"type":"order.created"})",
                    {std::string("Authorization: Bearer ") + kToken, "Idempotency-Key: order-43"});
  EXPECT_NE(jsonField(other.body, "id"), id);
  EXPECT_EQ(eventsWithKey(id), 1u);

  // The event's own id works the same, across single and batch ingest.
  const std::string own = R"({"type":"order.paid","id":"evt_own_1"})";
  EXPECT_EQ(call("POST", base + "/v1/events", own).status, 202);
  auto replay = call("POST", base + "/v1/events", own);
  EXPECT_EQ(replay.status, 202);
  EXPECT_EQ(replay.headers["idempotent-replayed"], "true");
  auto batch = call("POST", base + "/v1/events/batch", "[" + own + "]");
  ASSERT_EQ(batch.status, 200);
  EXPECT_TRUE(batch.json().at("data").at(0).at("replayed").as_bool());
  EXPECT_EQ(eventsWithKey("evt_own_1"), 1u);

  // A batch's Idempotency-Key replays the whole answer.
  const std::vector<std::string> batch_key = {std::string("Authorization: Bearer ") + kToken,
                                              "Idempotency-Key: batch-7"};
  auto b1 = call("POST", base + "/v1/events/batch", R"([{"type":"a"},{"type":"b"}])", batch_key);
  ASSERT_EQ(b1.status, 200);
  auto b2 = call("POST", base + "/v1/events/batch", R"([{"type":"a"},{"type":"b"}])", batch_key);
  EXPECT_EQ(b2.status, 200);
  EXPECT_EQ(b2.body, b1.body);
  EXPECT_EQ(b2.headers["idempotent-replayed"], "true");
  EXPECT_EQ(eventsWithKey(std::string(b1.json().at("data").at(0).at("id").as_string())), 1u);
}

TEST_F(ApiTest, RedisDownMeansAcceptedWithoutIdempotency) {
  const auto base = startProducer({{"HOOKPIPE_REDIS", "127.0.0.1:1"}});
  const std::vector<std::string> keyed = {std::string("Authorization: Bearer ") + kToken,
                                          "Idempotency-Key: no-redis"};
  auto a = call("POST", base + "/v1/events", R"({"type":"a"})", keyed);
  auto b = call("POST", base + "/v1/events", R"({"type":"a"})", keyed);
  EXPECT_EQ(a.status, 202) << a.body;
  EXPECT_EQ(b.status, 202) << b.body;
  EXPECT_NE(jsonField(a.body, "id"), jsonField(b.body, "id"));
  auto batch = call("POST", base + "/v1/events/batch", R"([{"type":"a","id":"evt_nr"}])", keyed);
  EXPECT_EQ(batch.status, 200) << batch.body;
}

TEST_F(ApiTest, TwoInstancesSeeEachOthersSubscriptionsWithinASecond) {
  const auto a = startProducer();
  const auto b = startProducer();
  const auto id = createSubscription(a, R"({"url":"https://a.example/h","events":["*"]})");
  EXPECT_TRUE(
      eventually([&] { return call("GET", b + "/v1/subscriptions/" + id).status == 200; }, 1s));
  ASSERT_EQ(call("PATCH", b + "/v1/subscriptions/" + id, R"({"name":"from-b"})").status, 200);
  EXPECT_TRUE(eventually(
      [&] {
        return jsonField(call("GET", a + "/v1/subscriptions/" + id).body, "name") == "from-b";
      },
      1s));
  ASSERT_EQ(call("DELETE", a + "/v1/subscriptions/" + id).status, 204);
  EXPECT_TRUE(
      eventually([&] { return call("GET", b + "/v1/subscriptions/" + id).status == 404; }, 1s));
}

TEST_F(ApiTest, BrokerDownMeans503WithRetryAfterAndNothingStored) {
  BrokerProxy proxy(testBrokers());
  const auto base = startProducer({{"HOOKPIPE_BROKERS", proxy.address()}});
  // Through the proxy while it is up.
  auto up = call("POST", base + "/v1/events", R"({"type":"a","id":"evt_before_cut"})");
  ASSERT_EQ(up.status, 202) << up.body;

  proxy.cut();
  const auto start = std::chrono::steady_clock::now();
  auto down = call("POST", base + "/v1/events", R"({"type":"a","id":"evt_broker_down"})");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_FALSE(down.headers["retry-after"].empty());
  EXPECT_LT(took, 15s);

  EXPECT_EQ(eventsWithKey("evt_before_cut"), 1u);
  EXPECT_EQ(eventsWithKey("evt_broker_down"), 0u);
}

// The records the subscriptions topic holds for `id`.
std::vector<std::string> storedRecords(const Config& config, const std::string& id) {
  std::vector<std::string> out;
  for (const auto& m : readTopic(config, config.topics.subscriptions()))
    if (m.key == id) out.push_back(m.value);
  return out;
}

std::set<std::string> errorPointers(const Answer& a) {
  std::set<std::string> out;
  const auto v = a.json();
  if (v.is_object() && v.as_object().contains("errors"))
    for (const auto& e : v.at("errors").as_array())
      out.insert(std::string(e.at("pointer").as_string()));
  return out;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(ApiTest, CreatingAnExistingIdIs409AndChangesNothing) {
  const auto base = startProducer();
  auto first = call("POST", base + "/v1/subscriptions",
                    R"({"id":"orders-1","url":"https://a.example/h","events":["order.*"]})");
  ASSERT_EQ(first.status, 201) << first.body;
  const auto secret = jsonField(first.body, "secret");
  const auto created_at = jsonField(first.body, "created_at");
  const auto url = base + "/v1/subscriptions/orders-1";

  // A takeover: another url, secret and events under the same id.
  auto again = call("POST", base + "/v1/subscriptions",
                    R"({"id":"orders-1","url":"https://attacker.example/h","events":["*"],)"
                    R"("secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_NE(again.body.find("orders-1"), std::string::npos) << again.body;
  auto now = call("GET", url).json().as_object();
  EXPECT_EQ(now.at("url").as_string(), "https://a.example/h");
  EXPECT_EQ(bj::serialize(now.at("events")), R"(["order.*"])");
  EXPECT_EQ(now.at("created_at").as_string(), created_at);
  EXPECT_EQ(jsonField(call("GET", url + "/secret").body, "secret"), secret);
  EXPECT_EQ(storedRecords(pipeline_->config(), "orders-1").size(), 1u);

  // Racing creates of one new id on one instance: one wins, the others are 409s.
  std::vector<long> statuses(6);
  std::vector<std::thread> racers;
  for (std::size_t i = 0; i < statuses.size(); ++i)
    racers.emplace_back([&, i] {
      statuses[i] = call("POST", base + "/v1/subscriptions",
                         R"({"id":"race-1","url":"https://r)" + std::to_string(i) +
                             R"(.example/h","events":["*"]})")
                        .status;
    });
  for (auto& t : racers) t.join();
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 201), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 409), 5);
  EXPECT_EQ(storedRecords(pipeline_->config(), "race-1").size(), 1u);

  // Deleted, the id is free again.
  ASSERT_EQ(call("DELETE", url).status, 204);
  EXPECT_EQ(call("POST", base + "/v1/subscriptions",
                 R"({"id":"orders-1","url":"https://b.example/h","events":["*"]})")
                .status,
            201);
}

TEST_F(ApiTest, ClientChosenIdsOutsideTheSafeCharsetAre400AndWriteNothing) {
  const auto base = startProducer();
  const std::vector<std::string> bad = {"x/../y", "a\\nforged line level=error", "..", "a b",
                                        "a%2Fb",  std::string(129, 'i')};
  for (const auto& id : bad) {
    SCOPED_TRACE(id);
    auto a = call("POST", base + "/v1/subscriptions",
                  R"({"id":")" + id + R"(","url":"https://a.example/h","events":["*"]})");
    EXPECT_EQ(a.status, 400) << a.body;
    EXPECT_EQ(errorPointers(a), std::set<std::string>{"/id"}) << a.body;
  }
  EXPECT_EQ(call("GET", base + "/v1/subscriptions").json().at("total").as_int64(), 0);
  EXPECT_TRUE(readTopic(pipeline_->config(), pipeline_->config().topics.subscriptions()).empty());
  EXPECT_EQ(readFile(producers_[0]->logPath()).find("forged"), std::string::npos);
  // What is allowed: letters, digits, '_', '-', '.', up to 128.
  for (const auto& id : std::vector<std::string>{"orders.v2", "Team_A-7", std::string(128, 'i')}) {
    SCOPED_TRACE(id);
    EXPECT_EQ(call("POST", base + "/v1/subscriptions",
                   R"({"id":")" + id + R"(","url":"https://a.example/h","events":["*"]})")
                  .status,
              201);
    EXPECT_EQ(call("GET", base + "/v1/subscriptions/" + id).status, 200);
    EXPECT_EQ(call("DELETE", base + "/v1/subscriptions/" + id).status, 204);
  }

  // A record written before ids were checked can still be read and deleted, %-encoded.
  auto producer = kafka::Producer::create(pipeline_->config());
  ASSERT_TRUE(producer.has_value()) << producer.error().message;
  ASSERT_TRUE((*producer)
                  ->produceBlocking(pipeline_->config().topics.subscriptions(), "x/../y",
                                    R"({"id":"x/../y","url":"https://a.example/h","events":["*"]})",
                                    {}, nullptr)
                  .has_value());
  ASSERT_TRUE((*producer)->flush(10s));
  const auto legacy = base + "/v1/subscriptions/x%2F..%2Fy";
  EXPECT_TRUE(eventually([&] { return call("GET", legacy).status == 200; }, 10s));
  EXPECT_EQ(call("DELETE", legacy).status, 204);
  EXPECT_EQ(call("GET", legacy).status, 404);
}

TEST_F(ApiTest, UnknownFieldsAreRefusedEachNamedByItsPointer) {
  const auto base = startProducer();
  auto a = call("POST", base + "/v1/subscriptions",
                R"({"url":"https://a.example/h","events":["*"],"active":false,)"
                R"("retry_config":{"max_retrys":3},"rate_limit":{"per_day":5},"colour":"red"})");
  ASSERT_EQ(a.status, 400) << a.body;
  EXPECT_EQ(errorPointers(a), (std::set<std::string>{"/active", "/retry_config/max_retrys",
                                                     "/rate_limit/per_day", "/colour"}))
      << a.body;
  EXPECT_NE(a.body.find("did you mean is_active?"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("did you mean max_retries?"), std::string::npos) << a.body;
  EXPECT_EQ(call("GET", base + "/v1/subscriptions").json().at("total").as_int64(), 0);

  const auto id = createSubscription(base, R"({"url":"https://a.example/h","events":["*"]})");
  const auto url = base + "/v1/subscriptions/" + id;
  auto put = call("PUT", url, R"({"url":"https://a.example/h","events":["*"],"active":false})");
  EXPECT_EQ(put.status, 400) << put.body;
  EXPECT_EQ(errorPointers(put), std::set<std::string>{"/active"});
  auto patch = call("PATCH", url, R"({"retry_config":{"max_retrys":3,"jitter":false}})");
  EXPECT_EQ(patch.status, 400) << patch.body;
  EXPECT_EQ(errorPointers(patch), std::set<std::string>{"/retry_config/max_retrys"});
  // Null is not a way around it (in a merge patch it removes a field, but this is none).
  auto null_patch = call("PATCH", url, R"({"active":null,"rate_limit":{"per_day":null}})");
  EXPECT_EQ(null_patch.status, 400) << null_patch.body;
  EXPECT_EQ(errorPointers(null_patch), (std::set<std::string>{"/active", "/rate_limit/per_day"}));
  auto kept = call("GET", url).json().as_object();
  EXPECT_TRUE(kept.at("is_active").as_bool());
  EXPECT_TRUE(kept.at("retry_config").at("jitter").as_bool());
  // A GET's answer is a valid PUT body.
  auto round_trip = call("PUT", url, call("GET", url).body);
  EXPECT_EQ(round_trip.status, 200) << round_trip.body;
}

TEST_F(ApiTest, ANameGivenTwiceIsRefusedAndNothingIsStoredOrChanged) {
  const auto base = startProducer();
  auto a = call("POST", base + "/v1/subscriptions",
                R"({"url":"https://a.example/h","events":["*"],"url":"https://b.example/h",)"
                R"("metadata":{"team":"a","team":"b"}})");
  ASSERT_EQ(a.status, 400) << a.body;
  EXPECT_EQ(errorPointers(a), (std::set<std::string>{"/url", "/metadata/team"})) << a.body;
  EXPECT_NE(a.body.find("'team' is given more than once"), std::string::npos) << a.body;
  EXPECT_EQ(call("GET", base + "/v1/subscriptions").json().at("total").as_int64(), 0);

  const auto id = createSubscription(
      base, R"({"url":"https://a.example/h","events":["*"],"headers":{"X-Team":"a"}})");
  const auto url = base + "/v1/subscriptions/" + id;
  // The merge would have kept one copy: the body is judged before it.
  auto patch = call("PATCH", url, R"({"headers":{"X-Team":"b","X-Team":"c"}})");
  EXPECT_EQ(patch.status, 400) << patch.body;
  EXPECT_EQ(errorPointers(patch), std::set<std::string>{"/headers/X-Team"});
  auto put = call("PUT", url,
                  R"({"url":"https://a.example/h","events":["*"],"timeout_ms":500,)"
                  R"("timeout_ms":900})");
  EXPECT_EQ(put.status, 400) << put.body;
  EXPECT_EQ(errorPointers(put), std::set<std::string>{"/timeout_ms"});
  auto kept = call("GET", url).json().as_object();
  EXPECT_EQ(bj::serialize(kept.at("headers")), R"({"X-Team":"a"})");
  EXPECT_EQ(kept.if_contains("timeout_ms"), nullptr) << bj::serialize(kept);
}

TEST_F(ApiTest, MetadataIsStoredAndReturnedAsGiven) {
  const auto base = startProducer();
  auto a = call("POST", base + "/v1/subscriptions",
                R"({"url":"https://a.example/h","events":["*"],)"
                R"("metadata":{"team":"payments","ticket":"OPS-12","note":"caf\u00e9"}})");
  ASSERT_EQ(a.status, 201) << a.body;
  const std::string expected = R"({"note":"café","team":"payments","ticket":"OPS-12"})";
  EXPECT_EQ(bj::serialize(a.json().at("metadata")), expected);
  const auto id = jsonField(a.body, "id");
  const auto url = base + "/v1/subscriptions/" + id;
  EXPECT_EQ(bj::serialize(call("GET", url).json().at("metadata")), expected);
  EXPECT_EQ(
      bj::serialize(call("GET", base + "/v1/subscriptions").json().at("data").at(0).at("metadata")),
      expected);
  const auto stored = storedRecords(pipeline_->config(), id);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(bj::serialize(bj::parse(stored[0]).at("metadata")), expected);

  // PATCH merges it (null removes a key); PUT replaces it.
  auto patch = call("PATCH", url, R"({"metadata":{"ticket":null,"owner":"ana"}})");
  ASSERT_EQ(patch.status, 200) << patch.body;
  EXPECT_EQ(bj::serialize(patch.json().at("metadata")),
            R"({"note":"café","owner":"ana","team":"payments"})");
  auto put = call("PUT", url, R"({"url":"https://a.example/h","events":["*"]})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(bj::serialize(put.json().at("metadata")), "{}");

  // Bounds: 50 keys, keys up to 40 characters, values strings up to 500.
  std::string many;
  for (int i = 0; i <= 50; ++i) many += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":\"v\"";
  const std::vector<std::string> bad = {"{" + many + "}", R"({"k":5})",
                                        "{\"" + std::string(41, 'k') + "\":\"v\"}",
                                        R"({"k":")" + std::string(501, 'v') + "\"}", R"("k=v")"};
  for (const auto& metadata : bad) {
    auto bad = call("PATCH", url, R"({"metadata":)" + metadata + "}");
    EXPECT_EQ(bad.status, 400) << metadata.substr(0, 60) << " " << bad.body;
    EXPECT_TRUE((*errorPointers(bad).begin()).starts_with("/metadata")) << bad.body;
  }
}

TEST_F(ApiTest, PreviousSecretCannotBeSetOnCreate) {
  const auto base = startProducer();
  auto a = call("POST", base + "/v1/subscriptions",
                R"({"url":"https://a.example/h","events":["*"],)"
                R"("previous_secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",)"
                R"("previous_secret_expires_ms":4102444800000})");
  EXPECT_EQ(a.status, 400) << a.body;
  EXPECT_EQ(errorPointers(a),
            (std::set<std::string>{"/previous_secret", "/previous_secret_expires_ms"}));
  EXPECT_EQ(call("GET", base + "/v1/subscriptions").json().at("total").as_int64(), 0);
}

TEST_F(ApiTest, UrlCredentialsSendBasicAuthButAreNeverShown) {
  Receiver receiver;
  const auto base = startProducer();
  const std::string with_credentials =
      "http://hook-user:s3cr3t-pw@127.0.0.1:" + std::to_string(receiver.port()) + "/hook";
  const std::string shown = "http://***@127.0.0.1:" + std::to_string(receiver.port()) + "/hook";
  std::vector<std::string> answers;
  auto created = call("POST", base + "/v1/subscriptions",
                      R"({"url":")" + with_credentials + R"(","events":["*"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(jsonField(created.body, "url"), shown);
  answers.push_back(created.body);
  const auto id = jsonField(created.body, "id");
  const auto url = base + "/v1/subscriptions/" + id;
  auto got = call("GET", url);
  EXPECT_EQ(jsonField(got.body, "url"), shown);
  answers.push_back(got.body);
  answers.push_back(call("GET", base + "/v1/subscriptions").body);
  answers.push_back(call("PATCH", url, R"({"name":"renamed"})").body);
  answers.push_back(call("POST", url + "/pause").body);
  answers.push_back(call("POST", url + "/resume").body);
  // The URL as shown, sent back with PUT, keeps the credentials it stands for.
  auto put = call("PUT", url, R"({"url":")" + shown + R"(","events":["*"]})");
  ASSERT_EQ(put.status, 200) << put.body;
  answers.push_back(put.body);
  auto sent = call("POST", url + "/test", R"({"payload":{"n":1}})");
  ASSERT_EQ(sent.status, 200) << sent.body;
  answers.push_back(sent.body);
  for (const auto& answer : answers) {
    EXPECT_EQ(answer.find("s3cr3t"), std::string::npos) << answer;
    EXPECT_EQ(answer.find("hook-user"), std::string::npos) << answer;
  }
  // Delivery still authenticates with them.
  ASSERT_EQ(receiver.requestsTo("/hook").size(), 1u);
  EXPECT_EQ(receiver.requestsTo("/hook")[0].headers.at("authorization"),
            "Basic " + signing::base64Encode("hook-user:s3cr3t-pw"));
  const auto stored = storedRecords(pipeline_->config(), id);
  ASSERT_FALSE(stored.empty());
  EXPECT_EQ(jsonField(stored.back(), "url"), with_credentials);
  const std::string log = readFile(producers_[0]->logPath());
  EXPECT_EQ(log.find("s3cr3t"), std::string::npos);
  EXPECT_NE(log.find("subscription created"), std::string::npos);  // the log was read
}

TEST_F(ApiTest, GithubStyleSignsWithTheSecretStringAsGiven) {
  Receiver receiver;
  const auto base = startProducer();
  auto created =
      call("POST", base + "/v1/subscriptions",
           R"({"url":")" + receiver.url("/gh") + R"(","events":["*"],"signature_style":"github"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const auto secret = jsonField(created.body, "secret");
  const auto id = jsonField(created.body, "id");
  ASSERT_EQ(call("POST", base + "/v1/subscriptions/" + id + "/test",
                 R"({"payload":{"type":"order.created"}})")
                .status,
            200);
  ASSERT_EQ(receiver.requestsTo("/gh").size(), 1u);
  const auto r = receiver.requestsTo("/gh")[0];
  // What a GitHub receiver computes: HMAC-SHA256 keyed with the secret it was given.
  signing::Signer signer;
  EXPECT_EQ(r.headers.at("x-webhook-signature"), signer.githubStyle(secret, r.body));
  // After a rotation, the new secret string is the key at once.
  auto rotated = call("POST", base + "/v1/subscriptions/" + id + "/secret/rotate?grace_ms=0");
  ASSERT_EQ(rotated.status, 200);
  const auto new_secret = jsonField(rotated.body, "secret");
  ASSERT_EQ(
      call("POST", base + "/v1/subscriptions/" + id + "/test", R"({"payload":{"n":2}})").status,
      200);
  ASSERT_EQ(receiver.requestsTo("/gh").size(), 2u);
  const auto after = receiver.requestsTo("/gh")[1];
  EXPECT_EQ(after.headers.at("x-webhook-signature"), signer.githubStyle(new_secret, after.body));
}

TEST_F(ApiTest, UrlSchemesAreCaseInsensitive) {
  Receiver receiver;
  const auto base = startProducer();
  const std::string upper = "HTTP://127.0.0.1:" + std::to_string(receiver.port()) + "/upper";
  auto created =
      call("POST", base + "/v1/subscriptions", R"({"url":")" + upper + R"(","events":["*"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(jsonField(created.body, "url"), upper);
  auto sent = call("POST", base + "/v1/subscriptions/" + jsonField(created.body, "id") + "/test");
  ASSERT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(jsonField(sent.body, "outcome"), "delivered") << sent.body;
  EXPECT_EQ(receiver.requestsTo("/upper").size(), 1u);
  EXPECT_EQ(
      call("POST", base + "/v1/subscriptions", R"({"url":"Https://a.example/h","events":["*"]})")
          .status,
      201);
  EXPECT_EQ(
      call("POST", base + "/v1/subscriptions", R"({"url":"FTP://a.example/h","events":["*"]})")
          .status,
      400);
}

}  // namespace
}  // namespace hookpipe::testing
