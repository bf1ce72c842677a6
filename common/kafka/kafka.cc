#include "common/kafka/kafka.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include "common/kafka/stats.h"
#include "common/log/log.h"

extern char** environ;

namespace hookpipe::kafka {
namespace {

struct DeliveryContext {
  Producer::Done done;
};

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("kafka");
  return l;
}

bool setProp(rd_kafka_conf_t* conf, const std::string& key, const std::string& value,
             std::string& error) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) !=
      RD_KAFKA_CONF_OK) {
    error = key + ": " + errstr;
    return false;
  }
  return true;
}

// With statistics on (as set in the end: HOOKPIPE_KAFKA_STATISTICS_INTERVAL_MS may have
// changed them), the client reports to common/kafka/stats.h.
void trackStats(rd_kafka_conf_t* conf, const void* client, bool group_consumer) {
  char value[32] = {};
  size_t size = sizeof value;
  if (rd_kafka_conf_get(conf, "statistics.interval.ms", value, &size) != RD_KAFKA_CONF_OK) return;
  const long interval_ms = std::strtol(value, nullptr, 10);
  if (interval_ms <= 0) return;
  rd_kafka_conf_set_stats_cb(conf, &detail::onStats);
  detail::trackClient(client, group_consumer, std::chrono::milliseconds(interval_ms));
}

}  // namespace

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Error toError(rd_kafka_resp_err_t err, std::string_view context) {
  std::string message(context);
  if (!message.empty()) message += ": ";
  message += rd_kafka_err2str(err);
  // Size and format errors never succeed on retry; everything else (timeouts, broker
  // down, queue full, leader changes) may.
  const bool permanent =
      err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || err == RD_KAFKA_RESP_ERR__INVALID_ARG ||
      err == RD_KAFKA_RESP_ERR_INVALID_RECORD || err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
  return Error{std::move(message), !permanent};
}

HeaderList readHeaders(const rd_kafka_message_t* msg) {
  HeaderList out;
  forEachHeader(msg, [&out](std::string_view name, std::string_view value) {
    out.emplace_back(std::string(name), std::string(value));
  });
  return out;
}

std::optional<std::string> findHeader(const HeaderList& headers, std::string_view name) {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it)
    if (it->first == name) return it->second;
  return std::nullopt;
}

void setHeader(HeaderList& headers, std::string_view name, std::string value) {
  // Every earlier copy goes, so a publisher cannot smuggle in a second one.
  std::erase_if(headers, [name](const auto& h) { return h.first == name; });
  headers.emplace_back(std::string(name), std::move(value));
}

void eraseHeader(HeaderList& headers, std::string_view name) {
  std::erase_if(headers, [name](const auto& h) { return h.first == name; });
}

std::string_view payloadOf(const rd_kafka_message_t* msg) {
  return msg->payload != nullptr
             ? std::string_view(static_cast<const char*>(msg->payload), msg->len)
             : std::string_view();
}

std::string_view keyOf(const rd_kafka_message_t* msg) {
  return msg->key != nullptr ? std::string_view(static_cast<const char*>(msg->key), msg->key_len)
                             : std::string_view();
}

PackedHeaders PackedHeaders::of(const rd_kafka_message_t* msg) {
  PackedHeaders out;
  std::size_t total = 0;
  forEachHeader(msg, [&total](std::string_view n, std::string_view v) {
    total += 2 * sizeof(uint32_t) + n.size() + v.size();
  });
  out.blob_.reserve(total);
  auto put = [&out](std::string_view bytes) {
    const auto len = static_cast<uint32_t>(bytes.size());
    out.blob_.append(reinterpret_cast<const char*>(&len), sizeof len);
    out.blob_.append(bytes);
  };
  forEachHeader(msg, [&put](std::string_view n, std::string_view v) {
    put(n);
    put(v);
  });
  return out;
}

