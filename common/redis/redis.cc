#include "common/redis/redis.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace hookpipe::redis {

Client::Client(std::string host, int port, std::chrono::milliseconds timeout, Repeat repeat)
    : host_(std::move(host)), port_(port), timeout_(timeout), repeat_(repeat) {}

Result<void> Client::connect() {
  timeval tv{static_cast<time_t>(timeout_.count() / 1000),
             static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
  ++dials_;
  ContextPtr ctx(redisConnectWithTimeout(host_.c_str(), port_, tv));
  if (!ctx) return fail("redis: out of memory", true);
  if (ctx->err != 0)
    return fail("redis " + host_ + ":" + std::to_string(port_) + ": " + ctx->errstr, true);
  redisSetTimeout(ctx.get(), tv);
  ctx_ = std::move(ctx);
  return {};
}

bool Client::closedWhileIdle() const {
  // Between calls nothing is owed to us: a readable socket is an EOF (the server closed
  // it), a reset, or stray bytes — none of which a call may be sent after.
  char byte = 0;
  const ssize_t n = ::recv(ctx_->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  return true;
}

void Client::failed(std::chrono::steady_clock::duration cost) {
  constexpr auto kFirst = std::chrono::milliseconds(250);
  // Quick failures (refused: Redis is down or restarting) are retried at least every
  // second, so a Redis that is back is used again within one; slow ones (a timeout) back
  // off further, each try costing the caller a timeout.
  const auto most =
      cost < timeout_ / 4 ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(5000);
  ctx_.reset();
  backoff_ = backoff_.count() == 0 ? kFirst : std::min(backoff_ * 2, most);
  retry_at_ = std::chrono::steady_clock::now() + backoff_;
}

Result<std::vector<ReplyPtr>> Client::pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  return run(commands);
}

Result<std::vector<ReplyPtr>> Client::pipelineViews(
    const std::vector<std::vector<std::string_view>>& commands) {
  return run(commands);
}

template <typename Commands>
Result<std::vector<ReplyPtr>> Client::exchange(const Commands& commands, bool& closed) {
  closed = false;
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& argv : commands) {
    args.clear();
    lens.clear();
    for (const auto& a : argv) {
      args.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAppendCommandArgv(ctx_.get(), static_cast<int>(args.size()), args.data(), lens.data());
  }
  std::vector<ReplyPtr> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* reply = nullptr;
    if (redisGetReply(ctx_.get(), &reply) != REDIS_OK) {
      const int error = errno;
      closed = ctx_->err == REDIS_ERR_EOF ||
               (ctx_->err == REDIS_ERR_IO &&
                (error == ECONNRESET || error == EPIPE || error == ECONNABORTED));
      return fail(std::string("redis: ") + ctx_->errstr, true);
    }
    replies.emplace_back(static_cast<redisReply*>(reply));
  }
  return replies;
}

template <typename Commands>
Result<std::vector<ReplyPtr>> Client::run(const Commands& commands) {
  // Closed by the server since the last call (a restart): dial again now, no backoff.
  if (ctx_ && closedWhileIdle()) ctx_.reset();
  for (bool repeated = false;; repeated = true) {
    const auto began = std::chrono::steady_clock::now();
    const bool reused = ctx_ != nullptr;
    if (!ctx_) {
      if (began < retry_at_)
        return fail("redis " + host_ + ":" + std::to_string(port_) +
                        ": unreachable, not dialled again for up to " +
                        std::to_string(backoff_.count()) + " ms",
                    true);
      if (auto r = connect(); !r) {
        failed(std::chrono::steady_clock::now() - began);
        return std::unexpected(r.error());
      }
    }
    bool closed = false;
    auto replies = exchange(commands, closed);
    if (replies) {
      backoff_ = std::chrono::milliseconds(0);
      return replies;
    }
    if (closed && reused) {
      // The connection had been closed under the call: a fresh one is dialled at once,
      // and the call sent once more on it (Repeat::kIfClosed) or left to the caller.
      ctx_.reset();
      if (!repeated && repeat_ == Repeat::kIfClosed) continue;
      return replies;
    }
    failed(std::chrono::steady_clock::now() - began);  // re-dial after the backoff
    return replies;
  }
}

