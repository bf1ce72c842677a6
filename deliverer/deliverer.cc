#include "deliverer/deliverer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "common/json/event.h"
#include "common/log/log.h"
#include "common/retry/policy.h"
#include "deliverer/ssrf.h"

namespace hookpipe::deliverer {
namespace {

constexpr std::size_t kResponseSnippetBytes = 1024;
constexpr auto kDrainBudget = std::chrono::seconds(10);

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("deliverer");
  return l;
}

}  // namespace

// One HTTP attempt in flight. Owned by Deliverer::in_flight_; the easy handle's
// CURLOPT_PRIVATE points back here.
struct Deliverer::Request {
  Deliverer* owner = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  kafka::OwnedMessage msg;
  records::DeliveryMeta meta;
  std::shared_ptr<const Subscription> sub;
  std::string response_snippet;
  std::string retry_after;
  bool refused = false;
  char error_buffer[CURL_ERROR_SIZE] = {};

  ~Request() {
    if (headers != nullptr) curl_slist_free_all(headers);
  }

  static size_t onBody(char* data, size_t size, size_t n, void* self) noexcept {
    auto* req = static_cast<Request*>(self);
    const size_t len = size * n;
    const size_t room =
        kResponseSnippetBytes - std::min(kResponseSnippetBytes, req->response_snippet.size());
    req->response_snippet.append(data, std::min(room, len));  // the rest is discarded
    return len;
  }
  static size_t onHeader(char* data, size_t size, size_t n, void* self) noexcept {
    auto* req = static_cast<Request*>(self);
    std::string_view line(data, size * n);
    if (line.size() > 12 && strncasecmp(line.data(), "retry-after:", 12) == 0)
      req->retry_after = std::string(line.substr(12));
    return size * n;
  }
  // Checks the address actually connected to, after DNS resolution.
  static curl_socket_t onOpenSocket(void* self, curlsocktype, curl_sockaddr* address) noexcept {
    auto* req = static_cast<Request*>(self);
    if (!req->owner->config_.allow_private_targets && isPrivateAddress(&address->addr)) {
      req->refused = true;
      return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
  }
};

Deliverer::Deliverer(const Config& config, SubscriptionTable& table)
    : config_(config),
      table_(table),
      redis_(config.redis_host, config.redis_port),
      delivered_(redis_, config.topics.prefix,
                 std::chrono::duration_cast<std::chrono::seconds>(config.delivered_ttl)) {}

Deliverer::~Deliverer() {
  for (auto& req : in_flight_) {
    curl_multi_remove_handle(multi_.get(), req->easy);
    curl_easy_cleanup(req->easy);
  }
  for (CURL* e : idle_easy_) curl_easy_cleanup(e);
  for (int fd : wake_fds_)
    if (fd >= 0) ::close(fd);
}

Result<std::unique_ptr<Deliverer>> Deliverer::create(const Config& config,
                                                     SubscriptionTable& table) {
  std::unique_ptr<Deliverer> d(new Deliverer(config, table));
  // A failed produce is retried by handOff(); librdkafka itself never gives up.
  auto producer = kafka::Producer::create(config, {{"message.timeout.ms", "0"}});
  if (!producer) return std::unexpected(producer.error());
  d->producer_ = std::move(*producer);
  d->hand_off_ = std::make_unique<kafka::HandOff>(*d->producer_);
  auto consumer = kafka::Consumer::create(config, config.groupId("deliverer"), d.get());
  if (!consumer) return std::unexpected(consumer.error());
  d->consumer_ = std::move(*consumer);
  d->multi_.reset(curl_multi_init());
  if (!d->multi_) return fail("curl_multi_init failed");
  if (::pipe2(d->wake_fds_, O_NONBLOCK | O_CLOEXEC) != 0) return fail("pipe2 failed");
  rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(d->consumer_->handle());
  rd_kafka_queue_io_event_enable(q, d->wake_fds_[1], "c", 1);
  rd_kafka_queue_destroy(q);
  q = rd_kafka_queue_get_main(d->producer_->handle());
  rd_kafka_queue_io_event_enable(q, d->wake_fds_[1], "p", 1);
  rd_kafka_queue_destroy(q);
  if (auto r = d->consumer_->subscribe({config.topics.deliveries()}); !r)
    return std::unexpected(r.error());
  return d;
}

int Deliverer::run(const std::atomic<bool>& stop) {
  auto last_report = std::chrono::steady_clock::now();
  while (!stop && !consumer_->fatal()) {
    hand_off_->pump(0);
    std::vector<kafka::OwnedMessage> batch;
    const std::size_t room =
        config_.max_in_flight - std::min(config_.max_in_flight, in_flight_.size());
    while (batch.size() < room) {
      kafka::MessagePtr msg = consumer_->poll(0);
      if (!msg) break;
      if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log()->warn("consumer error={}", rd_kafka_message_errstr(msg.get()));
        continue;
      }
      batch.push_back(kafka::OwnedMessage::copyOf(msg.get()));
    }
    if (!batch.empty()) intake(std::move(batch));
    flushDeliveredMarks();
    driveCurl(in_flight_.size() < config_.max_in_flight ? 200 : 1000);
    if (auto now = std::chrono::steady_clock::now(); now - last_report > std::chrono::seconds(10)) {
      last_report = now;
      log()->info("delivered={} retried={} dead_lettered={} duplicates_skipped={} in_flight={}",
                  metrics_.delivered.load(), metrics_.retried.load(), metrics_.dead_lettered.load(),
                  metrics_.duplicates_skipped.load(), in_flight_.size());
    }
  }
  log()->info("stopping: draining in_flight={}", in_flight_.size());
  drain([this] { return in_flight_.empty() && hand_off_->waitingToResend() == 0; }, kDrainBudget);
  flushDeliveredMarks();
  producer_->flush(kDrainBudget);
  consumer_->close();
  return consumer_->fatal() ? 1 : 0;
}