HeaderList PackedHeaders::unpack() const {
  HeaderList out;
  std::string_view rest = blob_;
  auto take = [&rest] {
    uint32_t len = 0;
    std::memcpy(&len, rest.data(), sizeof len);
    std::string part(rest.substr(sizeof len, len));
    rest.remove_prefix(sizeof len + len);
    return part;
  };
  while (!rest.empty()) {
    std::string name = take();
    out.emplace_back(std::move(name), take());
  }
  return out;
}

OwnedMessage OwnedMessage::copyOf(const rd_kafka_message_t* msg, bool with_headers) {
  OwnedMessage m;
  m.topic = rd_kafka_topic_name(msg->rkt);
  m.partition = msg->partition;
  m.offset = msg->offset;
  m.timestamp_ms = rd_kafka_message_timestamp(msg, nullptr);
  m.key = std::string(keyOf(msg));
  m.value = std::string(payloadOf(msg));
  if (with_headers) m.headers = readHeaders(msg);
  return m;
}

ConfPtr baseConf(const Config& config, const Properties& extra, std::string& error) {
  ConfPtr conf(rd_kafka_conf_new());
  Properties props = {
      {"bootstrap.servers", config.brokers},
      {"client.id", "hookpipe"},
      {"socket.keepalive.enable", "true"},
      {"reconnect.backoff.max.ms", "2000"},
  };
  for (const auto& [k, v] : extra) props[k] = v;
  // HOOKPIPE_KAFKA_<PROPERTY>=v sets any librdkafka property on every client, the name
  // lowercased with '_' for '.' (HOOKPIPE_KAFKA_SECURITY_PROTOCOL=ssl,
  // HOOKPIPE_KAFKA_FETCH_MIN_BYTES=16384); it wins over hookpipe's own settings.
  for (char** e = environ; *e != nullptr; ++e) {
    constexpr std::string_view kPrefix = "HOOKPIPE_KAFKA_";
    const std::string_view var(*e);
    const auto eq = var.find('=');
    if (!var.starts_with(kPrefix) || eq == std::string_view::npos || eq == kPrefix.size()) continue;
    std::string name(var.substr(kPrefix.size(), eq - kPrefix.size()));
    for (char& c : name) c = c == '_' ? '.' : static_cast<char>(std::tolower(c));
    props[name] = std::string(var.substr(eq + 1));
  }
  for (const auto& [k, v] : props)
    if (!setProp(conf.get(), k, v, error)) return nullptr;
  return conf;
}

// ---- Producer -------------------------------------------------------------

Result<std::unique_ptr<Producer>> Producer::create(const Config& config, const Properties& extra) {
  Properties props = {
      {"enable.idempotence", "true"},
      {"linger.ms", "5"},
      {"compression.type", "lz4"},
      {"message.timeout.ms", "30000"},
  };
  if (statsInterval().count() > 0)
    props["statistics.interval.ms"] = std::to_string(statsInterval().count());
  for (const auto& [k, v] : extra) props[k] = v;
  std::string error;
  ConfPtr conf = baseConf(config, props, error);
  if (!conf) return fail("kafka producer config: " + error);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &Producer::onDelivery);
  auto producer = std::unique_ptr<Producer>(new Producer(nullptr));
  rd_kafka_conf_set_opaque(conf.get(), producer.get());
  trackStats(conf.get(), producer.get(), false);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) return fail(std::string("kafka producer: ") + errstr);
  conf.release();  // owned by rk now
  producer->rk_.reset(rk);
  detail::trackProducer(rk);
  return producer;
}

Producer::~Producer() {
  // Callbacks may point into objects already gone: the owner flushes before this
  // if it needs them.
  closing_ = true;
  detail::untrackClient(this);
  if (!rk_) return;  // create() failed
  if (!flush(std::chrono::seconds(10)))
    log()->warn("producer closing with undelivered messages count={}", outstanding());
  detail::untrackProducer(rk_.get());
}

void Producer::onDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) noexcept {
  if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) detail::countProduceError();
  auto* ctx = static_cast<DeliveryContext*>(msg->_private);
  if (ctx == nullptr) return;
  std::unique_ptr<DeliveryContext> owned(ctx);
  if (!owned->done || static_cast<Producer*>(opaque)->closing_) return;
  if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR)
    owned->done(toError(msg->err, "produce"));
  else
    owned->done(std::nullopt);
}

