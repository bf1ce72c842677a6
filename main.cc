// hookpipe: one binary, one subcommand per role. Configuration comes from HOOKPIPE_*
// environment variables (see README.md).
#include <iostream>
#include <string>
#include <vector>

#include "common/attempts/command.h"
#include "common/attempts/export_command.h"
#include "common/config/config.h"
#include "common/dlq/command.h"
#include "common/loadtest/command.h"
#include "common/role/role.h"
#include "deliverer/role.h"
#include "producer/role.h"
#include "recorder/role.h"
#include "retry/role.h"
#include "router/role.h"

namespace {

constexpr const char* kUsage =
    "usage: hookpipe <command>\n"
    "  producer   HTTP API: POST /v1/events, /v1/subscriptions\n"
    "  router     events -> deliveries\n"
    "  deliverer  deliveries -> HTTP POST, retries, dead letters\n"
    "  retry      delayed retry tiers\n"
    "  recorder   attempts -> delivery-log index and stats in Redis; --rebuild: build it\n"
    "             again from the attempts topic and exit (recorder/README.md)\n"
    "  topics     create the topics and exit\n"
    "  dlq        list | show | stats | replay | purge   (run \"hookpipe dlq\" for usage; "
    "docs/dlq.md)\n"
    "  attempts   export [--since T] [--until T] [--subscription ID] [--status S] "
    "[--format ndjson|csv]\n"
    "             the attempt log, read from the attempts topic (docs/attempts.md)\n"
    "  produce    [FILE|-]  NDJSON events -> events topic (stdin without FILE)\n"
    "  deliveries list --subscription ID [...] | show ID   the delivery log (docs/deliveries.md)\n"
    "  stats      [--subscription ID | --tenant T] [--since] [--until] [--group-by] [--json]\n"
    "  loadtest   publish at a rate, receive, report throughput and latency (docs/loadtest.md)\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  hookpipe::Config config = hookpipe::Config::fromEnv();
  if (auto problems = config.validate(); !problems.empty()) {
    std::cerr << "hookpipe: bad configuration:\n";
    for (const auto& p : problems) std::cerr << "  - " << p << "\n";
    return 2;
  }
  hookpipe::installStopHandlers();
  try {
    if (command == "producer") return hookpipe::producer::run(config);
    if (command == "router") return hookpipe::router::run(config);
    if (command == "deliverer") return hookpipe::deliverer::run(config);
    if (command == "retry") return hookpipe::retry::run(config);
    if (command == "recorder") return hookpipe::recorder::run(config, args);
    if (command == "produce") return hookpipe::producer::runProduceCommand(config, args);
    if (command == "dlq") return hookpipe::dlq::runCommand(config, args);
    if (command == "attempts") return hookpipe::attempts::runCommand(config, args);
    if (command == "deliveries") return hookpipe::attempts::runDeliveriesCommand(config, args);
    if (command == "stats") return hookpipe::attempts::runStatsCommand(config, args);
    if (command == "loadtest") return hookpipe::loadtest::runCommand(config, args);
    if (command == "topics") {
      hookpipe::ensureTopicsOrThrow(config);
      std::cout << "topics ready with prefix " << config.topics.prefix << "\n";
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "hookpipe " << command << ": " << e.what() << "\n";
    return 1;
  }
  std::cerr << kUsage;
  return 2;
}
