#include "benchmarks/chaos_report.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace hookpipe::chaos {
namespace {

std::string format(const char* fmt, auto... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

double sec(int64_t us) { return static_cast<double>(us) / 1e6; }

const char* kindName(Kind k) { return k == Kind::kOk ? "ok" : "flaky"; }

// Stretches with no first delivery while deliveries were due: between consecutive first
// deliveries and — when pairs are still missing — from the last one (or the start of
// publishing) to the end of the run. Not from the start to the first one: a flaky
// subscription's first delivery waits for its retry by design.
std::vector<std::pair<int64_t, int64_t>> gaps(const std::vector<int64_t>& sorted_times,
                                              int64_t start_us, int64_t stop_us, bool missing) {
  std::vector<std::pair<int64_t, int64_t>> out;
  int64_t prev = sorted_times.empty() ? start_us : sorted_times.front();
  for (int64_t t : sorted_times) {
    if (t > prev) out.emplace_back(prev, t);
    prev = std::max(prev, t);
  }
  if (missing && stop_us > prev) out.emplace_back(prev, stop_us);
  return out;
}

int64_t longestOverlap(const std::vector<std::pair<int64_t, int64_t>>& gs, int64_t a, int64_t b) {
  int64_t best = 0;
  for (auto [g0, g1] : gs) best = std::max(best, std::min(g1, b) - std::max(g0, a));
  return best;
}

long countIn(const std::vector<int64_t>& sorted_times, int64_t a, int64_t b) {
  return std::lower_bound(sorted_times.begin(), sorted_times.end(), b) -
         std::lower_bound(sorted_times.begin(), sorted_times.end(), a);
}

}  // namespace

std::vector<FaultLine> readFaultLog(const std::string& path) {
  std::vector<FaultLine> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    FaultLine f;
    int64_t ms = 0;
    if (!(ss >> ms >> f.what)) continue;
    f.at_us = ms * 1000;
    std::getline(ss >> std::ws, f.label);
    out.push_back(std::move(f));
  }
  return out;
}

