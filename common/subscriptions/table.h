#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/config/config.h"
#include "common/subscriptions/subscription.h"
#include "common/table/record_table.h"
#include "common/table/topic_mirror.h"

namespace hookpipe {

// The in-memory subscription table every role keeps, by subscription id (snapshots and
// read-your-writes pins: common/table/record_table.h).
class SubscriptionTable : public RecordTable<Subscription> {
 public:
  void upsert(Subscription s) {
    std::string id = s.id;
    put(id, std::move(s));
  }
};

// Materialises the compacted subscriptions topic into a table. Owns a thread that
// reads the topic from the beginning for as long as the object lives (no consumer
// group, nothing committed).
class SubscriptionSync : public TopicMirror {
 public:
  SubscriptionSync(const Config& config, SubscriptionTable& table);
};

}  // namespace hookpipe