Result<void> Producer::produce(const std::string& topic, std::string_view key,
                               std::string_view value, const HeaderList& headers, Done done,
                               int32_t partition) {
  rd_kafka_headers_t* hdrs = rd_kafka_headers_new(headers.size());
  for (const auto& [k, v] : headers)
    rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                        static_cast<ssize_t>(v.size()));
  return produceWith(topic, key, value, hdrs, std::move(done), partition);
}

Result<void> Producer::produceViews(const std::string& topic, std::string_view key,
                                    std::string_view value, std::span<const HeaderView> headers,
                                    Done done, int32_t partition) {
  rd_kafka_headers_t* hdrs = rd_kafka_headers_new(headers.size());
  for (const auto& [k, v] : headers)
    rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(),
                        static_cast<ssize_t>(v.size()));
  return produceWith(topic, key, value, hdrs, std::move(done), partition);
}

// Takes `hdrs` over (destroyed here when librdkafka did not take it).
Result<void> Producer::produceWith(const std::string& topic, std::string_view key,
                                   std::string_view value, rd_kafka_headers_t* hdrs, Done done,
                                   int32_t partition) {
  // No context (one allocation fewer) when nobody waits for the report.
  auto ctx = done ? std::make_unique<DeliveryContext>(DeliveryContext{std::move(done)}) : nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_producev(rk_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                        RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_HEADERS(hdrs),
                        RD_KAFKA_V_OPAQUE(ctx.get()), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(hdrs);  // not taken over on failure
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) detail::countProduceError();
    Error e = toError(err, "produce to " + topic);
    e.retryable = err == RD_KAFKA_RESP_ERR__QUEUE_FULL || e.retryable;
    return std::unexpected(std::move(e));
  }
  ctx.release();  // freed in onDelivery
  return {};
}

Result<void> Producer::produceBlocking(const std::string& topic, std::string_view key,
                                       std::string_view value, const HeaderList& headers,
                                       Done done) {
  while (true) {
    Done attempt = done;  // produce() consumes its callback only on success
    auto r = produce(topic, key, value, headers, std::move(attempt));
    if (r || !r.error().retryable) return r;
    poll(50);
  }
}

int Producer::poll(int timeout_ms) { return rd_kafka_poll(rk_.get(), timeout_ms); }

namespace {

// The one place rd_kafka_error_t (the transactional API's errors) is translated.
Producer::TransactionResult transactionResult(rd_kafka_error_t* error, std::string_view call) {
  if (error == nullptr) return {};
  Producer::TransactionError e;
  e.message = std::string(call) + ": " + rd_kafka_error_string(error);
  e.retriable = rd_kafka_error_is_retriable(error) != 0;
  e.requires_abort = rd_kafka_error_txn_requires_abort(error) != 0;
  e.fatal = rd_kafka_error_is_fatal(error) != 0;
  rd_kafka_error_destroy(error);
  return std::unexpected(std::move(e));
}

int timeoutMs(std::chrono::milliseconds timeout) { return static_cast<int>(timeout.count()); }

}  // namespace

Producer::TransactionResult Producer::initTransactions(std::chrono::milliseconds timeout) {
  return transactionResult(rd_kafka_init_transactions(rk_.get(), timeoutMs(timeout)),
                           "init transactions");
}

Producer::TransactionResult Producer::beginTransaction() {
  return transactionResult(rd_kafka_begin_transaction(rk_.get()), "begin transaction");
}

Producer::TransactionResult Producer::sendOffsetsToTransaction(
    const rd_kafka_topic_partition_list_t& offsets, rd_kafka_t* consumer,
    std::chrono::milliseconds timeout) {
  rd_kafka_consumer_group_metadata_t* group = rd_kafka_consumer_group_metadata(consumer);
  rd_kafka_error_t* error =
      rd_kafka_send_offsets_to_transaction(rk_.get(), &offsets, group, timeoutMs(timeout));
  rd_kafka_consumer_group_metadata_destroy(group);
  return transactionResult(error, "send offsets to transaction");
}