DeliveredStore::DeliveredStore(Client& client, std::string prefix, std::chrono::seconds ttl,
                               std::size_t max_unwritten)
    : client_(client),
      prefix_(std::move(prefix)),
      ttl_(std::max(ttl, std::chrono::seconds(1))),
      width_(std::max<std::chrono::seconds>(std::chrono::minutes(1), ttl_ / 8)),
      max_unwritten_(std::max<std::size_t>(1, max_unwritten)) {}

std::string DeliveredStore::keyOf(int64_t bucket) const {
  return prefix_ + "delivered-ids:" + std::to_string(bucket);
}

Result<std::vector<bool>> DeliveredStore::wereDelivered(std::span<const std::string> ids,
                                                        int64_t now_ms) {
  if (ids.empty()) return std::vector<bool>{};
  const int64_t width_ms = width_.count() * 1000;
  const int64_t now_bucket = now_ms / width_ms;
  // Every bucket an id written within the last ttl can be in, plus the next one (another
  // deliverer's clock may run a little ahead).
  const int64_t oldest = now_bucket - (ttl_.count() * 1000 + width_ms - 1) / width_ms - 1;
  std::vector<std::string> keys;
  for (int64_t b = now_bucket + 1; b >= oldest; --b) keys.push_back(keyOf(b));
  std::vector<std::vector<std::string_view>> commands(keys.size());
  for (std::size_t k = 0; k < keys.size(); ++k) {
    commands[k].reserve(ids.size() + 2);
    commands[k].push_back("SMISMEMBER");
    commands[k].push_back(keys[k]);
    for (const auto& id : ids) commands[k].push_back(id);
  }
  auto replies = client_.pipelineViews(commands);
  if (!replies) return std::unexpected(replies.error());
  std::vector<bool> out(ids.size(), false);
  for (const auto& reply : *replies) {
    const redisReply* r = reply.get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != ids.size())
      return fail(r->type == REDIS_REPLY_ERROR ? std::string("redis: ") + r->str
                                               : "redis: unexpected SMISMEMBER reply",
                  true);
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (r->element[i]->type == REDIS_REPLY_INTEGER && r->element[i]->integer == 1) out[i] = true;
  }
  return out;
}

Result<void> DeliveredStore::markDelivered(std::span<const std::string> ids, int64_t now_ms) {
  if (ids.empty() && unwritten_.empty()) return {};
  const int64_t width_ms = width_.count() * 1000;
  const int64_t bucket = now_ms / width_ms;
  const std::string key = keyOf(bucket);
  // Kept until ttl after the bucket ends, plus a bucket of margin for clock skew.
  const std::string expire_at = std::to_string((bucket + 2) * width_.count() + ttl_.count());
  // The kept marks and the new ones, at most kPerSadd members per SADD (a long outage's
  // backlog is written in one round trip, without one huge command).
  constexpr std::size_t kPerSadd = 4096;
  const std::size_t total = unwritten_.size() + ids.size();
  std::vector<std::vector<std::string_view>> commands;
  commands.reserve((total + kPerSadd - 1) / kPerSadd + 1);
  auto add = [&](std::string_view id) {
    if (commands.empty() || commands.back().size() == kPerSadd + 2) {
      commands.emplace_back();
      commands.back().reserve(std::min(kPerSadd, total) + 2);
      commands.back().push_back("SADD");
      commands.back().push_back(key);
    }
    commands.back().push_back(id);
  };
  for (const auto& id : unwritten_) add(id);
  for (const auto& id : ids) add(id);
  commands.push_back({"EXPIREAT", key, expire_at});
  auto replies = client_.pipelineViews(commands);
  Result<void> result;
  if (!replies) {
    result = std::unexpected(replies.error());
  } else {
    for (const auto& r : *replies)
      if (r->type == REDIS_REPLY_ERROR) {
        result = fail(std::string("redis: ") + r->str, true);
        break;
      }
  }
  if (result) {
    unwritten_.clear();
    return result;
  }
  // Kept for the next write; past the bound the oldest go (SADD of an id twice is harmless,
  // so a partly applied pipeline is simply written again).
  unwritten_.insert(unwritten_.end(), ids.begin(), ids.end());
  while (unwritten_.size() > max_unwritten_) {
    unwritten_.pop_front();
    ++dropped_;
  }
  return result;
}

}  // namespace hookpipe::redis
