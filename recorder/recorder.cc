#include "recorder/recorder.h"

#include <algorithm>
#include <charconv>

#include "common/attempts/record.h"
#include "common/log/log.h"

namespace hookpipe::recorder {
namespace {

constexpr auto kMinBackoff = std::chrono::milliseconds(250);
constexpr auto kMaxBackoff = std::chrono::milliseconds(5000);
constexpr auto kRebuildWait = std::chrono::seconds(1);
constexpr auto kReportInterval = std::chrono::seconds(10);
// A flush can carry 20,000 records: give its script call time.
constexpr auto kRedisTimeout = std::chrono::seconds(10);

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("recorder");
  return l;
}

std::optional<int64_t> parseOffset(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0) return std::nullopt;
  return v;
}

}  // namespace

Recorder::Recorder(const Config& config, metrics::Registry& registry, Options options)
    : config_(config),
      options_(options),
      topic_(config.topics.attempts()),
      keys_(config.topics.prefix),
      aggregator_options_{config.log_retention, config.log_max_per_subscription},
      redis_(config.redis_host, config.redis_port, kRedisTimeout),
      applier_(redis_, keys_),
      metrics_(registry) {}

Recorder::~Recorder() = default;

Result<std::unique_ptr<Recorder>> Recorder::create(const Config& config,
                                                   metrics::Registry& registry, Options options) {
  std::unique_ptr<Recorder> r(new Recorder(config, registry, options));
  auto consumer = kafka::Consumer::create(config, config.groupId("recorder"), r.get());
  if (!consumer) return std::unexpected(consumer.error());
  r->consumer_ = std::move(*consumer);
  if (auto s = r->consumer_->subscribe({r->topic_}); !s) return std::unexpected(s.error());
  return r;
}

int Recorder::run(const std::atomic<bool>& stop) {
  warnIfEvicting();
  next_flush_ = std::chrono::steady_clock::now() + options_.flush_interval;
  last_report_ = std::chrono::steady_clock::now();
  while (!stop && !consumer_->fatal()) {
    const auto now = std::chrono::steady_clock::now();
    for (auto& [p, part] : parts_)
      if (part.state == State::kStarting && now >= part.retry_at && now >= redis_retry_at_)
        start(p, part);
    if (now >= next_flush_) {
      next_flush_ = now + options_.flush_interval;
      flushAll();
    }
    if (now - last_report_ >= kReportInterval) {
      last_report_ = now;
      report();
    }
    // A burst is polled without a timeout; an idle recorder wakes every 100 ms.
    int timeout_ms = 100;
    for (int burst = 0; burst < 10'000; ++burst) {
      kafka::MessagePtr msg = consumer_->poll(timeout_ms);
      if (!msg) break;
      timeout_ms = 0;
      if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        take(msg.get());
      } else if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        log()->warn("consumer error={}", rd_kafka_message_errstr(msg.get()));
      }
      if (std::chrono::steady_clock::now() >= next_flush_) break;
    }
  }
  flushAll();
  consumer_->close();  // revokes: flushes again what came in since (nothing, normally)
  report();
  return consumer_->fatal() ? 1 : 0;
}

