#include "deliverer/deliverer.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <limits>

#include "common/json/event.h"
#include "common/log/log.h"
#include "common/retry/policy.h"

namespace hookpipe::deliverer {
namespace {

constexpr auto kDrainBudget = std::chrono::seconds(10);
// A rate-limited lane asks Redis for tokens at most this often (so one round trip
// covers every delivery that became due meanwhile), and drops tokens it held this long.
constexpr int64_t kMinAskSpacingMs = 10;
constexpr int64_t kTokenLifetimeMs = 1000;
// A delivery that found its endpoint busy and no room to wait comes back after this.
constexpr int64_t kBusyParkMs = 1000;
constexpr auto kBudgetStall = std::chrono::milliseconds(kBusyParkMs);
constexpr int64_t kMaxParkMs = 10 * 60'000;
// A paused subscription's deliveries come back every so often to see whether it was resumed:
// after the shortest tier at first, then as long as it has been paused, up to this.
constexpr int64_t kMaxPausedParkMs = 60'000;
constexpr std::size_t kMarksPerFlush = 512;
constexpr auto kSlowAfter = std::chrono::milliseconds(1000);
constexpr auto kMarksFlushInterval = std::chrono::milliseconds(20);
constexpr auto kKeptMarksRetryInterval = std::chrono::seconds(1);

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("deliverer");
  return l;
}

int64_t steadyUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

RecentIds::RecentIds(std::size_t capacity)
    : ring_(std::max<std::size_t>(1, capacity)), used_(ring_.size(), false) {
  std::size_t size = 2;
  while (size < 2 * ring_.size()) size *= 2;
  table_.resize(size);
  mask_ = size - 1;
}

std::size_t RecentIds::find(std::string_view id, uint32_t hash) const {
  for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
    const Entry& e = table_[i];
    if (e.slot == 0) return kNone;
    if (e.hash == hash && ring_[e.slot - 1] == id) return i;
  }
}

void RecentIds::insert(std::string_view id) {
  const uint32_t hash = hashOf(id);
  if (find(id, hash) != kNone) return;
  if (used_[next_]) {  // evict the oldest: its entry leaves the table
    const std::string& old = ring_[next_];
    eraseAt(find(old, hashOf(old)));
  }
  ring_[next_].assign(id);  // reuses the slot's buffer
  used_[next_] = true;
  std::size_t i = hash & mask_;
  while (table_[i].slot != 0) i = (i + 1) & mask_;
  table_[i] = {static_cast<uint32_t>(next_ + 1), hash};
  next_ = (next_ + 1) % ring_.size();
}

void RecentIds::eraseAt(std::size_t at) {
  // Backward-shift deletion for linear probing: an entry after the hole moves into it
  // unless its home index lies cyclically in (hole, entry].
  std::size_t hole = at;
  for (std::size_t j = (hole + 1) & mask_; table_[j].slot != 0; j = (j + 1) & mask_) {
    const std::size_t home = table_[j].hash & mask_;
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    table_[hole] = table_[j];
    hole = j;
  }
  table_[hole] = {};
}

// One HTTP attempt: in Deliverer::in_flight_ while out (at index `slot`), then back in
// the idle pool. Owns its easy handle, whose CURLOPT_PRIVATE points back here.
struct Deliverer::Request {
  Request() : easy(curl_easy_init()) {}
  ~Request() { curl_easy_cleanup(easy); }
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  CURL* easy;
  Pending p;
  std::shared_ptr<const Subscription> sub;
  webhook::Request http;
  int64_t started_us = 0;
  std::size_t slot = 0;
};

Deliverer::Deliverer(const Config& config, SubscriptionTable& table, Shared& shared, int worker)
    : config_(config),
      table_(table),
      shared_(shared),
      metrics_(shared.metrics),
      worker_(worker),
      http_options_(webhook::requestOptions(config)),
      redis_(config.redis_host, config.redis_port),
      delivered_(redis_, config.topics.prefix,
                 std::chrono::duration_cast<std::chrono::seconds>(config.delivered_ttl)),
      limiter_(redis_, config.topics.prefix) {}

