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

std::string summaryJson(const Summary& s) {
  boost::json::object o;
  o["via"] = s.via;
  o["target_rate_per_s"] = s.target_rate_per_s;
  o["duration_s"] = s.duration_s;
  o["concurrency"] = s.concurrency;
  o["batch"] = s.batch;
  o["fan_out"] = s.fan_out;
  o["published"] = s.published;
  o["publish_errors"] = s.publish_errors;
  o["requests"] = s.requests;
  o["publish_elapsed_s"] = s.publish_elapsed_s;
  o["published_per_s"] = s.publishedPerS();
  if (!s.last_publish_error.empty()) o["last_publish_error"] = s.last_publish_error;
  if (s.receiver) {
    o["expected"] = s.expected;
    o["received"] = s.received;
    o["received_per_s"] = s.receivedPerS();
    o["attempts"] = s.attempts;
    o["successes"] = s.successes;
    o["success_rate"] = s.successRate();
    o["duplicates"] = s.duplicates;
    o["foreign"] = s.foreign;
    o["drain_s"] = s.drain_s;
    o["latency_ms"] = boost::json::object{{"p50", s.latency.p50_ms},
                                          {"p90", s.latency.p90_ms},
                                          {"p99", s.latency.p99_ms},
                                          {"max", s.latency.max_ms}};
  }
  o["complete"] = s.complete();
  return boost::json::serialize(o);
}

std::string progressLine(double elapsed_s, uint64_t published, uint64_t errors,
                         const std::optional<Tally::Snapshot>& receipts, uint64_t expected) {
  std::string line = fmt::format("{:6.1f} s  published {} ({:.0f}/s)  errors {}", elapsed_s,
                                 published, elapsed_s > 0 ? published / elapsed_s : 0, errors);
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
