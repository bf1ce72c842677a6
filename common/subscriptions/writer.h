#pragma once

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/kafka/kafka.h"
#include "common/subscriptions/subscription.h"
#include "common/subscriptions/table.h"

namespace hookpipe::subscriptions {

// Why a write was refused before anything was produced.
enum class Refusal {
  kInvalid,   // the input: Refused::error.problems, each at its JSON pointer
  kNotFound,  // no subscription of that id in the table
  kConflict,  // a create of an id that exists or is being created
};
struct Refused {
  Refusal reason;
  Error error;
};

// The one way a subscription is written: the API's creates, updates, pauses, rotations
// and deletes, and the deliverer's disable after a 410 Gone. Each write validates what
// it changes, pins the record in `table` (read-your-writes: the topic reader does not
// apply an older record over it), produces it to the compacted subscriptions topic and,
// once the broker acknowledged it, updates `table`; a failed write is unpinned and leaves
// `table` as it was.
//
// Threads: the calls run on any thread (the table and the set of ids being created are
// locked); `done` runs once, on the thread that polls `producer`, or on the caller's when
// the write could not be enqueued. The Writer, the producer and the table outlive every
// write in flight (flush the producer before destroying them).
class Writer {
 public:
  // The subscription as stored, or why the broker did not take it (retryable).
  using Done = std::function<void(Result<std::shared_ptr<const Subscription>>)>;
  using Removed = std::function<void(std::optional<Error>)>;
  using Started = std::expected<void, Refused>;

  Writer(kafka::Producer& producer, SubscriptionTable& table, std::string topic);

  // POST /v1/subscriptions: `json` checked as a client's (SubscriptionSource::kCreate);
  // an id ("sub_…") and a secret are chosen when absent. An id in the table or being
  // created is a conflict: a create never replaces a subscription (that would hand its
  // deliveries, and with a new secret its signatures, to whoever asked).
  Started create(std::string_view json, Done done);
  // PUT (`merge` false: `json` is the whole subscription) or PATCH (`merge`: an RFC 7396
  // merge patch over the stored record). id, secret, previous secret and created_at
  // cannot change; a URL given back redacted keeps the stored credentials.
  Started update(const std::string& id, std::string_view json, bool merge, Done done);
  // Pause (false) or resume (true; clears disabled_reason).
  Started setActive(const std::string& id, bool active, Done done);
  // A new secret; the current one keeps signing for `grace_ms` (0: stops now).
  Started rotateSecret(const std::string& id, int64_t grace_ms, Done done);
  // A tombstone; `done` gets nullopt once it is acknowledged.
  Started remove(const std::string& id, Removed done);
  // hookpipe deactivating `sub` itself (its endpoint answered 410 Gone): `sub` as given
  // (the caller's version, not the table's) with is_active false, a new updated_at and
  // disabled_reason "<reason> at <updated_at>".
  void disable(const Subscription& sub, std::string_view reason, Done done);

  // What every call above ends with: pin, produce, and on acknowledgement upsert.
  void write(std::shared_ptr<const Subscription> sub, Done done);

 private:
  kafka::Producer& producer_;
  SubscriptionTable& table_;
  std::string topic_;
  // Client-chosen ids whose create is in flight: a second create of one is a conflict too.
  std::mutex creating_mu_;
  std::set<std::string> creating_;  // guarded by creating_mu_
};

}  // namespace hookpipe::subscriptions