Deliverer::~Deliverer() {
  for (auto& req : in_flight_) curl_multi_remove_handle(multi_.get(), req->easy);
  in_flight_.clear();  // the easy handles go before the multi handle
  idle_requests_.clear();
  for (int fd : wake_fds_)
    if (fd >= 0) ::close(fd);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

Result<std::unique_ptr<Deliverer>> Deliverer::create(const Config& config, SubscriptionTable& table,
                                                     Shared& shared, int worker) {
  std::unique_ptr<Deliverer> d(new Deliverer(config, table, shared, worker));
  // A failed produce is retried by handOff(); librdkafka itself never gives up.
  auto producer = kafka::Producer::create(config, {{"message.timeout.ms", "0"}});
  if (!producer) return std::unexpected(producer.error());
  d->producer_ = std::move(*producer);
  d->hand_off_ = std::make_unique<kafka::HandOff>(*d->producer_);
  const std::string group = config.groupId("deliverer");
  kafka::Properties extra;
  // Static membership (HOOKPIPE_INSTANCE_ID) needs one id per consumer: worker 0 keeps
  // the plain one, the others add their index.
  if (const char* instance = std::getenv("HOOKPIPE_INSTANCE_ID");
      instance != nullptr && *instance != '\0' && worker > 0)
    extra["group.instance.id"] = group + "-" + instance + "-w" + std::to_string(worker);
  auto consumer = kafka::Consumer::create(config, group, d.get(), extra);
  if (!consumer) return std::unexpected(consumer.error());
  d->consumer_ = std::move(*consumer);
  d->multi_.reset(curl_multi_init());
  if (!d->multi_) return fail("curl_multi_init failed");
  curl_multi_setopt(d->multi_.get(), CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  // Event-driven curl: it tells us which sockets to watch and when its next timeout is,
  // and only the sockets that are ready are processed (curl_multi_perform would walk
  // every transfer on every call, a cost that grows with the number in flight).
  curl_multi_setopt(d->multi_.get(), CURLMOPT_SOCKETFUNCTION, &Deliverer::onCurlSocket);
  curl_multi_setopt(d->multi_.get(), CURLMOPT_SOCKETDATA, d.get());
  curl_multi_setopt(d->multi_.get(), CURLMOPT_TIMERFUNCTION, &Deliverer::onCurlTimer);
  curl_multi_setopt(d->multi_.get(), CURLMOPT_TIMERDATA, d.get());
  d->epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (d->epoll_fd_ < 0) return fail("epoll_create1 failed");
  if (::pipe2(d->wake_fds_, O_NONBLOCK | O_CLOEXEC) != 0) return fail("pipe2 failed");
  epoll_event wake_event{};
  wake_event.events = EPOLLIN;
  wake_event.data.fd = d->wake_fds_[0];
  if (::epoll_ctl(d->epoll_fd_, EPOLL_CTL_ADD, d->wake_fds_[0], &wake_event) != 0)
    return fail("epoll_ctl failed");
  // Through the Consumer, which enables it again on a consumer recreated after a fence.
  d->consumer_->enableIoEvent(d->wake_fds_[1], "c");
  rd_kafka_queue_t* q = rd_kafka_queue_get_main(d->producer_->handle());
  rd_kafka_queue_io_event_enable(q, d->wake_fds_[1], "p", 1);
  rd_kafka_queue_destroy(q);
  if (auto r = d->consumer_->subscribe({config.topics.deliveries()}); !r)
    return std::unexpected(r.error());
  return d;
}

int Deliverer::run(const std::atomic<bool>& stop) {
  auto last_report = std::chrono::steady_clock::now();
  while (!stop && !shared_.halt && !consumer_->fatal()) {
    hand_off_->pump(0);
    std::vector<Pending> batch;
    // Intake stops while the request window is full or the waiting budget is spent.
    // Requests out for over a second (a hanging endpoint, at most its cap) cost curl
    // nothing while they wait, so they do not hold the window from the others — up to
    // three more windows' worth.
    if (auto now = std::chrono::steady_clock::now(); now - last_slow_count_ > kSlowAfter / 10) {
      last_slow_count_ = now;
      const int64_t cutoff = steadyUs() - kSlowAfter.count() * 1000;
      slow_in_flight_ = static_cast<std::size_t>(
          std::count_if(in_flight_.begin(), in_flight_.end(),
                        [cutoff](const auto& r) { return r->started_us < cutoff; }));
    }
    const std::size_t window =
        config_.max_in_flight + std::min(slow_in_flight_, 3 * config_.max_in_flight);
    std::size_t room = window - std::min(window, in_flight_.size());
    // A spent waiting budget stops intake for a moment, as backpressure: the lanes of
    // endpoints that keep up drain in well under a second. Past that, intake goes on and
    // what cannot go at once is parked (admit()): lanes stuck behind slow endpoints must
    // not hold up this worker's other partitions, nor keep it from polling for longer than
    // max.poll.interval.ms (the group would evict it).
    if (waiting_total_ >= config_.max_waiting) {
      const auto now = std::chrono::steady_clock::now();
      if (!budget_spent_since_) budget_spent_since_ = now;
      if (now - *budget_spent_since_ < kBudgetStall) room = 0;
    } else {
      budget_spent_since_.reset();
    }
    while (batch.size() < room) {
      kafka::MessagePtr msg = consumer_->poll(0);
      if (!msg) break;
      if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log()->warn("consumer error={}", rd_kafka_message_errstr(msg.get()));
        continue;
      }
      next_offset_[msg->partition] = msg->offset + 1;
      batch.push_back({kafka::OwnedMessage::copyOf(msg.get(), false),
                       kafka::PackedHeaders::of(msg.get()),
                       records::DeliveryMeta::fromMessage(msg.get())});
    }
    if (!batch.empty()) intake(std::move(batch));
    if (!busy_lanes_.empty()) pumpLanes();
    flushDeliveredMarks();
    // Lanes waiting for a token, a slot or a retry time are looked at again soon.
    const int timeout_ms = !busy_lanes_.empty()                        ? kMinAskSpacingMs
                           : in_flight_.size() < config_.max_in_flight ? 200
                                                                       : 1000;
    driveCurl(timeout_ms);
    if (auto now = std::chrono::steady_clock::now(); now - last_report > std::chrono::seconds(10)) {
      last_report = now;
      log()->info(
          "worker={} delivered={} retried={} dead_lettered={} parked={} duplicates_skipped={} "
          "unknown_subscription={} in_flight={} waiting={} breakers_open={} breakers_opened={} "
          "breakers_closed={} breaker_cut_short={} throttle_backoffs={} partitions_held={} "
          "rate_limit_round_trips={}",
          worker_, metrics_.delivered.load(), metrics_.retried.load(),
          metrics_.dead_lettered.load(), metrics_.parked.load(), metrics_.duplicates_skipped.load(),
          metrics_.unknown_subscription.load(), in_flight_.size(), waiting_total_,
          shared_.governor.openBreakers(), shared_.governor.breaker_opened.load(),
          shared_.governor.breaker_closed.load(), metrics_.cut_short.load(),
          shared_.governor.throttle_backoffs.load(),
          partition_holds_.size(), limiter_.round_trips.load());
    }
  }
  log()->info("worker={} stopping: draining in_flight={}", worker_, in_flight_.size());
  drain([this] { return in_flight_.empty() && hand_off_->waitingToResend() == 0; }, kDrainBudget);
  flushDeliveredMarks(true);
  producer_->flush(kDrainBudget);
  consumer_->close();
  if (consumer_->fatal()) shared_.halt = true;
  log()->info(
      "stopped worker={} delivered={} parked={} dead_lettered={} duplicates_skipped={} "
      "unknown_subscription={}",
      worker_, metrics_.delivered.load(), metrics_.parked.load(), metrics_.dead_lettered.load(),
      metrics_.duplicates_skipped.load(), metrics_.unknown_subscription.load());
  return consumer_->fatal() ? 1 : 0;
}

bool Deliverer::mayBeDelivered(const kafka::OwnedMessage& m,
                               const records::DeliveryMeta& meta) const {
  // Came back through a tier or a replay: an earlier copy may have been delivered.
  if (meta.attempt > 1 || meta.due_ms != 0 || !meta.replay_id.empty()) return true;
  // Written before this worker took the partition over: its previous owner may have
  // delivered it and died (or lost the partition) before committing the offset.
  auto it = assigned_end_.find(m.partition);
  return it == assigned_end_.end() || m.offset < it->second;
}

void Deliverer::intake(std::vector<Pending> batch) {
  std::vector<std::string> ids;  // the ones Redis is asked about
  std::vector<int> asked(batch.size(), -1);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& m = batch[i].msg;
    tracker_.begin(m.topic, m.partition, m.offset);
    if (mayBeDelivered(m, batch[i].meta)) {
      asked[i] = static_cast<int>(ids.size());
      ids.push_back(batch[i].meta.delivery_id);
    }
  }
  // One round trip for what may have been delivered before; Redis down means "send
  // anyway". A fresh delivery written after the partition was assigned needs no lookup:
  // only this worker can have sent it (a re-routed twin is caught by recent_).
  Result<std::vector<bool>> delivered = std::vector<bool>{};
  if (!ids.empty()) delivered = delivered_.wereDelivered(ids, kafka::nowMs());
  if (!delivered) {
    ++metrics_.redis_errors;
    log()->warn("delivered-id check skipped error={}", delivered.error().message);
  }
  auto known = [&](std::size_t i) {
    const std::string& id = batch[i].meta.delivery_id;
    return (delivered && asked[i] >= 0 && (*delivered)[static_cast<std::size_t>(asked[i])]) ||
           in_flight_ids_.contains(id) || recent_.contains(id);
  };
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const records::DeliveryMeta& meta = batch[i].meta;
    auto sub = table_.find(meta.subscription_id);
    if (!sub) {
      // Deleted subscription: its deliveries are dropped and counted.
      ++metrics_.unknown_subscription;
      log()->debug("dropping delivery of deleted subscription={}", meta.subscription_id);
      finish(batch[i].msg);
    } else if (known(i)) {
      // Delivered already, or the same delivery is in flight right now (a replay or a
      // re-routed copy that overtook the first one's 2xx): that attempt decides.
      ++metrics_.duplicates_skipped;
      log()->debug("skipping delivered id={}", meta.delivery_id);
      finish(batch[i].msg);
    } else if (!sub->is_active) {
      parkPaused(std::move(batch[i]));
    } else {
      admit(std::move(batch[i]), sub);
    }
  }
}