void Deliverer::intake(std::vector<kafka::OwnedMessage> batch) {
  std::vector<records::DeliveryMeta> metas;
  std::vector<std::string> ids;
  metas.reserve(batch.size());
  for (const auto& m : batch) {
    tracker_.begin(m.topic, m.partition, m.offset);
    metas.push_back(records::DeliveryMeta::fromHeaders(m.headers));
    ids.push_back(metas.back().delivery_id);
  }
  // One round trip for the whole batch; Redis down means "send anyway".
  auto delivered = delivered_.wereDelivered(ids);
  if (!delivered) {
    ++metrics_.redis_errors;
    log()->warn("delivered-id check skipped error={}", delivered.error().message);
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto sub = table_.find(metas[i].subscription_id);
    if (!sub) {
      ++metrics_.unknown_subscription;
      finish(batch[i]);
    } else if ((delivered && (*delivered)[i]) || in_flight_ids_.contains(metas[i].delivery_id) ||
               std::find(delivered_marks_.begin(), delivered_marks_.end(), metas[i].delivery_id) !=
                   delivered_marks_.end()) {
      // Delivered already, or the same delivery is in flight right now (a replay or a
      // re-routed copy that overtook the first one's 2xx): that attempt decides.
      ++metrics_.duplicates_skipped;
      log()->debug("skipping delivered id={}", metas[i].delivery_id);
      finish(batch[i]);
    } else if (!sub->is_active) {
      // Paused: park it in the shortest tier without spending an attempt.
      ++metrics_.parked;
      metas[i].due_ms = kafka::nowMs() + config_.retry_tiers.front().count();
      kafka::HeaderList headers = batch[i].headers;
      metas[i].writeTo(headers);
      handOff(config_.topics.retryTier(config_.retry_tiers.front()), std::move(batch[i]),
              std::move(headers));
    } else {
      startRequest(std::move(batch[i]), std::move(metas[i]), std::move(sub));
    }
  }
}

CURL* Deliverer::takeEasy() {
  if (idle_easy_.empty()) return curl_easy_init();
  CURL* e = idle_easy_.back();
  idle_easy_.pop_back();
  curl_easy_reset(e);
  return e;
}

