#include "common/redis/redis.h"

#include <algorithm>

namespace hookpipe::redis {

Client::Client(std::string host, int port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {}

Result<void> Client::connect() {
  timeval tv{static_cast<time_t>(timeout_.count() / 1000),
             static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
  ContextPtr ctx(redisConnectWithTimeout(host_.c_str(), port_, tv));
  if (!ctx) return fail("redis: out of memory", true);
  if (ctx->err != 0)
    return fail("redis " + host_ + ":" + std::to_string(port_) + ": " + ctx->errstr, true);
  redisSetTimeout(ctx.get(), tv);
  ctx_ = std::move(ctx);
  return {};
}

void Client::failed() {
  constexpr auto kFirst = std::chrono::milliseconds(250), kMost = std::chrono::milliseconds(5000);
  ctx_.reset();
  backoff_ = backoff_.count() == 0 ? kFirst : std::min(backoff_ * 2, kMost);
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
Result<std::vector<ReplyPtr>> Client::run(const Commands& commands) {
  if (!ctx_) {
    if (std::chrono::steady_clock::now() < retry_at_)
      return fail("redis " + host_ + ":" + std::to_string(port_) +
                      ": unreachable, not dialled again for up to " +
                      std::to_string(backoff_.count()) + " ms",
                  true);
    if (auto r = connect(); !r) {
      failed();
      return std::unexpected(r.error());
    }
  }
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
      std::string message = std::string("redis: ") + ctx_->errstr;
      failed();  // re-dial after the backoff
      return fail(message, true);
    }
    replies.emplace_back(static_cast<redisReply*>(reply));
  }
  backoff_ = std::chrono::milliseconds(0);
  return replies;
}

DeliveredStore::DeliveredStore(Client& client, std::string prefix, std::chrono::seconds ttl)
    : client_(client),
      prefix_(std::move(prefix)),
      ttl_(std::max(ttl, std::chrono::seconds(1))),
      width_(std::max<std::chrono::seconds>(std::chrono::minutes(1), ttl_ / 8)) {}

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
  if (ids.empty()) return {};
  const int64_t width_ms = width_.count() * 1000;
  const int64_t bucket = now_ms / width_ms;
  const std::string key = keyOf(bucket);
  // Kept until ttl after the bucket ends, plus a bucket of margin for clock skew.
  const std::string expire_at = std::to_string((bucket + 2) * width_.count() + ttl_.count());
  std::vector<std::vector<std::string_view>> commands(2);
  commands[0].reserve(ids.size() + 2);
  commands[0].push_back("SADD");
  commands[0].push_back(key);
  for (const auto& id : ids) commands[0].push_back(id);
  commands[1] = {"EXPIREAT", key, expire_at};
  auto replies = client_.pipelineViews(commands);
  if (!replies) return std::unexpected(replies.error());
  for (const auto& r : *replies)
    if (r->type == REDIS_REPLY_ERROR) return fail(std::string("redis: ") + r->str, true);
  return {};
}

}  // namespace hookpipe::redis
