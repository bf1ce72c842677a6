#include "common/dlq/json.h"

#include "common/records/delivery.h"

namespace hookpipe::dlq {

boost::json::object toJson(const DeadLetter& d, bool with_body) {
  const auto meta = records::DeliveryMeta::fromHeaders(d.headers);
  boost::json::object o;
  o["partition"] = d.partition;
  o["offset"] = d.offset;
  o["subscription_id"] = meta.subscription_id;
  o["delivery_id"] = meta.delivery_id;
  o["event_id"] = meta.event_id;
  o["event_type"] = meta.event_type;
  o["attempts"] = meta.attempt;
  o["last_status"] = meta.last_status;
  o["error_class"] = meta.error_class;
  o["error_message"] = meta.error_message;
  o["reason"] = meta.dead_letter_reason;
  o["dead_lettered_at"] = formatTimeMs(d.deadLetteredAtMs());
  o["replay_count"] = std::to_string(meta.replay_count);  // a string since the first API
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
