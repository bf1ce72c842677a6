#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// Metrics with Prometheus names and low-cardinality labels. Each role declares its metrics
// once, in one struct built from a Registry (e.g. deliverer/metrics.h), and keeps references
// to the children it updates on the message path: an update is one relaxed atomic add, no
// lookup, no lock. The Registry renders the text exposition format (what /metrics serves)
// and answers value() for tests.
//
// Threads: declaring (counter(), family.labels(), ...) locks the registry and is meant for
// start-up; updates and render() may run on any thread at any time.
namespace hookpipe::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Each on a cache line of its own: workers on different cores update neighbours.
class alignas(64) Counter {
 public:
  void inc(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class alignas(64) Gauge {
 public:
  void set(int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(int64_t n) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  void sub(int64_t n) noexcept { value_.fetch_sub(n, std::memory_order_relaxed); }
  int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Cumulative buckets with fixed upper bounds (Prometheus `le`), plus sum and count.
class Histogram {
 public:
  explicit Histogram(std::span<const double> bounds);
  void observe(double v) noexcept;
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};                        // the count is the buckets' sum
};

// Bucket bounds in seconds for request durations: 1 ms .. 60 s.
std::span<const double> durationBuckets();

class Registry;

// One metric name with a fixed set of label names; children by label values.
template <typename M>
class Family {
 public:
  // The child for these label values (in the order of the family's label names), made on
  // first use. Call at start-up and keep the reference.
  M& labels(std::initializer_list<std::string_view> values);

 private:
  friend class Registry;
  struct Child {
    std::vector<std::string> values;
    std::unique_ptr<M> metric;
  };
  Family(Registry& registry, std::string name, std::vector<std::string> label_names,
         std::vector<double> bounds)
      : registry_(registry),
        name_(std::move(name)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}
  Registry& registry_;
  std::string name_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;   // histograms only
  std::vector<Child> children_;  // guarded by the registry's mutex
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Declarations. Names follow Prometheus conventions (hookpipe_<role>_<name>_<unit>,
  // counters end in _total); a bad or repeated name throws std::invalid_argument, so a
  // mistake fails at start-up.
  Counter& counter(std::string name, std::string help, Labels labels = {});
  Gauge& gauge(std::string name, std::string help, Labels labels = {});
  Histogram& histogram(std::string name, std::string help, std::span<const double> bounds,
                       Labels labels = {});
  // A gauge read when rendered (queue depths, sizes of structures owned elsewhere). `read`
  // runs on the rendering thread, under the registry's lock: it must be safe there and
  // must not call back into the registry.
  void gaugeFn(std::string name, std::string help, Labels labels, std::function<double()> read);
  // The same for a counter kept elsewhere (a total owned by a library, say); `read` must
  // never go down.
  void counterFn(std::string name, std::string help, Labels labels, std::function<double()> read);
  // A gauge whose set of label values changes while the process runs (consumer lag per
  // assigned partition): `read` returns every sample now, label values in the order of
  // `label_names`. Same rules as gaugeFn's `read`.
  using FnSamples = std::vector<std::pair<std::vector<std::string>, double>>;
  void gaugeFamilyFn(std::string name, std::string help, std::vector<std::string> label_names,
                     std::function<FnSamples()> read);
  // The same for counters kept elsewhere (requests per Kafka client): a sample's value must
  // never go down while it is there.
  void counterFamilyFn(std::string name, std::string help, std::vector<std::string> label_names,
                       std::function<FnSamples()> read);
  Family<Counter>& counterFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names);
  Family<Gauge>& gaugeFamily(std::string name, std::string help,
                             std::vector<std::string> label_names);
  Family<Histogram>& histogramFamily(std::string name, std::string help,
                                     std::span<const double> bounds,
                                     std::vector<std::string> label_names);

  // The Prometheus text exposition format (version 0.0.4).
  std::string render() const;
  // One sample's current value: `name` as rendered (a histogram's `_count` and `_sum` too),
  // with exactly these labels. nullopt when there is no such sample.
  std::optional<double> value(std::string_view name, const Labels& labels = {}) const;

 private:
  template <typename M>
  friend class Family;
  enum class Type { kCounter, kGauge, kHistogram };
  struct Sample {
    Labels labels;
    const Counter* counter = nullptr;
    const Gauge* gauge = nullptr;
    const Histogram* histogram = nullptr;
    std::function<double()> read;
    std::vector<std::string> label_names;  // of read_many's samples
    std::function<FnSamples()> read_many;
  };
  struct Metric {
    std::string help;
    Type type;
    std::vector<Sample> samples;
  };
  // Under mu_.
  Metric& declare(const std::string& name, std::string help, Type type);
  void familyFn(std::string name, std::string help, Type type, std::vector<std::string> label_names,
                std::function<FnSamples()> read);
  static Labels labelsOf(const std::vector<std::string>& names,
                         const std::vector<std::string>& values);
  Metric& declareOrShare(const std::string& name, std::string help, Type type);
  void forEachSample(const std::function<void(const std::string& name, const Labels& labels,
                                              double value)>& fn) const;

  mutable std::mutex mu_;
  std::map<std::string, Metric> metrics_;  // rendered in name order
  std::vector<std::unique_ptr<Counter>> counters_;
  std::vector<std::unique_ptr<Gauge>> gauges_;
  std::vector<std::unique_ptr<Histogram>> histograms_;
  std::vector<std::unique_ptr<Family<Counter>>> counter_families_;
  std::vector<std::unique_ptr<Family<Gauge>>> gauge_families_;
  std::vector<std::unique_ptr<Family<Histogram>>> histogram_families_;
};

}  // namespace hookpipe::metrics
