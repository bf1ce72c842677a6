// A DeliveryMeta with every field set, shared by the tests of its header forms.
#pragma once

#include "common/records/delivery.h"

namespace hookpipe::records {

inline DeliveryMeta fullMeta() {
  DeliveryMeta m;
  m.delivery_id = "msg_0123456789abcdef01234567";
  m.event_id = "evt_abc";
  m.event_type = "order.created";
  m.subscription_id = "sub_1";
  m.attempt = 4;
  m.first_attempt_ms = 1767972600123;
  m.due_ms = 1767972900123;
  m.last_status = 503;
  m.error_class = "http_5xx";
  m.error_message = "HTTP 503: busy";
  m.replay_id = "rpl_9";
  m.origin = {"hookpipe.events", 3, 42};
  m.dead_letter_reason = "retries_exhausted";
  m.dead_letter_at_ms = 1767973000123;
  m.replay_count = 2;
  return m;
}

}  // namespace hookpipe::records
