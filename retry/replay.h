#pragma once

// Dead-letter replay lives in common/dlq/replay.h since the producer API replays too;
// these names keep the retry role's old spelling (retry::replayDeadLetters) working.
#include "common/dlq/replay.h"

namespace hookpipe::retry {
using dlq::defaultReplayId;
using dlq::kDefaultMaxReplayCount;
using dlq::redirectedDeliveryId;
using dlq::replayDeadLetters;
using dlq::ReplayOptions;
using dlq::ReplayProgress;
using dlq::ReplayStats;
}  // namespace hookpipe::retry
