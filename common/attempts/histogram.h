#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>

// A mergeable latency histogram, log-linear like HdrHistogram: values below 32 have a bucket
// each; above, every power of two is cut into 32 equal sub-buckets. A value is reported as
// its bucket's midpoint, so a percentile read from it is within 1/64 (1.6 %) of a value
// recorded in that bucket. Buckets are sparse (a map), so a histogram of one endpoint's
// latencies holds a few dozen entries, and two histograms merge by adding counts —
// minute buckets roll up into hours and days, subscriptions into a tenant.
namespace hookpipe::attempts {

class Histogram {
 public:
  // The bucket of a value (microseconds; negatives count as 0), and the range a bucket
  // holds, [lower, upper).
  static int bucketOf(int64_t value);
  static int64_t lowerBound(int bucket);
  static int64_t upperBound(int bucket);
  // The bucket's midpoint: what a percentile in that bucket reads as.
  static int64_t midpoint(int bucket);
  // The largest relative error of a reported value against a recorded one.
  static constexpr double kRelativeError = 1.0 / 64;

  void record(int64_t value, uint64_t count = 1);
  // Adds `count` to bucket `bucket` directly (what a stored histogram is read back with).
  void add(int bucket, uint64_t count);
  void merge(const Histogram& other);

  uint64_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  // The value at quantile q in [0, 1] (p99 = 0.99): the midpoint of the bucket holding the
  // ceil(q * count)-th smallest value, clamped to [min, max] when those are known.
  std::optional<int64_t> quantile(double q, std::optional<int64_t> min = std::nullopt,
                                  std::optional<int64_t> max = std::nullopt) const;
  const std::map<int, uint64_t>& buckets() const { return buckets_; }

 private:
  std::map<int, uint64_t> buckets_;
  uint64_t count_ = 0;
};

}  // namespace hookpipe::attempts
