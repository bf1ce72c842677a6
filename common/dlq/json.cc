#include "common/dlq/json.h"

#include "common/dlq/replay.h"
#include "common/records/delivery.h"

namespace hookpipe::dlq {

boost::json::object toJson(const DeadLetter& d, bool with_body) {
  const auto meta = records::DeliveryMeta::fromHeaders(d.headers);
  boost::json::object o;
  o["partition"] = d.partition;
  o["offset"] = d.offset;
  o["subscription_id"] = d.header(records::kSubscriptionId);
  o["delivery_id"] = d.header(records::kDeliveryId);
  o["event_id"] = d.header(records::kEventId);
  o["event_type"] = d.header(records::kEventType);
  o["attempts"] = meta.attempt;
  o["last_status"] = meta.last_status;
  o["error_class"] = d.header(records::kErrorClass);
  o["error_message"] = d.header(records::kErrorMessage);
  o["reason"] = d.header(records::kDeadLetterReason);
  o["dead_lettered_at"] = formatTimeMs(d.deadLetteredAtMs());
  o["replay_count"] = d.header(kReplayCount).empty() ? "0" : d.header(kReplayCount);
  if (with_body) {
    boost::json::object headers;
    for (const auto& [k, v] : d.headers) headers[k] = v;
    o["key"] = d.key;
    o["headers"] = std::move(headers);
    o["body"] = d.value;
  }
  return o;
}

}  // namespace hookpipe::dlq
