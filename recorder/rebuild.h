#pragma once

#include <cstdint>
#include <ostream>

#include "common/config/config.h"
#include "common/error.h"

namespace hookpipe::recorder {

struct RebuildSummary {
  int partitions = 0;
  uint64_t records = 0;
  uint64_t bad_records = 0;
  uint64_t keys_removed = 0;
  double seconds = 0;
};

// `hookpipe recorder --rebuild`: builds the delivery-log index again from the `attempts`
// topic.
//   1. Takes every partition's [low, high) watermarks as they are now.
//   2. Fences the running recorders: SETs every idx:off:<p> to "rebuild" (applier.h), so
//      their next flush is refused and they wait (paused) for this rebuild's offsets.
//   3. Wipes the index (SCAN MATCH <prefix>idx:* + UNLINK in batches; the offsets stay).
//   4. Reads each partition from low to high with an assign-only Reader and applies it
//      with the same Aggregator and offset-checked flush as the recorder (the offset reads
//      "rebuild:<next>" meanwhile, so the recorders keep waiting); the last flush of
//      a partition sets idx:off:<p> to its high watermark, where the recorders go on.
// A running recorder is never counted twice with the rebuild: whichever moves a
// partition's offset first wins and the other's flush is refused. A rebuild that dies
// half-way leaves some offsets at "rebuild" and the recorders waiting: run it again.
//
// Progress goes to `progress` (a bar when `tty`), the summary line too.
Result<RebuildSummary> rebuild(const Config& config, std::ostream& progress, bool tty);

}  // namespace hookpipe::recorder
