#include "deliverer/recent_ids.h"

#include <algorithm>

namespace hookpipe::deliverer {

RecentIds::RecentIds(std::size_t capacity)
    : ring_(std::max<std::size_t>(1, capacity)), used_(ring_.size(), false) {
  std::size_t size = 2;
  while (size < 2 * ring_.size()) size *= 2;
  table_.resize(size);
  mask_ = size - 1;
}

std::size_t RecentIds::find(std::string_view id, uint32_t hash) const {
  for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
    const Entry& e = table_[i];
    if (e.slot == 0) return kNone;
    if (e.hash == hash && ring_[e.slot - 1] == id) return i;
  }
}

void RecentIds::insert(std::string_view id) {
  const uint32_t hash = hashOf(id);
  if (find(id, hash) != kNone) return;
  if (used_[next_]) {  // evict the oldest: its entry leaves the table
    const std::string& old = ring_[next_];
    eraseAt(find(old, hashOf(old)));
  }
  ring_[next_].assign(id);  // reuses the slot's buffer
  used_[next_] = true;
  std::size_t i = hash & mask_;
  while (table_[i].slot != 0) i = (i + 1) & mask_;
  table_[i] = {static_cast<uint32_t>(next_ + 1), hash};
  next_ = (next_ + 1) % ring_.size();
}

void RecentIds::eraseAt(std::size_t at) {
  // Backward-shift deletion for linear probing: an entry after the hole moves into it
  // unless its home index lies cyclically in (hole, entry].
  std::size_t hole = at;
  for (std::size_t j = (hole + 1) & mask_; table_[j].slot != 0; j = (j + 1) & mask_) {
    const std::size_t home = table_[j].hash & mask_;
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    table_[hole] = table_[j];
    hole = j;
  }
  table_[hole] = {};
}

}  // namespace hookpipe::deliverer
