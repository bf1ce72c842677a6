#include "common/loadtest/report.h"

#include <spdlog/fmt/fmt.h>

#include <boost/json.hpp>

namespace hookpipe::loadtest {

double Summary::publishedPerS() const {
  return publish_elapsed_s > 0 ? static_cast<double>(published) / publish_elapsed_s : 0;
}

double Summary::receivedPerS() const {
  return receive_elapsed_s > 0 ? static_cast<double>(received) / receive_elapsed_s : 0;
}

double Summary::successRate() const {
  return attempts > 0 ? static_cast<double>(successes) / static_cast<double>(attempts) : 1;
}

void addReceipts(Summary& s, const Tally::Snapshot& t, int64_t first_send_us) {
  s.receiver = true;
  s.expected = s.published * static_cast<uint64_t>(s.fan_out);
  s.received = t.received;
  s.attempts = t.attempts;
  s.successes = t.successes;
  s.duplicates = t.duplicates;
  s.foreign = t.foreign;
  s.receive_elapsed_s =
      t.last_receipt_us > first_send_us ? (t.last_receipt_us - first_send_us) / 1e6 : 0;
  s.latency = percentiles(t);
}

std::string summaryText(const Summary& s) {
  std::string out = fmt::format(
      "loadtest: {:.1f} s at {:g}/s via {}, concurrency {}, batch {}\n"
      "published  {} events in {:.1f} s ({:.1f}/s), {} requests, {} publish errors\n",
      s.duration_s, s.target_rate_per_s, s.via, s.concurrency, s.batch, s.published,
      s.publish_elapsed_s, s.publishedPerS(), s.requests, s.publish_errors);
  if (s.interrupted) out += "           interrupted: published for less than the duration\n";
  if (!s.last_publish_error.empty())
    out += fmt::format("           last publish error: {}\n", s.last_publish_error);
  if (!s.receiver) return out;
  out += fmt::format(
      "received   {} of {} ({:.1f}/s), {} attempts, success rate {:.1f}%, {} duplicates\n"
      "latency    p50 {:.1f} ms  p90 {:.1f} ms  p99 {:.1f} ms  max {:.1f} ms  (publish to "
      "receipt)\n",
      s.received, s.expected, s.receivedPerS(), s.attempts, 100 * s.successRate(), s.duplicates,
      s.latency.p50_ms, s.latency.p90_ms, s.latency.p99_ms, s.latency.max_ms);
  if (s.foreign > 0) out += fmt::format("           {} requests not from this run\n", s.foreign);
  if (!s.complete())
    out += fmt::format("MISSING    {} deliveries not received after a {:.1f} s drain\n",
                       s.expected - s.received, s.drain_s);
  return out;
}

namespace {

// Boost.JSON writes doubles as 5E1 or 2.002917583279644E2; these are easier to read and
// compare: integers as integers, others with three decimals (as JSON numbers).
std::string number(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v)))
    return std::to_string(static_cast<int64_t>(v));
  return fmt::format("{:.3f}", v);
}

std::string jsonString(const std::string& s) {
  return boost::json::serialize(boost::json::value(s));
}

}  // namespace

std::string summaryJson(const Summary& s) {
  std::string out = "{";
  auto field = [&](const char* key, const std::string& value) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += key;
    out += "\":";
    out += value;
  };
  auto count = [](uint64_t n) { return std::to_string(n); };
  field("via", jsonString(s.via));
  field("target_rate_per_s", number(s.target_rate_per_s));
  field("duration_s", number(s.duration_s));
  field("concurrency", std::to_string(s.concurrency));
  field("batch", std::to_string(s.batch));
  field("fan_out", std::to_string(s.fan_out));
  field("published", count(s.published));
  field("publish_errors", count(s.publish_errors));
  field("requests", count(s.requests));
  field("publish_elapsed_s", number(s.publish_elapsed_s));
  field("published_per_s", number(s.publishedPerS()));
  if (!s.last_publish_error.empty()) field("last_publish_error", jsonString(s.last_publish_error));
  if (s.receiver) {
    field("expected", count(s.expected));
    field("received", count(s.received));
    field("received_per_s", number(s.receivedPerS()));
    field("attempts", count(s.attempts));
    field("successes", count(s.successes));
    field("success_rate", fmt::format("{:.4f}", s.successRate()));
    field("duplicates", count(s.duplicates));
    field("foreign", count(s.foreign));
    field("drain_s", number(s.drain_s));
    field("latency_ms", "{\"p50\":" + number(s.latency.p50_ms) + ",\"p90\":" +
                            number(s.latency.p90_ms) + ",\"p99\":" + number(s.latency.p99_ms) +
                            ",\"max\":" + number(s.latency.max_ms) + "}");
  }
  field("interrupted", s.interrupted ? "true" : "false");
  field("complete", s.complete() ? "true" : "false");
  return out + "}";
}

std::string progressLine(double elapsed_s, double publish_s, uint64_t published, uint64_t errors,
                         const std::optional<Tally::Snapshot>& receipts, uint64_t expected) {
  std::string line = fmt::format("{:6.1f} s  published {} ({:.0f}/s)  errors {}", elapsed_s,
                                 published, publish_s > 0 ? published / publish_s : 0, errors);
  if (receipts) {
    const auto p = percentiles(*receipts);
    const double rate = receipts->attempts > 0 ? 100.0 * static_cast<double>(receipts->successes) /
                                                     static_cast<double>(receipts->attempts)
                                               : 100.0;
    line += fmt::format("  received {}/{}  success {:.1f}%  p99 {:.1f} ms", receipts->received,
                        expected, rate, p.p99_ms);
  }
  return line;
}

}  // namespace hookpipe::loadtest
