#include "producer/dead_letters.h"

#include <algorithm>
#include <boost/json.hpp>

#include "common/dlq/json.h"
#include "common/json/body.h"
#include "common/kafka/kafka.h"
#include "common/log/log.h"

namespace hookpipe::producer {
namespace {

constexpr uint64_t kMaxReplayMax = 1'000'000'000;
constexpr double kMaxRatePerS = 1'000'000;
constexpr std::size_t kMaxReplayIdLength = 100;

bool replayIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// One filter field (subscription_id, event_type, error_class, since, until) given as
// text; false when `key` is none of them. `where` names it in a problem.
bool filterField(const std::string& key, std::string_view value, const std::string& where,
                 dlq::DlqQuery& filter, std::vector<Problem>& problems) {
  std::string* text = nullptr;
  if (key == "subscription_id")
    text = &filter.subscription_id;
  else if (key == "event_type")
    text = &filter.event_type;
  else if (key == "error_class")
    text = &filter.error_class;
  else if (key != "since" && key != "until")
    return false;
  if (value.empty()) {
    problems.push_back({where, key + " must not be empty"});
  } else if (text != nullptr) {
    *text = std::string(value);
  } else if (auto ms = dlq::parseTimeMs(value); !ms) {
    problems.push_back({where, key + ": " + ms.error().message});
  } else {
    (key == "since" ? filter.since_ms : filter.until_ms) = *ms;
  }
  return true;
}

void checkRange(const dlq::DlqQuery& filter, const std::string& where,
                std::vector<Problem>& problems) {
  if (filter.since_ms && filter.until_ms && *filter.since_ms > *filter.until_ms)
    problems.push_back({where, "since is after until"});
}

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("producer");
  return l;
}

}  // namespace

std::vector<Problem> parseDeadLetterQuery(const std::map<std::string, std::string>& query,
                                          DeadLetterQuery& out) {
  std::vector<Problem> problems;
  std::size_t unused_offset = 0;
  for (const auto& [k, v] : query) {
    if (filterField(k, v, k, out.filter, problems)) continue;
    if (k == "limit") {
      pagingParameter(k, v, kMaxDeadLetterLimit, out.limit, unused_offset, problems);
    } else if (k == "cursor") {
      auto positions = dlq::parsePositions(v);
      if (!positions || positions->empty())
        problems.push_back({"cursor", "cursor must be a next_cursor this route returned"});
      else
        out.cursor = std::move(*positions);
    } else if (k == "include_body") {
      if (v != "true" && v != "false")
        problems.push_back({"include_body", "include_body must be true or false"});
      out.include_body = v == "true";
    } else {
      problems.push_back({k, "unknown parameter " + k +
                                 " (expected subscription_id, event_type, error_class, since, "
                                 "until, limit, cursor, include_body)"});
    }
  }
  checkRange(out.filter, "since", problems);
  return problems;
}

