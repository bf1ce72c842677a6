// Unit tests for common/attempts/histogram.h: the log-linear latency histogram.
#include "common/attempts/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace hookpipe::attempts {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

TEST(AttemptHistogram, SmallValuesHaveABucketEach) {
  for (int64_t v = 0; v < 32; ++v) {
    EXPECT_EQ(Histogram::bucketOf(v), v);
    EXPECT_EQ(Histogram::midpoint(static_cast<int>(v)), v);
  }
  EXPECT_EQ(Histogram::bucketOf(-5), 0);
  EXPECT_EQ(Histogram::bucketOf(std::numeric_limits<int64_t>::min()), 0);
}

TEST(AttemptHistogram, BucketBoundsAreMonotoneAndContiguous) {
  const int last = Histogram::bucketOf(kMax);
  EXPECT_EQ(Histogram::lowerBound(0), 0);
  for (int b = 0; b < last; ++b) {
    ASSERT_LT(Histogram::lowerBound(b), Histogram::upperBound(b)) << b;
    ASSERT_EQ(Histogram::upperBound(b), Histogram::lowerBound(b + 1)) << b;
    ASSERT_LE(Histogram::lowerBound(b), Histogram::midpoint(b));
    ASSERT_LT(Histogram::midpoint(b), Histogram::upperBound(b));
    // The bounds map back to the bucket.
    ASSERT_EQ(Histogram::bucketOf(Histogram::lowerBound(b)), b);
    ASSERT_EQ(Histogram::bucketOf(Histogram::upperBound(b) - 1), b);
  }
  // The last bucket ends at INT64_MAX, without overflowing.
  EXPECT_EQ(Histogram::upperBound(last), kMax);
  EXPECT_LT(Histogram::lowerBound(last), kMax);
  EXPECT_EQ(Histogram::bucketOf(Histogram::lowerBound(last)), last);
}

TEST(AttemptHistogram, ReportedValuesAreWithinTheRelativeError) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> exponent(0, 62.9);
  for (int i = 0; i < 200'000; ++i) {
    const auto v = static_cast<int64_t>(std::pow(2.0, exponent(rng)));
    const int64_t m = Histogram::midpoint(Histogram::bucketOf(v));
    const double err = std::abs(static_cast<double>(m) - static_cast<double>(v)) /
                       static_cast<double>(std::max<int64_t>(v, 1));
    ASSERT_LE(err, Histogram::kRelativeError) << v << " reads as " << m;
  }
  for (int64_t v = 0; v < 100'000; ++v) {
    const int64_t m = Histogram::midpoint(Histogram::bucketOf(v));
    ASSERT_LE(std::abs(static_cast<double>(m - v)),
              Histogram::kRelativeError * static_cast<double>(v))
        << v;
  }
}

TEST(AttemptHistogram, QuantilesMatchTheExactValuesWithinTheError) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> latency(9.0, 1.5);  // µs: a few ms, a long tail
  Histogram h;
  std::vector<int64_t> values;
  for (int i = 0; i < 50'000; ++i) {
    const auto v = static_cast<int64_t>(latency(rng));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  EXPECT_EQ(h.count(), values.size());
  for (double q : {0.0, 0.01, 0.1, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0}) {
    const auto rank = std::max<std::size_t>(
        1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size()))));
    const int64_t exact = values[rank - 1];
    const auto got = h.quantile(q);
    ASSERT_TRUE(got);
    EXPECT_LE(std::abs(static_cast<double>(*got - exact)),
              Histogram::kRelativeError * static_cast<double>(exact) + 0.5)
        << "q=" << q << " exact=" << exact << " got=" << *got;
  }
  // Clamped to the known extremes.
  EXPECT_EQ(*h.quantile(1.0, values.front(), values.back()),
            std::min(*h.quantile(1.0), values.back()));
  EXPECT_GE(*h.quantile(0.0, values.front(), values.back()), values.front());
}

TEST(AttemptHistogram, QuantileOfNothingIsNothing) {
  Histogram h;
  EXPECT_TRUE(h.empty());
  EXPECT_FALSE(h.quantile(0.5));
  h.record(1000, 0);
  EXPECT_TRUE(h.empty());
}

TEST(AttemptHistogram, QuantilesOutsideZeroToOneAreClamped) {
  Histogram h;
  h.record(10);
  h.record(1000);
  EXPECT_EQ(h.quantile(-1), h.quantile(0));
  EXPECT_EQ(h.quantile(2), h.quantile(1));
  EXPECT_EQ(*h.quantile(0), 10);
}

TEST(AttemptHistogram, MergeEqualsRecordingBoth) {
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int64_t> value(0, 10'000'000);
  Histogram a, b, both;
  for (int i = 0; i < 10'000; ++i) {
    const int64_t v = value(rng);
    (i % 3 == 0 ? a : b).record(v);
    both.record(v);
  }
  Histogram merged = a;
  merged.merge(b);
  EXPECT_EQ(merged.count(), both.count());
  EXPECT_EQ(merged.buckets(), both.buckets());
  for (double q : {0.5, 0.9, 0.99}) EXPECT_EQ(merged.quantile(q), both.quantile(q));
  // Merging into itself doubles every count.
  Histogram twice = a;
  twice.merge(twice);
  EXPECT_EQ(twice.count(), 2 * a.count());
  for (const auto& [bucket, n] : a.buckets()) EXPECT_EQ(twice.buckets().at(bucket), 2 * n);
}

TEST(AttemptHistogram, AddReadsAStoredHistogramBack) {
  Histogram h;
  h.record(123'456, 5);
  h.record(7);
  Histogram stored;
  for (const auto& [bucket, n] : h.buckets()) stored.add(bucket, n);
  EXPECT_EQ(stored.buckets(), h.buckets());
  EXPECT_EQ(stored.count(), 6u);
}

TEST(AttemptHistogram, AddIgnoresBucketsNoValueMapsTo) {
  Histogram h;
  h.add(-1, 3);
  h.add(Histogram::bucketOf(kMax) + 1, 3);
  h.add(1'000'000, 3);
  EXPECT_TRUE(h.empty());
  h.add(Histogram::bucketOf(kMax), 1);
  EXPECT_EQ(*h.quantile(0.5), Histogram::midpoint(Histogram::bucketOf(kMax)));
}

}  // namespace
}  // namespace hookpipe::attempts