Producer::TransactionResult Producer::commitTransaction(std::chrono::milliseconds timeout) {
  return transactionResult(rd_kafka_commit_transaction(rk_.get(), timeoutMs(timeout)),
                           "commit transaction");
}

Producer::TransactionResult Producer::abortTransaction(std::chrono::milliseconds timeout) {
  return transactionResult(rd_kafka_abort_transaction(rk_.get(), timeoutMs(timeout)),
                           "abort transaction");
}

bool Producer::flush(std::chrono::milliseconds timeout) {
  return rd_kafka_flush(rk_.get(), static_cast<int>(timeout.count())) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

// ---- Consumer -------------------------------------------------------------

Properties hotFetchProperties(const Config& config) {
  if (config.hot_fetch_wait_ms <= 0) return {};
  return {{"fetch.min.bytes", std::to_string(kHotFetchMinBytes)},
          {"fetch.wait.max.ms", std::to_string(config.hot_fetch_wait_ms)}};
}

Result<std::unique_ptr<Consumer>> Consumer::create(const Config& config,
                                                   const std::string& group_id,
                                                   RebalanceListener* listener,
                                                   const Properties& extra) {
  Properties props = {
      {"group.id", group_id},
      {"enable.auto.offset.store", "false"},
      {"enable.auto.commit", "true"},
      {"auto.commit.interval.ms", "1000"},
      {"auto.offset.reset", "earliest"},
      // Eager assignor: cooperative-sticky has lost-assignment bugs before 2.6.
      {"partition.assignment.strategy", "range,roundrobin"},
      // Failover: a member that died (SIGKILL, a lost host) holds its partitions until
      // the session times out, so this is the pause after such a fault without static
      // membership (README.md "Failover" has the figures). 6 s is the broker's default
      // group.min.session.timeout.ms. librdkafka heartbeats from its own thread, so a
      // busy role does not miss them; what the session must outlast is a stalled host or
      // network. Heartbeats every 500 ms: the others learn of a rebalance that soon.
      // README.md "Failover" says what to set for faster failover.
      {"session.timeout.ms", "6000"},
      {"heartbeat.interval.ms", "500"},
      {"max.poll.interval.ms", "300000"},
      {"enable.partition.eof", "false"},
      // The default 500 ms leaves records waiting on a quiet partition's next fetch, a
      // latency added at every hop (benchmarks/README.md, "Consumer settings").
      {"fetch.wait.max.ms", "50"},
      // librdkafka's default, stated: records of aborted or still open transactions (the
      // exactly-once router's) are never handed out.
      {"isolation.level", "read_committed"},
  };
  if (const char* instance = std::getenv("HOOKPIPE_INSTANCE_ID"); instance && *instance)
    props["group.instance.id"] = group_id + "-" + instance;
  if (statsInterval().count() > 0)
    props["statistics.interval.ms"] = std::to_string(statsInterval().count());
  for (const auto& [k, v] : extra) props[k] = v;
  std::string error;
  ConfPtr conf = baseConf(config, props, error);
  if (!conf) return fail("kafka consumer config: " + error);
  rd_kafka_conf_set_rebalance_cb(conf.get(), &Consumer::onRebalance);
  auto consumer = std::unique_ptr<Consumer>(new Consumer(listener));
  rd_kafka_conf_set_opaque(conf.get(), consumer.get());
  trackStats(conf.get(), consumer.get(), true);
  // As set in the end (HOOKPIPE_KAFKA_GROUP_INSTANCE_ID may have set it too).
  char instance_id[512] = {};
  size_t size = sizeof instance_id;
  if (rd_kafka_conf_get(conf.get(), "group.instance.id", instance_id, &size) == RD_KAFKA_CONF_OK)
    consumer->instance_id_ = instance_id;
  consumer->conf_ = std::move(conf);
  if (auto r = consumer->open(); !r) return std::unexpected(r.error());
  return consumer;
}

Result<void> Consumer::open() {
  ConfPtr conf(rd_kafka_conf_dup(conf_.get()));  // with the callbacks and the opaque
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) return fail(std::string("kafka consumer: ") + errstr);
  conf.release();
  rk_.reset(rk);
  closed_ = false;
  rd_kafka_poll_set_consumer(rk);
  if (io_fd_ >= 0) {
    rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(rk);
    rd_kafka_queue_io_event_enable(q, io_fd_, io_payload_.data(), io_payload_.size());
    rd_kafka_queue_destroy(q);
  }
  if (!topics_.empty()) return subscribe(std::vector<std::string>(topics_));
  return {};
}