int Deliverer::capOf(const Subscription& sub) const {
  if (sub.ordered) return 1;
  return sub.max_concurrency > 0 ? sub.max_concurrency : config_.endpoint_concurrency;
}

std::size_t Deliverer::laneBound() const {
  // A quarter of the budget: one slow or limited endpoint cannot fill it for the others.
  // (Ordered lanes never park: at their bound they pause their partition.)
  return std::max<std::size_t>(1, config_.max_waiting / 4);
}

void Deliverer::admit(Pending p, const std::shared_ptr<const Subscription>& sub) {
  Lane& lane = lanes_[sub->id];
  const int64_t now = kafka::nowMs();
  // Straight out when nothing waits ahead of it and the endpoint may take it now.
  if (lane.waiting.empty() && !sub->rate_limit.any()) {
    switch (shared_.governor.acquire(sub->id, capOf(*sub), now)) {
      case Governor::Admit::kGo:
        startRequest(std::move(p), sub);
        return;
      case Governor::Admit::kOpen:
        if (!sub->ordered) {
          parkForBreaker(std::move(p), *sub, shared_.governor.view(sub->id).open_until_ms);
          return;
        }
        break;
      case Governor::Admit::kBusy:
        break;
    }
  }
  if (sub->ordered || (lane.waiting.size() < laneBound() && waiting_total_ < config_.max_waiting)) {
    const int32_t partition = p.msg.partition;
    lane.waiting.push_back(std::move(p));
    ++waiting_total_;
    busy_lanes_.insert(sub->id);
    if (sub->ordered && lane.waiting.size() >= laneBound() && lane.holding < 0)
      holdPartition(lane, partition);
    return;
  }
  park(std::move(p), overflowDue(lane, *sub, now));
}

