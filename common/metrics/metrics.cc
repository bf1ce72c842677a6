#include "common/metrics/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace hookpipe::metrics {
namespace {

bool validName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool validLabelName(std::string_view name) {
  return validName(name) && name.find(':') == std::string_view::npos && !name.starts_with("__");
}

void appendNumber(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
    out += std::to_string(static_cast<int64_t>(v));
  } else {
    char buf[32];  // the shortest text that reads back as v
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc() ? end : buf);
  }
}

void appendEscaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (quote && c == '"')
      out += "\\\"";
    else
      out += c;
  }
}

void appendLabels(std::string& out, const Labels& labels, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k;
    out += "=\"";
    appendEscaped(out, v, true);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void checkLabels(const std::string& metric, const Labels& labels) {
  for (const auto& [k, v] : labels)
    if (!validLabelName(k) || k == "le")
      throw std::invalid_argument("metric " + metric + ": bad label name '" + k + "'");
}

constexpr double kDurationBuckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                       0.5,   1,      2.5,   5,    10,    30,   60};

}  // namespace

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds.begin(), bounds.end()),
      buckets_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end())
    throw std::invalid_argument("histogram bounds must increase");
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) noexcept {
  const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[at].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::span<const double> durationBuckets() { return kDurationBuckets; }

template <typename M>
M& Family<M>::labels(std::initializer_list<std::string_view> values) {
  std::lock_guard lock(registry_.mu_);
  if (values.size() != label_names_.size())
    throw std::invalid_argument("metric " + name_ + ": " + std::to_string(label_names_.size()) +
                                " label values expected");
  for (auto& child : children_)
    if (std::equal(child.values.begin(), child.values.end(), values.begin(), values.end()))
      return *child.metric;
  Child child;
  Registry::Sample sample;
  std::size_t i = 0;
  for (std::string_view v : values) {
    child.values.emplace_back(v);
    sample.labels.emplace_back(label_names_[i++], std::string(v));
  }
  if constexpr (std::is_same_v<M, Histogram>) {
    child.metric = std::make_unique<M>(bounds_);
    sample.histogram = child.metric.get();
  } else if constexpr (std::is_same_v<M, Counter>) {
    child.metric = std::make_unique<M>();
    sample.counter = child.metric.get();
  } else {
    child.metric = std::make_unique<M>();
    sample.gauge = child.metric.get();
  }
  registry_.metrics_.at(name_).samples.push_back(std::move(sample));
  children_.push_back(std::move(child));
  return *children_.back().metric;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

Registry::Metric& Registry::declare(const std::string& name, std::string help, Type type) {
  if (!validName(name)) throw std::invalid_argument("bad metric name '" + name + "'");
  if (type == Type::kCounter && !name.ends_with("_total"))
    throw std::invalid_argument("counter " + name + " must end in _total");
  if (metrics_.contains(name)) throw std::invalid_argument("metric " + name + " declared twice");
  return metrics_[name] = Metric{std::move(help), type, {}};
}

Counter& Registry::counter(std::string name, std::string help, Labels labels) {
  checkLabels(name, labels);
  std::lock_guard lock(mu_);
  auto& metric = declare(name, std::move(help), Type::kCounter);
  counters_.push_back(std::make_unique<Counter>());
  metric.samples.push_back({.labels = std::move(labels), .counter = counters_.back().get()});
  return *counters_.back();
}

Gauge& Registry::gauge(std::string name, std::string help, Labels labels) {
  checkLabels(name, labels);
  std::lock_guard lock(mu_);
  auto& metric = declare(name, std::move(help), Type::kGauge);
  gauges_.push_back(std::make_unique<Gauge>());
  metric.samples.push_back({.labels = std::move(labels), .gauge = gauges_.back().get()});
  return *gauges_.back();
}

Histogram& Registry::histogram(std::string name, std::string help, std::span<const double> bounds,
                               Labels labels) {
  checkLabels(name, labels);
  std::lock_guard lock(mu_);
  auto& metric = declare(name, std::move(help), Type::kHistogram);
  histograms_.push_back(std::make_unique<Histogram>(bounds));
  metric.samples.push_back({.labels = std::move(labels), .histogram = histograms_.back().get()});
  return *histograms_.back();
}

Registry::Metric& Registry::declareOrShare(const std::string& name, std::string help, Type type) {
  // Several readers may share one name with different labels (one per partition, say).
  auto it = metrics_.find(name);
  return it != metrics_.end() && it->second.type == type ? it->second
                                                         : declare(name, std::move(help), type);
}

void Registry::gaugeFn(std::string name, std::string help, Labels labels,
                       std::function<double()> read) {
  checkLabels(name, labels);
  std::lock_guard lock(mu_);
  declareOrShare(name, std::move(help), Type::kGauge)
      .samples.push_back({.labels = std::move(labels), .read = std::move(read)});
}

void Registry::counterFn(std::string name, std::string help, Labels labels,
                         std::function<double()> read) {
  checkLabels(name, labels);
  std::lock_guard lock(mu_);
  declareOrShare(name, std::move(help), Type::kCounter)
      .samples.push_back({.labels = std::move(labels), .read = std::move(read)});
}

namespace {
Labels namesOnly(const std::vector<std::string>& names) {
  Labels labels;
  for (const auto& n : names) labels.emplace_back(n, "");
  return labels;
}
}  // namespace

Labels Registry::labelsOf(const std::vector<std::string>& names,
                          const std::vector<std::string>& values) {
  Labels labels;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i)
    labels.emplace_back(names[i], values[i]);
  return labels;
}

void Registry::familyFn(std::string name, std::string help, Type type,
                        std::vector<std::string> label_names, std::function<FnSamples()> read) {
  checkLabels(name, namesOnly(label_names));
  std::lock_guard lock(mu_);
  declare(name, std::move(help), type)
      .samples.push_back({.label_names = std::move(label_names), .read_many = std::move(read)});
}

void Registry::gaugeFamilyFn(std::string name, std::string help,
                             std::vector<std::string> label_names,
                             std::function<FnSamples()> read) {
  familyFn(std::move(name), std::move(help), Type::kGauge, std::move(label_names), std::move(read));
}

void Registry::counterFamilyFn(std::string name, std::string help,
                               std::vector<std::string> label_names,
                               std::function<FnSamples()> read) {
  familyFn(std::move(name), std::move(help), Type::kCounter, std::move(label_names),
           std::move(read));
}

Family<Counter>& Registry::counterFamily(std::string name, std::string help,
                                         std::vector<std::string> label_names) {
  checkLabels(name, namesOnly(label_names));
  std::lock_guard lock(mu_);
  declare(name, std::move(help), Type::kCounter);
  counter_families_.emplace_back(new Family<Counter>(*this, name, std::move(label_names), {}));
  return *counter_families_.back();
}

Family<Gauge>& Registry::gaugeFamily(std::string name, std::string help,
                                     std::vector<std::string> label_names) {
  checkLabels(name, namesOnly(label_names));
  std::lock_guard lock(mu_);
  declare(name, std::move(help), Type::kGauge);
  gauge_families_.emplace_back(new Family<Gauge>(*this, name, std::move(label_names), {}));
  return *gauge_families_.back();
}

Family<Histogram>& Registry::histogramFamily(std::string name, std::string help,
                                             std::span<const double> bounds,
                                             std::vector<std::string> label_names) {
  checkLabels(name, namesOnly(label_names));
  Histogram check(bounds);  // throws on bad bounds now, not at the first labels()
  std::lock_guard lock(mu_);
  declare(name, std::move(help), Type::kHistogram);
  histogram_families_.emplace_back(new Family<Histogram>(
      *this, name, std::move(label_names), std::vector<double>(bounds.begin(), bounds.end())));
  return *histogram_families_.back();
}

void Registry::forEachSample(
    const std::function<void(const std::string&, const Labels&, double)>& fn) const {
  for (const auto& [name, metric] : metrics_) {
    for (const auto& sample : metric.samples) {
      if (sample.counter) {
        fn(name, sample.labels, static_cast<double>(sample.counter->value()));
      } else if (sample.gauge) {
        fn(name, sample.labels, static_cast<double>(sample.gauge->value()));
      } else if (sample.read) {
        fn(name, sample.labels, sample.read());
      } else if (sample.read_many) {
        for (const auto& [values, v] : sample.read_many())
          fn(name, labelsOf(sample.label_names, values), v);
      } else if (sample.histogram) {
        const auto snap = sample.histogram->snapshot();
        fn(name + "_count", sample.labels, static_cast<double>(snap.count));
        fn(name + "_sum", sample.labels, snap.sum);
      }
    }
  }
}

std::string Registry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out.reserve(4096);
  for (const auto& [name, metric] : metrics_) {
    out += "# HELP ";
    out += name;
    out += ' ';
    appendEscaped(out, metric.help, false);
    out += "\n# TYPE ";
    out += name;
    out += metric.type == Type::kCounter ? " counter\n"
           : metric.type == Type::kGauge ? " gauge\n"
                                         : " histogram\n";
    for (const auto& sample : metric.samples) {
      if (sample.read_many) {
        for (const auto& [values, v] : sample.read_many()) {
          out += name;
          appendLabels(out, labelsOf(sample.label_names, values));
          out += ' ';
          appendNumber(out, v);
          out += '\n';
        }
        continue;
      }
      if (sample.histogram) {
        const auto snap = sample.histogram->snapshot();
        for (std::size_t i = 0; i <= snap.bounds.size(); ++i) {
          std::string le;
          if (i < snap.bounds.size())
            appendNumber(le, snap.bounds[i]);
          else
            le = "+Inf";
          out += name;
          out += "_bucket";
          appendLabels(out, sample.labels, "le", le);
          out += ' ';
          appendNumber(out, static_cast<double>(snap.cumulative[i]));
          out += '\n';
        }
        out += name;
        out += "_sum";
        appendLabels(out, sample.labels);
        out += ' ';
        appendNumber(out, snap.sum);
        out += '\n';
        out += name;
        out += "_count";
        appendLabels(out, sample.labels);
        out += ' ';
        appendNumber(out, static_cast<double>(snap.count));
        out += '\n';
        continue;
      }
      out += name;
      appendLabels(out, sample.labels);
      out += ' ';
      appendNumber(out, sample.counter ? static_cast<double>(sample.counter->value())
                        : sample.gauge ? static_cast<double>(sample.gauge->value())
                                       : sample.read());
      out += '\n';
    }
  }
  return out;
}

std::optional<double> Registry::value(std::string_view name, const Labels& labels) const {
  std::lock_guard lock(mu_);
  std::optional<double> found;
  forEachSample([&](const std::string& n, const Labels& l, double v) {
    if (!found && n == name && l == labels) found = v;
  });
  return found;
}

}  // namespace hookpipe::metrics
