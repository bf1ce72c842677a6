#pragma once

#include "producer/api.h"
#include "producer/route_table.h"

// One file per resource; each adds its routes to the table (Api's constructor calls
// them in this order, which is the order of the Allow lists they produce).
namespace hookpipe::producer::routes {

void addHealth(RouteTable& routes, ApiServices& services);  // /healthz, /readyz, /metrics, openapi
void addEvents(RouteTable& routes, ApiServices& services);  // /v1/events[/batch]
void addSubscriptions(RouteTable& routes, ApiServices& services);  // /v1/subscriptions…
void addEventTypes(RouteTable& routes, ApiServices& services);     // /v1/event-types…
void addDeadLetters(RouteTable& routes, ApiServices& services);    // /v1/dead-letters…
void addStream(RouteTable& routes, ApiServices& services);         // /v1/stream
void addDeliveries(RouteTable& routes, ApiServices& services);     // …/deliveries…
void addStats(RouteTable& routes, ApiServices& services);          // …/stats
void addIntegrations(RouteTable& routes, ApiServices& services);   // /v1/integrations…

// POST /v1/subscriptions/{id}/test, which /v1/integrations/{id}/test answers too.
void testSubscription(ApiServices& s, const std::string& id, const Request& req, Reply reply);

}  // namespace hookpipe::producer::routes