ConsumerCounters& consumerCounters() {
  static ConsumerCounters counters;
  return counters;
}

Consumer::~Consumer() {
  close();
  detail::untrackClient(this);
}

void Consumer::close() {
  if (closed_ || !rk_) return;
  closed_ = true;
  rd_kafka_consumer_close(rk_.get());  // runs the revoke callback, commits stored offsets
}

void Consumer::enableIoEvent(int fd, std::string payload) {
  io_fd_ = fd;
  io_payload_ = std::move(payload);
  rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(rk_.get());
  rd_kafka_queue_io_event_enable(q, io_fd_, io_payload_.data(), io_payload_.size());
  rd_kafka_queue_destroy(q);
}

void Consumer::onRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque) noexcept {
  auto* self = static_cast<Consumer*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_assign(rk, partitions);
    for (int i = 0; i < partitions->cnt; ++i) {
      TopicPartition tp{partitions->elems[i].topic, partitions->elems[i].partition};
      // Paused before this assignment (every revoke resumes what it leaves paused, so
      // this is a pause made while unassigned): it would never be fetched.
      if (self->paused_.contains(tp)) self->unstick(tp, "at assignment", false);
      self->assigned_.insert(std::move(tp));
    }
    if (self->listener_ != nullptr) self->listener_->onAssigned(*partitions);
  } else {
    if (self->listener_ != nullptr) self->listener_->onRevoked(*partitions);
    for (int i = 0; i < partitions->cnt; ++i) {
      TopicPartition tp{partitions->elems[i].topic, partitions->elems[i].partition};
      // The listener forgot to resume it: the pause would outlive the assignment, and
      // the partition, if it comes back here, would never be fetched again.
      if (self->paused_.contains(tp)) self->unstick(tp, "at revoke", false);
      self->assigned_.erase(tp);
    }
    // Commit what was stored before the partitions go to someone else.
    rd_kafka_commit(rk, nullptr, 0);
    rd_kafka_assign(rk, nullptr);
  }
}