std::vector<Problem> parseReplayRequest(std::string_view body, dlq::ReplayOptions& out) {
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(body, ec);
  if (ec)
    return {
        {"", "body is not valid JSON: " + ec.message() + " (send {} to replay every dead letter)"}};
  if (!root.is_object()) return {{"", "body must be a JSON object ({} replays every dead letter)"}};
  // Boost.JSON's parse keeps the last copy of a name given twice: refused before it counts.
  if (auto repeated = json::repeatedNamesIn(body); !repeated.empty()) return repeated;
  std::vector<Problem> problems;
  for (const auto& [key, value] : root.as_object()) {
    const std::string k(key);
    const std::string where = "/" + pointerToken(k);
    if (k == "since" || k == "until") {
      if (value.is_int64() && value.as_int64() >= 0) {
        (k == "since" ? out.filter.since_ms : out.filter.until_ms) = value.as_int64();
        continue;
      }
      if (!value.is_string()) {
        problems.push_back({where, k + " must be an RFC 3339 time or epoch milliseconds"});
        continue;
      }
    }
    if (k == "subscription_id" || k == "event_type" || k == "error_class" || k == "since" ||
        k == "until") {
      if (!value.is_string())
        problems.push_back({where, k + " must be a string"});
      else
        filterField(k, value.as_string(), where, out.filter, problems);
    } else if (k == "dry_run") {
      if (!value.is_bool())
        problems.push_back({where, "dry_run must be a boolean"});
      else
        out.dry_run = value.as_bool();
    } else if (k == "max") {
      if (!value.is_int64() || value.as_int64() < 1 ||
          static_cast<uint64_t>(value.as_int64()) > kMaxReplayMax)
        problems.push_back({where, "max must be an integer 1.." + std::to_string(kMaxReplayMax)});
      else
        out.max = static_cast<uint64_t>(value.as_int64());
    } else if (k == "to_subscription") {
      if (!value.is_string() || value.as_string().empty())
        problems.push_back({where, "to_subscription must be a subscription id"});
      else
        out.to_subscription = std::string(value.as_string());
    } else if (k == "rate_per_s") {
      const bool number = value.is_number();
      const double rate = number ? value.to_number<double>() : 0;
      if (!number || rate <= 0 || rate > kMaxRatePerS)
        problems.push_back({where, "rate_per_s must be a number > 0 (records per second)"});
      else
        out.rate_per_s = rate;
    } else if (k == "max_replay_count") {
      if (!value.is_int64() || value.as_int64() < 0 || value.as_int64() > 1000)
        problems.push_back({where, "max_replay_count must be an integer 0..1000"});
      else
        out.max_replay_count = static_cast<int>(value.as_int64());
    } else if (k == "replay_id") {
      const bool ok = value.is_string() && !value.as_string().empty() &&
                      value.as_string().size() <= kMaxReplayIdLength &&
                      std::all_of(value.as_string().begin(), value.as_string().end(), replayIdChar);
      if (!ok)
        problems.push_back({where, "replay_id must be 1.." + std::to_string(kMaxReplayIdLength) +
                                       " letters, digits, '_', '-' or '.'"});
      else
        out.replay_id = std::string(value.as_string());
    } else {
      problems.push_back(
          {where, k + ": unknown field (expected subscription_id, event_type, error_class, since, "
                      "until, dry_run, max, to_subscription, rate_per_s, max_replay_count, "
                      "replay_id)"});
    }
  }
  checkRange(out.filter, "/since", problems);
  if (problems.empty() && out.replay_id.empty())
    out.replay_id = dlq::defaultReplayId(out.filter, out.to_subscription);
  return problems;
}

DeadLetterService::DeadLetterService(const Config& config)
    : config_(config), listing_thread_([this] { listingLoop(); }) {}

DeadLetterService::~DeadLetterService() {
  stop_ = true;
  listing_cv_.notify_all();
  listing_thread_.join();
  std::thread replay;
  {
    std::lock_guard lock(replay_mu_);
    replay = std::move(replay_thread_);
  }
  if (replay.joinable()) replay.join();  // its progress callback takes replay_mu_
}

bool DeadLetterService::submitListing(std::function<void()> job) {
  {
    std::lock_guard lock(listing_mu_);
    if (listings_.size() >= kMaxQueuedListings) return false;
    listings_.push_back(std::move(job));
  }
  listing_cv_.notify_one();
  return true;
}

void DeadLetterService::listingLoop() {
  while (true) {
    std::function<void()> job;
    {
      std::unique_lock lock(listing_mu_);
      listing_cv_.wait(lock, [this] { return stop_ || !listings_.empty(); });
      if (stop_) return;  // the server has stopped: nobody waits for the answers
      job = std::move(listings_.front());
      listings_.pop_front();
    }
    job();
  }
}

Result<std::string> DeadLetterService::listPage(const DeadLetterQuery& query) const {
  dlq::ScanOptions scan;
  scan.filter = query.filter;
  scan.max = query.limit;
  scan.from = query.cursor;
  scan.max_read = kMaxScannedPerPage;
  scan.stop = &stop_;
  boost::json::array data;
  auto end = dlq::scanDeadLetters(config_, scan, [&](const dlq::DeadLetter& d) {
    auto o = dlq::toJson(d, query.include_body);
    o["position"] = std::to_string(d.partition) + ":" + std::to_string(d.offset);
    data.push_back(std::move(o));
  });
  if (!end) return std::unexpected(end.error());
  boost::json::object o;
  o["data"] = std::move(data);
  o["limit"] = query.limit;
  o["scanned"] = end->read;
  if (end->complete)
    o["next_cursor"] = nullptr;
  else
    o["next_cursor"] = dlq::formatPositions(end->next);
  return boost::json::serialize(o);
}