void Deliverer::startRequest(kafka::OwnedMessage msg, records::DeliveryMeta meta,
                             std::shared_ptr<const Subscription> sub) {
  auto req = std::make_unique<Request>();
  req->owner = this;
  req->msg = std::move(msg);
  req->meta = std::move(meta);
  req->sub = std::move(sub);
  if (req->meta.first_attempt_ms == 0) req->meta.first_attempt_ms = kafka::nowMs();
  const Subscription& s = *req->sub;

  const int64_t ts = kafka::nowMs() / 1000;
  std::vector<std::string> lines = {"Content-Type: application/json",
                                    "User-Agent: hookpipe/" HOOKPIPE_VERSION, "Expect:"};
  for (const auto& [k, v] : s.headers) lines.push_back(k + ": " + v);
  std::vector<std::string> keys;
  for (const auto& secret : s.signingSecrets(kafka::nowMs()))
    if (auto key = signing::secretKey(secret)) keys.push_back(std::move(*key));
  if (s.signature_style == "github") {
    if (!keys.empty())
      lines.push_back("X-Webhook-Signature: " + signer_.githubStyle(keys.front(), req->msg.value));
  } else {
    lines.push_back("webhook-id: " + req->meta.delivery_id);
    lines.push_back("webhook-timestamp: " + std::to_string(ts));
    if (!keys.empty())
      lines.push_back("webhook-signature: " +
                      signer_.standardWebhooks(keys, req->meta.delivery_id, ts, req->msg.value));
  }
  for (const auto& l : lines) req->headers = curl_slist_append(req->headers, l.c_str());

  CURL* e = takeEasy();
  req->easy = e;
  const long timeout_ms =
      s.timeout_ms > 0 ? s.timeout_ms : static_cast<long>(config_.request_timeout.count());
  curl_easy_setopt(e, CURLOPT_URL, s.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->msg.value.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(req->msg.value.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(config_.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Request::onBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, req.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Request::onHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, req.get());
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Request::onOpenSocket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, req.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->error_buffer);
  curl_easy_setopt(e, CURLOPT_PRIVATE, req.get());
  curl_multi_add_handle(multi_.get(), e);
  in_flight_ids_.insert(req->meta.delivery_id);
  in_flight_.push_back(std::move(req));
}

void Deliverer::driveCurl(int timeout_ms) {
  int running = 0;
  curl_multi_perform(multi_.get(), &running);
  int queued = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_.get(), &queued)) {
    if (m->msg != CURLMSG_DONE) continue;
    Request* req = nullptr;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &req);
    complete(req, m->data.result);
  }
  // Wake on sockets, or on the pipe librdkafka writes to when messages or delivery
  // reports are waiting.
  curl_waitfd wake{wake_fds_[0], CURL_WAIT_POLLIN, 0};
  int numfds = 0;
  curl_multi_poll(multi_.get(), &wake, 1, timeout_ms, &numfds);
  if (wake.revents != 0) {
    char buf[64];
    while (::read(wake_fds_[0], buf, sizeof buf) > 0) {
    }
  }
}

void Deliverer::complete(Request* req, CURLcode code) {
  long status = 0;
  curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_multi_remove_handle(multi_.get(), req->easy);
  idle_easy_.push_back(req->easy);
  auto it =
      std::find_if(in_flight_.begin(), in_flight_.end(), [req](auto& r) { return r.get() == req; });
  std::unique_ptr<Request> owned = std::move(*it);
  in_flight_.erase(it);
  in_flight_ids_.erase(owned->meta.delivery_id);

  const Outcome outcome = classify(status, code, owned->refused);
  owned->meta.last_status = static_cast<int>(status);
  if (outcome.verdict == Verdict::kDelivered) {
    ++metrics_.delivered;
    delivered_marks_.push_back(owned->meta.delivery_id);
    finish(owned->msg);
    return;
  }
  std::string message;
  if (owned->refused)
    message = "address refused: private, loopback or link-local target";
  else if (code != CURLE_OK)
    message = owned->error_buffer[0] != '\0' ? owned->error_buffer : curl_easy_strerror(code);
  else
    message = "HTTP " + std::to_string(status) + ": " + owned->response_snippet.substr(0, 256);
  if (outcome.disable_subscription) disableSubscription(*owned->sub);
  if (outcome.verdict == Verdict::kRetry)
    retryOrDeadLetter(*owned, outcome, message);
  else {
    owned->meta.error_class = outcome.error_class;
    owned->meta.error_message = message;
    deadLetter(std::move(owned->msg), std::move(owned->meta), outcome.error_class);
  }
}

