#include "common/loadtest/api_client.h"

#include <curl/curl.h>

#include <boost/json.hpp>
#include <memory>

namespace hookpipe::loadtest {
namespace {

size_t appendBody(char* data, size_t size, size_t n, void* user) noexcept {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

}  // namespace

std::string subscriptionJson(const std::string& url, const std::string& event_type,
                             const std::string& description, std::chrono::milliseconds retry_delay,
                             int max_retries, int max_concurrency) {
  boost::json::object o;
  o["url"] = url;
  o["events"] = boost::json::array{boost::json::value(event_type)};
  o["description"] = description;
  o["retry_config"] = boost::json::object{{"strategy", "fixed"},
                                          {"retry_delay", retry_delay.count()},
                                          {"max_retries", max_retries},
                                          {"jitter", false}};
  if (max_concurrency > 0) o["max_concurrency"] = max_concurrency;
  return boost::json::serialize(o);
}

ApiClient::ApiClient(std::string api, std::string token)
    : api_(std::move(api)), token_(std::move(token)) {}

Result<ApiClient::Answer> ApiClient::call(const std::string& method, const std::string& path,
                                          const std::string& body) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), &curl_easy_cleanup);
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr,
                                                                      &curl_slist_free_all);
  curl_slist* list = curl_slist_append(nullptr, "Content-Type: application/json");
  if (!token_.empty()) list = curl_slist_append(list, ("Authorization: Bearer " + token_).c_str());
  headers.reset(list);
  Answer answer;
  const std::string url = api_ + path;
  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  if (!body.empty()) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  if (const CURLcode code = curl_easy_perform(e); code != CURLE_OK)
    return fail(method + " " + url + ": " + curl_easy_strerror(code), true);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &answer.status);
  return answer;
}

Result<std::string> ApiClient::createSubscription(const std::string& url,
                                                  const std::string& event_type,
                                                  const std::string& description,
                                                  std::chrono::milliseconds retry_delay,
                                                  int max_retries, int max_concurrency) {
  auto answer = call(
      "POST", "/v1/subscriptions",
      subscriptionJson(url, event_type, description, retry_delay, max_retries, max_concurrency));
  if (!answer) return std::unexpected(answer.error());
  if (answer->status != 201)
    return fail("POST /v1/subscriptions answered " + std::to_string(answer->status) + ": " +
                answer->body.substr(0, 300));
  boost::system::error_code ec;
  const auto v = boost::json::parse(answer->body, ec);
  const auto* id = !ec && v.is_object() ? v.as_object().if_contains("id") : nullptr;
  if (!id || !id->is_string()) return fail("POST /v1/subscriptions: no id in the answer");
  return std::string(id->as_string());
}

Result<void> ApiClient::deleteSubscription(const std::string& id) {
  // Ids from our own create are plain ([A-Za-z0-9_-]); no escaping needed.
  auto answer = call("DELETE", "/v1/subscriptions/" + id, "");
  if (!answer) return std::unexpected(answer.error());
  if (answer->status != 204 && answer->status != 200 && answer->status != 404)
    return fail("DELETE /v1/subscriptions/" + id + " answered " + std::to_string(answer->status));
  return {};
}

Result<void> ApiClient::publishEvent(const std::string& json) {
  auto answer = call("POST", "/v1/events", json);
  if (!answer) return std::unexpected(answer.error());
  if (answer->status != 202)
    return fail("POST /v1/events answered " + std::to_string(answer->status) + ": " +
                answer->body.substr(0, 300));
  return {};
}

}  // namespace hookpipe::loadtest
