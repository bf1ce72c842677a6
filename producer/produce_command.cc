// `hookpipe produce [FILE|-]`: NDJSON events straight to the events topic, validated like
// POST /v1/events, with the idempotent producer.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/json/event.h"
#include "common/kafka/kafka.h"
#include "common/role/role.h"
#include "producer/role.h"

namespace hookpipe::producer {

int runProduceCommand(const Config& config, const std::vector<std::string>& args) {
  if (args.size() > 1 || (!args.empty() && (args[0] == "-h" || args[0] == "--help"))) {
    std::cerr << "usage: hookpipe produce [FILE|-]   (NDJSON, one event per line; - or none "
                 "reads stdin)\n";
    return 2;
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  std::string source = "stdin";
  if (!args.empty() && args[0] != "-") {
    source = args[0];
    file.open(source, std::ios::binary);
    if (!file) {
      std::cerr << "hookpipe produce: cannot open " << source << "\n";
      return 1;
    }
    in = &file;
  }

  ensureTopicsOrThrow(config);
  // Declared before the producer: its destructor may still run delivery callbacks.
  // Delivery callbacks run on this thread (inside poll/produceBlocking/flush).
  std::size_t stored = 0, failed = 0, invalid = 0, sent = 0, line_no = 0;
  std::optional<std::string> first_failure;
  auto on_done = [&](std::optional<Error> err) {
    if (!err) {
      ++stored;
    } else {
      ++failed;
      if (!first_failure) first_failure = err->message;
    }
  };
  auto producer = kafka::Producer::create(config);
  if (!producer) throw std::runtime_error(producer.error().message);
  const std::string topic = config.topics.events();
  json::EventParser parser(config.max_event_bytes);

  const bool tty = ::isatty(STDERR_FILENO) == 1;
  auto last_progress = std::chrono::steady_clock::now();
  auto progress = [&](bool final) {
    if (!tty) return;
    std::fprintf(stderr, "\r%s: %zu lines, %zu produced, %zu invalid%s", source.c_str(), line_no,
                 stored, invalid, final ? "\n" : "");
    std::fflush(stderr);
  };

  std::string line;
  while (!stopRequested() && std::getline(*in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto event = parser.parse(line, kafka::nowMs());
    if (!event) {
      ++invalid;
      if (tty) std::cerr << "\r\033[K";
      std::cerr << source << ":" << line_no << ": " << event.error().message << "\n";
      continue;
    }
    ++sent;
    if (auto r = (*producer)->produceBlocking(topic, event->id, event->body, {}, on_done); !r)
      on_done(r.error());
    (*producer)->poll(0);
    if (tty && std::chrono::steady_clock::now() - last_progress > std::chrono::milliseconds(200)) {
      last_progress = std::chrono::steady_clock::now();
      progress(false);
    }
  }
  const bool interrupted = stopRequested();
  if (!(*producer)->flush(std::chrono::seconds(60)) && !first_failure)
    first_failure = "timed out waiting for the broker";
  progress(true);
  const std::size_t unacknowledged = sent - stored - failed;
  std::cout << "produced " << stored << " events, " << invalid << " invalid" << std::endl;
  if (failed + unacknowledged > 0)
    std::cerr << "hookpipe produce: " << failed + unacknowledged
              << " events not stored: " << first_failure.value_or("unknown error") << "\n";
  if (interrupted) std::cerr << "hookpipe produce: interrupted after line " << line_no << "\n";
  return invalid == 0 && failed == 0 && unacknowledged == 0 && !interrupted ? 0 : 1;
}

}  // namespace hookpipe::producer
