#include "support/harness.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/dlq/replay.h"
#include "common/kafka/reader.h"
#include "common/records/delivery.h"
#include "support/poll.h"

namespace hookpipe::testing {
namespace {

std::string envOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

size_t appendBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t addHeader(char* data, size_t size, size_t n, void* out) {
  const std::string line(data, size * n);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

}  // namespace

std::string testBrokers() { return envOr("HOOKPIPE_TEST_BROKERS", "127.0.0.1:19092"); }
std::string testRedis() { return envOr("HOOKPIPE_TEST_REDIS", "127.0.0.1:6379"); }

std::pair<std::string, int> testRedisHostPort() {
  const std::string addr = testRedis();
  const auto colon = addr.rfind(':');
  return {addr.substr(0, colon), std::stoi(addr.substr(colon + 1))};
}

std::string uniqueRedisPrefix(const std::string& what) {
  std::random_device rd;
  return what + std::to_string(rd()) + ".";
}

namespace {

testkit::SpawnOptions roleSpawn(const std::string& role,
                                const std::map<std::string, std::string>& env,
                                const std::string& log_path, const std::vector<std::string>& args) {
  testkit::SpawnOptions spawn;
  spawn.program = HOOKPIPE_BINARY;
  spawn.args = {role};
  spawn.args.insert(spawn.args.end(), args.begin(), args.end());
  // The test decides every HOOKPIPE_ variable, except how verbosely roles log.
  spawn.env = testkit::environmentWith(env, "HOOKPIPE_", {"HOOKPIPE_LOG_LEVEL"});
  spawn.output_path = log_path;
  spawn.append_output = true;
  return spawn;
}

}  // namespace

RoleProcess::RoleProcess(std::string role, std::map<std::string, std::string> env,
                         std::string log_path, std::vector<std::string> args)
    : log_path_(std::move(log_path)), child_(roleSpawn(role, env, log_path_, args)) {}

RoleProcess::~RoleProcess() = default;

Pipeline::Pipeline(const std::string& test_name) : api_port_(freePort()) {
  std::random_device rd;
  const std::string suffix = std::to_string(rd() % 1000000);
  config_.brokers = testBrokers();
  config_.topics.prefix = "t" + suffix + "." + test_name + ".";
  const std::string redis = testRedis();
  config_.redis_host = redis.substr(0, redis.rfind(':'));
  config_.redis_port = std::stoi(redis.substr(redis.rfind(':') + 1));
  config_.events_partitions = 2;
  config_.deliveries_partitions = 2;
  config_.retry_partitions = 1;
  config_.retry_tiers = {std::chrono::seconds(1), std::chrono::seconds(5)};
  dir_ = envOr("HOOKPIPE_TEST_LOGS", "/tmp") + std::string("/hookpipe-") + config_.topics.prefix +
         "logs";
  std::system(("mkdir -p '" + dir_ + "'").c_str());
}

Pipeline::~Pipeline() {
  // Stop in reverse order of start.
  while (!roles_.empty()) roles_.pop_back();
}

std::map<std::string, std::string> Pipeline::env() const {
  return {
      {"HOOKPIPE_BROKERS", config_.brokers},
      {"HOOKPIPE_TOPIC_PREFIX", config_.topics.prefix},
      {"HOOKPIPE_REDIS", config_.redis_host + ":" + std::to_string(config_.redis_port)},
      {"HOOKPIPE_EVENTS_PARTITIONS", std::to_string(config_.events_partitions)},
      {"HOOKPIPE_DELIVERIES_PARTITIONS", std::to_string(config_.deliveries_partitions)},
      {"HOOKPIPE_RETRY_PARTITIONS", std::to_string(config_.retry_partitions)},
      {"HOOKPIPE_RETRY_TIERS", "1s,5s"},
      {"HOOKPIPE_ALLOW_PRIVATE_TARGETS", "true"},
      {"HOOKPIPE_HTTP_ADDRESS", "127.0.0.1"},
      {"HOOKPIPE_HTTP_PORT", std::to_string(api_port_)},
      {"HOOKPIPE_REQUEST_TIMEOUT_MS", "5000"},
  };
}

RoleProcess& Pipeline::start(const std::string& role, const std::string& instance,
                             const std::map<std::string, std::string>& overrides) {
  auto env_vars = env();
  for (const auto& [k, v] : overrides) env_vars[k] = v;
  env_vars["HOOKPIPE_INSTANCE_ID"] = instance;
  // An empty instance runs without static membership (one log per process then).
  const std::string log = dir_ + "/" + role + "-" +
                          (instance.empty() ? "dynamic" + std::to_string(++counter_) : instance) +
                          ".log";
  roles_.push_back(std::make_unique<RoleProcess>(role, env_vars, log));
  return *roles_.back();
}

void Pipeline::stop(RoleProcess& role) {
  for (auto it = roles_.begin(); it != roles_.end(); ++it)
    if (it->get() == &role) {
      roles_.erase(it);
      return;
    }
}

std::string Pipeline::apiUrl(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(api_port_) + path;
}

std::pair<int, std::string> Pipeline::runCommand(const std::vector<std::string>& args) {
  const std::string log = dir_ + "/command-" + std::to_string(++counter_) + ".log";
  std::vector<std::string> rest(args.begin() + 1, args.end());
  RoleProcess p(args.front(), env(), log, rest);
  const int status = p.wait(std::chrono::seconds(120));
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  return {status, ss.str()};
}

std::string Pipeline::logs() const {
  std::string out;
  for (const auto& r : roles_) {
    std::ifstream in(r->logPath());
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    if (text.size() > 4000) text = "..." + text.substr(text.size() - 4000);
    out += "==== " + r->logPath() + "\n" + text + "\n";
  }
  return out;
}

HttpResult httpRequest(const std::string& method, const std::string& url, const std::string& body,
                       const std::string& content_type, const std::vector<std::string>& headers) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  curl_slist* list = curl_slist_append(nullptr, ("Content-Type: " + content_type).c_str());
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method != "GET" && method != "DELETE") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &appendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &addHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  if (curl_easy_perform(curl) == CURLE_OK)
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return result;
}