Verdict report(const Ledger& ledger, const RunInfo& run) {
  const auto& subs = ledger.subs();
  const std::size_t n = subs.size();
  const auto& acked = ledger.ackedMicros();
  Verdict v;
  std::string& o = v.text;
  // With --recover, "delivered" means by the time the run first went quiet.
  const int64_t quiet_us = run.restart_us;
  const int64_t end_us = quiet_us > 0 ? quiet_us : run.stop_us;

  long acked_events = 0, failed_events = 0, unacked_events = 0;
  for (int64_t t : acked) {
    if (t >= 0)
      ++acked_events;
    else if (t == Ledger::kFailed)
      ++failed_events;
    else
      ++unacked_events;
  }
  o += format(
      "chaos report: prefix %s, %ld s at %.0f events/s, %zu subscriptions, static membership %s\n",
      run.prefix.c_str(), run.seconds, run.rate, n, run.static_membership ? "on" : "off");
  o += format("the wait ended: %s (%+.1f s)\n",
              run.stopped_by == "complete" ? "every pair delivered"
              : run.stopped_by == "quiet"  ? "no new pair delivered for the quiet period"
                                           : "--max-wait, with pairs still being delivered (the "
                                             "pipeline was behind, not stuck)",
              sec((quiet_us > 0 ? quiet_us : run.stop_us) - run.publish_start_us));
  o += format(
      "published: %ld events acknowledged by the broker, %ld failed, %ld without an answer "
      "(only acknowledged events are expected)\n",
      acked_events, failed_events, unacked_events);

  // Fault windows: from each fault to the next one; the first from the start of publishing.
  struct Window {
    int64_t start = 0, end = 0;
    std::string label;
    int64_t lasted = -1;
    long duplicates = 0, missing = 0, published = 0;
    int64_t pause_any = 0, pause_sub = 0, latency_max = -1;
    std::size_t pause_sub_index = 0;
  };
  std::vector<Window> windows{{run.publish_start_us, 0, "(before the first fault)"}};
  std::vector<std::string> exits;
  for (const auto& f : run.faults) {
    if (f.what == "fault") {
      windows.push_back({f.at_us, 0, f.label});
    } else if (f.what == "end") {
      for (auto it = windows.rbegin(); it != windows.rend(); ++it)
        if (it->label == f.label && it->lasted < 0) {
          it->lasted = f.at_us - it->start;
          break;
        }
    } else if (f.what == "exit") {
      exits.push_back(format("%+.1f s %s", sec(f.at_us - run.publish_start_us), f.label.c_str()));
    }
  }
  for (std::size_t w = 0; w < windows.size(); ++w)
    windows[w].end = w + 1 < windows.size() ? windows[w + 1].start : end_us;
  auto windowOf = [&](int64_t t) {
    std::size_t w = 0;
    while (w + 1 < windows.size() && windows[w + 1].start <= t) ++w;
    return w;
  };

  // Per subscription, and the per-window counts that come from pairs.
  o += "per subscription:\n";
  o += format("  %-22s %-5s %5s %5s %9s %9s %8s %8s %8s %10s %9s\n", "subscription", "kind",
              "dpart", "rpart", "expected", "delivered", "missing", "(tried)", "(stuck)",
              "duplicates", "500s sent");
  long total_expected = 0, total_missing = 0, total_dups = 0, total_delivered = 0,
       total_recovered = 0;
  std::vector<std::vector<int64_t>> first_sorted(n);
  std::vector<bool> sub_missing(n, false);
  std::vector<std::string> samples;
  for (std::size_t s = 0; s < n; ++s) {
    long expected = 0, delivered = 0, missing = 0, tried = 0, dups = 0, recovered = 0;
    for (long seq = 0; seq < ledger.events(); ++seq) {
      const int64_t ack = acked[static_cast<std::size_t>(seq)];
      const auto& p = ledger.pair(seq, s);
      if (p.ok > 1) dups += p.ok - 1;
      if (ack < 0) continue;
      ++expected;
      Window& win = windows[windowOf(ack)];
      if (s == 0) ++win.published;
      if (p.ok > 0 && (quiet_us == 0 || p.first_ok_us <= quiet_us)) {
        ++delivered;
        if (subs[s].kind == Kind::kOk)
          win.latency_max = std::max(win.latency_max, p.first_ok_us - ack);
        continue;
      }
      ++missing;
      ++win.missing;
      if (p.ok > 0) ++recovered;
      if (p.requests > 0) ++tried;
      if (samples.size() < 12)
        samples.push_back(format("evt_%ld -> %s (acknowledged at %+.1f s, %u requests in all%s)",
                                 seq, subs[s].id.c_str(), sec(ack - run.publish_start_us),
                                 p.requests,
                                 p.ok > 0 ? format(", delivered at %+.1f s after the restart",
                                                   sec(p.first_ok_us - run.publish_start_us))
                                                .c_str()
                                          : ""));
    }
    o += format("  %-22s %-5s %5d %5d %9ld %9ld %8ld %8ld %8ld %10ld %9ld\n", subs[s].id.c_str(),
                kindName(subs[s].kind), subs[s].deliveries_partition, subs[s].retry_partition,
                expected, delivered, missing, tried, recovered, dups, ledger.failedAnswers(s));
    total_expected += expected;
    total_missing += missing;
    total_dups += dups;
    total_delivered += delivered;
    total_recovered += recovered;
    sub_missing[s] = missing > 0;
    first_sorted[s] = ledger.firstOkMicros(s);
    std::sort(first_sorted[s].begin(), first_sorted[s].end());
    std::vector<int64_t> dup_sorted = ledger.duplicateMicros(s);
    std::sort(dup_sorted.begin(), dup_sorted.end());
    for (auto& w : windows) w.duplicates += countIn(dup_sorted, w.start, w.end);
  }

  o += "  (dpart/rpart: the subscription's deliveries and retry partition; missing: never "
       "answered 2xx by the time the run went quiet, (tried): of those, requested at least once, "
       "(stuck): delivered after the --recover restart)\n";

  // Pauses: in every subscription's deliveries taken together, and the worst single one.
  std::vector<int64_t> all;
  for (const auto& f : first_sorted) all.insert(all.end(), f.begin(), f.end());
  std::sort(all.begin(), all.end());
  const auto all_gaps = gaps(all, run.publish_start_us, end_us, total_missing > 0);
  for (auto& w : windows) w.pause_any = longestOverlap(all_gaps, w.start, w.end);
  for (std::size_t s = 0; s < n; ++s) {
    const auto g = gaps(first_sorted[s], run.publish_start_us, end_us, sub_missing[s]);
    for (auto& w : windows)
      if (const int64_t p = longestOverlap(g, w.start, w.end); p > w.pause_sub)
        w.pause_sub = p, w.pause_sub_index = s;
  }

  o += "per fault window (from the fault to the next one; times from the start of publishing):\n";
  o += format("  %7s  %-34s %8s %10s %9s %17s %11s %9s\n", "at", "fault", "lasted", "duplicates",
              "pause all", "pause worst sub", "max latency", "missing");
  for (const auto& w : windows) {
    o += format("  %+6.1fs  %-34s %8s %10ld %8.2fs %9.2fs (s%zu) %10s %9ld\n",
                sec(w.start - run.publish_start_us), w.label.c_str(),
                w.lasted >= 0 ? format("%.1fs", sec(w.lasted)).c_str() : "-", w.duplicates,
                sec(w.pause_any), sec(w.pause_sub), w.pause_sub_index,
                w.latency_max >= 0 ? format("%.2fs", sec(w.latency_max)).c_str() : "-", w.missing);
  }
  o += "  (pause: the longest stretch in the window with no new pair delivered while some were "
       "due; s<N>: subscription N; max latency: acknowledged -> first 2xx, ok subscriptions, "
       "events published in the window; missing: by the window the event was published in)\n";

  o += format(
      "totals: pairs expected %ld, delivered %ld, missing %ld, duplicates %ld; dead letters %ld, "
      "invalid events %ld, unknown requests %ld\n",
      total_expected, total_delivered, total_missing, total_dups, run.dead_letters,
      run.invalid_events, ledger.unknownRequests());
  if (!samples.empty()) {
    o += "missing (first few):\n";
    for (const auto& s : samples) o += "  " + s + "\n";
  }
  if (exits.empty()) {
    o += "processes that exited on their own: none\n";
  } else {
    o += "processes that exited on their own (not restarted by the harness):\n";
    for (const auto& e : exits) o += "  " + e + "\n";
  }
  v.missing_after_restart = total_missing - total_recovered;
  if (quiet_us > 0)
    o += format(
        "the run went quiet at %+.1f s with %ld pairs missing; every process was stopped and one "
        "per role started: %ld of them arrived then (they were stuck), %ld did not before the "
        "next quiet period (lost, or stuck again)\n",
        sec(quiet_us - run.publish_start_us), total_missing, total_recovered,
        v.missing_after_restart);
  if (run.warmup_stalled)
    o += "warm-up: a retry of a warm-up event did not come back within 30 s, before any "
         "fault; the retry processes were restarted (the stalled retry partition of issue 14)\n";
  v.missing = total_missing;
  v.warmup_stalled = run.warmup_stalled;
  v.unexpected_exits = static_cast<long>(exits.size());
  const bool pass = total_missing == 0 && exits.empty() && !run.warmup_stalled;
  o += pass ? "result: PASS\n"
            : format("result: FAIL (%ld missing pairs, %zu processes exited%s)\n", total_missing,
                     exits.size(), run.warmup_stalled ? ", the warm-up stalled" : "");
  v.summary = format(
      "expected=%ld missing=%ld missing_after_restart=%ld duplicates=%ld dead_letters=%ld "
      "invalid=%ld unknown=%ld exits=%zu warmup_stalled=%d",
      total_expected, total_missing, v.missing_after_restart, total_dups, run.dead_letters,
      run.invalid_events, ledger.unknownRequests(), exits.size(), run.warmup_stalled ? 1 : 0);
  return v;
}

