#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/config/config.h"
#include "common/error.h"
#include "common/kafka/reader.h"
#include "producer/http.h"

// The live stream behind GET /v1/stream (docs/stream.md): server-sent events of the events
// topic as events are published and of the attempts topic as attempts finish.
//
// One tail per process reads both topics (an assign-only reader, started by the first
// client and stopped when none is left for kIdleStop) and fans every record out to the
// clients whose filter it matches. A client never slows the tail: each has a bounded
// buffer (its stream's unsent bytes); one that falls more than max_client_bytes behind is
// sent a last `dropped` event and disconnected. An SSE id is the position after the record
// in both logs (every partition's next offset), so a client that reconnects with
// Last-Event-ID first catches up from there on its own reader, then joins the tail:
// nothing missed, nothing twice.
namespace hookpipe::producer {

// The next offset of every partition of the events topic and of the attempts topic. As
// text (an SSE id): "<events offsets>.<attempts offsets>", each a comma-separated list in
// partition order ("12,40,0,3,9,1.5,7,0,0,2,3").
struct StreamPosition {
  std::vector<int64_t> events;
  std::vector<int64_t> attempts;
  std::string text() const;
  // Checks the syntax only; the partition counts are checked against the topics' by attach().
  static Result<StreamPosition> parse(std::string_view text);
};

// Which records a client wants.
struct StreamFilter {
  bool events = true;
  bool attempts = true;
  std::vector<std::string> types;  // event type patterns ("order.*", exact, "*"); empty: all
  std::string tenant;              // "" : every tenant
  // Attempts of this subscription only, and the events it would receive (its event types
  // and tenant, filled in by the route from the subscription table).
  std::string subscription;
  std::vector<std::string> subscription_types;
  std::string subscription_tenant;
};
// Reads `kinds` (events,attempts), `types` (comma-separated patterns), `tenant`,
// `subscription` from a request's query; every problem by its parameter name.
std::vector<Problem> parseStreamFilter(const std::map<std::string, std::string>& query,
                                       StreamFilter& out);
// Whether a record of `kind` ("event" or "attempt") with these fields passes `f`.
bool streamMatches(const StreamFilter& f, std::string_view kind, std::string_view type,
                   std::string_view tenant, std::string_view subscription);
// One SSE frame: id, event, and the data with every line break made a new data line.
std::string sseFrame(std::string_view id, std::string_view event, std::string_view data);

class LiveStream {
 public:
  struct Options {
    std::chrono::milliseconds heartbeat{15'000};
    // A client this far behind (bytes written, not yet sent) is dropped.
    std::size_t max_client_bytes = 256 * 1024;
    std::size_t max_clients = 1000;
    // Clients catching up from a Last-Event-ID at once (each has its own reader).
    int max_catch_ups = 8;
    // The tail stops after this long without a client.
    std::chrono::milliseconds idle_stop{60'000};
  };
  struct Counters {
    std::atomic<uint64_t> connected{0};
    std::atomic<uint64_t> dropped_slow{0};
    std::atomic<uint64_t> records{0};  // records the tail read
    std::atomic<uint64_t> frames{0};   // frames queued to clients
    // Rounds the tail waited because most clients were behind (this process was the
    // bottleneck, not they).
    std::atomic<uint64_t> backoffs{0};
  };
  // Why attach() refused a client: the answer's status follows.
  enum class Refusal { kBadPosition, kTooMany, kUnavailable };
  struct AttachError {
    Refusal refusal;
    std::string message;
  };

  LiveStream(const Config& config, Options options);
  ~LiveStream();
  LiveStream(const LiveStream&) = delete;
  LiveStream& operator=(const LiveStream&) = delete;

  // Starts the tail if it is not running, and checks `from` (the client's Last-Event-ID)
  // against the topics. On success the caller opens the response stream and calls
  // add() with what check returned.
  struct Ticket {
    std::optional<StreamPosition> from;
    StreamPosition tail;  // the tail's position when the client joined
  };
  std::expected<Ticket, AttachError> admit(std::optional<StreamPosition> from);
  // Registers the client; with a ticket holding `from`, a catch-up from there to the tail
  // position runs first.
  void add(std::shared_ptr<ResponseStream> stream, StreamFilter filter, Ticket ticket);

  std::size_t clients() const;
  const Counters& counters() const { return counters_; }

 private:
  struct Client {
    std::shared_ptr<ResponseStream> stream;
    StreamFilter filter;
    std::string batch;  // frames of this round, written once per round
    bool catching_up = false;
    std::string backlog;  // tail frames held while catching up
    // Records below these offsets were sent by the catch-up (or by another producer's
    // tail before a reconnect): the tail skips them.
    std::vector<int64_t> min_events;
    std::vector<int64_t> min_attempts;
    std::chrono::steady_clock::time_point last_write;
    std::atomic<bool> dropped{false};  // set under clients_mu_; read by its catch-up too
    // min_* is ahead of the tail's position somewhere: frames carry the client's own ids.
    bool ahead = false;
  };
  struct CatchUpThread {
    std::shared_ptr<std::atomic<bool>> done;
    std::jthread thread;
  };
  using ClientPtr = std::shared_ptr<Client>;

  Result<void> startLocked();  // start_mu_ held
  static bool aheadOf(const Client& c, const StreamPosition& tail);
  // The tail's position, raised to the client's minimum where that is further on.
  static StreamPosition clientPosition(const Client& c, const StreamPosition& tail);
  // What in `from` lies past the end of its partition ("" when nothing does).
  std::string beyondTheLog(const StreamPosition& from, const StreamPosition& tail);
  void run();
  // One round: reads what is there (up to a bound), fans it out, writes the batches.
  void round();
  void distribute(const rd_kafka_message_t* msg);
  void finishRound();
  void catchUp(ClientPtr client, StreamPosition from, StreamPosition to);
  // Sends the client a last `dropped` event and ends its stream (clients_mu_ held).
  void drop(Client& c, std::string_view reason);

  Config config_;
  Options options_;
  std::string events_topic_;
  std::string attempts_topic_;
  Counters counters_;

  std::mutex start_mu_;  // guards starting and stopping the tail
  std::condition_variable started_cv_;
  std::unique_ptr<kafka::Reader> reader_;  // used by the tail thread once started
  bool running_ = false;
  std::chrono::steady_clock::time_point retry_start_at_;  // after a failed start
  std::string last_start_error_;
  StreamPosition position_;  // the tail's; written by the tail thread under clients_mu_
  std::chrono::steady_clock::time_point idle_since_;

  mutable std::mutex clients_mu_;
  std::vector<ClientPtr> clients_;
  std::size_t pending_admits_ = 0;  // admitted, not added yet
  std::atomic<int> catch_ups_{0};

  std::mutex threads_mu_;
  std::list<CatchUpThread> catch_up_threads_;

  std::atomic<bool> stop_{false};
  std::jthread thread_;
};

}  // namespace hookpipe::producer
