#pragma once

#include <cstdint>
#include <string>

#include "common/kafka/kafka.h"

// The delivery record: the value is the exact body to POST, the metadata travels in
// headers (names below) so it can change without touching the body.
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
inline constexpr const char* kParkedSinceMs = "hp-parked-since-ms";
inline constexpr const char* kDeadLetterReason = "hp-dlq-reason";
inline constexpr const char* kDeadLetterAtMs = "hp-dlq-at-ms";
inline constexpr const char* kInvalidReason = "hp-invalid-reason";

// What the deliverer and the retry role need to know about a delivery.
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
  // past max_pause it is dead-lettered with reason "paused".
  int64_t parked_since_ms = 0;

  static DeliveryMeta fromHeaders(const kafka::HeaderList& headers);
  // The same, read straight from a consumed record's headers in one pass (no HeaderList).
  static DeliveryMeta fromMessage(const rd_kafka_message_t* msg);
  // Writes every field into `headers`, keeping headers it does not own (origin etc.).
  void writeTo(kafka::HeaderList& headers) const;

 private:
  // Takes one header; a later copy of a name overrides an earlier one.
  void read(std::string_view name, std::string_view value);
};

// Stable across every attempt of one (event, subscription): "msg_" + 24 hex digits of
// SHA-256(event id "/" subscription id), so a re-routed event keeps its delivery id.
std::string deliveryIdFor(const std::string& event_id, const std::string& subscription_id);

}  // namespace hookpipe::records