std::string timeline(const Ledger& ledger, const RunInfo& run) {
  constexpr int64_t kStep = 100'000;
  const std::size_t n = ledger.subs().size();
  const auto slot = [&](int64_t t) -> long {
    return t < run.publish_start_us ? -1 : static_cast<long>((t - run.publish_start_us) / kStep);
  };
  const long slots = slot(run.stop_us) + 1;
  std::vector<std::vector<long>> cols(1 + 2 * n,
                                      std::vector<long>(static_cast<std::size_t>(slots)));
  auto add = [&](std::size_t col, int64_t t) {
    if (const long s = slot(t); s >= 0 && s < slots) ++cols[col][static_cast<std::size_t>(s)];
  };
  for (int64_t t : ledger.ackedMicros())
    if (t >= 0) add(0, t);
  std::string out = "t_s\tacked";
  for (std::size_t s = 0; s < n; ++s) {
    for (int64_t t : ledger.firstOkMicros(s)) add(1 + 2 * s, t);
    for (int64_t t : ledger.duplicateMicros(s)) add(2 + 2 * s, t);
    out += format("\tfirst_s%zu\tdup_s%zu", s, s);
  }
  out += "\n";
  for (long i = 0; i < slots; ++i) {
    out += format("%.1f", static_cast<double>(i) / 10);
    for (const auto& c : cols) out += format("\t%ld", c[static_cast<std::size_t>(i)]);
    out += "\n";
  }
  return out;
}

std::string pairsTable(const Ledger& ledger, const RunInfo& run) {
  std::string out = "seq\tacked_ms";
  for (std::size_t s = 0; s < ledger.subs().size(); ++s)
    out += format("\tfirst_ok_ms_s%zu\tok_s%zu\trequests_s%zu", s, s, s);
  out += "\n";
  auto rel = [&](int64_t t) {
    return t < 0 ? -1L : static_cast<long>((t - run.publish_start_us) / 1000);
  };
  for (long seq = 0; seq < ledger.events(); ++seq) {
    out += format("%ld\t%ld", seq, rel(ledger.ackedMicros()[static_cast<std::size_t>(seq)]));
    for (std::size_t s = 0; s < ledger.subs().size(); ++s) {
      const auto& p = ledger.pair(seq, s);
      out += format("\t%ld\t%u\t%u", rel(p.first_ok_us), p.ok, p.requests);
    }
    out += "\n";
  }
  return out;
}

}  // namespace hookpipe::chaos
