#pragma once

// The chaos harness's report (benchmarks/chaos.cc): from the Ledger and the fault log
// script/chaos wrote, per subscription and per fault window: pairs expected, missing
// (never tried / tried but never answered 2xx), duplicates, the longest pause in
// deliveries, and the slowest publish-to-delivery time.
#include <cstdint>
#include <string>
#include <vector>

#include "benchmarks/chaos_ledger.h"

namespace hookpipe::chaos {

// One line of the fault log: "<epoch ms> <what> <label…>", what = fault | end | exit | note.
struct FaultLine {
  int64_t at_us = 0;
  std::string what;
  std::string label;
};
std::vector<FaultLine> readFaultLog(const std::string& path);

struct RunInfo {
  std::string prefix;
  double rate = 0;
  long seconds = 0;
  bool static_membership = false;
  int64_t publish_start_us = 0;
  int64_t publish_end_us = 0;
  int64_t stop_us = 0;  // when the receiver stopped counting
  std::string stopped_by;
  bool warmup_stalled = false;  // a warm-up retry never came back (retry processes restarted)  //
                                // complete | quiet | max-wait (before any --recover restart)
  // --recover: when the run first went quiet with pairs missing and every process was
  // restarted (0: it was not).
  int64_t restart_us = 0;
  long dead_letters = -1;
  long invalid_events = -1;
  std::vector<FaultLine> faults;
};

struct Verdict {
  std::string text;     // the report, several lines
  std::string summary;  // one line of key=value, for scripts
  long missing = 0;     // at quiet (before a --recover restart)
  long missing_after_restart = 0;
  long unexpected_exits = 0;
  bool warmup_stalled = false;
};
Verdict report(const Ledger& ledger, const RunInfo& run);
// Per 100 ms from the start of publishing: events acknowledged, then per subscription the
// pairs delivered for the first time and the duplicates (tab-separated, with a header).
std::string timeline(const Ledger& ledger, const RunInfo& run);
// One line per event: its ack time, then per subscription the first 2xx time (ms from the
// start of publishing, -1: none), the 2xx answers and the requests.
std::string pairsTable(const Ledger& ledger, const RunInfo& run);

}  // namespace hookpipe::chaos