void Deliverer::holdPartition(Lane& lane, int32_t partition) {
  lane.holding = partition;
  if (partition_holds_[partition]++ > 0) return;
  log()->info("worker={} partition={} paused: an ordered subscription's lane is full", worker_,
              partition);
  consumer_->pause(config_.topics.deliveries(), partition);
}

void Deliverer::releaseIfDrained(Lane& lane) {
  if (lane.holding < 0 || lane.waiting.size() > laneBound() / 2) return;
  const int32_t partition = std::exchange(lane.holding, -1);
  auto it = partition_holds_.find(partition);
  if (it == partition_holds_.end() || --it->second > 0) return;
  partition_holds_.erase(it);
  // The pause purged what was fetched beyond intake: fetch again from where it stopped.
  auto next = next_offset_.find(partition);
  if (next == next_offset_.end()) {  // nothing taken in to resume after: never left paused
    consumer_->resume(config_.topics.deliveries(), partition);
    return;
  }
  log()->info("worker={} partition={} resumed at offset={}", worker_, partition, next->second);
  consumer_->resumeAt(config_.topics.deliveries(), partition, next->second);
}

int64_t Deliverer::overflowDue(Lane& lane, const Subscription& sub, int64_t now) {
  // The endpoint's pace: its rate limit, or how fast it has been getting through requests
  // (a hanging one's pace is measured by how long its requests have been out).
  double per = shared_.governor.msPerDelivery(sub.id, capOf(sub), now);
  for (const auto& s : bucketsFor(sub.rate_limit)) per = std::max(per, 1.0 / s.per_ms);
  // Due when the lane ahead of it should have drained, and after the ones parked before it
  // by one delivery's time each: a burst comes back at the pace it can go out, instead of
  // all at once to be parked again (a hanging endpoint's backlog cycled through the tiers
  // every second). Never sooner than kBusyParkMs, never later than kMaxParkMs.
  const double lane_ahead = static_cast<double>(lane.waiting.size()) * per;
  const double due =
      std::clamp(std::max(static_cast<double>(now) + lane_ahead, lane.park_cursor_ms),
                 static_cast<double>(now + kBusyParkMs), static_cast<double>(now + kMaxParkMs));
  lane.park_cursor_ms = due + per;
  return static_cast<int64_t>(due);
}

