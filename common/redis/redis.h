#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <string>
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
  // (retryable) when Redis cannot be reached.
  Result<std::vector<ReplyPtr>> pipeline(const std::vector<std::vector<std::string>>& commands);

 private:
  Result<void> connect();
  std::string host_;
  int port_;
  std::chrono::milliseconds timeout_;
  ContextPtr ctx_;
};

// Remembers delivery ids acknowledged with 2xx so that a crash, a rebalance or a
// replay does not send them again. Keys: <prefix>delivered:<delivery id>, with a TTL.
class DeliveredStore {
 public:
  DeliveredStore(Client& client, std::string prefix, std::chrono::seconds ttl)
      : client_(client), prefix_(std::move(prefix)), ttl_(ttl) {}
  // One flag per id; an error when Redis is unreachable (callers then send anyway:
  // at least once beats at most once).
  Result<std::vector<bool>> wereDelivered(const std::vector<std::string>& ids);
  Result<void> markDelivered(const std::vector<std::string>& ids);

 private:
  Client& client_;
  std::string prefix_;
  std::chrono::seconds ttl_;
};

}  // namespace hookpipe::redis