void Recorder::take(const rd_kafka_message_t* msg) {
  auto it = parts_.find(msg->partition);
  // Fetched before the partition was paused, or while it restarts: it is fetched again
  // from the offset the partition starts at.
  if (it == parts_.end() || it->second.state != State::kRunning || it->second.paused) return;
  Part& part = it->second;
  if (msg->offset < part.next) {
    metrics_.skipped.inc();
    return;
  }
  if (msg->offset > part.next) {
    // A seek made right after the assignment can lose to librdkafka's own start at the
    // committed offset (it arrives later): seek back to `next` once. A gap that is still
    // there afterwards is real (transaction markers, retention).
    if (!part.gap_seen) {
      part.gap_seen = true;
      log()->info("partition={} record at offset={} while expecting {}: seeking back",
                  msg->partition, msg->offset, part.next);
      pausePart(msg->partition, part);
      resumePart(msg->partition, part);
      return;
    }
  }
  part.gap_seen = false;
  const std::string_view json = kafka::payloadOf(msg);
  auto record = attempts::parse(json);
  std::string bad_time;
  if (record) {
    rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
    const int64_t ts = rd_kafka_message_timestamp(msg, &type);
    bad_time = implausibleFinish(
        record->finished_ms, type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts, kafka::nowMs());
    if (!bad_time.empty()) metrics_.bad_times.inc();
  }
  if (record && bad_time.empty()) {
    part.aggregate.add(*record, json);
  } else {
    const uint64_t bad = metrics_.bad_records.value() + 1;
    if (bad <= 10 || bad % 1000 == 0)
      log()->warn("bad record partition={} offset={} error=\"{}\" bad_records_total={}",
                  msg->partition, msg->offset, record ? bad_time : record.error().message, bad);
    metrics_.bad_records.inc();
  }
  part.next = msg->offset + 1;
  part.dirty = true;
  if (full(part.aggregate, options_) && !flush(msg->partition, part) &&
      part.state == State::kRunning && full(part.aggregate, options_)) {
    // Redis does not take it: stop this partition at one flush's worth, so the flush that
    // succeeds later is no bigger than a normal one (a script blocks Redis while it runs).
    part.held = true;
    pausePart(msg->partition, part);
  }
  if (!held_for_redis_ &&
      (unflushed() >= options_.max_unflushed || unflushedBytes() >= options_.max_unflushed_bytes)) {
    // Redis is not taking flushes: stop reading (nothing is lost) until it does.
    held_for_redis_ = true;
    for (auto& [p, other] : parts_)
      if (other.state == State::kRunning) pausePart(p, other);
    log()->warn("unflushed={} reached max_unflushed: partitions paused until Redis takes a flush",
                unflushed());
  }
}

bool Recorder::start(int32_t partition, Part& part) {
  auto offset = applier_.readOffset(partition);
  if (!offset) {
    redisFailed(offset.error());
    return false;
  }
  redisOk();
  if (*offset && (*offset)->starts_with(kRebuildingOffset)) {
    // A rebuild owns the index: wait until it writes this partition's offset.
    if (part.retry_at == std::chrono::steady_clock::time_point{})
      log()->info("partition={} waits for a rebuild of the index", partition);
    part.retry_at = std::chrono::steady_clock::now() + kRebuildWait;
    return false;
  }
  if (*offset && (*offset)->starts_with(kFailedOffset)) {
    // A flush failed half-way in the script: what it wrote cannot be told apart from what
    // it did not, so nobody applies this partition again until a rebuild.
    log()->error(
        "partition={} key={} holds \"{}\": a flush failed half-way; waiting for `hookpipe "
        "recorder --rebuild` (deleting the key would count records twice)",
        partition, keys_.offset(partition), **offset);
    part.retry_at = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    return false;
  }
  std::optional<int64_t> at;
  if (*offset) {
    at = parseOffset(**offset);
    if (!at) {
      log()->error(
          "partition={} key={} holds \"{}\", not an offset: waiting (delete the key or "
          "run `hookpipe recorder --rebuild`)",
          partition, keys_.offset(partition), **offset);
      part.retry_at = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      return false;
    }
  }
  if (!at) {
    // A fresh index: from the partition's first record.
    int64_t low = 0;
    int64_t high = 0;
    const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
        consumer_->handle(), topic_.c_str(), partition, &low, &high, 5000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log()->warn("partition={} watermarks: {} (trying again)", partition, rd_kafka_err2str(err));
      part.retry_at = std::chrono::steady_clock::now() + kRebuildWait;
      return false;
    }
    at = low;
  }
  part.applied = offset->value_or("");
  part.next = *at;
  part.dirty = false;
  part.aggregate.clear();
  part.state = State::kRunning;
  part.held = false;
  part.retry_at = {};
  if (!held_for_redis_) resumePart(partition, part);
  log()->info("partition={} starts at offset={}{}", partition, *at,
              part.applied.empty() ? " (a fresh index: its first record)" : "");
  return true;
}

