#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/config/config.h"
#include "common/error.h"
#include "common/log/log.h"
#include "common/table/record_table.h"

namespace hookpipe {

// Reads a compacted topic from the beginning for as long as the object lives, on a
// thread of its own (assign-only consumer: no group membership, nothing committed), and
// hands every record to `apply` on that thread. waitLoaded() tells when everything that
// was on the topic at start() has been applied.
class TopicMirror {
 public:
  // The record's key and value; nullopt for a tombstone.
  using Apply = std::function<void(const std::string& key, std::optional<std::string_view> value)>;

  // `reader` names the consumer (its group id is config.groupId(reader); only used to
  // label the client).
  TopicMirror(const Config& config, std::string topic, std::string reader, Apply apply);
  virtual ~TopicMirror();
  TopicMirror(const TopicMirror&) = delete;
  TopicMirror& operator=(const TopicMirror&) = delete;

  // Starts the reader thread; an error if the topic cannot be read.
  Result<void> start();
  // Blocks until everything on the topic when start() was called has been applied.
  bool waitLoaded(std::chrono::milliseconds timeout);

 private:
  void run();
  Config config_;
  std::string topic_;
  std::string reader_;
  Apply apply_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable loaded_cv_;
  bool loaded_ = false;
  std::map<int32_t, int64_t> high_watermarks_;  // guarded by mu_ once the thread runs
  std::thread thread_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The usual `apply` for a RecordTable: records older than a local write are skipped
// (pins), tombstones erase, other records are parsed and stored under their key; a
// record that does not parse is logged and skipped.
template <class T>
TopicMirror::Apply applyToTable(
    RecordTable<T>& table, std::function<Result<T>(const std::string&, std::string_view)> parse,
    std::string what) {
  return [&table, parse = std::move(parse), what = std::move(what)](
             const std::string& key, std::optional<std::string_view> value) {
    if (!table.acceptFromLog(key, value.value_or(""))) return;  // its own record is to come
    if (!value) return table.erase(key);
    if (auto record = parse(key, *value))
      table.put(key, std::move(*record));
    else
      logger(what)->warn("skipping bad {} record key={} error={}", what, key,
                         record.error().message);
  };
}

}  // namespace hookpipe