void Deliverer::pumpLanes() {
  const int64_t now = kafka::nowMs();
  struct Ready {
    Lane* lane;
    std::shared_ptr<const Subscription> sub;
    int slots;
  };
  std::vector<Ready> ready;
  std::vector<RateLimiter::Ask> asks;
  std::vector<std::size_t> ask_of;  // index into `ready` for each ask
  for (auto it = busy_lanes_.begin(); it != busy_lanes_.end();) {
    const std::string& id = *it;
    Lane& lane = lanes_[id];
    auto sub = table_.find(id);
    auto take_all = [&] {
      std::deque<Pending> all = std::move(lane.waiting);
      lane.waiting.clear();
      waiting_total_ -= all.size();
      releaseIfDrained(lane);
      return all;
    };
    releaseIfDrained(lane);
    if (lane.waiting.empty()) {
      it = busy_lanes_.erase(it);
      continue;
    }
    if (!sub) {
      for (auto& p : take_all()) {
        ++metrics_.unknown_subscription;
        finish(p.msg);
      }
      it = busy_lanes_.erase(it);
      continue;
    }
    if (!sub->is_active) {
      for (auto& p : take_all()) parkPaused(std::move(p));
      it = busy_lanes_.erase(it);
      continue;
    }
    const int slots = shared_.governor.available(id, capOf(*sub), now);
    const auto breaker = shared_.governor.view(id);
    if (breaker.state == BreakerState::kOpen && !sub->ordered) {
      for (auto& p : take_all()) parkForBreaker(std::move(p), *sub, breaker.open_until_ms);
      it = busy_lanes_.erase(it);
      continue;
    }
    ++it;
    if (slots <= 0 || lane.waiting.front().not_before_ms > now) continue;
    ready.push_back({&lane, sub, slots});
    if (sub->rate_limit.any()) {
      if (lane.tokens > 0 && now - lane.tokens_at_ms > kTokenLifetimeMs) lane.tokens = 0;
      const int64_t want =
          std::min<int64_t>(slots, static_cast<int64_t>(lane.waiting.size())) - lane.tokens;
      if (want > 0 && now >= lane.next_ask_ms) {
        asks.push_back({id, sub->rate_limit, want});
        ask_of.push_back(ready.size() - 1);
      }
    }
  }
  if (!asks.empty()) {
    const auto grants = limiter_.acquire(asks, now);
    for (std::size_t i = 0; i < grants.size(); ++i) {
      Lane& lane = *ready[ask_of[i]].lane;
      if (grants[i].granted > 0) {
        lane.tokens += grants[i].granted;
        lane.tokens_at_ms = now;
      }
      lane.next_ask_ms = now + std::max(kMinAskSpacingMs,
                                        grants[i].granted < asks[i].demand ? grants[i].wait_ms : 0);
    }
  }
  for (auto& r : ready) {
    Lane& lane = *r.lane;
    const bool limited = r.sub->rate_limit.any();
    for (int n = 0; n < r.slots && !lane.waiting.empty(); ++n) {
      if (limited && lane.tokens <= 0) break;
      if (lane.waiting.front().not_before_ms > now) break;
      if (shared_.governor.acquire(r.sub->id, capOf(*r.sub), now) != Governor::Admit::kGo) break;
      if (limited) --lane.tokens;
      Pending p = std::move(lane.waiting.front());
      lane.waiting.pop_front();
      --waiting_total_;
      startRequest(std::move(p), r.sub);
    }
  }
}

std::unique_ptr<Deliverer::Request> Deliverer::takeRequest() {
  if (idle_requests_.empty()) return std::make_unique<Request>();
  auto req = std::move(idle_requests_.back());
  idle_requests_.pop_back();
  // No curl_easy_reset(): webhook::Request::prepare() sets every option it uses each
  // time, and a reset costs a round of frees and allocations per request.
  return req;
}

void Deliverer::putInFlight(std::unique_ptr<Request> req) {
  req->slot = in_flight_.size();
  in_flight_ids_.insert(req->p.meta.delivery_id);
  in_flight_.push_back(std::move(req));
}

std::unique_ptr<Deliverer::Request> Deliverer::takeFromFlight(Request* req) {
  const std::size_t slot = req->slot;
  std::unique_ptr<Request> owned = std::move(in_flight_[slot]);
  if (slot + 1 != in_flight_.size()) {
    in_flight_[slot] = std::move(in_flight_.back());
    in_flight_[slot]->slot = slot;
  }
  in_flight_.pop_back();
  in_flight_ids_.erase(owned->p.meta.delivery_id);
  curl_multi_remove_handle(multi_.get(), owned->easy);
  return owned;
}

void Deliverer::startRequest(Pending p, std::shared_ptr<const Subscription> sub) {
  auto req = takeRequest();
  req->p = std::move(p);
  req->sub = std::move(sub);
  records::DeliveryMeta& meta = req->p.meta;
  const int64_t now = kafka::nowMs();
  if (meta.first_attempt_ms == 0) meta.first_attempt_ms = now;
  meta.parked_since_ms = 0;  // it goes out: a later pause starts a new max_pause clock
  req->http.prepare(req->easy, *req->sub, meta.delivery_id, req->p.msg.value, signer_,
                    http_options_, now);
  curl_easy_setopt(req->easy, CURLOPT_PRIVATE, req.get());
  req->started_us = steadyUs();
  curl_multi_add_handle(multi_.get(), req->easy);
  putInFlight(std::move(req));
}

