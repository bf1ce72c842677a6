#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/kafka/kafka.h"

// The delivery record: the value is the exact body to POST, the metadata travels in
// headers (names below) so it can change without touching the body. DeliveryMeta is its
// one codec: every role reads a delivery with fromMessage()/fromHeaders() and writes it
// with writeTo() (or, for the router's fresh deliveries, freshDeliveryHeaders()); nobody
// sets these headers by hand.
namespace hookpipe::records {

inline constexpr const char* kDeliveryId = "hp-delivery-id";
inline constexpr const char* kEventId = "hp-event-id";
inline constexpr const char* kEventType = "hp-event-type";
inline constexpr const char* kSubscriptionId = "hp-subscription-id";
inline constexpr const char* kAttempt = "hp-attempt";
inline constexpr const char* kFirstAttemptMs = "hp-first-attempt-ms";
inline constexpr const char* kDueMs = "hp-due-ms";
inline constexpr const char* kLastStatus = "hp-last-status";
inline constexpr const char* kErrorClass = "hp-error-class";
inline constexpr const char* kErrorMessage = "hp-error-message";
inline constexpr const char* kOriginTopic = "hp-origin-topic";
inline constexpr const char* kOriginPartition = "hp-origin-partition";
inline constexpr const char* kOriginOffset = "hp-origin-offset";
inline constexpr const char* kReplayId = "hp-replay-id";
inline constexpr const char* kReplayCount = "hp-replay-count";
inline constexpr const char* kParkedSinceMs = "hp-parked-since-ms";
inline constexpr const char* kDeadLetterReason = "hp-dlq-reason";
inline constexpr const char* kDeadLetterAtMs = "hp-dlq-at-ms";
inline constexpr const char* kInvalidReason = "hp-invalid-reason";

// Where a record first entered hookpipe: the event's position in `events` for a routed
// delivery, or the position it was dead-lettered from when it had none.
struct Origin {
  std::string topic;  // empty: unknown
  int32_t partition = -1;
  int64_t offset = -1;

  bool known() const { return !topic.empty(); }
  // Sets the three origin headers (replacing earlier copies).
  void writeTo(kafka::HeaderList& headers) const;
};

// Everything about a delivery that does not depend on its body.
//
// Fields of the record's first life (ids, attempt, times, last outcome) are always
// written; the rest (origin, dead-letter reason and time, replay count, parked-since) are
// written only when set, and an unset one leaves whatever header `headers` already has.
struct DeliveryMeta {
  std::string delivery_id;
  std::string event_id;
  std::string event_type;
  std::string subscription_id;
  int attempt = 1;               // the attempt about to be made
  int64_t first_attempt_ms = 0;  // 0 until the first attempt
  int64_t due_ms = 0;            // not before this time
  int last_status = 0;
  std::string error_class;
  std::string error_message;
  std::string replay_id;
  // When a paused subscription's delivery was first parked (0: not parked for a pause);
  // past max_pause it is dead-lettered with reason "paused". Erased by writeTo() when 0.
  int64_t parked_since_ms = 0;
  Origin origin;
  std::string dead_letter_reason;  // set once dead-lettered
  int64_t dead_letter_at_ms = 0;
  int replay_count = 0;  // how often this delivery was replayed from the dead-letter topic

  static DeliveryMeta fromHeaders(const kafka::HeaderList& headers);
  // The same, read straight from a consumed record's headers in one pass (no HeaderList).
  static DeliveryMeta fromMessage(const rd_kafka_message_t* msg);
  // Writes the fields into `headers`, keeping headers it does not own (see above).
  void writeTo(kafka::HeaderList& headers) const;

  // Marks the delivery dead-lettered now for `reason`. `from` (the record being dead-
  // lettered) becomes the origin only when the delivery has none, so a routed delivery
  // keeps pointing at its event.
  void deadLetter(std::string reason, int64_t now_ms, const Origin& from);
  // Turns a dead letter into a fresh first attempt due at `now_ms`, under `replay_id`.
  void replay(std::string replay_id, int64_t now_ms);

 private:
  // Takes one header; a later copy of a name overrides an earlier one.
  void read(std::string_view name, std::string_view value);
};

// The router's fresh delivery, as views into what the router keeps alive until the
// record is produced (librdkafka copies header views).
struct FreshDelivery {
  std::string_view delivery_id;
  std::string_view event_id;
  std::string_view event_type;
  std::string_view subscription_id;
  std::string_view origin_topic;
  std::string_view origin_partition;  // as text
  std::string_view origin_offset;     // as text
};
// Only the headers whose value differs from what fromHeaders() fills in for an absent one
// (attempt 1, due now, no status, error or replay): 7 headers instead of 14, no copy —
// header writing was the router producer's largest cost (benchmarks/README.md).
inline std::array<kafka::HeaderView, 7> freshDeliveryHeaders(const FreshDelivery& d) {
  return {{
      {kDeliveryId, d.delivery_id},
      {kEventId, d.event_id},
      {kEventType, d.event_type},
      {kSubscriptionId, d.subscription_id},
      {kOriginTopic, d.origin_topic},
      {kOriginPartition, d.origin_partition},
      {kOriginOffset, d.origin_offset},
  }};
}

// The headers of an event refused by the router, for `events.invalid`: the publisher's
// own headers stay, the reason and the event's position are added.
void markInvalid(kafka::HeaderList& headers, std::string reason, const Origin& origin);

// Stable across every attempt of one (event, subscription): "msg_" + 24 hex digits of
// SHA-256(event id "/" subscription id), so a re-routed event keeps its delivery id.
std::string deliveryIdFor(const std::string& event_id, const std::string& subscription_id);

}  // namespace hookpipe::records