void Consumer::unstick(const TopicPartition& tp, const char* found, bool set_position) {
  const uint64_t total = ++consumerCounters().stuck_partitions;
  const auto& [topic, partition] = tp;
  if (!set_position || !assigned_.contains(tp)) {
    // Going away, or just assigned: fetching starts at the committed offset.
    log()->error(
        "partition {}[{}] was left paused {}: resumed; stuck_partitions_total={} (a bug: "
        "every pause needs its resume)",
        topic, partition, found, total);
    resume(topic, partition);
    return;
  }
  std::optional<int64_t> at =
      listener_ != nullptr ? listener_->resumeOffset(topic, partition) : std::nullopt;
  if (!at) {
    PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
    if (rd_kafka_committed(rk_.get(), list.get(), 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        list->elems[0].err == RD_KAFKA_RESP_ERR_NO_ERROR && list->elems[0].offset >= 0)
      at = list->elems[0].offset;
  }
  log()->error(
      "partition {}[{}] was paused with nothing held ({}): resumed at offset={}; "
      "stuck_partitions_total={} (a bug: every pause needs its resume)",
      topic, partition, found, at ? std::to_string(*at) : "fetch position", total);
  if (at)
    resumeAt(topic, partition, *at);
  else
    resume(topic, partition);
}

std::size_t Consumer::checkPauses() {
  next_pause_check_ = std::chrono::steady_clock::now() + kPauseCheckInterval;
  std::vector<TopicPartition> stuck;
  for (const auto& tp : paused_)
    if (listener_ == nullptr || !listener_->holdsPause(tp.first, tp.second)) stuck.push_back(tp);
  for (const auto& tp : stuck) unstick(tp, "by the pause check", true);
  return stuck.size();
}

Result<void> Consumer::subscribe(const std::vector<std::string>& topics) {
  topics_ = topics;
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& t : topics)
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto err = rd_kafka_subscribe(rk_.get(), list.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return std::unexpected(toError(err, "subscribe"));
  return {};
}

MessagePtr Consumer::poll(int timeout_ms) {
  if (!rk_) return nullptr;  // could not be recreated after a fence: fatal() says so
  if (!paused_.empty() && std::chrono::steady_clock::now() >= next_pause_check_) checkPauses();
  MessagePtr msg(rd_kafka_consumer_poll(rk_.get(), timeout_ms));
  if (msg && msg->err == RD_KAFKA_RESP_ERR__FATAL && !fatal_) {
    msg.reset();  // before handleFatal() may destroy the handle it came from
    handleFatal();
    return nullptr;  // recreated: go on polling; or fatal(): the role stops
  }
  return msg;
}

void Consumer::handleFatal() {
  char reason[512] = {};
  const rd_kafka_resp_err_t code = rd_kafka_fatal_error(rk_.get(), reason, sizeof reason);
  if (code != RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID) {
    fatal_ = true;
    log()->critical("fatal consumer error, stopping: {}", reason);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  while (!fences_.empty() && now - fences_.front() > kFenceWindow) fences_.pop_front();
  fences_.push_back(now);
  const auto window_min = std::chrono::duration_cast<std::chrono::minutes>(kFenceWindow).count();
  if (fences_.size() >= static_cast<std::size_t>(kMaxFences)) {
    fatal_ = true;
    log()->critical(
        "consumer fenced {} times in {} min: another live consumer uses "
        "group.instance.id={} and takes the group membership from this one. Check that no two "
        "processes of this role run with the same HOOKPIPE_INSTANCE_ID (each needs its own); "
        "stopping. ({})",
        fences_.size(), window_min, instance_id_, reason);
    return;
  }
  log()->warn(
      "consumer fenced (group.instance.id={}): {}; rejoining with a new consumer, fence {} of {} "
      "in {} min before stopping. A broker restart can fence a consumer by itself; two processes "
      "with the same HOOKPIPE_INSTANCE_ID fence each other over and over.",
      instance_id_, reason, fences_.size(), kMaxFences, window_min);
  // Everything assigned is given up (its work finished or let go by the listener, as at
  // any revoke); the new member starts at the committed offsets. The close may already
  // run the revoke callback; what it did not revoke, the listener is told here.
  rd_kafka_consumer_close(rk_.get());
  if (!assigned_.empty() && listener_ != nullptr) {
    PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(assigned_.size())));
    for (const auto& [topic, partition] : assigned_)
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
    listener_->onRevoked(*list);
  }
  assigned_.clear();
  paused_.clear();  // the pauses lived in the old handle
  rk_.reset();
  ++consumerCounters().rejoins;
  if (auto r = open(); !r) {
    fatal_ = true;
    log()->critical("cannot recreate the fenced consumer, stopping: {}", r.error().message);
  }
}