bool Recorder::flush(int32_t partition, Part& part) {
  if (part.state != State::kRunning || !part.dirty) return true;
  if (std::chrono::steady_clock::now() < redis_retry_at_) return false;
  const auto began = std::chrono::steady_clock::now();
  const Ops ops = part.aggregate.ops(kafka::nowMs());
  auto applied = applier_.apply(partition, part.applied, std::to_string(part.next), ops);
  metrics_.flush_seconds.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  if (!applied && !applied.error().retryable) {
    // The script failed (not an outage): Redis does not roll a script back, so part of the
    // flush may be written (the script then fenced idx:off:<p> to "failed:..."). Applying
    // it again could count that part twice: this partition stops here, loudly.
    metrics_.flushes_error.inc();
    log()->error(
        "partition={} flush of {} records failed in the script: {}; the partition is "
        "stopped (never applied again; run `hookpipe recorder --rebuild` to recover)",
        partition, part.aggregate.records(), applied.error().message);
    part.state = State::kFailed;
    part.aggregate.clear();
    part.dirty = false;
    part.held = false;
    pausePart(partition, part);
    return true;  // Redis answered: not an outage
  }
  if (!applied) {
    metrics_.flushes_failed.inc();
    redisFailed(applied.error());
    return false;
  }
  redisOk();
  if (*applied) {
    metrics_.flushes_applied.inc();
    metrics_.records.inc(part.aggregate.records());
    part.applied = std::to_string(part.next);
    part.dirty = false;
    part.aggregate.clear();
    consumer_->storeOffset(topic_, partition, part.next);
    if (part.held) {
      part.held = false;
      if (!held_for_redis_) resumePart(partition, part);
    }
  } else {
    // Someone else moved the offset (a rebalance we have not seen yet, a rebuild): what
    // was aggregated is theirs to count. Start again from where the index is.
    metrics_.flushes_fenced.inc();
    log()->warn(
        "partition={} fenced: idx:off moved from \"{}\"; {} records dropped, reading "
        "the offset again",
        partition, part.applied, part.aggregate.records());
    part.aggregate.clear();
    part.dirty = false;
    part.held = false;
    part.state = State::kStarting;
    pausePart(partition, part);  // run() starts it again
  }
  return true;
}

void Recorder::flushAll() {
  bool ok = true;
  for (auto& [p, part] : parts_) ok = flush(p, part) && ok;
  if (ok && held_for_redis_ && unflushed() < options_.max_unflushed &&
      unflushedBytes() < options_.max_unflushed_bytes) {
    held_for_redis_ = false;
    for (auto& [p, part] : parts_)
      if (part.state == State::kRunning && !part.held) resumePart(p, part);
    log()->info("Redis takes flushes again: partitions resumed");
  }
  metrics_.unflushed.set(static_cast<int64_t>(unflushed()));
}

void Recorder::pausePart(int32_t partition, Part& part) {
  if (part.paused) return;
  consumer_->pause(topic_, partition);
  part.paused = true;
  metrics_.paused_partitions.add(1);
}

void Recorder::resumePart(int32_t partition, Part& part) {
  if (!part.paused) return;
  // A paused partition's prefetched records were purged: seek to where we are.
  consumer_->resumeAt(topic_, partition, part.next >= 0 ? part.next : RD_KAFKA_OFFSET_BEGINNING);
  part.paused = false;
  metrics_.paused_partitions.sub(1);
}

std::size_t Recorder::unflushedBytes() const {
  std::size_t n = 0;
  for (const auto& [_, part] : parts_) n += part.aggregate.bytes();
  return n;
}

