#include "producer/live_stream.h"

#include <simdjson.h>

#include <algorithm>

#include "common/log/log.h"
#include "common/subscriptions/subscription.h"
#include "common/text/number.h"

namespace hookpipe::producer {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static auto l = logger("producer");
  return l;
}

// What one round reads at most before it writes the clients' batches: a batch stays well
// under the server's limit of unsent bytes (ResponseStream::kMaxQueuedBytes).
constexpr int kRoundRecords = 1000;
constexpr std::size_t kRoundBytes = 64 * 1024;
constexpr std::string_view kEvent = "event";
constexpr std::string_view kAttempt = "attempt";

void appendOffsets(std::string& out, const std::vector<int64_t>& offsets) {
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(offsets[i]);
  }
}

Result<std::vector<int64_t>> parseOffsets(std::string_view text) {
  std::vector<int64_t> out;
  if (text.empty()) return out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    auto n = text::parseInteger<int64_t>(item);
    if (!n || *n < 0) {
      std::string message = "not an offset: '";  // (built up: g++ 12 warns on "'" + string)
      message += item;
      message += '\'';
      return fail(std::move(message));
    }
    out.push_back(*n);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

// The fields a filter looks at, from an event or an attempt record (views into `parser`).
struct RecordFields {
  std::string_view type;
  std::string_view tenant;
  std::string_view subscription;
};

RecordFields fieldsOf(simdjson::dom::parser& parser, bool is_event, std::string_view json) {
  RecordFields f;
  simdjson::dom::object obj;
  if (parser.parse(json.data(), json.size()).get(obj)) return f;
  auto str = [&](const char* name) {
    std::string_view v;
    if (obj[name].get(v)) return std::string_view();
    return v;
  };
  f.type = str(is_event ? "type" : "event_type");
  f.tenant = str("tenant");
  if (!is_event) f.subscription = str("subscription_id");
  return f;
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

bool LiveStream::aheadOf(const Client& c, const StreamPosition& tail) {
  for (std::size_t i = 0; i < tail.events.size() && i < c.min_events.size(); ++i)
    if (c.min_events[i] > tail.events[i]) return true;
  for (std::size_t i = 0; i < tail.attempts.size() && i < c.min_attempts.size(); ++i)
    if (c.min_attempts[i] > tail.attempts[i]) return true;
  return false;
}

StreamPosition LiveStream::clientPosition(const Client& c, const StreamPosition& tail) {
  StreamPosition p = tail;
  for (std::size_t i = 0; i < p.events.size() && i < c.min_events.size(); ++i)
    p.events[i] = std::max(p.events[i], c.min_events[i]);
  for (std::size_t i = 0; i < p.attempts.size() && i < c.min_attempts.size(); ++i)
    p.attempts[i] = std::max(p.attempts[i], c.min_attempts[i]);
  return p;
}

std::string LiveStream::beyondTheLog(const StreamPosition& from, const StreamPosition& tail) {
  // Only partitions where the client is ahead of this tail are looked up (the tail lags the
  // log a little; another producer's tail may be further on).
  std::unique_ptr<kafka::Reader> reader;
  for (int pass = 0; pass < 2; ++pass) {
    const auto& want = pass == 0 ? from.events : from.attempts;
    const auto& have = pass == 0 ? tail.events : tail.attempts;
    const std::string& topic = pass == 0 ? events_topic_ : attempts_topic_;
    for (std::size_t p = 0; p < want.size() && p < have.size(); ++p) {
      if (want[p] <= have[p]) continue;
      if (!reader) {
        auto r = kafka::Reader::open(config_, config_.groupId("stream"));
        if (!r) return "";  // cannot tell: the catch-up will find out
        reader = std::move(*r);
      }
      auto marks = reader->watermarks(topic, static_cast<int32_t>(p), std::chrono::seconds(2));
      if (marks && want[p] > marks->second)
        return "offset " + std::to_string(want[p]) + " of " + topic + " partition " +
               std::to_string(p) + " is beyond its end (" + std::to_string(marks->second) + ")";
    }
  }
  return "";
}

std::string StreamPosition::text() const {
  std::string out;
  out.reserve(8 * (events.size() + attempts.size()) + 1);
  appendOffsets(out, events);
  out += '.';
  appendOffsets(out, attempts);
  return out;
}

Result<StreamPosition> StreamPosition::parse(std::string_view text) {
  const std::size_t dot = text.find('.');
  if (dot == std::string_view::npos || text.find('.', dot + 1) != std::string_view::npos)
    return fail("not a stream position (\"<events offsets>.<attempts offsets>\")");
  StreamPosition p;
  auto events = parseOffsets(text.substr(0, dot));
  if (!events) return std::unexpected(events.error());
  auto attempts = parseOffsets(text.substr(dot + 1));
  if (!attempts) return std::unexpected(attempts.error());
  p.events = std::move(*events);
  p.attempts = std::move(*attempts);
  if (p.events.empty()) return fail("a stream position names the events topic's offsets");
  return p;
}

std::vector<Problem> parseStreamFilter(const std::map<std::string, std::string>& query,
                                       StreamFilter& out) {
  std::vector<Problem> problems;
  for (const auto& [key, value] : query)
    if (key != "kinds" && key != "types" && key != "tenant" && key != "subscription" &&
        key != "last_event_id")
      problems.push_back({key, "unknown parameter " + key +
                                   " (kinds, types, tenant, subscription, last_event_id)"});
  if (auto it = query.find("kinds"); it != query.end()) {
    out.events = out.attempts = false;
    const auto kinds = splitList(it->second);
    if (kinds.empty()) problems.push_back({"kinds", "kinds names none of events, attempts"});
    for (const auto& k : kinds) {
      if (k == "events")
        out.events = true;
      else if (k == "attempts")
        out.attempts = true;
      else
        problems.push_back({"kinds", "unknown kind '" + k + "' (events, attempts)"});
    }
  }
  if (auto it = query.find("types"); it != query.end()) {
    out.types = splitList(it->second);
    if (out.types.empty()) problems.push_back({"types", "types is empty"});
    for (const auto& t : out.types)
      if (t.size() > 256) problems.push_back({"types", "an event type pattern is over 256 bytes"});
  }
  if (auto it = query.find("tenant"); it != query.end()) {
    out.tenant = it->second;
    if (out.tenant.empty()) problems.push_back({"tenant", "tenant is empty"});
  }
  if (auto it = query.find("subscription"); it != query.end()) {
    out.subscription = it->second;
    if (out.subscription.empty()) problems.push_back({"subscription", "subscription is empty"});
  }
  return problems;
}

bool streamMatches(const StreamFilter& f, std::string_view kind, std::string_view type,
                   std::string_view tenant, std::string_view subscription) {
  const bool is_event = kind == kEvent;
  if (is_event ? !f.events : !f.attempts) return false;
  if (!f.types.empty() && std::none_of(f.types.begin(), f.types.end(),
                                       [&](const auto& p) { return matchesEventType(p, type); }))
    return false;
  if (!f.tenant.empty() && tenant != f.tenant) return false;
  if (f.subscription.empty()) return true;
  if (!is_event) return subscription == f.subscription;
  if (!f.subscription_tenant.empty() && tenant != f.subscription_tenant) return false;
  return std::any_of(f.subscription_types.begin(), f.subscription_types.end(),
                     [&](const auto& p) { return matchesEventType(p, type); });
}

std::string sseFrame(std::string_view id, std::string_view event, std::string_view data) {
  std::string out;
  out.reserve(data.size() + id.size() + event.size() + 24);
  if (!id.empty()) {
    out += "id: ";
    out += id;
    out += '\n';
  }
  out += "event: ";
  out += event;
  out += "\ndata: ";
  for (char c : data) {
    if (c == '\r') continue;
    if (c == '\n')
      out += "\ndata: ";
    else
      out += c;
  }
  out += "\n\n";
  return out;
}

LiveStream::LiveStream(const Config& config, Options options)
    : config_(config),
      options_(options),
      events_topic_(config.topics.events()),
      attempts_topic_(config.topics.attempts()),
      thread_([this] { run(); }) {}

LiveStream::~LiveStream() {
  stop_ = true;
  started_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(threads_mu_);
    catch_up_threads_.clear();  // joins them: each stops at its next record or idle call
  }
  std::lock_guard lock(clients_mu_);
  for (auto& c : clients_) c->stream->end();
  clients_.clear();
}

std::size_t LiveStream::clients() const {
  std::lock_guard lock(clients_mu_);
  return clients_.size();
}

Result<void> LiveStream::startLocked() {
  auto reader = kafka::Reader::open(config_, config_.groupId("stream"));
  if (!reader) return std::unexpected(reader.error());
  StreamPosition at;
  std::map<std::string, std::map<int32_t, int64_t>> assignment;
  for (const auto& [topic, offsets] :
       {std::pair{&events_topic_, &at.events}, std::pair{&attempts_topic_, &at.attempts}}) {
    auto count = (*reader)->partitionCount(*topic, std::chrono::seconds(5));
    if (!count) {
      if (topic == &events_topic_) return std::unexpected(count.error());
      log()->warn("live stream: no {} topic ({}); streaming events only", *topic,
                  count.error().message);
      continue;
    }
    for (int p = 0; p < *count; ++p) {
      auto marks = (*reader)->watermarks(*topic, p, std::chrono::seconds(5));
      if (!marks) return std::unexpected(marks.error());
      offsets->push_back(marks->second);
      assignment[*topic][p] = marks->second;
    }
  }
  if (auto a = (*reader)->assign(assignment); !a) return a;
  {
    std::lock_guard lock(clients_mu_);
    position_ = std::move(at);
  }
  reader_ = std::move(*reader);
  running_ = true;
  idle_since_ = std::chrono::steady_clock::now();
  log()->info("live stream: tail started events_partitions={} attempts_partitions={}",
              position_.events.size(), position_.attempts.size());
  started_cv_.notify_all();
  return {};
}

std::expected<LiveStream::Ticket, LiveStream::AttachError> LiveStream::admit(
    std::optional<StreamPosition> from) {
  {
    std::lock_guard lock(start_mu_);
    const auto now = std::chrono::steady_clock::now();
    // A start that failed is not tried again for a few seconds: with the broker away, each
    // try would hold an HTTP thread for its timeouts.
    if (!running_ && now < retry_start_at_)
      return std::unexpected(AttachError{Refusal::kUnavailable, last_start_error_});
    if (!running_) {
      if (auto started = startLocked(); !started) {
        last_start_error_ = "the live stream cannot read the topics: " + started.error().message;
        retry_start_at_ = now + std::chrono::seconds(5);
        return std::unexpected(AttachError{Refusal::kUnavailable, last_start_error_});
      }
    }
  }
  Ticket ticket;
  {
    std::lock_guard lock(clients_mu_);
    if (clients_.size() + pending_admits_ >= options_.max_clients)
      return std::unexpected(AttachError{Refusal::kTooMany, "too many stream clients"});
    ticket.tail = position_;
    // Until add(), the tail does not stop for want of clients.
    ++pending_admits_;
  }
  const auto refuse = [&](Refusal r, std::string message) {
    std::lock_guard lock(clients_mu_);
    --pending_admits_;
    return std::unexpected(AttachError{r, std::move(message)});
  };
  if (from) {
    if (from->events.size() != ticket.tail.events.size() ||
        from->attempts.size() != ticket.tail.attempts.size())
      return refuse(Refusal::kBadPosition,
                    "Last-Event-ID names " + std::to_string(from->events.size()) + " events and " +
                        std::to_string(from->attempts.size()) +
                        " attempts partitions; the topics have " +
                        std::to_string(ticket.tail.events.size()) + " and " +
                        std::to_string(ticket.tail.attempts.size()));
    // A position past the end of a partition would mute it for this client: refused.
    if (auto beyond = beyondTheLog(*from, ticket.tail); !beyond.empty())
      return refuse(Refusal::kBadPosition, "Last-Event-ID: " + beyond);
    if (catch_ups_.fetch_add(1) >= options_.max_catch_ups) {
      catch_ups_.fetch_sub(1);
      return refuse(Refusal::kTooMany, "too many stream clients catching up at once");
    }
    ticket.from = std::move(from);
  }
  return ticket;
}

void LiveStream::add(std::shared_ptr<ResponseStream> stream, StreamFilter filter, Ticket ticket) {
  auto c = std::make_shared<Client>();
  c->stream = std::move(stream);
  c->filter = std::move(filter);
  c->last_write = std::chrono::steady_clock::now();
  // How long a client waits before reconnecting, and a first line so that the client sees
  // the stream open at once.
  c->stream->write("retry: 2000\n: connected\n\n");
  StreamPosition to;
  {
    std::lock_guard lock(clients_mu_);
    // The tail's position now: the catch-up reads up to it, the tail sends from it.
    to = position_;
    c->min_events = to.events;
    c->min_attempts = to.attempts;
    if (ticket.from) {
      c->catching_up = true;
      for (std::size_t i = 0; i < to.events.size() && i < ticket.from->events.size(); ++i)
        c->min_events[i] = std::max(to.events[i], ticket.from->events[i]);
      for (std::size_t i = 0; i < to.attempts.size() && i < ticket.from->attempts.size(); ++i)
        c->min_attempts[i] = std::max(to.attempts[i], ticket.from->attempts[i]);
      c->ahead = c->min_events != to.events || c->min_attempts != to.attempts;
    }
    clients_.push_back(c);
    --pending_admits_;
    idle_since_ = {};
  }
  counters_.connected++;
  if (!ticket.from) return;
  std::lock_guard lock(threads_mu_);
  std::erase_if(catch_up_threads_, [](const CatchUpThread& t) { return t.done->load(); });
  auto done = std::make_shared<std::atomic<bool>>(false);
  catch_up_threads_.push_back(
      {done, std::jthread([this, c, done, from = std::move(*ticket.from), to = std::move(to)] {
         catchUp(c, from, to);
         *done = true;
       })});
}

void LiveStream::catchUp(ClientPtr client, StreamPosition from, StreamPosition to) {
  struct Done {
    std::atomic<int>& n;
    ~Done() { n.fetch_sub(1); }
  } done{catch_ups_};
  auto reader = kafka::Reader::open(config_, config_.groupId("stream"));
  simdjson::dom::parser parser;
  StreamPosition at = from;
  bool ok = static_cast<bool>(reader);
  const auto stopped = [&] {
    return stop_.load() || client->dropped.load() || client->stream->closed();
  };
  // Writes a frame, waiting while the client is behind (this is its own thread); false when
  // the client went or stays too far behind.
  bool too_slow = false;
  auto last_sent = std::chrono::steady_clock::now();
  const auto send = [&](const std::string& frame) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (client->stream->queuedBytes() > options_.max_client_bytes / 2) {
      if (stopped()) return false;
      if (std::chrono::steady_clock::now() > deadline) {
        too_slow = true;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    last_sent = std::chrono::steady_clock::now();
    return client->stream->write(frame);
  };
  for (int pass = 0; ok && pass < 2 && !stopped(); ++pass) {
    const bool events = pass == 0;
    const std::string& topic = events ? events_topic_ : attempts_topic_;
    std::vector<int64_t>& cursor = events ? at.events : at.attempts;
    const std::vector<int64_t>& end = events ? to.events : to.attempts;
    kafka::Reader::Ranges ranges;
    for (std::size_t p = 0; p < end.size(); ++p) {
      if (cursor[p] >= end[p]) continue;
      auto marks = (*reader)->watermarks(topic, static_cast<int32_t>(p), std::chrono::seconds(5));
      if (!marks) {
        ok = false;
        break;
      }
      // Before the log's start: what retention removed is gone; resume at what is left.
      cursor[p] = std::max(cursor[p], marks->first);
      if (cursor[p] < end[p]) ranges[static_cast<int32_t>(p)] = {cursor[p], end[p]};
    }
    if (!ok || ranges.empty()) continue;
    kafka::Reader::ReadOptions read_options;
    read_options.stall_timeout = std::chrono::seconds(30);
    // A long catch-up that matches nothing still shows the client it is alive.
    read_options.idle = [&] {
      if (std::chrono::steady_clock::now() - last_sent >= options_.heartbeat)
        send(": heartbeat\n\n");
    };
    auto read = (*reader)->read(
        topic, std::move(ranges),
        [&](const rd_kafka_message_t* msg) {
          if (stopped()) return false;
          cursor[msg->partition] = msg->offset + 1;
          const std::string_view value = kafka::payloadOf(msg);
          const RecordFields f = fieldsOf(parser, events, value);
          if (!streamMatches(client->filter, events ? kEvent : kAttempt, f.type, f.tenant,
                             f.subscription))
            return true;
          counters_.frames++;
          return send(sseFrame(at.text(), events ? kEvent : kAttempt, value));
        },
        read_options);
    if (!read || too_slow) ok = false;
  }
  std::lock_guard lock(clients_mu_);
  if (client->dropped) return;
  if (!ok || client->stream->closed()) {
    // Never joins the tail with a gap: a client that cannot be caught up goes.
    if (!client->stream->closed()) {
      if (!too_slow) log()->warn("live stream: a client's catch-up failed; disconnecting it");
      drop(*client, too_slow ? "slow_client" : "catch_up_failed");
    }
    return;
  }
  client->catching_up = false;
  client->last_write = std::chrono::steady_clock::now();
  if (!client->backlog.empty()) {
    client->stream->write(std::move(client->backlog));
    client->backlog.clear();
  }
}

void LiveStream::drop(Client& c, std::string_view reason) {
  c.dropped = true;
  c.batch.clear();
  c.backlog.clear();
  std::string data = "{\"reason\":\"";
  data += reason;
  data += "\",\"max_buffered_bytes\":" + std::to_string(options_.max_client_bytes) + "}";
  c.stream->write(sseFrame("", "dropped", data));
  c.stream->end();
  if (reason == "slow_client") counters_.dropped_slow++;
  log()->warn("live stream: client dropped reason={}", reason);
}

void LiveStream::run() {
  while (!stop_) {
    {
      std::unique_lock lock(start_mu_);
      started_cv_.wait_for(lock, std::chrono::milliseconds(200),
                           [&] { return running_ || stop_.load(); });
      if (!running_ || stop_) continue;
    }
    round();
    // Stop the tail after a while without clients (it reads every record of both topics).
    std::lock_guard start_lock(start_mu_);
    std::lock_guard lock(clients_mu_);
    const auto now = std::chrono::steady_clock::now();
    if (!clients_.empty() || pending_admits_ > 0) continue;
    if (idle_since_ == std::chrono::steady_clock::time_point{}) idle_since_ = now;
    if (now - idle_since_ >= options_.idle_stop && catch_ups_.load() == 0) {
      reader_.reset();
      running_ = false;
      log()->info("live stream: tail stopped (no clients)");
    }
  }
  std::lock_guard lock(start_mu_);
  reader_.reset();
  running_ = false;
}

void LiveStream::round() {
  std::size_t bytes = 0;
  for (int i = 0; i < kRoundRecords && bytes < kRoundBytes; ++i) {
    kafka::MessagePtr msg = reader_->poll(i == 0 ? 100 : 0);
    if (!msg) break;
    // A frame is the record, its id (a number per partition) and a few words.
    bytes += msg->len + 24 + 8 * (position_.events.size() + position_.attempts.size());
    if (msg->err) {
      if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        log()->warn("live stream: {}", rd_kafka_message_errstr(msg.get()));
      continue;
    }
    distribute(msg.get());
  }
  finishRound();
}

void LiveStream::distribute(const rd_kafka_message_t* msg) {
  thread_local simdjson::dom::parser parser;
  counters_.records++;
  const bool is_event = rd_kafka_topic_name(msg->rkt) == events_topic_;
  const std::string_view value = kafka::payloadOf(msg);
  const RecordFields f = fieldsOf(parser, is_event, value);
  const std::string_view kind = is_event ? kEvent : kAttempt;
  std::lock_guard lock(clients_mu_);
  std::vector<int64_t>& offsets = is_event ? position_.events : position_.attempts;
  if (msg->partition < 0 || static_cast<std::size_t>(msg->partition) >= offsets.size()) return;
  offsets[msg->partition] = msg->offset + 1;
  std::string frame;
  for (auto& c : clients_) {
    if (c->dropped) continue;
    const auto& min = is_event ? c->min_events : c->min_attempts;
    if (static_cast<std::size_t>(msg->partition) >= min.size() || msg->offset < min[msg->partition])
      continue;
    if (!streamMatches(c->filter, kind, f.type, f.tenant, f.subscription)) continue;
    counters_.frames++;
    // A client that resumed from a position ahead of this tail's (another producer's) gets
    // ids of its own until this tail has passed that position everywhere.
    if (c->ahead) c->ahead = aheadOf(*c, position_);
    std::string own;
    if (c->ahead)
      own = sseFrame(clientPosition(*c, position_).text(), kind, value);
    else if (frame.empty())
      frame = sseFrame(position_.text(), kind, value);
    const std::string& out = c->ahead ? own : frame;
    if (!c->catching_up) {
      c->batch += out;
      continue;
    }
    c->backlog += out;
    if (c->backlog.size() > options_.max_client_bytes) drop(*c, "slow_client");
  }
}

void LiveStream::finishRound() {
  const auto now = std::chrono::steady_clock::now();
  std::unique_lock lock(clients_mu_);
  // When most clients are behind, the bottleneck is this process (its HTTP threads, the
  // machine), not they: nobody is dropped for it, the tail waits a little for the writes
  // to drain, and falls behind the log meanwhile (the pipeline does not notice). A client
  // still goes when it holds four allowances unsent.
  std::size_t behind = 0;
  for (const auto& c : clients_)
    if (!c->dropped && !c->catching_up && c->stream->queuedBytes() > options_.max_client_bytes / 2)
      ++behind;
  const bool backing_off = clients_.size() >= 4 && behind * 2 >= clients_.size();
  const std::size_t limit = backing_off ? 4 * options_.max_client_bytes : options_.max_client_bytes;
  for (auto& c : clients_) {
    if (c->dropped) continue;
    if (c->stream->closed()) {
      c->dropped = true;
      continue;
    }
    if (c->catching_up) continue;
    if (!c->batch.empty()) {
      // Behind by more than its allowance (what it was sent and has not taken yet).
      const std::size_t queued = c->stream->queuedBytes();
      if (queued + (backing_off ? c->batch.size() : 0) > limit) {
        drop(*c, "slow_client");
        continue;
      }
      if (backing_off && queued > options_.max_client_bytes) continue;  // kept for later
      if (!c->stream->write(std::move(c->batch))) c->dropped = true;
      c->batch.clear();
      c->last_write = now;
    } else if (now - c->last_write >= options_.heartbeat) {
      if (!c->stream->write(": heartbeat\n\n")) c->dropped = true;
      c->last_write = now;
    }
  }
  std::erase_if(clients_, [](const ClientPtr& c) { return c->dropped.load(); });
  if (backing_off) {
    counters_.backoffs++;
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace hookpipe::producer
