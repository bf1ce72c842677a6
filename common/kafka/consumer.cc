// kafka.h's group consumer (Consumer: pauses, fencing, offsets) and OffsetTracker.
#include <algorithm>

#include "common/kafka/kafka.h"
#include "common/kafka/stats.h"
#include "common/log/log.h"

namespace hookpipe::kafka {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("kafka");
  return l;
}

}  // namespace

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
      // Which client of which role a broker's request logs and quotas, and the
      // kafka_requests_total metric, speak of.
      {"client.id", group_id},
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
  detail::trackStats(conf.get(), consumer.get(), true);
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

}  // namespace hookpipe::kafka
