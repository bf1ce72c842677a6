#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

// The observation seam of the delivery path: the deliverer calls onAttempt() exactly once
// for every delivery it finishes with — sent and answered (delivered, retried or
// dead-lettered), put aside without an attempt (parked), or dropped unsent (skipped) — and
// whoever wants to know (metrics, the attempt log, a live stream) is one DeliveryObserver.
namespace hookpipe::observe {

enum class Outcome : uint8_t {
  kDelivered,  // a 2xx
  kRetried,    // the attempt failed; the delivery waits in a retry tier or in place
  kParked,     // not attempted now (rate limit, full lane, open breaker, paused); no attempt spent
  kDeadLettered,  // to the dead-letter topic: permanent failure, policy spent, cut short, paused
                  // too long
  kSkipped,       // not sent: delivered before (duplicate) or its subscription is gone
};
// "delivered", "retried", "parked", "dead_lettered", "skipped": the metric label values.
std::string_view name(Outcome outcome);

// One finished delivery step. Every view is valid only during the onAttempt() call.
struct Attempt {
  Outcome outcome = Outcome::kDelivered;
  std::string_view subscription_id;
  std::string_view tenant;
  std::string_view delivery_id;
  std::string_view event_id;
  std::string_view event_type;
  int attempt = 0;               // the attempt number made; for parked/skipped the one not made
  int replay = 0;                // how often the delivery was replayed from the dead letters
                                 // (hp-replay-count): 0 for its first run; attempts restart
                                 // at 1 in each replay
  bool attempted = false;        // an HTTP request was made (delivered, retried, most dead letters)
  int64_t started_ms = 0;        // wall clock at the request's start (0 when not attempted)
  int64_t duration_us = 0;       // the request's duration
  long status = 0;               // the HTTP status; 0 when there was no response
  std::string_view error_class;  // webhook::errorClass(): "" when delivered
  std::string_view error_message;  // curl's or the status line's; never a URL with credentials
  // Why, for what is not a plain attempt result: the dead-letter reason (hp-dlq-reason),
  // the park cause ("rate_limit", "lane_full", "breaker_open", "paused"), the skip cause
  // ("duplicate", "unknown_subscription").
  std::string_view reason;
  std::size_t request_bytes = 0;   // the body sent
  std::size_t response_bytes = 0;  // the response body read (up to the read cap)
  std::string_view response_head;  // its first bytes, as read
  int64_t next_attempt_ms = 0;     // retried or parked: when it is due again (wall clock)
  // Where the delivery's record was read from (the payload stays there).
  std::string_view source_topic;
  int32_t source_partition = -1;
  int64_t source_offset = -1;
};

// Called on the deliverer's worker threads, concurrently from several: an observer must be
// thread-safe, must not block, and must not throw (copy what it needs and return).
class DeliveryObserver {
 public:
  virtual ~DeliveryObserver() = default;
  virtual void onAttempt(const Attempt& attempt) noexcept = 0;
};

// The observers of one process, called in registration order. Registration happens before
// the workers start; the list is not changed while they run.
class Observers final : public DeliveryObserver {
 public:
  void add(std::shared_ptr<DeliveryObserver> observer) { list_.push_back(std::move(observer)); }
  bool empty() const { return list_.empty(); }
  void onAttempt(const Attempt& attempt) noexcept override {
    for (const auto& o : list_) o->onAttempt(attempt);
  }

 private:
  std::vector<std::shared_ptr<DeliveryObserver>> list_;
};

}  // namespace hookpipe::observe
