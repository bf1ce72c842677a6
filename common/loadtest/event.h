#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// The events the load generator publishes carry a marker in their data: the run they belong
// to, a sequence number and their publish time (wall clock, µs since the epoch), so the
// receiver can tell this run's deliveries from anything else it is sent and measure
// publish-to-receipt latency without keeping a table of what was sent:
//   {"type":"loadtest.event","data":{"lt_run":"r1f3…","lt_seq":17,"lt_sent_us":1764…,
//    "pad":"xxxx…"}}
namespace hookpipe::loadtest {

struct EventSpec {
  std::string run;
  std::string type;
  std::size_t payload_bytes = 0;  // length of "pad"
  bool with_id = false;           // an id (and timestamp): needed straight to Kafka
};

// One event's JSON. `type` and `run` are escaped as JSON strings.
std::string eventJson(const EventSpec& spec, uint64_t seq, int64_t sent_us);

struct Marker {
  uint64_t seq = 0;
  int64_t sent_us = 0;
};
// The marker of a delivered body when it belongs to `run`; nullopt otherwise (another run,
// another sender, a body some formatter rewrote).
std::optional<Marker> findMarker(std::string_view body, std::string_view run);

// Sequence numbers from here on are warm-up events (sent until every subscription delivers,
// before the measured run); the receiver keeps them apart.
constexpr uint64_t kWarmupSeq = uint64_t{1} << 62;

// Wall-clock microseconds since the epoch.
int64_t wallMicros();

}  // namespace hookpipe::loadtest
