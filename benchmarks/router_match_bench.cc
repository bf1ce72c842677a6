// Router matching at scale: 10 000 subscriptions (exact types, "prefix.*" and "*"; half
// with payload filters, some tenant-scoped), events matching about 3 subscriptions each.
// Every case includes what the router does per event: json::EventParser validation
// (a simdjson parse) plus, for the index, the lazy second parse of EventView.
//
//   build/h-filter/benchmarks/hookpipe_router_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/json/event.h"
#include "router/index.h"

namespace hookpipe::router {
namespace {

constexpr int kSubscriptions = 10'000;
constexpr int kDomains = 500;  // types "d<0..499>.a<0..9>"
constexpr int kActions = 10;
constexpr int kWildcards = 10;
constexpr int kPrefixes = 990;
constexpr int kEvents = 4096;

const char* const kFilters[] = {
    R"({"data.status":["confirmed","shipped"]})",
    R"({"data.amount":{"$gte":500}})",
    R"({"$or":[{"data.customer.tier":"gold"},{"data.amount":{"$lt":250}}]})",
    R"({"data.customer.country":{"$regex":"^(FR|DE)$"},"data.paid":{"$exists":true}})",
};

struct Fixture {
  std::shared_ptr<const SubscriptionTable::Map> map;
  std::unique_ptr<SubscriptionIndex> index;
  std::vector<std::string> events;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture out;
    std::mt19937 rng(42);
    auto uniform = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
    auto map = std::make_shared<SubscriptionTable::Map>();
    for (int i = 0; i < kSubscriptions; ++i) {
      std::string pattern;
      std::string filter;
      if (i < kWildcards) {
        pattern = "*";
        filter = R"({"data.amount":{"$gt":980}})";  // rare: every event is a candidate
      } else if (i < kWildcards + kPrefixes) {
        pattern = "d" + std::to_string(uniform(kDomains)) + ".*";
      } else {
        pattern =
            "d" + std::to_string(uniform(kDomains)) + ".a" + std::to_string(uniform(kActions));
      }
      if (filter.empty() && i % 2 == 0) filter = kFilters[uniform(4)];
      std::string json = R"({"url":"https://example.com/h","events":[")" + pattern + "\"]";
      if (!filter.empty()) json += R"(,"filters":)" + filter;
      if (i % 7 == 0) json += R"(,"tenant":"t)" + std::to_string(uniform(3)) + "\"";
      json += "}";
      auto s = parseSubscription(json);
      if (!s) throw std::runtime_error(s.error().message);
      s->id = "sub_" + std::to_string(i);
      std::string id = s->id;  // read before the move below
      (*map)[id] = std::make_shared<const Subscription>(std::move(*s));
    }
    out.map = map;
    out.index = std::make_unique<SubscriptionIndex>(map);
    const char* statuses[] = {"confirmed", "shipped", "cancelled", "pending"};
    const char* tiers[] = {"gold", "silver", "bronze", "free"};
    const char* countries[] = {"FR", "DE", "US", "JP"};
    for (int i = 0; i < kEvents; ++i) {
      std::string e = R"({"id":"evt_)" + std::to_string(i) + R"(","type":"d)" +
                      std::to_string(uniform(kDomains)) + ".a" + std::to_string(uniform(kActions)) +
                      R"(","timestamp":"2026-01-09T15:30:00Z",)";
      if (i % 3 == 0) e += R"("tenant":"t)" + std::to_string(uniform(3)) + R"(",)";
      e += R"("data":{"order_id":)" + std::to_string(100000 + i) + R"(,"status":")" +
           statuses[uniform(4)] + R"(","amount":)" + std::to_string(uniform(1000)) +
           R"(,"currency":"EUR","paid":true,"customer":{"id":"cus_)" +
           std::to_string(uniform(99999)) + R"(","tier":")" + tiers[uniform(4)] +
           R"(","country":")" + countries[uniform(4)] +
           R"("},"items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}]}})";
      out.events.push_back(std::move(e));
    }
    return out;
  }();
  return f;
}

void BM_IndexAndFilters(benchmark::State& state) {
  const Fixture& f = fixture();
  json::EventParser parser(256 * 1024);
  simdjson::dom::parser document_parser;
  std::vector<const Subscription*> out;
  std::size_t i = 0, matched = 0, bytes = 0;
  for (auto _ : state) {
    const std::string& text = f.events[i++ % f.events.size()];
    auto event = parser.parse(text, 0);
    EventView view(document_parser, event->type, event->body);
    out.clear();
    f.index->match(view, out);
    matched += out.size();
    bytes += text.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["matches_per_event"] =
      static_cast<double>(matched) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_IndexAndFilters);

void BM_LinearScanBaseline(benchmark::State& state) {
  const Fixture& f = fixture();
  json::EventParser parser(256 * 1024);
  simdjson::dom::parser document_parser;
  std::vector<const Subscription*> out;
  std::size_t i = 0, matched = 0;
  for (auto _ : state) {
    auto event = parser.parse(f.events[i++ % f.events.size()], 0);
    EventView view(document_parser, event->type, event->body);
    out.clear();
    matchLinear(*f.map, view, out);
    matched += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["matches_per_event"] =
      static_cast<double>(matched) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_LinearScanBaseline);

// The parts: validation alone, and the index with the document parse but no validation.
void BM_ValidationParseOnly(benchmark::State& state) {
  const Fixture& f = fixture();
  json::EventParser parser(256 * 1024);
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(parser.parse(f.events[i++ % f.events.size()], 0));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ValidationParseOnly);

void BM_IndexAndFiltersWithoutValidation(benchmark::State& state) {
  const Fixture& f = fixture();
  simdjson::dom::parser document_parser;
  std::vector<const Subscription*> out;
  std::size_t i = 0;
  for (auto _ : state) {
    const std::string& text = f.events[i++ % f.events.size()];
    // The type is known to the router from validation; here it is the fixture's.
    const auto start = text.find("\"type\":\"") + 8;
    EventView view(document_parser,
                   std::string_view(text).substr(start, text.find('"', start) - start), text);
    out.clear();
    f.index->match(view, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_IndexAndFiltersWithoutValidation);

void BM_IndexBuild(benchmark::State& state) {
  const Fixture& f = fixture();
  for (auto _ : state) {
    SubscriptionIndex index(f.map);
    benchmark::DoNotOptimize(index.size());
  }
  state.counters["subscriptions"] = static_cast<double>(f.map->size());
}
BENCHMARK(BM_IndexBuild)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace hookpipe::router

BENCHMARK_MAIN();
