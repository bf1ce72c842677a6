#include "common/subscriptions/table.h"

namespace hookpipe {

SubscriptionSync::SubscriptionSync(const Config& config, SubscriptionTable& table)
    : TopicMirror(config, config.topics.subscriptions(), "subscriptions-reader",
                  applyToTable<Subscription>(
                      table,
                      [](const std::string& id, std::string_view value) -> Result<Subscription> {
                        auto sub = parseSubscription(value);
                        if (sub) sub->id = id;
                        return sub;
                      },
                      "subscriptions")) {}

}  // namespace hookpipe
