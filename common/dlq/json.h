#pragma once

#include <boost/json/object.hpp>

#include "common/dlq/reader.h"

namespace hookpipe::dlq {

// A dead letter as JSON, the same for `hookpipe dlq list|show --json` and the API:
// position, subscription, delivery and event ids, event type, attempts, last status,
// error class and message, reason, dead-lettered time and replay count; with
// `with_body`, also the key, every header and the body.
boost::json::object toJson(const DeadLetter& d, bool with_body);

}  // namespace hookpipe::dlq
