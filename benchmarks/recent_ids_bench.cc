// deliverer::RecentIds at the deliverer's size (65536 ids): what one delivery costs it —
// a lookup of a new id at intake, then an insert of it (evicting the oldest) on its 2xx.
// Ids are "msg_" + 24 hex digits, as the router makes them.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "deliverer/deliverer.h"

namespace {

std::vector<std::string> ids(std::size_t n) {
  std::mt19937_64 rng(42);
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "msg_%016llx%08x", static_cast<unsigned long long>(rng()),
                  static_cast<unsigned>(rng()));
    out.emplace_back(buf);
  }
  return out;
}

void BM_RecentIdsPerDelivery(benchmark::State& state) {
  const auto capacity = static_cast<std::size_t>(state.range(0));
  hookpipe::deliverer::RecentIds recent(capacity);
  const auto all = ids(capacity * 4);
  std::size_t i = 0;
  for (const auto& id : all) {  // warm: the ring is full and evicting
    if (++i > capacity * 2) break;
    recent.insert(id);
  }
  for (auto _ : state) {
    const std::string& id = all[i++ % all.size()];
    benchmark::DoNotOptimize(recent.contains(id));
    recent.insert(id);
  }
}
BENCHMARK(BM_RecentIdsPerDelivery)->Arg(1 << 10)->Arg(1 << 16);

}  // namespace

BENCHMARK_MAIN();
