#include "common/observe/observer.h"

namespace hookpipe::observe {

std::string_view name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kDelivered:
      return "delivered";
    case Outcome::kRetried:
      return "retried";
    case Outcome::kParked:
      return "parked";
    case Outcome::kDeadLettered:
      return "dead_lettered";
    case Outcome::kSkipped:
      return "skipped";
  }
  return "unknown";
}

}  // namespace hookpipe::observe