void Deliverer::retryOrDeadLetter(Request& req, const Outcome& outcome,
                                  const std::string& message) {
  req.meta.error_class = outcome.error_class;
  req.meta.error_message = message;
  auto delay = retry::retryDelay(req.sub->retry_config, req.meta.attempt, rng_);
  if (!delay) {
    deadLetter(std::move(req.msg), std::move(req.meta), "retries_exhausted");
    return;
  }
  if (!req.retry_after.empty())
    if (auto after = parseRetryAfter(req.retry_after, kafka::nowMs() / 1000))
      delay = std::max(
          *delay, std::min(*after, std::chrono::milliseconds(req.sub->retry_config.max_delay_ms)));
  ++metrics_.retried;
  req.meta.attempt += 1;
  req.meta.due_ms = kafka::nowMs() + delay->count();
  kafka::HeaderList headers = req.msg.headers;
  req.meta.writeTo(headers);
  const int tier = retry::chooseTier(config_.retry_tiers, *delay);
  std::string topic =
      tier < 0 ? config_.topics.deliveries() : config_.topics.retryTier(config_.retry_tiers[tier]);
  handOff(std::move(topic), std::move(req.msg), std::move(headers));
}

void Deliverer::deadLetter(kafka::OwnedMessage msg, records::DeliveryMeta meta,
                           const std::string& reason) {
  ++metrics_.dead_lettered;
  kafka::HeaderList headers = msg.headers;
  meta.writeTo(headers);
  kafka::setHeader(headers, records::kDeadLetterReason, reason);
  kafka::setHeader(headers, records::kDeadLetterAtMs, std::to_string(kafka::nowMs()));
  if (!kafka::findHeader(headers, records::kOriginTopic)) {
    kafka::setHeader(headers, records::kOriginTopic, msg.topic);
    kafka::setHeader(headers, records::kOriginPartition, std::to_string(msg.partition));
    kafka::setHeader(headers, records::kOriginOffset, std::to_string(msg.offset));
  }
  handOff(config_.topics.dlq(), std::move(msg), std::move(headers));
}

void Deliverer::handOff(std::string topic, kafka::OwnedMessage msg, kafka::HeaderList headers) {
  auto origin = std::make_shared<kafka::OwnedMessage>(std::move(msg));
  hand_off_->send(std::move(topic), origin->key, origin->value, std::move(headers),
                  [this, origin] { finish(*origin); });
}

void Deliverer::finish(const kafka::OwnedMessage& msg) {
  if (auto next = tracker_.finish(msg.topic, msg.partition, msg.offset))
    consumer_->storeOffset(msg.topic, msg.partition, *next);
}

void Deliverer::disableSubscription(const Subscription& sub) {
  Subscription disabled = sub;
  disabled.is_active = false;
  disabled.updated_at = json::formatTimestamp(kafka::nowMs());
  log()->warn("disabling subscription id={} reason=410_gone", sub.id);
  auto r =
      producer_->produce(config_.topics.subscriptions(), sub.id, toJson(disabled), {}, nullptr);
  if (!r) log()->error("could not disable subscription id={} error={}", sub.id, r.error().message);
}

void Deliverer::flushDeliveredMarks() {
  if (delivered_marks_.empty()) return;
  if (auto r = delivered_.markDelivered(delivered_marks_); !r) {
    ++metrics_.redis_errors;
    log()->warn("delivered-id marks lost count={} error={}", delivered_marks_.size(),
                r.error().message);
  }
  delivered_marks_.clear();
}

void Deliverer::drain(const std::function<bool()>& done, std::chrono::milliseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    hand_off_->pump(0);
    driveCurl(50);
  }
}

void Deliverer::onAssigned(const rd_kafka_topic_partition_list_t& partitions) {
  log()->info("assigned partitions={}", partitions.cnt);
}

void Deliverer::onRevoked(const rd_kafka_topic_partition_list_t& partitions) {
  auto revoked = [&partitions](const kafka::OwnedMessage& m) {
    for (int i = 0; i < partitions.cnt; ++i)
      if (partitions.elems[i].partition == m.partition && m.topic == partitions.elems[i].topic)
        return true;
    return false;
  };
  log()->info("revoked partitions={} draining in_flight={}", partitions.cnt, in_flight_.size());
  drain([&] { return tracker_.pending(partitions) == 0; }, kDrainBudget);
  flushDeliveredMarks();
  // Whatever is still running belongs to the next owner now: let it go unfinished.
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (revoked((*it)->msg)) {
      curl_multi_remove_handle(multi_.get(), (*it)->easy);
      idle_easy_.push_back((*it)->easy);
      in_flight_ids_.erase((*it)->meta.delivery_id);
      it = in_flight_.erase(it);
    } else {
      ++it;
    }
  }
  tracker_.forget(partitions);
}

}  // namespace hookpipe::deliverer
