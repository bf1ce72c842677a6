// kafka.h's messages and headers, the configuration every client starts from, and the
// idempotent (optionally transactional) Producer. Consumer: consumer.cc; topics: admin.cc.
#include "common/kafka/kafka.h"

#include <algorithm>
#include <cstring>

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
  detail::trackStats(conf.get(), producer.get(), false);
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

}  // namespace hookpipe::kafka
