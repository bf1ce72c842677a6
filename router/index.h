#pragma once

#include <simdjson.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/subscriptions/table.h"

namespace hookpipe::router {

// The event as the matcher sees it: its type, and its JSON document parsed on first
// use only (an event whose candidates carry no filter and no tenant is never parsed
// again). One per event; the parser is the caller's, reused across events.
class EventView {
 public:
  EventView(simdjson::dom::parser& parser, std::string_view type, std::string_view body)
      : parser_(parser), type_(type), body_(body) {}
  std::string_view type() const { return type_; }
  // The parsed document; null when the body is not a JSON object (an event that
  // json::EventParser accepted always is).
  const simdjson::dom::element* document();
  // The event's top-level "tenant" string; empty when absent or not a string.
  std::string_view tenant();
  bool parsed() const { return state_ != State::kUnparsed; }

 private:
  enum class State { kUnparsed, kParsed, kFailed };
  simdjson::dom::parser& parser_;
  std::string_view type_;
  std::string_view body_;
  State state_ = State::kUnparsed;
  simdjson::dom::element root_;
  bool tenant_read_ = false;
  std::string_view tenant_;
};

// Subscriptions indexed for matching, built once per subscription snapshot and
// immutable afterwards (safe to share between threads).
//
// Per tenant ("" = subscriptions without one, which see every tenant's events): exact
// types in a hash map, "prefix.*" patterns in a hash map keyed by the prefix with its
// dot, and "*" in a list. An event of type "order.created.v2" looks up the exact key,
// the prefixes "order." and "order.created.", and the wildcard list — in its tenant's
// bucket and the "" bucket — then evaluates filters on those candidates only. A
// subscription listing overlapping patterns is matched once.
class SubscriptionIndex {
 public:
  explicit SubscriptionIndex(std::shared_ptr<const SubscriptionTable::Map> snapshot);
  // Appends the subscriptions `event` is delivered to, in id order. Paused
  // subscriptions are included (the deliverer parks their deliveries).
  void match(EventView& event, std::vector<const Subscription*>& out) const;
  std::size_t size() const { return subscriptions_.size(); }
  const SubscriptionTable::Map* source() const { return snapshot_.get(); }

 private:
  using Ordinals = std::vector<uint32_t>;  // positions in subscriptions_ (id order)
  struct Bucket {
    std::unordered_map<std::string, Ordinals> exact;
    std::unordered_map<std::string, Ordinals> prefix;  // "order." for "order.*"
    Ordinals all;
  };
  void collect(const Bucket& bucket, std::string_view type, Ordinals& out) const;

  std::shared_ptr<const SubscriptionTable::Map> snapshot_;  // keeps the pointers alive
  // What matching reads per candidate, packed so that it does not touch the Subscription
  // (the bucket already settled the tenant).
  struct Entry {
    const Subscription* subscription;
    const filter::Filter* filter;  // null: none
  };
  std::vector<Entry> subscriptions_;
  Bucket untenanted_;
  std::unordered_map<std::string, Bucket> tenants_;
};

// The reference semantics the index must reproduce: a scan of every subscription.
void matchLinear(const SubscriptionTable::Map& subscriptions, EventView& event,
                 std::vector<const Subscription*>& out);

}  // namespace hookpipe::router
