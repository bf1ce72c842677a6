#include "producer/idempotency.h"

#include "common/kafka/kafka.h"
#include "common/log/log.h"

namespace hookpipe::producer {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("producer");
  return l;
}

}  // namespace

IdempotencyStore::IdempotencyStore(const Config& config, std::chrono::seconds window,
                                   RedisCounters counters)
    : prefix_(config.topics.prefix + "idem:"),
      host_(config.redis_host),
      port_(config.redis_port),
      window_(window),
      counters_(counters),
      thread_([this] { run(); }) {}

void IdempotencyStore::counted(bool ok) const {
  if (counters_.round_trips != nullptr) counters_.round_trips->inc();
  if (!ok && counters_.errors != nullptr) counters_.errors->inc();
}

IdempotencyStore::~IdempotencyStore() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::string IdempotencyStore::requestKey(const std::string& route, const std::string& key) const {
  return prefix_ + "key:" + route + ":" + key;
}

std::string IdempotencyStore::eventKey(const std::string& event_id) const {
  return prefix_ + "event:" + event_id;
}

std::unique_ptr<redis::Client> IdempotencyStore::takeClient() {
  {
    std::lock_guard lock(pool_mu_);
    if (!pool_.empty()) {
      auto c = std::move(pool_.back());
      pool_.pop_back();
      return c;
    }
  }
  // kNever: a SET NX repeated after a close that raced it would find its own claim.
  return std::make_unique<redis::Client>(host_, port_, std::chrono::milliseconds(200),
                                         redis::Client::Repeat::kNever);
}

void IdempotencyStore::giveBack(std::unique_ptr<redis::Client> c) {
  std::lock_guard lock(pool_mu_);
  if (pool_.size() < 16) pool_.push_back(std::move(c));
}

void IdempotencyStore::markDown(const std::string& why) {
  const int64_t now = kafka::nowMs();
  down_until_ms_ = now + 1000;
  // At most one warning every 10 s: this is on the request path.
  int64_t last = last_warning_ms_.load();
  if (now - last >= 10'000 && last_warning_ms_.compare_exchange_strong(last, now))
    log()->warn("idempotency store unavailable, accepting requests without it error=\"{}\"", why);
}

std::vector<IdempotencyStore::Claim> IdempotencyStore::claim(const std::vector<std::string>& keys) {
  std::vector<Claim> out(keys.size());
  if (keys.empty() || kafka::nowMs() < down_until_ms_.load()) return out;
  const std::string ttl = std::to_string(window_.count());
  std::vector<std::vector<std::string>> commands;
  commands.reserve(keys.size() * 2);
  for (const auto& k : keys) {
    commands.push_back({"SET", k, "p", "NX", "EX", ttl});
    commands.push_back({"GET", k});
  }
  auto client = takeClient();
  auto replies = client->pipeline(commands);
  counted(replies && replies->size() == commands.size());
  if (!replies || replies->size() != commands.size()) {
    markDown(replies ? "short reply" : replies.error().message);
    return out;
  }
  giveBack(std::move(client));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const redisReply* set = (*replies)[2 * i].get();
    const redisReply* get = (*replies)[2 * i + 1].get();
    if (set == nullptr || set->type == REDIS_REPLY_ERROR) {
      markDown(set != nullptr ? std::string(set->str, set->len) : "no reply");
      continue;
    }
    if (set->type == REDIS_REPLY_STATUS) {
      out[i].state = Claim::State::kNew;
      continue;
    }
    // Someone holds the key: pending, or done with an answer.
    out[i].state = Claim::State::kPending;
    if (get == nullptr || get->type != REDIS_REPLY_STRING) continue;
    const std::string_view v(get->str, get->len);
    if (!v.starts_with('d')) continue;
    const auto space = v.find(' ');
    if (space == std::string_view::npos) continue;
    out[i].state = Claim::State::kDone;
    out[i].status = std::atoi(std::string(v.substr(1, space - 1)).c_str());
    out[i].body = std::string(v.substr(space + 1));
  }
  return out;
}

void IdempotencyStore::complete(std::string key, int status, std::string body,
                                std::function<void()> then) {
  {
    std::lock_guard lock(mu_);
    std::string value;
    if (!key.empty()) value.append("d").append(std::to_string(status)).append(" ").append(body);
    ops_.push_back({std::move(key), std::move(value), std::move(then)});
  }
  cv_.notify_one();
}

void IdempotencyStore::release(std::vector<std::string> keys) {
  {
    std::lock_guard lock(mu_);
    for (auto& k : keys) ops_.push_back({std::move(k), {}, nullptr});
  }
  cv_.notify_one();
}

void IdempotencyStore::run() {
  redis::Client client(host_, port_);
  const std::string ttl = std::to_string(window_.count());
  for (;;) {
    std::deque<Op> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !ops_.empty(); });
      if (ops_.empty()) return;
      batch.swap(ops_);
    }
    std::vector<std::vector<std::string>> commands;
    for (auto& op : batch) {
      if (op.key.empty()) continue;
      if (op.value.empty())
        commands.push_back({"DEL", op.key});
      else
        commands.push_back({"SET", op.key, op.value, "EX", ttl});
    }
    if (!commands.empty() && kafka::nowMs() >= down_until_ms_.load()) {
      auto r = client.pipeline(commands);
      counted(r.has_value());
      if (!r) markDown(r.error().message);
    }
    for (auto& op : batch)
      if (op.then) op.then();
  }
}

}  // namespace hookpipe::producer
