#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace hookpipe {

// Records by key, as materialised from a compacted topic (subscriptions, event types).
// Readers take an immutable snapshot (one mutex acquisition); writers copy, change and
// swap. Thread-safe: the topic reader thread writes, any thread reads.
//
// Read-your-writes across the topic reader: a local write pins the record it produces
// ("" for a tombstone) before producing it. Records of that key read from the topic
// before it are older than the local state and are skipped; reading the pinned record
// itself releases the pin. unpin() undoes a pin whose write failed.
template <class T>
class RecordTable {
 public:
  using Map = std::map<std::string, std::shared_ptr<const T>>;

  std::shared_ptr<const Map> snapshot() const {
    std::lock_guard lock(mu_);
    return map_;
  }
  std::shared_ptr<const T> find(const std::string& key) const {
    auto snap = snapshot();
    auto it = snap->find(key);
    return it == snap->end() ? nullptr : it->second;
  }
  void put(const std::string& key, T value) {
    auto record = std::make_shared<const T>(std::move(value));
    std::lock_guard lock(mu_);
    auto next = std::make_shared<Map>(*map_);
    (*next)[key] = std::move(record);
    map_ = std::move(next);
  }
  void erase(const std::string& key) {
    std::lock_guard lock(mu_);
    if (!map_->contains(key)) return;
    auto next = std::make_shared<Map>(*map_);
    next->erase(key);
    map_ = std::move(next);
  }

  void pin(const std::string& key, std::string record) {
    std::lock_guard lock(mu_);
    pins_[key] = std::move(record);
  }
  // A local write was acknowledged: applies `value` only while `record` is still pinned.
  // Once the topic reader has read it (the pin is gone) the table is at least that new,
  // and it may already hold a later record of the key that this must not overwrite.
  void putIfPinned(const std::string& key, const std::string& record, T value) {
    auto fresh = std::make_shared<const T>(std::move(value));
    std::lock_guard lock(mu_);
    auto it = pins_.find(key);
    if (it == pins_.end() || it->second != record) return;
    auto next = std::make_shared<Map>(*map_);
    (*next)[key] = std::move(fresh);
    map_ = std::move(next);
  }
  void unpin(const std::string& key, const std::string& record) {
    std::lock_guard lock(mu_);
    if (auto it = pins_.find(key); it != pins_.end() && it->second == record) pins_.erase(it);
  }
  // True when a record read from the topic may be applied.
  bool acceptFromLog(const std::string& key, std::string_view record) {
    std::lock_guard lock(mu_);
    auto it = pins_.find(key);
    if (it == pins_.end()) return true;
    if (it->second != record) return false;
    pins_.erase(it);
    return true;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string> pins_;  // guarded by mu_
  std::shared_ptr<const Map> map_ = std::make_shared<Map>();
};

}  // namespace hookpipe