int Deliverer::onCurlSocket(CURL*, curl_socket_t fd, int what, void* self, void*) noexcept {
  auto* d = static_cast<Deliverer*>(self);
  if (fd < 0) return 0;
  if (static_cast<std::size_t>(fd) >= d->fd_state_.size())
    d->fd_state_.resize(static_cast<std::size_t>(fd) + 64, FdState::kNone);
  FdState& state = d->fd_state_[static_cast<std::size_t>(fd)];
  if (what == CURL_POLL_REMOVE) {
    if (state == FdState::kWatched) state = FdState::kParked;  // see fd_state_
    return 0;
  }
  epoll_event ev{};
  ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
  ev.data.fd = fd;
  // Parked (or watched) and still open: MOD. Closed meanwhile, its number now another
  // socket's: MOD fails with ENOENT and it is added.
  const bool modified =
      state != FdState::kNone && ::epoll_ctl(d->epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0;
  if (!modified && ::epoll_ctl(d->epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST)
    ::epoll_ctl(d->epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
  state = FdState::kWatched;
  return 0;
}

int Deliverer::onCurlTimer(CURLM*, long timeout_ms, void* self) noexcept {
  auto* d = static_cast<Deliverer*>(self);
  d->curl_deadline_ =
      timeout_ms < 0 ? std::chrono::steady_clock::time_point::max()
                     : std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  return 0;
}

void Deliverer::driveCurl(int timeout_ms) {
  const auto now = std::chrono::steady_clock::now();
  int wait_ms = timeout_ms;
  if (curl_deadline_ != std::chrono::steady_clock::time_point::max())
    wait_ms = static_cast<int>(std::clamp<int64_t>(
        std::chrono::ceil<std::chrono::milliseconds>(curl_deadline_ - now).count(), 0, timeout_ms));
  // Wake on curl's sockets, or on the pipe librdkafka writes to when messages or
  // delivery reports are waiting.
  std::array<epoll_event, 128> events;
  const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), wait_ms);
  int running = 0;
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == wake_fds_[0]) {
      char buf[64];
      while (::read(wake_fds_[0], buf, sizeof buf) > 0) {
      }
      continue;
    }
    if (static_cast<std::size_t>(fd) < fd_state_.size() &&
        fd_state_[static_cast<std::size_t>(fd)] == FdState::kParked) {
      // An idle cached connection stirred (closed by the server, most likely): stop
      // watching it; curl finds out when it next picks the connection.
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      fd_state_[static_cast<std::size_t>(fd)] = FdState::kNone;
      continue;
    }
    int flags = 0;
    if (events[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
    if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (events[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(multi_.get(), fd, flags, &running);
  }
  if (std::chrono::steady_clock::now() >= curl_deadline_) {
    curl_deadline_ = std::chrono::steady_clock::time_point::max();  // curl sets the next
    curl_multi_socket_action(multi_.get(), CURL_SOCKET_TIMEOUT, 0, &running);
  }
  int queued = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_.get(), &queued)) {
    if (m->msg != CURLMSG_DONE) continue;
    Request* req = nullptr;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &req);
    complete(req, m->data.result);
  }
}

void Deliverer::complete(Request* req, CURLcode code) {
  long status = 0;
  curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
  std::unique_ptr<Request> owned = takeFromFlight(req);
  // Back to the pool however this ends (its message has been moved on by then).
  struct Recycle {
    std::vector<std::unique_ptr<Request>>& pool;
    std::unique_ptr<Request>& req;
    ~Recycle() {
      req->sub.reset();
      pool.push_back(std::move(req));
    }
  } recycle{idle_requests_, owned};
  records::DeliveryMeta& meta = owned->p.meta;
  const int64_t now = kafka::nowMs();
  const int64_t duration_us = steadyUs() - owned->started_us;

  const webhook::Outcome outcome = webhook::classify(status, code, owned->http.refused());
  meta.last_status = static_cast<int>(status);
  const bool throttled = status == 429 || status == 503;
  shared_.governor.release(meta.subscription_id,
                           {outcome.verdict == webhook::Verdict::kDelivered,
                            outcome.verdict == webhook::Verdict::kRetry && status != 429, throttled,
                            std::max<int64_t>(0, duration_us / 1000)},
                           now);
  ++metrics_.attempts;
  metrics_.attempt_us_total += static_cast<uint64_t>(std::max<int64_t>(0, duration_us));
  if (shared_.on_attempt)
    shared_.on_attempt({meta.subscription_id, meta.delivery_id, meta.attempt, status, duration_us,
                        outcome.verdict, outcome.error_class});

  if (outcome.verdict == webhook::Verdict::kDelivered) {
    ++metrics_.delivered;
    if (marks_count_ == 0) first_mark_at_ = std::chrono::steady_clock::now();
    if (marks_count_ == delivered_marks_.size()) delivered_marks_.emplace_back();
    delivered_marks_[marks_count_++].assign(meta.delivery_id);
    recent_.insert(meta.delivery_id);
    finish(owned->p.msg);
    return;
  }
  const std::string message = owned->http.failureMessage(code, status);
  if (outcome.disable_subscription) disableSubscription(*owned->sub);
  if (outcome.verdict == webhook::Verdict::kRetry) {
    retryOrDeadLetter(*owned, outcome, message);
  } else {
    meta.error_class = outcome.error_class;
    meta.error_message = message;
    deadLetter(std::move(owned->p), outcome.error_class);
  }
}