DeadLetterService::Start DeadLetterService::startReplay(dlq::ReplayOptions options) {
  std::lock_guard lock(replay_mu_);
  if (!running_.empty()) return {false, running_};
  if (replay_thread_.joinable()) replay_thread_.join();  // finished: it cleared running_
  const std::string id = options.replay_id;
  Status status;
  status.options = options;
  status.started_at = dlq::formatTimeMs(kafka::nowMs());
  status.sequence = ++sequence_;
  replays_[id] = std::move(status);
  while (replays_.size() > kKeptReplays) {
    auto oldest = replays_.end();
    for (auto it = replays_.begin(); it != replays_.end(); ++it)
      if (it->first != id &&
          (oldest == replays_.end() || it->second.sequence < oldest->second.sequence))
        oldest = it;
    replays_.erase(oldest);
  }
  running_ = id;
  log()->info("dead-letter replay started replay_id={} dry_run={}", id, options.dry_run);
  replay_thread_ = std::thread(
      [this, options = std::move(options)]() mutable { runReplay(std::move(options)); });
  return {true, id};
}

void DeadLetterService::runReplay(dlq::ReplayOptions options) {
  const std::string id = options.replay_id;
  options.stop = &stop_;
  options.on_progress = [this, id](const dlq::ReplayProgress& p) {
    std::lock_guard lock(replay_mu_);
    replays_[id].progress = p;
  };
  auto result = dlq::replayDeadLetters(config_, options);
  std::lock_guard lock(replay_mu_);
  Status& s = replays_[id];
  if (result) {
    s.progress.scanned = result->scanned;
    s.progress.replayed = result->replayed;
    s.progress.refused = result->refused;
    if (!result->stopped) s.progress.remaining = 0;
    s.resumed = result->resumed;
    s.state = result->stopped ? "stopped" : "done";
    log()->info("dead-letter replay {} replay_id={} replayed={} refused={} scanned={}", s.state, id,
                result->replayed, result->refused, result->scanned);
  } else {
    s.state = "failed";
    s.error = result.error().message;
    log()->warn("dead-letter replay failed replay_id={} error={}", id, s.error);
  }
  s.finished_at = dlq::formatTimeMs(kafka::nowMs());
  running_.clear();
}

std::optional<std::string> DeadLetterService::replayStatus(const std::string& id) const {
  std::lock_guard lock(replay_mu_);
  auto it = replays_.find(id);
  if (it == replays_.end()) return std::nullopt;
  return statusJson(id, it->second);
}

std::string DeadLetterService::statusJson(const std::string& id, const Status& s) {
  const auto& f = s.options.filter;
  boost::json::object filter;
  if (!f.subscription_id.empty()) filter["subscription_id"] = f.subscription_id;
  if (!f.event_type.empty()) filter["event_type"] = f.event_type;
  if (!f.error_class.empty()) filter["error_class"] = f.error_class;
  if (f.since_ms) filter["since"] = dlq::formatTimeMs(*f.since_ms);
  if (f.until_ms) filter["until"] = dlq::formatTimeMs(*f.until_ms);
  const auto& p = s.progress;
  boost::json::object o;
  o["id"] = id;
  o["state"] = s.state;
  o["done"] = s.state != "running";
  o["dry_run"] = s.options.dry_run;
  o["filter"] = std::move(filter);
  if (s.options.max) o["max"] = *s.options.max;
  if (!s.options.to_subscription.empty()) o["to_subscription"] = s.options.to_subscription;
  o["scanned"] = p.scanned;
  o["replayed"] = p.replayed;
  o["refused"] = p.refused;
  o["skipped"] = p.scanned - std::min(p.scanned, p.replayed + p.refused);
  o["remaining"] = p.remaining;
  o["resumed"] = s.resumed;
  o["started_at"] = s.started_at;
  if (!s.finished_at.empty()) o["finished_at"] = s.finished_at;
  if (!s.error.empty()) o["error"] = s.error;
  return boost::json::serialize(o);
}

}  // namespace hookpipe::producer
