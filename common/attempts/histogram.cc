#include "common/attempts/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace hookpipe::attempts {
namespace {

constexpr int kSubBits = 5;  // 32 sub-buckets per power of two
constexpr int kSub = 1 << kSubBits;
// The bucket of INT64_MAX: the last one.
constexpr int kLastBucket = kSub + (62 - kSubBits) * kSub + (kSub - 1);

}  // namespace

int Histogram::bucketOf(int64_t value) {
  if (value < kSub) return value < 0 ? 0 : static_cast<int>(value);
  const auto v = static_cast<uint64_t>(value);
  const int e = 63 - std::countl_zero(v);  // >= kSubBits
  const int sub = static_cast<int>(v >> (e - kSubBits)) - kSub;
  return kSub + (e - kSubBits) * kSub + sub;
}

int64_t Histogram::lowerBound(int bucket) {
  if (bucket < kSub) return bucket;
  const int shift = (bucket - kSub) / kSub;
  const int sub = (bucket - kSub) % kSub;
  return static_cast<int64_t>(kSub + sub) << shift;
}

int64_t Histogram::upperBound(int bucket) {
  if (bucket < kSub) return bucket + 1;
  // The last bucket's bound would be 2^63: it holds up to INT64_MAX, inclusive.
  if (bucket >= kLastBucket) return std::numeric_limits<int64_t>::max();
  const int shift = (bucket - kSub) / kSub;
  const int sub = (bucket - kSub) % kSub;
  return static_cast<int64_t>(kSub + sub + 1) << shift;
}

int64_t Histogram::midpoint(int bucket) {
  const int64_t lo = lowerBound(bucket);
  return lo + (upperBound(bucket) - lo) / 2;
}

void Histogram::record(int64_t value, uint64_t count) { add(bucketOf(value), count); }

void Histogram::add(int bucket, uint64_t count) {
  // A bucket number no value maps to (a corrupt stored histogram) is ignored: its bounds
  // would be a shift out of range.
  if (count == 0 || bucket < 0 || bucket > kLastBucket) return;
  buckets_[bucket] += count;
  count_ += count;
}

void Histogram::merge(const Histogram& other) {
  for (const auto& [b, n] : other.buckets_) add(b, n);
}

std::optional<int64_t> Histogram::quantile(double q, std::optional<int64_t> min,
                                           std::optional<int64_t> max) const {
  if (count_ == 0) return std::nullopt;
  q = std::clamp(q, 0.0, 1.0);
  const auto rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  uint64_t seen = 0;
  int64_t value = 0;
  for (const auto& [b, n] : buckets_) {
    seen += n;
    value = midpoint(b);
    if (seen >= rank) break;
  }
  if (min) value = std::max(value, *min);
  if (max) value = std::min(value, *max);
  return value;
}

}  // namespace hookpipe::attempts