void Recorder::warnIfEvicting() {
  // CONFIG may be disabled (renamed, a managed Redis): then nothing is known, nothing said.
  auto r = redis_.pipeline({{"CONFIG", "GET", "maxmemory-policy"}});
  if (!r || (*r)[0]->type != REDIS_REPLY_ARRAY || (*r)[0]->elements != 2) return;
  const redisReply* value = (*r)[0]->element[1];
  if (value->type != REDIS_REPLY_STRING) return;
  const std::string policy(value->str, value->len);
  if (evictsKeysWithoutExpiry(policy))
    log()->warn(
        "redis maxmemory-policy={}: Redis may evict the index's offsets (idx:off:*) and a "
        "recorder would then count records again; run the index's Redis with "
        "maxmemory-policy noeviction or volatile-* (recorder/README.md)",
        policy);
}

std::size_t Recorder::unflushed() const {
  std::size_t n = 0;
  for (const auto& [_, part] : parts_) n += part.aggregate.records();
  return n;
}

void Recorder::redisFailed(const Error& error) {
  backoff_ = std::min<std::chrono::milliseconds>(
      kMaxBackoff, std::max<std::chrono::milliseconds>(kMinBackoff, backoff_ * 2));
  redis_retry_at_ = std::chrono::steady_clock::now() + backoff_;
  if (!redis_down_) {
    redis_down_ = true;
    log()->warn("redis unavailable: {} (aggregating up to {} records, retrying)", error.message,
                options_.max_unflushed);
  }
}

void Recorder::redisOk() {
  backoff_ = std::chrono::milliseconds(0);
  redis_retry_at_ = {};
  if (redis_down_) {
    redis_down_ = false;
    log()->info("redis available again");
  }
}

void Recorder::report() {
  const auto& counters = kafka::consumerCounters();
  log()->info(
      "records={} bad_records={} skipped={} flushes_applied={} flushes_fenced={} "
      "flushes_failed={} unflushed={} partitions={} paused={} stuck_partitions={} "
      "consumer_rejoins={}",
      metrics_.records.value(), metrics_.bad_records.value(), metrics_.skipped.value(),
      metrics_.flushes_applied.value(), metrics_.flushes_fenced.value(),
      metrics_.flushes_failed.value(), unflushed(), parts_.size(),
      metrics_.paused_partitions.value(), counters.stuck_partitions.load(),
      counters.rejoins.load());
}

void Recorder::onAssigned(const rd_kafka_topic_partition_list_t& partitions) {
  for (int i = 0; i < partitions.cnt; ++i) {
    const auto& tp = partitions.elems[i];
    if (topic_ != tp.topic) continue;
    auto [it, _] = parts_.try_emplace(tp.partition, Aggregator(keys_, aggregator_options_));
    // Nothing is read before the partition's offset is known (run() starts it).
    pausePart(tp.partition, it->second);
  }
}

void Recorder::onRevoked(const rd_kafka_topic_partition_list_t& partitions) {
  for (int i = 0; i < partitions.cnt; ++i) {
    const auto& tp = partitions.elems[i];
    auto it = parts_.find(tp.partition);
    if (topic_ != tp.topic || it == parts_.end()) continue;
    // One try: if Redis does not take it, the next owner reads the records again from
    // the offset the index holds.
    redis_retry_at_ = {};
    flush(tp.partition, it->second);
    if (it->second.paused) {
      consumer_->resume(topic_, tp.partition);
      metrics_.paused_partitions.sub(1);
    }
    parts_.erase(it);
  }
  metrics_.unflushed.set(static_cast<int64_t>(unflushed()));
}

bool Recorder::holdsPause(const std::string& topic, int32_t partition) const {
  auto it = parts_.find(partition);
  return topic == topic_ && it != parts_.end() && it->second.paused;
}

std::optional<int64_t> Recorder::resumeOffset(const std::string& topic, int32_t partition) const {
  auto it = parts_.find(partition);
  if (topic != topic_ || it == parts_.end() || it->second.next < 0) return std::nullopt;
  return it->second.next;
}

}  // namespace hookpipe::recorder