void Deliverer::retryOrDeadLetter(Request& req, const webhook::Outcome& outcome,
                                  const std::string& message) {
  records::DeliveryMeta& meta = req.p.meta;
  meta.error_class = outcome.error_class;
  meta.error_message = message;
  auto delay = retry::retryDelay(req.sub->retry_config, meta.attempt, rng_);
  if (!delay) {
    deadLetter(std::move(req.p), "retries_exhausted");
    return;
  }
  if (!req.http.retryAfter().empty())
    if (auto after = webhook::parseRetryAfter(req.http.retryAfter(), kafka::nowMs() / 1000))
      delay = std::max(
          *delay, std::min(*after, std::chrono::milliseconds(req.sub->retry_config.max_delay_ms)));
  ++metrics_.retried;
  meta.attempt += 1;
  meta.due_ms = kafka::nowMs() + delay->count();
  if (req.sub->ordered) {
    // Retry in place: it stays at the head of its lane, holding back the ones behind it.
    req.p.not_before_ms = meta.due_ms;
    Lane& lane = lanes_[req.sub->id];
    lane.waiting.push_front(std::move(req.p));
    ++waiting_total_;
    busy_lanes_.insert(req.sub->id);
    return;
  }
  kafka::HeaderList headers = req.p.headers.unpack();
  meta.writeTo(headers);
  const int tier = retry::chooseTier(config_.retry_tiers, *delay);
  std::string topic =
      tier < 0 ? config_.topics.deliveries() : config_.topics.retryTier(config_.retry_tiers[tier]);
  handOff(std::move(topic), std::move(req.p.msg), std::move(headers));
}

void Deliverer::park(Pending p, int64_t due_ms) {
  ++metrics_.parked;
  const int64_t now = kafka::nowMs();
  p.meta.due_ms = std::max(due_ms, now + 1);
  kafka::HeaderList headers = p.headers.unpack();
  p.meta.writeTo(headers);
  // Never straight back to `deliveries`: a tier holds it until due_ms.
  const int tier = std::max(
      0, retry::chooseTier(config_.retry_tiers, std::chrono::milliseconds(p.meta.due_ms - now)));
  handOff(config_.topics.retryTier(config_.retry_tiers[tier]), std::move(p.msg),
          std::move(headers));
}

void Deliverer::parkForBreaker(Pending p, const Subscription& sub, int64_t open_until_ms) {
  const int64_t now = kafka::nowMs();
  records::DeliveryMeta& meta = p.meta;
  // Time held back counts against the schedule: a delivery first seen by an open breaker
  // starts its clock now (first_attempt_ms is "its first chance", attempted or not).
  if (meta.first_attempt_ms == 0) meta.first_attempt_ms = now;
  const int64_t deadline = meta.first_attempt_ms + retry::horizon(sub.retry_config).count();
  if (now > deadline) {
    ++metrics_.cut_short;
    meta.error_message = "cut short by an open circuit breaker: the retry policy's horizon passed" +
                         (meta.error_message.empty() ? std::string()
                                                     : "; last error: " + meta.error_message);
    if (meta.error_class.empty()) meta.error_class = "breaker_open";
    deadLetter(std::move(p), "breaker_open");
    return;
  }
  // Back when it reopens (half-open: a probe may take it), or just past its deadline if
  // that comes first: then, the breaker still open, it goes to the dead-letter topic.
  park(std::move(p), std::min(open_until_ms, deadline + 1));
}

void Deliverer::parkPaused(Pending p) {
  const int64_t now = kafka::nowMs();
  if (p.meta.parked_since_ms == 0) p.meta.parked_since_ms = now;
  if (now - p.meta.parked_since_ms >= config_.max_pause.count()) {
    p.meta.error_class = "paused";
    p.meta.error_message = "subscription paused for longer than max_pause";
    deadLetter(std::move(p), "paused");
    return;
  }
  const int64_t shortest = config_.retry_tiers.front().count();
  const int64_t wait = std::clamp<int64_t>(now - p.meta.parked_since_ms, shortest,
                                           std::max(kMaxPausedParkMs, shortest));
  park(std::move(p), now + wait);
}

void Deliverer::deadLetter(Pending p, const std::string& reason) {
  ++metrics_.dead_lettered;
  kafka::OwnedMessage& msg = p.msg;
  kafka::HeaderList headers = p.headers.unpack();
  p.meta.deadLetter(reason, kafka::nowMs(), {msg.topic, msg.partition, msg.offset});
  p.meta.writeTo(headers);
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
  // Every request out when the endpoint went away answers 410: one write per version.
  if (!sub.is_active || !shared_.firstToDisable(sub)) return;
  Subscription disabled = sub;
  disabled.is_active = false;
  disabled.updated_at = json::formatTimestamp(kafka::nowMs());
  disabled.disabled_reason = "the endpoint answered 410 Gone at " + disabled.updated_at;
  log()->warn("disabling subscription id={} reason=410_gone", sub.id);
  auto r =
      producer_->produce(config_.topics.subscriptions(), sub.id, toJson(disabled), {}, nullptr);
  if (!r) {
    shared_.forgetDisable(sub);
    log()->error("could not disable subscription id={} error={}", sub.id, r.error().message);
  }
}