std::vector<kafka::OwnedMessage> readTopic(const Config& config, const std::string& topic) {
  std::vector<kafka::OwnedMessage> out;
  auto reader = kafka::Reader::open(config, "test-reader");
  if (!reader) return out;
  auto ranges = (*reader)->wholeTopic(topic);
  if (!ranges) return out;
  (void)(*reader)->read(topic, std::move(*ranges),
                        [&](const rd_kafka_message_t* msg) {
                          out.push_back(kafka::OwnedMessage::copyOf(msg));
                          return true;
                        },
                        {.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20),
                         .stop_on_error = false});
  return out;
}

std::vector<std::string> produceDeadLetters(const Config& config, kafka::Producer& producer,
                                            const std::vector<DeadLetterSpec>& dead, int& counter) {
  std::vector<std::string> ids;
  for (const auto& d : dead) {
    const std::string event_id = "evt_" + std::to_string(++counter);
    records::DeliveryMeta meta;
    meta.event_id = event_id;
    meta.event_type = d.event_type;
    meta.subscription_id = d.subscription;
    meta.delivery_id = records::deliveryIdFor(event_id, d.subscription);
    meta.attempt = 3;
    meta.last_status = d.error_class == "http_5xx" ? 503 : 0;
    meta.error_class = d.error_class;
    meta.error_message = "boom";
    meta.replay_count = d.replay_count;
    meta.deadLetter("retries_exhausted", kafka::nowMs(), {});
    kafka::HeaderList headers;
    meta.writeTo(headers);
    EXPECT_TRUE(
        producer
            .produceBlocking(config.topics.dlq(), d.subscription,
                             R"({"id":")" + event_id + R"(","type":")" + d.event_type + R"("})",
                             headers, nullptr)
            .has_value());
    ids.push_back(event_id);
  }
  EXPECT_TRUE(producer.flush(std::chrono::seconds(10)));
  return ids;
}

bool eventually(const std::function<bool()>& check, std::chrono::milliseconds timeout) {
  return testkit::pollUntil(check, timeout, std::chrono::milliseconds(50));
}

unsigned short freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string jsonField(const std::string& json, const std::string& field) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json).get(root)) return {};
  std::string_view v;
  if (root[field].get_string().get(v)) return {};
  return std::string(v);
}

void PipelineFixture::SetUp() {
  pipeline_ =
      std::make_unique<Pipeline>(::testing::UnitTest::GetInstance()->current_test_info()->name());
}

void PipelineFixture::TearDown() {
  if (HasFailure()) std::cerr << pipeline_->logs();
}

void PipelineFixture::startApi() {
  pipeline_->start("producer");
  ASSERT_TRUE(eventually(
      [&] { return httpRequest("GET", pipeline_->apiUrl("/healthz"), "").status == 200; },
      std::chrono::seconds(60)))
      << pipeline_->logs();
}

PipelineFixture::Created PipelineFixture::subscribe(const std::string& json) {
  auto res = httpRequest("POST", pipeline_->apiUrl("/v1/subscriptions"), json);
  EXPECT_EQ(res.status, 201) << res.body;
  return {jsonField(res.body, "id"), jsonField(res.body, "secret")};
}

std::string PipelineFixture::publish(const std::string& json) {
  auto res = httpRequest("POST", pipeline_->apiUrl("/v1/events"), json);
  EXPECT_EQ(res.status, 202) << res.body;
  return jsonField(res.body, "id");
}

std::vector<kafka::OwnedMessage> PipelineFixture::waitForDeadLetters(
    std::size_t n, std::chrono::milliseconds timeout) {
  std::vector<kafka::OwnedMessage> dlq;
  eventually(
      [&] {
        dlq = readTopic(pipeline_->config(), pipeline_->config().topics.dlq());
        return dlq.size() >= n;
      },
      timeout);
  return dlq;
}

}  // namespace hookpipe::testing
