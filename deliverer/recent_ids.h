#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace hookpipe::deliverer {

// The last `capacity` delivery ids a worker delivered, to skip a re-routed twin without
// asking Redis. A ring of ids (each slot's string reused) indexed by an open-addressing
// table of (ring slot, hash) pairs: a lookup usually touches one cache line of the table
// and nothing else, and nothing is allocated once the ring is warm (std::unordered_set
// took a node per insert and ≈3 cache misses per lookup; hookpipe_recent_ids_bench).
// One per worker (its Dedup), used only on that worker's thread.
class RecentIds {
 public:
  explicit RecentIds(std::size_t capacity);
  bool contains(std::string_view id) const { return find(id, hashOf(id)) != kNone; }
  void insert(std::string_view id);

 private:
  struct Entry {
    uint32_t slot = 0;  // ring slot + 1; 0: empty
    uint32_t hash = 0;
  };
  static constexpr std::size_t kNone = ~std::size_t{0};
  static uint32_t hashOf(std::string_view id) {
    const std::size_t h = std::hash<std::string_view>{}(id);
    return static_cast<uint32_t>(h ^ (h >> 32));
  }
  // The table index holding `id`, or kNone.
  std::size_t find(std::string_view id, uint32_t hash) const;
  // Empties table index `at`, moving later entries of its probe run back (no tombstones).
  void eraseAt(std::size_t at);
  std::vector<std::string> ring_;
  std::vector<bool> used_;  // ring slots holding an id
  std::size_t next_ = 0;
  std::vector<Entry> table_;  // a power of two, at least twice the capacity
  std::size_t mask_ = 0;
};

}  // namespace hookpipe::deliverer
