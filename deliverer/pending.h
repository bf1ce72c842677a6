#pragma once

#include <cstdint>

#include "common/kafka/kafka.h"
#include "common/records/delivery.h"

namespace hookpipe::deliverer {

// One delivery record taken in and not finished yet: waiting in a lane, out in a Transfer,
// or on its way to a retry tier or the dead-letter topic.
struct Pending {
  kafka::OwnedMessage msg;       // its `headers` left empty:
  kafka::PackedHeaders headers;  // unpacked only for a record produced onwards
  records::DeliveryMeta meta;
  int64_t not_before_ms = 0;  // an ordered delivery retrying in place
};

}  // namespace hookpipe::deliverer
