#include "tests/fuzz/targets.h"

#include <simdjson.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/filter/filter.h"
#include "common/json/document.h"
#include "common/json/event.h"
#include "router/index.h"

namespace hookpipe::fuzz {
namespace {

using router::SubscriptionIndex;

const std::vector<std::string>& sampleEvents() {
  static const std::vector<std::string> events = {
      R"({"type":"order.created","data":{"status":"confirmed","amount":150,"tags":["a","b"],)"
      R"("customer":{"tier":"gold"},"items":[{"sku":"A"}],"note":null,"paid":true}})",
      R"({"type":"t","tenant":"acme","data":[1,2,{"x":"y"}]})",
      R"({"type":"t","data":{"amount":-1.5e300,"big":18446744073709551615,"s":""}})",
  };
  return events;
}

const SubscriptionIndex& sampleIndex() {
  static const SubscriptionIndex index = [] {
    const std::vector<std::string> json = {
        R"({"id":"s0","url":"https://e.com","events":["*"]})",
        R"({"id":"s1","url":"https://e.com","events":["order.*"],"filters":{"data.amount":{"$gte":100}}})",
        R"({"id":"s2","url":"https://e.com","events":["order.created"],"tenant":"acme"})",
        R"({"id":"s3","url":"https://e.com","events":["a.*","a.b"],"filters":{"$or":[{"data.s":)"
        R"({"$regex":"^x"}},{"data.n":{"$nin":[1,2]}}]}})",
        R"({"id":"s4","url":"https://e.com","events":["*"],"tenant":"t","filters":{"$not":{"x":null}}})",
    };
    auto map = std::make_shared<SubscriptionTable::Map>();
    for (const auto& text : json) {
      auto s = parseSubscription(text);
      if (!s) std::abort();
      std::string id = s->id;  // read before the move below
      (*map)[id] = std::make_shared<const Subscription>(std::move(*s));
    }
    return SubscriptionIndex(map);
  }();
  return index;
}

}  // namespace

int filterOne(const uint8_t* data, std::size_t size) {
  auto compiled =
      filter::compileFilter(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!compiled) {
    if (compiled.error().message.empty()) std::abort();  // every failure says why
    return 0;
  }
  static simdjson::dom::parser parser;
  for (const auto& event : sampleEvents()) {
    simdjson::dom::element root;
    if (parser.parse(event).get(root)) std::abort();
    (void)(*compiled)->matches(root);
  }
  return 0;
}

int eventOne(const uint8_t* data, std::size_t size) {
  static json::EventParser events(64 * 1024);
  static simdjson::dom::parser p1, p2;
  // The tape walk (the router's) and the element walk agree on duplicate keys.
  if (simdjson::dom::element root;
      json::parseDocument(p1, std::string_view(reinterpret_cast<const char*>(data), size),
                          root) == simdjson::SUCCESS &&
      json::hasDuplicateKey(p1) != json::duplicateKey(root).has_value())
    std::abort();
  auto event =
      events.parse(std::string_view(reinterpret_cast<const char*>(data), size), 0, "evt_0");
  if (!event) return 0;
  // What the parser accepted, the router's second parse reads, with no key twice and a
  // bounded type free of control characters.
  if (event->type.empty() || event->type.size() > json::kMaxTypeBytes ||
      event->id.size() > json::kMaxIdBytes)
    std::abort();
  for (unsigned char c : event->type + event->id)
    if (c < 0x20 || c == 0x7f) std::abort();
  const auto& index = sampleIndex();
  router::EventView v1(p1, event->type, event->body), v2(p2, event->type, event->body);
  if (v1.document() == nullptr || json::duplicateKey(*v1.document())) std::abort();
  std::vector<const Subscription*> indexed, linear;
  index.match(v1, indexed);
  router::matchLinear(*index.source(), v2, linear);
  if (indexed != linear) std::abort();
  return 0;
}

}  // namespace hookpipe::fuzz