void Consumer::storeOffset(const std::string& topic, int32_t partition, int64_t next_offset) {
  if (!rk_) return;  // not recreated after a fence: the role is stopping
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = next_offset;
  if (auto err = rd_kafka_offsets_store(rk_.get(), list.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR)
    log()->warn("offset store failed topic={} partition={} error={}", topic, partition,
                rd_kafka_err2str(err));
}

void Consumer::commitSync() {
  if (!rk_) return;  // not recreated after a fence: the role is stopping
  auto err = rd_kafka_commit(rk_.get(), nullptr, 0);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
    log()->warn("commit failed error={}", rd_kafka_err2str(err));
}

void Consumer::pause(const std::string& topic, int32_t partition) {
  if (!rk_) return;  // not recreated after a fence: the role is stopping
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  rd_kafka_pause_partitions(rk_.get(), list.get());
  if (paused_.emplace(topic, partition).second && paused_.size() == 1)
    next_pause_check_ = std::chrono::steady_clock::now() + kPauseCheckInterval;
}

void Consumer::resume(const std::string& topic, int32_t partition) {
  if (!rk_) return;  // not recreated after a fence: the role is stopping
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  rd_kafka_resume_partitions(rk_.get(), list.get());
  paused_.erase({topic, partition});
}

void Consumer::resumeAt(const std::string& topic, int32_t partition, int64_t offset) {
  if (!rk_) return;  // not recreated after a fence: the role is stopping
  PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = offset;
  rd_kafka_resume_partitions(rk_.get(), list.get());
  paused_.erase({topic, partition});
  if (rd_kafka_error_t* e = rd_kafka_seek_partitions(rk_.get(), list.get(), 5000)) {
    log()->warn("seek failed topic={} partition={} error={}", topic, partition,
                rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  }
}

// ---- OffsetTracker --------------------------------------------------------

void OffsetTracker::begin(const std::string& topic, int32_t partition, int64_t offset) {
  auto it = parts_.find(Key{topic, partition});
  if (it == parts_.end()) it = parts_.emplace(std::pair{topic, partition}, Part{}).first;
  Part& p = it->second;
  // Until something is stored, the lowest offset begun is where we started: committed.
  if (p.stored < 0 && (p.floor < 0 || offset < p.floor)) p.floor = offset;
  p.pending.insert(std::upper_bound(p.pending.begin(), p.pending.end(), offset), offset);
  p.last_begun = std::max(p.last_begun, offset);
}

std::optional<int64_t> OffsetTracker::finish(const std::string& topic, int32_t partition,
                                             int64_t offset) {
  auto it = parts_.find(Key{topic, partition});
  if (it == parts_.end()) return std::nullopt;  // partition revoked meanwhile
  Part& p = it->second;
  auto pos = std::lower_bound(p.pending.begin(), p.pending.end(), offset);
  if (pos == p.pending.end() || *pos != offset) return std::nullopt;
  p.pending.erase(pos);
  const int64_t next = p.pending.empty() ? p.last_begun + 1 : p.pending.front();
  if (next <= std::max(p.stored, p.floor)) return std::nullopt;
  p.stored = next;
  return next;
}

std::size_t OffsetTracker::pending(const std::string& topic, int32_t partition) const {
  auto it = parts_.find(Key{topic, partition});
  return it == parts_.end() ? 0 : it->second.pending.size();
}

std::size_t OffsetTracker::pending(const rd_kafka_topic_partition_list_t& partitions) const {
  std::size_t n = 0;
  for (int i = 0; i < partitions.cnt; ++i)
    n += pending(partitions.elems[i].topic, partitions.elems[i].partition);
  return n;
}

void OffsetTracker::forget(const rd_kafka_topic_partition_list_t& partitions) {
  for (int i = 0; i < partitions.cnt; ++i)
    forget(partitions.elems[i].topic, partitions.elems[i].partition);
}

std::optional<int64_t> OffsetTracker::lastBegun(const std::string& topic, int32_t partition) const {
  auto it = parts_.find(Key{topic, partition});
  if (it == parts_.end() || it->second.last_begun < 0) return std::nullopt;
  return it->second.last_begun;
}

std::size_t OffsetTracker::pendingTotal() const {
  std::size_t n = 0;
  for (const auto& [_, p] : parts_) n += p.pending.size();
  return n;
}

void OffsetTracker::forget(const std::string& topic, int32_t partition) {
  if (auto it = parts_.find(Key{topic, partition}); it != parts_.end()) parts_.erase(it);
}

// ---- Admin ----------------------------------------------------------------

Result<int> partitionCount(rd_kafka_t* rk, const std::string& topic,
                           std::chrono::milliseconds timeout) {
  // Right after CreateTopics the brokers may not know the topic yet: ask again until
  // `timeout` has passed.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    auto err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
    rd_kafka_topic_destroy(rkt);
    int count = -1;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        count = md->topics[0].partition_cnt;
      rd_kafka_metadata_destroy(md);
    }
    if (count > 0) return count;
    if (std::chrono::steady_clock::now() > deadline) {
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        return std::unexpected(toError(err, "metadata " + topic));
      return fail("topic " + topic + " does not exist", true);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Result<std::pair<int64_t, int64_t>> watermarks(rd_kafka_t* rk, const std::string& topic,
                                               int32_t partition,
                                               std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int64_t low = 0, high = 0;
    auto err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &low, &high, 5000);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return std::make_pair(low, high);
    if (std::chrono::steady_clock::now() > deadline)
      return std::unexpected(toError(err, "watermarks " + topic));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // leader election after creation
  }
}

Result<void> ensureTopics(const Config& config) {
  std::string error;
  ConfPtr conf = baseConf(config, {}, error);
  if (!conf) return fail(error);
  char errstr[512];
  HandlePtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr));
  if (!rk) return fail(std::string("kafka admin: ") + errstr);
  conf.release();

  struct Spec {
    std::string name;
    int partitions;
    Properties configs;
  };
  const std::string week = std::to_string(7LL * 24 * 3600 * 1000);
  std::vector<Spec> specs = {
      {config.topics.events(), config.events_partitions, {}},
      {config.topics.invalid(), 1, {}},
      {config.topics.subscriptions(), 1, {{"cleanup.policy", "compact"}}},
      {config.topics.eventTypes(), 1, {{"cleanup.policy", "compact"}}},
      {config.topics.deliveries(), config.deliveries_partitions, {}},
      {config.topics.dlq(),
       config.retry_partitions,
       {{"retention.ms", std::to_string(30LL * 24 * 3600 * 1000)}}},
      // The attempt log of record (docs/attempts.md), keyed by subscription id.
      {config.topics.attempts(),
       config.attempts_partitions,
       {{"retention.ms", std::to_string(config.attempts_retention.count())}}},
  };
  for (auto tier : config.retry_tiers)
    specs.push_back(
        {config.topics.retryTier(tier), config.retry_partitions, {{"retention.ms", week}}});

  std::vector<rd_kafka_NewTopic_t*> topics;
  for (const auto& s : specs) {
    rd_kafka_NewTopic_t* t =
        rd_kafka_NewTopic_new(s.name.c_str(), s.partitions, 1, errstr, sizeof errstr);
    if (t == nullptr) {
      for (auto* x : topics) rd_kafka_NewTopic_destroy(x);
      return fail("topic " + s.name + ": " + errstr);
    }
    for (const auto& [k, v] : s.configs) rd_kafka_NewTopic_set_config(t, k.c_str(), v.c_str());
    topics.push_back(t);
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(options, 30000, errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_request_timeout(options, 30000, errstr, sizeof errstr);
  rd_kafka_CreateTopics(rk.get(), topics.data(), topics.size(), options, queue);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 60000);
  Result<void> result;
  if (ev == nullptr) {
    result =
        fail("create topics: no answer from the brokers at " + config.brokers + " in 60 s", true);
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    result = fail(std::string("create topics: ") + rd_kafka_event_error_string(ev), true);
  } else {
    const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; ++i) {
      auto err = rd_kafka_topic_result_error(results[i]);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        result = fail(std::string("create topic ") + rd_kafka_topic_result_name(results[i]) + ": " +
                      (rd_kafka_topic_result_error_string(results[i]) ?: rd_kafka_err2str(err)));
        break;
      }
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(queue);
  for (auto* t : topics) rd_kafka_NewTopic_destroy(t);
  return result;
}

}  // namespace hookpipe::kafka
