#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/attempts/keys.h"
#include "common/error.h"
#include "common/redis/redis.h"
#include "recorder/aggregator.h"

namespace hookpipe::recorder {

// What a rebuild sets every idx:off:<p> to before it wipes the index, and the prefix of what
// it moves it to until it is done with p ("rebuild:<next>"): a recorder that reads either
// waits (its partition paused) until the rebuild has written a plain offset there.
inline constexpr std::string_view kRebuildingOffset = "rebuild";
// What a flush that failed half-way leaves in idx:off:<p> ("failed:<offset before>").
inline constexpr std::string_view kFailedOffset = "failed";

// Whether a failed apply may be tried again as it is: Redis refused to run the script, or
// the script failed before its first write (`text` is the error reply). False for an error
// of the script after it wrote part of the flush (it then fences idx:off:<p> to
// "failed:<offset>": the partition waits for a rebuild) and for a malformed flush.
bool retryableApplyError(std::string_view text);

// Writes flushes to Redis: one script call per partition's flush that checks the
// partition's applied offset (idx:off:<p>) and, only when it still holds what the caller
// last saw there, applies every write of the flush and moves the offset on — atomically,
// since Redis runs a script alone. That check is the whole exactness protocol: a recorder
// killed after the call but before it knew has its flush applied once; one whose partition
// another recorder took over (a rebalance, a rebuild) has its flush refused and reads the
// offset again (recorder/README.md).
//
// Threads: used by one thread, like its Client.
class Applier {
 public:
  Applier(redis::Client& client, const attempts::Keys& keys) : client_(client), keys_(keys) {}
  // idx:off:<p>: nullopt when absent.
  Result<std::optional<std::string>> readOffset(int32_t partition);
  // Applies `ops` and sets idx:off:<p> to `next` if it holds `expected` ("" for absent);
  // true when applied, false when fenced (the offset was something else: nothing written).
  Result<bool> apply(int32_t partition, std::string_view expected, std::string_view next,
                     const Ops& ops);
  // SETs idx:off:<p> to `value` for each partition (the rebuild's fence).
  Result<void> setOffsets(const std::map<int32_t, std::string>& values);
  // UNLINKs every key of the index except the offsets; returns how many.
  Result<uint64_t> wipeExceptOffsets();

  static const std::string& script();

 private:
  redis::Client& client_;
  attempts::Keys keys_;
  std::string sha_;  // of script(), once loaded
};

}  // namespace hookpipe::recorder
