#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace hookpipe::redis {

struct RedisDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ContextPtr = std::unique_ptr<redisContext, RedisDeleter>;
using ReplyPtr = std::unique_ptr<redisReply, RedisDeleter>;

// A blocking Redis connection used by one thread. Commands are pipelined: one
// round trip for a whole batch. A broken connection is re-dialled on the next call.
class Client {
 public:
  Client(std::string host, int port,
         std::chrono::milliseconds timeout = std::chrono::milliseconds(500));
  // Each command is an argv vector. Returns one reply per command, or an error
  // (retryable) when Redis cannot be reached — at once, without dialling, while backing
  // off after a failure.
  Result<std::vector<ReplyPtr>> pipeline(const std::vector<std::vector<std::string>>& commands);
  // The same with arguments as views (nothing copied).
  Result<std::vector<ReplyPtr>> pipelineViews(
      const std::vector<std::vector<std::string_view>>& commands);

 private:
  Result<void> connect();
  void failed();
  template <typename Commands>
  Result<std::vector<ReplyPtr>> run(const Commands& commands);
  std::string host_;
  int port_;
  std::chrono::milliseconds timeout_;
  ContextPtr ctx_;
  // After a failure Redis is not dialled again before retry_at_ (250 ms, doubling up to
  // 5 s while it keeps failing): a Redis that does not answer at all (blackholed, hung)
  // costs a caller one timeout per period, not one per call.
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point retry_at_{};
};

// Remembers delivery ids acknowledged with 2xx so that a crash, a rebalance or a
// replay does not send them again, for at least `ttl`.
//
// Layout: one Redis set per time bucket, `<prefix>delivered-ids:<bucket>`, where a
// bucket is ttl/8 long (at least a minute) and expires ttl plus two buckets after it
// began (an id is kept between ttl and 1.25 ttl). A flush of N ids is one SADD and one
// EXPIREAT; a check is one SMISMEMBER per bucket that can still hold an id (11, one round
// trip). This costs Redis a set insert per delivery instead of a key with its own TTL
// (SET EX): Redis used ≈7 µs of CPU per delivery with SET EX. Deleting an expired bucket frees many
// members at once: run Redis with `lazyfree-lazy-expire yes` (compose and script/redis do) so it
// happens off Redis's main thread.
class DeliveredStore {
 public:
  DeliveredStore(Client& client, std::string prefix, std::chrono::seconds ttl);
  // One flag per id; an error when Redis is unreachable (callers then send anyway:
  // at least once beats at most once).
  Result<std::vector<bool>> wereDelivered(std::span<const std::string> ids, int64_t now_ms);
  Result<void> markDelivered(std::span<const std::string> ids, int64_t now_ms);
  std::chrono::seconds bucketWidth() const { return width_; }

 private:
  std::string keyOf(int64_t bucket) const;
  Client& client_;
  std::string prefix_;
  std::chrono::seconds ttl_;
  std::chrono::seconds width_;
};

}  // namespace hookpipe::redis
