#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/subscriptions/subscription.h"

// The integrations behind /v1/integrations (docs/integrations.md): each a way to make a
// subscription of one chat or no-code format from the few fields its platform asks for.
// An integration *is* that subscription (format, destination, format_options, event
// types); this file only knows how to ask for one and how to show one.
namespace hookpipe::producer {

struct IntegrationField {
  std::string_view name;
  std::string_view type;  // "string", "integer", "boolean", "array"
  bool required = false;
  bool secret = false;  // write-only: never in an answer
  std::string_view description;
};

struct Integration {
  std::string_view name;    // the route's {name}
  std::string_view format;  // the subscription's format
  std::string_view title;
  std::string_view description;
  std::vector<IntegrationField> fields;  // the platform's; the common ones come after
};

// The integrations this build offers: those whose format is registered.
std::vector<const Integration*> integrations();
const Integration* findIntegration(std::string_view name);
// The fields every integration takes besides its own (event_types, name, ...).
const std::vector<IntegrationField>& commonIntegrationFields();

// The subscription JSON (as POST /v1/subscriptions takes it) for `body`, a create request
// of `integration`; or every problem with `body`, each at its pointer in it. Problems the
// subscription's own validation finds later are mapped back with integrationPointer().
Result<std::string> integrationSubscription(const Integration& integration, std::string_view body);
// The pointer in a create request of `integration` of what the subscription's validation
// found at `subscription_pointer` ("/format_options/chat_id" -> "/chat_id", "/url" -> the
// field the URL is made from).
std::string integrationPointer(const Integration& integration,
                               std::string_view subscription_pointer);

// The integration of a subscription: the one whose format it has (null for json).
const Integration* integrationOf(const Subscription& subscription);
// How /v1/integrations shows a subscription made by (or equivalent to) an integration:
// id, integration, name, event_types, active, the non-secret options, and which secret
// fields are set (never their values).
std::string integrationJson(const Integration& integration, const Subscription& subscription);

}  // namespace hookpipe::producer
