#include "common/redis/redis.h"

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

Result<std::vector<ReplyPtr>> Client::pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (!ctx_)
    if (auto r = connect(); !r) return std::unexpected(r.error());
  for (const auto& argv : commands) {
    std::vector<const char*> args;
    std::vector<size_t> lens;
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
      ctx_.reset();  // re-dial next time
      return fail(message, true);
    }
    replies.emplace_back(static_cast<redisReply*>(reply));
  }
  return replies;
}

Result<std::vector<bool>> DeliveredStore::wereDelivered(const std::vector<std::string>& ids) {
  if (ids.empty()) return std::vector<bool>{};
  std::vector<std::string> argv{"MGET"};
  for (const auto& id : ids) argv.push_back(prefix_ + "delivered:" + id);
  auto replies = client_.pipeline({argv});
  if (!replies) return std::unexpected(replies.error());
  const redisReply* r = (*replies)[0].get();
  if (r->type != REDIS_REPLY_ARRAY || r->elements != ids.size())
    return fail("redis: unexpected MGET reply", true);
  std::vector<bool> out(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) out[i] = r->element[i]->type != REDIS_REPLY_NIL;
  return out;
}

Result<void> DeliveredStore::markDelivered(const std::vector<std::string>& ids) {
  if (ids.empty()) return {};
  std::vector<std::vector<std::string>> commands;
  commands.reserve(ids.size());
  for (const auto& id : ids)
    commands.push_back(
        {"SET", prefix_ + "delivered:" + id, "1", "EX", std::to_string(ttl_.count())});
  auto replies = client_.pipeline(commands);
  if (!replies) return std::unexpected(replies.error());
  return {};
}

}  // namespace hookpipe::redis
