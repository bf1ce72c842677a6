#include "common/kafka/progress.h"

namespace hookpipe::kafka {

std::function<void()> Progress::finisher(Position at) {
  return [this, at = std::move(at)] { finish(at.topic, at.partition, at.offset); };
}

void Progress::handOff(HandOff& hand_off, std::string destination, std::string key,
                       std::string value, HeaderList headers, Position from,
                       std::function<void()> on_acked) {
  begin(from.topic, from.partition, from.offset);
  std::function<void()> done = finisher(std::move(from));
  if (on_acked)
    done = [done = std::move(done), on_acked = std::move(on_acked)] {
      done();
      on_acked();
    };
  hand_off.send(std::move(destination), std::move(key), std::move(value), std::move(headers),
                std::move(done));
}

}  // namespace hookpipe::kafka
