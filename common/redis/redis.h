#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <deque>
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
// round trip for a whole batch.
//
// Reconnecting: a connection the server closed (a Redis restart, its idle `timeout`, a
// failover) is noticed before a call is sent on it — the socket reads as closed — and
// dialled again at once, so the first call after a restart succeeds. A call that still
// fails because its reused connection turned out closed or reset (the close raced the
// call) is sent once more on a fresh connection, unless the client was made with
// Repeat::kNever: commands sent on a connection the server closed were normally never run,
// but one that was run just before the close runs twice (fine for SADD, SMISMEMBER,
// EXPIREAT and the rate limiter's script, which at worst takes its tokens twice; not for
// SET NX, which would then find its own claim).
//
// Backing off: when Redis cannot be reached (a dial or a call on a fresh connection
// fails), it is not dialled again before retry_at_: 250 ms, doubling while it keeps
// failing, up to 1 s when the failure was quick (connection refused: Redis is down or
// restarting, so it is noticed within a second of coming back) and up to 5 s when it
// took most of the timeout (blackholed or hung: each try costs a caller one timeout per
// period, not one per call). Calls meanwhile fail at once.
class Client {
 public:
  enum class Repeat { kIfClosed, kNever };
  Client(std::string host, int port,
         std::chrono::milliseconds timeout = std::chrono::milliseconds(500),
         Repeat repeat = Repeat::kIfClosed);
  // Each command is an argv vector. Returns one reply per command, or an error
  // (retryable) when Redis cannot be reached — at once, without dialling, while backing
  // off after a failure.
  Result<std::vector<ReplyPtr>> pipeline(const std::vector<std::vector<std::string>>& commands);
  // The same with arguments as views (nothing copied).
  Result<std::vector<ReplyPtr>> pipelineViews(
      const std::vector<std::vector<std::string_view>>& commands);
  // Connections dialled so far.
  uint64_t dials() const { return dials_; }

 private:
  Result<void> connect();
  // True when the idle connection was closed or reset by the server (or has bytes no call
  // asked for): it must not be used.
  bool closedWhileIdle() const;
  void failed(std::chrono::steady_clock::duration cost);
  template <typename Commands>
  Result<std::vector<ReplyPtr>> run(const Commands& commands);
  // Sends the commands and reads the replies on ctx_; `closed` tells whether the failure
  // was the connection being closed or reset.
  template <typename Commands>
  Result<std::vector<ReplyPtr>> exchange(const Commands& commands, bool& closed);
  std::string host_;
  int port_;
  std::chrono::milliseconds timeout_;
  Repeat repeat_;
  ContextPtr ctx_;
  uint64_t dials_ = 0;
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
// (SET EX), a fraction of the CPU (benchmarks/README.md, "Deliverer"). Deleting an expired
// bucket frees many members at once: run Redis with `lazyfree-lazy-expire yes` (compose and
// script/redis do) so it happens off Redis's main thread.
//
// Marks that Redis could not take are kept, the newest `max_unwritten` of them (the
// oldest beyond that are dropped and counted), and written with the next markDelivered()
// or writeUnwritten() that reaches Redis, into the bucket of that moment. Used by one
// thread, like its Client.
class DeliveredStore {
 public:
  // 262 144 ids, about 16 MiB: an outage of some seconds at a worker's top rate.
  static constexpr std::size_t kMaxUnwritten = 262'144;
  DeliveredStore(Client& client, std::string prefix, std::chrono::seconds ttl,
                 std::size_t max_unwritten = kMaxUnwritten);
  // One flag per id; an error when Redis is unreachable (callers then send anyway:
  // at least once beats at most once).
  Result<std::vector<bool>> wereDelivered(std::span<const std::string> ids, int64_t now_ms);
  // Writes `ids` and the marks kept from earlier failures; on an error `ids` are kept too.
  Result<void> markDelivered(std::span<const std::string> ids, int64_t now_ms);
  // Writes the marks kept from earlier failures (nothing to do when there are none).
  Result<void> writeUnwritten(int64_t now_ms) { return markDelivered({}, now_ms); }
  // Marks kept for a later write, and marks dropped so far because too many were kept.
  std::size_t unwritten() const { return unwritten_.size(); }
  uint64_t dropped() const { return dropped_; }
  std::chrono::seconds bucketWidth() const { return width_; }

 private:
  std::string keyOf(int64_t bucket) const;
  Client& client_;
  std::string prefix_;
  std::chrono::seconds ttl_;
  std::chrono::seconds width_;
  std::size_t max_unwritten_;
  std::deque<std::string> unwritten_;
  uint64_t dropped_ = 0;
};

}  // namespace hookpipe::redis