void Deliverer::flushDeliveredMarks(bool force) {
  // Marks Redis could not take are kept by the store (bounded) and written with the next
  // flush that reaches it, new marks or not.
  const std::size_t kept = delivered_.unwritten();
  if (marks_count_ == 0 && kept == 0) return;
  const auto now = std::chrono::steady_clock::now();
  // One pipelined round trip per 20 ms or 512 marks, not one per loop (recent_ covers
  // the ids meanwhile); kept marks alone are tried again once a second, so a Redis that is
  // down (or refuses writes) is not sent the whole backlog on every pass of the loop.
  if (!force && marks_count_ < kMarksPerFlush &&
      (marks_count_ > 0 ? now - first_mark_at_ < kMarksFlushInterval : now < kept_retry_at_))
    return;
  kept_retry_at_ = now + kKeptMarksRetryInterval;
  if (auto r = delivered_.markDelivered(
          std::span<const std::string>(delivered_marks_.data(), marks_count_), kafka::nowMs());
      !r) {
    if (marks_count_ > 0) {
      ++metrics_.redis_errors;
      if (now - marks_warned_at_ >= std::chrono::seconds(1)) {
        marks_warned_at_ = now;
        log()->warn(
            "delivered-id marks kept until Redis is back count={} kept={} dropped={} error={}",
            marks_count_, delivered_.unwritten(), delivered_.dropped(), r.error().message);
      }
    }
  } else if (kept > 0) {
    log()->info("delivered-id marks kept during a Redis outage written count={} dropped={}", kept,
                delivered_.dropped());
  }
  marks_count_ = 0;
}

void Deliverer::drain(const std::function<bool()>& done, std::chrono::milliseconds budget) {
  const auto deadline = std::chrono::steady_clock::now() + budget;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    hand_off_->pump(0);
    driveCurl(50);
  }
}

void Deliverer::onAssigned(const rd_kafka_topic_partition_list_t& partitions) {
  // Where each partition ended when it became ours: what lies below may have been
  // delivered by its previous owner and is checked against Redis (mayBeDelivered).
  for (int i = 0; i < partitions.cnt; ++i) {
    const auto& p = partitions.elems[i];
    int64_t low = 0, high = 0;
    const auto err = rd_kafka_query_watermark_offsets(consumer_->handle(), p.topic, p.partition,
                                                      &low, &high, 5000);
    assigned_end_[p.partition] =
        err == RD_KAFKA_RESP_ERR_NO_ERROR ? high : std::numeric_limits<int64_t>::max();
  }
  log()->info("worker={} assigned partitions={}", worker_, partitions.cnt);
}

bool Deliverer::holdsPause(const std::string& topic, int32_t partition) const {
  return topic == config_.topics.deliveries() && partition_holds_.contains(partition);
}

std::optional<int64_t> Deliverer::resumeOffset(const std::string&, int32_t partition) const {
  // Everything before it was taken in and is tracked.
  auto next = next_offset_.find(partition);
  if (next == next_offset_.end()) return std::nullopt;
  return next->second;
}

void Deliverer::onRevoked(const rd_kafka_topic_partition_list_t& partitions) {
  auto revoked = [&partitions](const kafka::OwnedMessage& m) {
    for (int i = 0; i < partitions.cnt; ++i)
      if (partitions.elems[i].partition == m.partition && m.topic == partitions.elems[i].topic)
        return true;
    return false;
  };
  // Deliveries still waiting in lanes belong to the next owner: they were not sent, so
  // they are let go unfinished (their offsets are not stored).
  for (auto& [id, lane] : lanes_) {
    const auto before = lane.waiting.size();
    std::erase_if(lane.waiting, [&](const Pending& p) { return revoked(p.msg); });
    waiting_total_ -= before - lane.waiting.size();
  }
  // Partitions held paused for ordered lanes are let go with them, unpaused (so that a
  // later assignment of the same partition starts fetching).
  for (int i = 0; i < partitions.cnt; ++i) {
    const int32_t partition = partitions.elems[i].partition;
    if (partition_holds_.erase(partition) > 0)
      consumer_->resume(config_.topics.deliveries(), partition);
    next_offset_.erase(partition);
    for (auto& [id, lane] : lanes_)
      if (lane.holding == partition) lane.holding = -1;
  }
  auto revoked_in_flight = [&] {
    return std::any_of(in_flight_.begin(), in_flight_.end(),
                       [&](const auto& r) { return revoked(r->p.msg); });
  };
  log()->info("worker={} revoked partitions={} draining in_flight={}", worker_, partitions.cnt,
              in_flight_.size());
  // In-flight requests and hand-offs of those partitions get a budget to finish.
  drain(
      [&] {
        return !revoked_in_flight() && hand_off_->waitingToResend() == 0 &&
               rd_kafka_outq_len(producer_->handle()) == 0;
      },
      kDrainBudget);
  flushDeliveredMarks(true);
  // Whatever is still running belongs to the next owner now: let it go unfinished.
  for (std::size_t i = in_flight_.size(); i-- > 0;) {
    if (!revoked(in_flight_[i]->p.msg)) continue;
    auto req = takeFromFlight(in_flight_[i].get());
    shared_.governor.release(req->p.meta.subscription_id, {}, kafka::nowMs());
    req->sub.reset();
    req->p = {};
    idle_requests_.push_back(std::move(req));
  }
  tracker_.forget(partitions);
}

}  // namespace hookpipe::deliverer
