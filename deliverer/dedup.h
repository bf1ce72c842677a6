#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/config/config.h"
#include "common/redis/redis.h"
#include "deliverer/metrics.h"
#include "deliverer/pending.h"
#include "deliverer/recent_ids.h"

namespace hookpipe::deliverer {

// Whether a delivery was delivered before, so that it is not sent twice: the ids this
// worker delivered lately (RecentIds, no round trip), and the delivered-id store in Redis
// (DeliveredStore) for what may have gone out before — a delivery that came back through
// a tier or a replay, or one written before this worker took its partition over (its
// previous owner may have delivered it and died before committing). Fresh deliveries
// written after the assignment need no lookup: only this worker can have sent them.
// 2xx'd ids are written to Redis in batches (every 20 ms or 512 ids); marks Redis could
// not take are kept by the store, bounded, and written once it is back.
//
// Thread and lifecycle: one per worker, made by Deliverer::create() and used only on that
// worker's thread (onAssigned() runs there too, inside the consumer's poll).
class Dedup {
 public:
  Dedup(redis::Client& redis, const Config& config, DelivererMetrics& metrics);

  // Asks Redis once about those of `batch` that may have been delivered before; Redis down
  // means "send anyway" (at least once beats at most once).
  void lookUp(std::span<const Pending> batch);
  // After lookUp(batch): whether batch[i] was delivered before, by Redis's answer or by
  // this worker lately.
  bool deliveredBefore(std::size_t i, std::string_view delivery_id) const;
  // A 2xx: remembered at once, written to Redis with the next flush.
  void markDelivered(std::string_view delivery_id);
  // Writes the 2xx'd ids to Redis: every 20 ms or 512 ids, or now when `force`.
  void flush(bool force = false);
  // Where `partition` ended when it became this worker's (what lies below is looked up).
  void assigned(int32_t partition, int64_t end_offset) { assigned_end_[partition] = end_offset; }

 private:
  // Whether an earlier copy of this delivery may have been delivered (so Redis is asked).
  bool mayBeDelivered(const kafka::OwnedMessage& m, const records::DeliveryMeta& meta) const;

  DelivererMetrics& metrics_;
  redis::DeliveredStore delivered_;
  RecentIds recent_{1 << 16};                          // ids this worker delivered lately
  std::unordered_map<int32_t, int64_t> assigned_end_;  // partition -> end offset when assigned
  // The last lookUp(): the ids asked (the first asked_count_), and for each of the batch
  // its index among them or -1; Redis's answer.
  std::vector<std::string> asked_ids_;
  std::size_t asked_count_ = 0;
  std::vector<int> asked_;
  Result<std::vector<bool>> answer_ = std::vector<bool>{};
  // 2xx'd, not yet written to Redis: the first marks_count_ (the strings are reused).
  std::vector<std::string> delivered_marks_;
  std::size_t marks_count_ = 0;
  std::chrono::steady_clock::time_point first_mark_at_;
  std::chrono::steady_clock::time_point marks_warned_at_;  // rate-limits the warning
  std::chrono::steady_clock::time_point kept_retry_at_;    // when kept marks are tried again
};

}  // namespace hookpipe::deliverer
