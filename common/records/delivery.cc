#include "common/records/delivery.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <charconv>
#include <cstring>
#include <memory>

#include "common/text/number.h"

namespace hookpipe::records {
namespace {

// A replay count past this is not believed (a corrupt header must not refuse a replay).
constexpr int64_t kMaxReplayCount = 1'000'000;

int64_t toInt(std::string_view s, int64_t fallback) {
  return text::parseInteger<int64_t>(s).value_or(fallback);
}

}  // namespace

void DeliveryMeta::read(std::string_view name, std::string_view value) {
  // Every name starts with "hp-": compare the rest.
  if (!name.starts_with("hp-")) return;
  const std::string_view n = name.substr(3);
  auto is = [n](const char* full) { return n == std::string_view(full).substr(3); };
  if (is(kDeliveryId)) {
    delivery_id.assign(value);
  } else if (is(kEventId)) {
    event_id.assign(value);
  } else if (is(kEventType)) {
    event_type.assign(value);
  } else if (is(kSubscriptionId)) {
    subscription_id.assign(value);
  } else if (is(kAttempt)) {
    attempt = static_cast<int>(toInt(value, 1));
  } else if (is(kFirstAttemptMs)) {
    first_attempt_ms = toInt(value, 0);
  } else if (is(kDueMs)) {
    due_ms = toInt(value, 0);
  } else if (is(kLastStatus)) {
    last_status = static_cast<int>(toInt(value, 0));
  } else if (is(kErrorClass)) {
    error_class.assign(value);
  } else if (is(kErrorMessage)) {
    error_message.assign(value);
  } else if (is(kReplayId)) {
    replay_id.assign(value);
  } else if (is(kOriginTopic)) {
    origin.topic.assign(value);
  } else if (is(kOriginPartition)) {
    origin.partition = static_cast<int32_t>(toInt(value, -1));
  } else if (is(kOriginOffset)) {
    origin.offset = toInt(value, -1);
  } else if (is(kParkedSinceMs)) {
    parked_since_ms = toInt(value, 0);
  } else if (is(kDeadLetterReason)) {
    dead_letter_reason.assign(value);
  } else if (is(kDeadLetterAtMs)) {
    dead_letter_at_ms = toInt(value, 0);
  } else if (is(kReplayCount)) {
    const int64_t n = toInt(value, 0);
    replay_count = n >= 0 && n < kMaxReplayCount ? static_cast<int>(n) : 0;
  }
}

DeliveryMeta DeliveryMeta::fromHeaders(const kafka::HeaderList& headers) {
  DeliveryMeta m;
  for (const auto& [name, value] : headers) m.read(name, value);
  return m;
}

DeliveryMeta DeliveryMeta::fromMessage(const rd_kafka_message_t* msg) {
  DeliveryMeta m;
  kafka::forEachHeader(
      msg, [&m](std::string_view name, std::string_view value) { m.read(name, value); });
  return m;
}

void DeliveryMeta::writeTo(kafka::HeaderList& headers) const {
  kafka::setHeader(headers, kDeliveryId, delivery_id);
  kafka::setHeader(headers, kEventId, event_id);
  kafka::setHeader(headers, kEventType, event_type);
  kafka::setHeader(headers, kSubscriptionId, subscription_id);
  kafka::setHeader(headers, kAttempt, std::to_string(attempt));
  kafka::setHeader(headers, kFirstAttemptMs, std::to_string(first_attempt_ms));
  kafka::setHeader(headers, kDueMs, std::to_string(due_ms));
  kafka::setHeader(headers, kLastStatus, std::to_string(last_status));
  kafka::setHeader(headers, kErrorClass, error_class);
  kafka::setHeader(headers, kErrorMessage, error_message);
  kafka::setHeader(headers, kReplayId, replay_id);
  if (parked_since_ms != 0) {
    kafka::setHeader(headers, kParkedSinceMs, std::to_string(parked_since_ms));
  } else {
    kafka::eraseHeader(headers, kParkedSinceMs);
  }
  if (origin.known()) origin.writeTo(headers);
  if (!dead_letter_reason.empty()) kafka::setHeader(headers, kDeadLetterReason, dead_letter_reason);
  if (dead_letter_at_ms != 0)
    kafka::setHeader(headers, kDeadLetterAtMs, std::to_string(dead_letter_at_ms));
  if (replay_count != 0) kafka::setHeader(headers, kReplayCount, std::to_string(replay_count));
}

void DeliveryMeta::deadLetter(std::string reason, int64_t now_ms, const Origin& from) {
  dead_letter_reason = std::move(reason);
  dead_letter_at_ms = now_ms;
  if (!origin.known()) origin = from;
}

void DeliveryMeta::replay(std::string id, int64_t now_ms) {
  // A replay starts a new run of the retry policy: its horizon counts from now.
  attempt = 1;
  first_attempt_ms = 0;
  due_ms = now_ms;
  replay_id = std::move(id);
  ++replay_count;
}

void Origin::writeTo(kafka::HeaderList& headers) const {
  kafka::setHeader(headers, kOriginTopic, topic);
  kafka::setHeader(headers, kOriginPartition, std::to_string(partition));
  kafka::setHeader(headers, kOriginOffset, std::to_string(offset));
}

void markInvalid(kafka::HeaderList& headers, std::string reason, const Origin& origin) {
  kafka::setHeader(headers, kInvalidReason, std::move(reason));
  origin.writeTo(headers);
}

std::string deliveryIdFor(const std::string& event_id, const std::string& subscription_id) {
  // The router computes one per delivery: OpenSSL 3's one-shot SHA256() looks the
  // algorithm up on every call (about a third of its cost), so the digest is fetched once
  // and each thread reuses one context.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                                 &EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (sha256 == nullptr || ctx == nullptr || EVP_DigestInit_ex2(ctx.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), event_id.data(), event_id.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), "/", 1) != 1 ||
      EVP_DigestUpdate(ctx.get(), subscription_id.data(), subscription_id.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &size) != 1) {
    const std::string input = event_id + "/" + subscription_id;
    SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(28, '\0');
  std::memcpy(id.data(), "msg_", 4);
  for (int i = 0; i < 12; ++i) {
    id[4 + 2 * i] = kHex[digest[i] >> 4];
    id[5 + 2 * i] = kHex[digest[i] & 0xf];
  }
  return id;
}

}  // namespace hookpipe::records
